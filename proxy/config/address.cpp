#include "config/address.hpp"

#include "config/yaml_reader.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>

namespace airgate::config {
namespace {

using core::all_digits;
using core::to_lower;

// An IPv6 address as written inside brackets, with an optional zone id
// ("fe80::1%eth0"): the kernel resolves the zone when the socket is bound.
bool is_v6_host(std::string_view h) {
  const auto a = core::parse_ip(h.substr(0, h.find('%')));
  return a && a->is_v6();
}

bool is_v4_host(std::string_view h) {
  const auto a = core::parse_ip(h);
  return a && a->is_v4();
}

}  // namespace

bool parse_port(std::string_view text, bool allow_zero, std::uint16_t& port, std::string& error) {
  if (!all_digits(text)) {
    error = text.empty() ? "missing port" : "port " + quote(text) + " is not a number";
    return false;
  }
  if (text.size() > 5 || std::stoul(std::string(text)) > 65535) {
    error = "port " + std::string(text) + " is out of range (0..65535)";
    return false;
  }
  const auto value = static_cast<std::uint16_t>(std::stoul(std::string(text)));
  if (value == 0 && !allow_zero) {
    error = "port 0 is not allowed here";
    return false;
  }
  port = value;
  return true;
}

bool parse_socket_address(std::string_view text, std::string& host, std::uint16_t& port, std::string& error) {
  std::string_view h, p;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' after the IPv6 address";
      return false;
    }
    h = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') {
      error = "expected \"[address]:port\"";
      return false;
    }
    p = rest.substr(1);
    if (!is_v6_host(h)) {
      error = quote(h) + " is not an IPv6 address";
      return false;
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      error = "expected \"host:port\" (e.g. \"0.0.0.0:8443\" or \"[::]:8443\")";
      return false;
    }
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos) {
      error = "IPv6 addresses must be written in brackets, e.g. \"[::]:8443\"";
      return false;
    }
    if (h.empty()) {
      error = "missing host (use \"0.0.0.0:PORT\" for all IPv4 interfaces, \"[::]:PORT\" for IPv6)";
      return false;
    }
    if (!is_v4_host(h)) {
      error = "host " + quote(h) + " is not an IP address (host names are not resolved here; use e.g. 127.0.0.1)";
      return false;
    }
  }
  if (!parse_port(p, true, port, error)) return false;
  host = std::string(h);
  return true;
}

namespace {

bool valid_hostname(std::string_view h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
  });
}

// Splits an http(s) URL into scheme, host (no brackets), optional port text
// and the remainder (path). Errors never include the URL (it may hold a
// password in its userinfo).
struct UrlParts {
  std::string scheme;
  std::string host;
  std::uint16_t port = 0;
  bool explicit_port = false;
  std::string path;
};

bool split_http_url(std::string_view text, UrlParts& out, std::string& error) {
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) {
    error = "expected a URL starting with http:// or https://";
    return false;
  }
  out.scheme = to_lower(text.substr(0, sep));
  if (out.scheme != "http" && out.scheme != "https") {
    error = "scheme must be http or https, got " + quote(out.scheme);
    return false;
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    error = "a query or fragment is not allowed in the URL";
    return false;
  }
  const auto slash = rest.find('/');
  std::string_view auth = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (auth.find('@') != std::string_view::npos) {
    error = "user:password@ is not allowed in the URL";
    return false;
  }
  std::string_view h, p;
  bool has_port = false;
  if (!auth.empty() && auth.front() == '[') {
    const auto close = auth.find(']');
    if (close == std::string_view::npos) {
      error = "missing ']' after the IPv6 address";
      return false;
    }
    h = auth.substr(1, close - 1);
    auto after = auth.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "unexpected text after ']'";
        return false;
      }
      p = after.substr(1);
      has_port = true;
    }
    if (!is_v6_host(h)) {
      error = quote(h) + " is not an IPv6 address";
      return false;
    }
  } else {
    const auto colon = auth.find(':');
    h = auth.substr(0, colon);
    if (colon != std::string_view::npos) {
      p = auth.substr(colon + 1);
      has_port = true;
      if (p.find(':') != std::string_view::npos) {
        error = "IPv6 addresses must be written in brackets, e.g. http://[::1]:8000";
        return false;
      }
    }
    if (h.empty()) {
      error = "missing host in the URL";
      return false;
    }
    if (!valid_hostname(h)) {
      error = "invalid host " + quote(h);
      return false;
    }
  }
  if (has_port) {
    if (!parse_port(p, false, out.port, error)) return false;
    out.explicit_port = true;
  } else {
    out.port = out.scheme == "https" ? 443 : 80;
  }
  out.host = to_lower(h);
  return true;
}

}  // namespace

bool parse_upstream_url(std::string_view text, UpstreamUrl& url, std::string& error) {
  UrlParts parts;
  if (!split_http_url(text, parts, error)) return false;
  if (!parts.path.empty() && parts.path != "/") {
    error = "a path in the upstream URL is not supported (requests are forwarded with their path unchanged); remove " +
            quote(parts.path);
    return false;
  }
  url.scheme = parts.scheme;
  url.host = parts.host;
  url.port = parts.port;
  return true;
}

bool parse_origin(std::string_view text, std::string& origin, std::string& error) {
  UrlParts parts;
  if (!split_http_url(text, parts, error)) return false;
  if (!parts.path.empty() && parts.path != "/") {
    error = "expected an origin without a path (e.g. \"https://airbyte.example.com\")";
    return false;
  }
  std::string_view t = text;
  if (!t.empty() && t.back() == '/') t.remove_suffix(1);
  origin = std::string(t);
  return true;
}

std::optional<core::Cidr> parse_network(std::string_view text, std::string& error) {
  auto cidr = core::parse_cidr(text);
  if (!cidr) error = "expected an IP address or CIDR (e.g. \"10.0.0.0/8\", \"fd00::/8\"), got " + quote(text);
  return cidr;
}

}  // namespace airgate::config
