// YAML text -> validated Config, and the environment overlay (design §2).
//
// Rules implemented here (documented in README.md ("Configuration reference")):
//  - every problem is collected, none stops the parse; parse_yaml never throws;
//  - unknown keys, duplicate keys and type errors name the dotted key path and
//    the 1-based line:column of the key (or of the offending value);
//  - relative file paths are resolved against the directory of the config file;
//  - routes inherit every upstream field they do not set from the top-level
//    `upstream`, whatever the key order in the file.
#include "config/load.hpp"

#include "config/units.hpp"

#include <crypt.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

namespace airgate::config {

std::string Problem::str() const {
  if (line <= 0) return source + ": " + message;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

namespace {

namespace fs = std::filesystem;
namespace ip = boost::asio::ip;

// ---------------------------------------------------------------------------
// Small text helpers

std::string quote(std::string_view s) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// ---------------------------------------------------------------------------
// Address and URL validation (shared by the YAML parser and the env overlay).

// Parses a port; `allow_zero` for listeners (ephemeral port in tests).
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

// "host:port" or "[v6]:port" where host is an IP address literal.
bool parse_socket_address(std::string_view text, std::string& host, std::uint16_t& port,
                          std::string& error) {
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
    boost::system::error_code ec;
    ip::make_address_v6(std::string(h), ec);
    if (ec) {
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
    boost::system::error_code ec;
    ip::make_address_v4(std::string(h), ec);
    if (ec) {
      error = "host " + quote(h) + " is not an IP address (host names are not resolved here; use e.g. 127.0.0.1)";
      return false;
    }
  }
  if (!parse_port(p, true, port, error)) return false;
  host = std::string(h);
  return true;
}

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
  out.scheme = lower(text.substr(0, sep));
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
    boost::system::error_code ec;
    ip::make_address_v6(std::string(h), ec);
    if (ec) {
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
  out.host = lower(h);
  return true;
}

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

// An origin for redirect_to_https: scheme://host[:port], trailing slash stripped.
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

// IPv4/IPv6 address or CIDR.
bool valid_network(std::string_view text, std::string& error) {
  boost::system::error_code ec;
  const std::string s(text);
  if (s.find('/') != std::string::npos) {
    if (s.find(':') != std::string::npos)
      ip::make_network_v6(s, ec);
    else
      ip::make_network_v4(s, ec);
  } else {
    ip::make_address(s, ec);
  }
  if (ec) {
    error = "expected an IP address or CIDR (e.g. \"10.0.0.0/8\", \"fd00::/8\"), got " + quote(text);
    return false;
  }
  return true;
}

bool supported_hash(std::string_view h) {
  for (std::string_view prefix : {"$2y$", "$2b$", "$2a$", "$5$", "$6$", "$y$", "$apr1$", "{SHA}"})
    if (h.substr(0, prefix.size()) == prefix) return true;
  return false;
}

// ---------------------------------------------------------------------------
// The YAML parser

// Known keys per section (for unknown-key messages and suggestions).
const std::map<std::string, std::vector<std::string>>& known_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"", {"listen", "upstream", "routes", "limits", "auth", "trusted_proxies", "headers", "admin", "logging",
            "workers", "shutdown_grace", "reload_watch", "security"}},
      {"listen", {"address", "tls", "proxy_protocol", "redirect_to_https"}},
      {"tls", {"certificate", "private_key", "min_version", "sni", "client_ca"}},
      {"sni", {"names", "certificate", "private_key"}},
      {"upstream", {"url", "ca_file", "connect_timeout", "read_timeout", "send_timeout", "max_idle_connections"}},
      {"routes", {"path_prefix", "upstream"}},
      {"limits", {"max_body_size", "max_header_size", "handshake_timeout", "client_header_timeout",
                  "client_body_timeout", "keepalive_timeout", "max_connections", "client_body_buffer_size",
                  "client_body_min_rate", "max_uploads_per_client"}},
      {"auth", {"realm", "basic", "allow", "satisfy", "forward_authorization", "public_paths", "throttle"}},
      {"basic", {"users_file", "users"}},
      {"users", {"user", "hash"}},
      {"throttle", {"max_failures", "window", "block"}},
      {"headers", {"hsts", "request_id"}},
      {"admin", {"address"}},
      {"logging", {"level", "format", "access_log"}},
      {"security", {"selfcheck"}},
  };
  return keys;
}

// Section name -> dotted path used in suggestions.
const std::map<std::string, std::string>& section_paths() {
  static const std::map<std::string, std::string> paths = {
      {"listen", "listen[]"},         {"tls", "listen[].tls"},   {"sni", "listen[].tls.sni[]"},
      {"upstream", "upstream"},       {"routes", "routes[]"},    {"limits", "limits"},
      {"auth", "auth"},               {"basic", "auth.basic"},   {"users", "auth.basic.users[]"},
      {"throttle", "auth.throttle"},  {"headers", "headers"},    {"admin", "admin"},
      {"logging", "logging"},         {"security", "security"},
  };
  return paths;
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

// A value with its location: the node, the key it was written under (if any)
// and its dotted path.
struct Val {
  YAML::Node node;
  YAML::Node key;
  std::string path;
};

class Fields {
 public:
  void add(const std::string& name, Val v) { entries_.emplace(name, std::move(v)); }
  std::optional<Val> get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }

 private:
  std::map<std::string, Val> entries_;
};

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return quote(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

class Parser {
 public:
  Parser(std::string source, std::vector<Problem>& problems) : source_(std::move(source)), problems_(problems) {
    if (!source_.empty() && source_.front() != '<') base_ = fs::path(source_).parent_path();
  }

  void error_at(const YAML::Node& at, const std::string& path, const std::string& msg) {
    Problem p;
    p.source = source_;
    if (at.IsDefined()) {
      const auto m = at.Mark();
      if (!m.is_null()) {
        p.line = m.line + 1;
        p.column = m.column + 1;
      }
    }
    p.message = path.empty() ? msg : path + ": " + msg;
    problems_.push_back(std::move(p));
  }

  // Position: the value, unless it is null (yaml-cpp then marks the next
  // token), in which case the key.
  void error(const Val& v, const std::string& msg) {
    const bool use_key = v.key.IsDefined() && (!v.node.IsDefined() || v.node.IsNull());
    error_at(use_key ? v.key : v.node, v.path, msg);
  }

  void type_error(const Val& v, const std::string& expected, const std::string& reason = {}) {
    std::string msg = "expected " + expected + ", got " + describe(v.node);
    if (!reason.empty()) msg += " (" + reason + ")";
    error(v, msg);
  }

  // Checks that `v` is a mapping (null counts as empty) whose keys are all
  // in `section`; reports unknown and duplicate keys.
  Fields fields(const Val& v, const std::string& section) {
    Fields out;
    if (!v.node.IsDefined() || v.node.IsNull()) return out;
    if (!v.node.IsMap()) {
      type_error(v, "a mapping");
      return out;
    }
    const auto& allowed = known_keys().at(section);
    std::map<std::string, YAML::Node> seen;
    for (auto it = v.node.begin(); it != v.node.end(); ++it) {
      const YAML::Node key = it->first;
      if (!key.IsScalar()) {
        error_at(key, v.path, "keys must be plain strings, got " + describe(key));
        continue;
      }
      const std::string name = key.Scalar();
      const std::string path = join(v.path, name);
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        error_at(key, path, "unknown key" + suggestion(name, section));
        continue;
      }
      if (auto prev = seen.find(name); prev != seen.end()) {
        error_at(key, path, "duplicate key (first set on line " + std::to_string(prev->second.Mark().line + 1) + ")");
        continue;
      }
      seen.emplace(name, key);
      out.add(name, Val{it->second, key, path});
    }
    return out;
  }

  std::string suggestion(const std::string& name, const std::string& section) {
    const auto& allowed = known_keys().at(section);
    std::string best;
    std::size_t best_d = 3;
    for (const auto& k : allowed) {
      const auto d = edit_distance(lower(name), k);
      if (d < best_d) {
        best_d = d;
        best = k;
      }
    }
    if (!best.empty()) return " (did you mean \"" + best + "\"?)";
    for (const auto& [sec, keys] : known_keys()) {
      if (sec == section || sec.empty()) continue;
      if (std::find(keys.begin(), keys.end(), name) != keys.end())
        return " (it belongs under " + section_paths().at(sec) + ")";
    }
    const auto& all = known_keys().at("");
    if (std::find(all.begin(), all.end(), name) != all.end()) return " (it is a top-level key)";
    return {};
  }

  // --- scalar readers: return false (after reporting) on error -----------

  bool scalar(const Val& v, const std::string& expected, std::string& out) {
    if (!v.node.IsScalar()) {
      type_error(v, expected);
      return false;
    }
    out = v.node.Scalar();
    return true;
  }

  bool read_string(const Val& v, std::string& out, bool allow_empty = true) {
    std::string s;
    if (!scalar(v, "a string", s)) return false;
    if (!allow_empty && s.empty()) {
      error(v, "must not be empty");
      return false;
    }
    out = std::move(s);
    return true;
  }

  // null or "" -> nullopt.
  bool read_opt_string(const Val& v, std::optional<std::string>& out) {
    if (v.node.IsNull()) {
      out.reset();
      return true;
    }
    std::string s;
    if (!scalar(v, "a string or null", s)) return false;
    if (s.empty())
      out.reset();
    else
      out = std::move(s);
    return true;
  }

  std::string resolve(const std::string& p) const {
    if (p.empty() || base_.empty()) return p;
    const fs::path path(p);
    if (path.is_absolute()) return p;
    return (base_ / path).string();
  }

  bool read_path(const Val& v, std::string& out) {
    std::string s;
    if (!read_string(v, s)) return false;
    out = resolve(s);
    return true;
  }

  bool read_opt_path(const Val& v, std::optional<std::string>& out) {
    std::optional<std::string> s;
    if (!read_opt_string(v, s)) return false;
    out = s ? std::optional<std::string>(resolve(*s)) : std::nullopt;
    return true;
  }

  bool read_bool(const Val& v, bool& out) {
    std::string s;
    if (!scalar(v, "true or false", s)) return false;
    const std::string l = lower(s);
    if (l == "true" || l == "yes" || l == "on") {
      out = true;
    } else if (l == "false" || l == "no" || l == "off") {
      out = false;
    } else {
      type_error(v, "true or false");
      return false;
    }
    return true;
  }

  bool read_uint(const Val& v, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
    std::string s;
    if (!scalar(v, "an integer", s)) return false;
    if (!all_digits(s)) {
      type_error(v, "an integer", !s.empty() && s.front() == '-' ? "negative numbers are not allowed" : "");
      return false;
    }
    if (s.size() > 19 || std::stoull(s) > max) {
      error(v, "must be at most " + std::to_string(max) + ", got " + s);
      return false;
    }
    const auto n = std::stoull(s);
    if (n < min) {
      error(v, "must be at least " + std::to_string(min) + ", got " + s);
      return false;
    }
    out = n;
    return true;
  }

  template <class T>
  bool read_count(const Val& v, std::uint64_t min, std::uint64_t max, T& out) {
    std::uint64_t n = 0;
    if (!read_uint(v, min, max, n)) return false;
    out = static_cast<T>(n);
    return true;
  }

  bool read_duration(const Val& v, bool allow_zero, Duration& out) {
    std::string s;
    if (!scalar(v, "a duration like 90s", s)) return false;
    std::string why;
    auto d = parse_duration(s, &why);
    if (!d) {
      type_error(v, "a duration like 90s", why);
      return false;
    }
    if (!allow_zero && d->count() == 0) {
      error(v, "must be greater than 0");
      return false;
    }
    out = *d;
    return true;
  }

  bool read_size(const Val& v, std::uint64_t min, std::uint64_t& out) {
    std::string s;
    if (!scalar(v, "a size like 200M", s)) return false;
    std::string why;
    auto n = parse_size(s, &why);
    if (!n) {
      type_error(v, "a size like 200M", why);
      return false;
    }
    if (*n < min) {
      error(v, "must be at least " + format_size(min) + ", got " + quote(s));
      return false;
    }
    out = *n;
    return true;
  }

  template <class E>
  bool read_enum(const Val& v, std::initializer_list<std::pair<const char*, E>> choices, E& out) {
    std::string expected;
    for (const auto& c : choices) expected += (expected.empty() ? "" : " | ") + std::string(c.first);
    std::string s;
    if (!scalar(v, expected, s)) return false;
    for (const auto& c : choices) {
      if (s == c.first) {
        out = c.second;
        return true;
      }
    }
    type_error(v, expected);
    return false;
  }

  // A list of scalars (a single scalar counts as a one-element list).
  std::vector<Val> items(const Val& v, bool scalars) {
    std::vector<Val> out;
    if (v.node.IsNull()) return out;
    if (scalars && v.node.IsScalar()) {
      out.push_back(Val{v.node, v.key, index(v.path, 0)});
      return out;
    }
    if (!v.node.IsSequence()) {
      type_error(v, scalars ? "a list of strings" : "a list");
      return out;
    }
    for (std::size_t i = 0; i < v.node.size(); ++i) out.push_back(Val{v.node[i], YAML::Node(), index(v.path, i)});
    return out;
  }

  std::vector<std::string> read_string_list(const Val& v) {
    std::vector<std::string> out;
    for (const auto& item : items(v, true)) {
      std::string s;
      if (read_string(item, s, false)) out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<std::string> read_network_list(const Val& v) {
    std::vector<std::string> out;
    for (const auto& item : items(v, true)) {
      std::string s, why;
      if (!read_string(item, s, false)) continue;
      if (!valid_network(s, why)) {
        error(item, why);
        continue;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  // --- sections ------------------------------------------------------------

  void parse_root(const YAML::Node& root, Config& cfg) {
    const Val rv{root, YAML::Node(), ""};
    if (!root.IsNull() && !root.IsMap()) {
      error_at(root, "", "the configuration must be a mapping of keys (listen:, upstream:, ...), got " + describe(root));
      return;
    }
    const Fields f = fields(rv, "");
    if (auto v = f.get("listen")) parse_listen(*v, cfg);
    if (auto v = f.get("upstream")) parse_upstream(*v, cfg.upstream);
    // Routes after the top-level upstream: they inherit from it.
    if (auto v = f.get("routes")) parse_routes(*v, cfg);
    if (auto v = f.get("limits")) parse_limits(*v, cfg.limits);
    if (auto v = f.get("auth")) parse_auth(*v, cfg.auth);
    if (auto v = f.get("trusted_proxies")) cfg.trusted_proxies = read_network_list(*v);
    if (auto v = f.get("headers")) parse_headers(*v, cfg.headers);
    if (auto v = f.get("admin")) parse_admin(*v, cfg);
    if (auto v = f.get("logging")) parse_logging(*v, cfg.logging);
    if (auto v = f.get("workers")) parse_workers(*v, cfg.workers);
    if (auto v = f.get("shutdown_grace")) read_duration(*v, true, cfg.shutdown_grace);
    if (auto v = f.get("reload_watch")) read_duration(*v, true, cfg.reload_watch);
    if (auto v = f.get("security")) {
      const Fields s = fields(*v, "security");
      if (auto m = s.get("selfcheck"))
        read_enum(*m, {{"warn", SelfcheckMode::warn}, {"enforce", SelfcheckMode::enforce}}, cfg.security.selfcheck);
    }
  }

  void parse_listen(const Val& v, Config& cfg) {
    if (v.node.IsNull()) return;  // "listen:" alone keeps the default listener
    if (!v.node.IsSequence()) {
      type_error(v, "a list of listeners");
      return;
    }
    if (v.node.size() == 0) {
      error(v, "at least one listener is required");
      return;
    }
    std::vector<Listener> out;
    std::map<std::string, std::string> addresses;  // "host|port" -> path
    for (const auto& item : items(v, false)) {
      Listener l;
      l.tls.reset();
      if (!item.node.IsMap()) {
        type_error(item, "a mapping with address:");
        continue;
      }
      const Fields f = fields(item, "listen");
      if (auto a = f.get("address")) {
        std::string s, why;
        if (read_string(*a, s, false)) {
          if (parse_socket_address(s, l.host, l.port, why)) {
            l.address = s;
            const std::string k = l.host + "|" + std::to_string(l.port);
            if (l.port != 0 && addresses.count(k))
              error(*a, "address " + quote(s) + " is already used by " + addresses[k]);
            addresses.emplace(k, item.path);
          } else {
            error(*a, "invalid address " + quote(s) + ": " + why);
          }
        }
      } else {
        error_at(item.node, item.path, "address is required (e.g. address: \"0.0.0.0:8443\")");
      }
      if (auto t = f.get("tls"); t && !t->node.IsNull()) l.tls = parse_tls(*t);
      if (auto p = f.get("proxy_protocol")) read_bool(*p, l.proxy_protocol);
      if (auto r = f.get("redirect_to_https")) {
        std::optional<std::string> s;
        if (read_opt_string(*r, s) && s) {
          std::string origin, why;
          if (parse_origin(*s, origin, why))
            l.redirect_to_https = origin;
          else
            error(*r, "invalid redirect origin: " + why);
        }
      }
      if (l.redirect_to_https && l.tls && l.tls->client_ca)
        error_at(item.node, item.path,
                 "tls.client_ca cannot be combined with redirect_to_https (a redirect listener answers 308 to everyone)");
      out.push_back(std::move(l));
    }
    cfg.listen = std::move(out);
  }

  Tls parse_tls(const Val& v) {
    Tls tls;
    const Fields f = fields(v, "tls");
    if (auto c = f.get("certificate")) read_path(*c, tls.certificate);
    if (auto k = f.get("private_key")) read_path(*k, tls.private_key);
    if (tls.certificate.empty() != tls.private_key.empty()) {
      error(v, tls.certificate.empty() ? "private_key is set but certificate is not (set both, or neither for a self-signed certificate)"
                                       : "certificate is set but private_key is not (set both, or neither for a self-signed certificate)");
    }
    if (auto m = f.get("min_version")) {
      std::string s;
      if (scalar(*m, "\"1.2\" or \"1.3\"", s)) {
        if (s == "1.2" || s == "1.3")
          tls.min_version = s;
        else
          type_error(*m, "\"1.2\" or \"1.3\"");
      }
    }
    if (auto s = f.get("sni")) {
      for (const auto& item : items(*s, false)) {
        SniCertificate sni;
        if (!item.node.IsMap()) {
          type_error(item, "a mapping with names, certificate, private_key");
          continue;
        }
        const Fields sf = fields(item, "sni");
        if (auto n = sf.get("names")) {
          sni.names = read_string_list(*n);
          for (auto& name : sni.names) name = lower(name);
        }
        if (auto c = sf.get("certificate")) read_path(*c, sni.certificate);
        if (auto k = sf.get("private_key")) read_path(*k, sni.private_key);
        if (sni.names.empty()) error_at(item.node, item.path, "names is required (a list of server names)");
        if (sni.certificate.empty()) error_at(item.node, item.path, "certificate is required");
        if (sni.private_key.empty()) error_at(item.node, item.path, "private_key is required");
        tls.sni.push_back(std::move(sni));
      }
    }
    if (auto c = f.get("client_ca")) read_opt_path(*c, tls.client_ca);
    return tls;
  }

  // `out` holds the defaults to inherit (built-in for the top-level upstream,
  // the top-level upstream for a route).
  void parse_upstream(const Val& v, Upstream& out) {
    const Fields f = fields(v, "upstream");
    if (auto u = f.get("url")) {
      std::string s, why;
      if (read_string(*u, s, false)) {
        if (!parse_upstream_url(s, out.url, why))
          error(*u, s.find('@') == std::string::npos ? "invalid URL " + quote(s) + ": " + why : "invalid URL: " + why);
      }
    }
    if (auto c = f.get("ca_file")) read_opt_path(*c, out.ca_file);
    if (auto d = f.get("connect_timeout")) read_duration(*d, false, out.connect_timeout);
    if (auto d = f.get("read_timeout")) read_duration(*d, false, out.read_timeout);
    if (auto d = f.get("send_timeout")) read_duration(*d, false, out.send_timeout);
    if (auto n = f.get("max_idle_connections")) read_count(*n, 0, 1000000, out.max_idle_connections);
  }

  void parse_routes(const Val& v, Config& cfg) {
    for (const auto& item : items(v, false)) {
      if (!item.node.IsMap()) {
        type_error(item, "a mapping with path_prefix and upstream");
        continue;
      }
      Route r;
      r.upstream = cfg.upstream;
      const Fields f = fields(item, "routes");
      if (auto p = f.get("path_prefix")) {
        if (read_string(*p, r.path_prefix, false) && r.path_prefix.front() != '/')
          error(*p, "must start with \"/\", got " + quote(r.path_prefix));
      } else {
        error_at(item.node, item.path, "path_prefix is required");
      }
      if (auto u = f.get("upstream")) parse_upstream(*u, r.upstream);
      cfg.routes.push_back(std::move(r));
    }
  }

  void parse_limits(const Val& v, Limits& out) {
    const Fields f = fields(v, "limits");
    if (auto s = f.get("max_body_size")) read_size(*s, 0, out.max_body_size);
    if (auto s = f.get("max_header_size")) read_size(*s, 1024, out.max_header_size);
    if (auto d = f.get("handshake_timeout")) read_duration(*d, false, out.handshake_timeout);
    if (auto d = f.get("client_header_timeout")) read_duration(*d, false, out.client_header_timeout);
    if (auto d = f.get("client_body_timeout")) read_duration(*d, false, out.client_body_timeout);
    if (auto d = f.get("keepalive_timeout")) read_duration(*d, false, out.keepalive_timeout);
    if (auto n = f.get("max_connections")) {
      std::size_t count = 0;
      if (read_count(*n, 1, 100000000, count)) out.max_connections = count;
    }
    if (auto s = f.get("client_body_buffer_size")) {
      read_size(*s, 0, out.client_body_buffer_size);
      if (out.client_body_buffer_size > 16ull * 1024 * 1024)
        error(*s, "must be at most 16 MiB (it is held in memory for every request that uploads), got " +
                      format_size(out.client_body_buffer_size));
    }
    if (auto s = f.get("client_body_min_rate")) read_size(*s, 0, out.client_body_min_rate);
    if (auto n = f.get("max_uploads_per_client")) read_count(*n, 0, 100000000, out.max_uploads_per_client);
  }

  void parse_auth(const Val& v, Auth& out) {
    const Fields f = fields(v, "auth");
    if (auto r = f.get("realm")) {
      std::string s;
      if (read_string(*r, s)) {
        if (s.find('"') != std::string::npos || s.find('\\') != std::string::npos || has_control(s))
          error(*r, "must not contain quotes, backslashes or control characters");
        else
          out.realm = s;
      }
    }
    if (auto b = f.get("basic")) {
      const Fields bf = fields(*b, "basic");
      if (auto u = bf.get("users_file")) read_opt_path(*u, out.users_file);
      if (auto u = bf.get("users")) {
        std::set<std::string> names;
        for (const auto& item : items(*u, false)) {
          if (!item.node.IsMap()) {
            type_error(item, "a mapping with user and hash");
            continue;
          }
          const Fields uf = fields(item, "users");
          BasicUser bu;
          bool ok = true;
          if (auto n = uf.get("user")) {
            if (read_string(*n, bu.user, false)) {
              if (bu.user.find(':') != std::string::npos || has_control(bu.user)) {
                error(*n, "must not contain ':' or control characters");
                ok = false;
              } else if (!names.insert(bu.user).second) {
                error(*n, "user " + quote(bu.user) + " is listed twice");
                ok = false;
              }
            } else {
              ok = false;
            }
          } else {
            error_at(item.node, item.path, "user is required");
            ok = false;
          }
          if (auto h = uf.get("hash")) {
            if (read_string(*h, bu.hash, false)) {
              if (!supported_hash(bu.hash)) {
                // Never echo the value: it may be a plain-text password by mistake.
                error(*h, "unsupported hash format (expected bcrypt $2y$/$2b$/$2a$, SHA-crypt $5$/$6$, yescrypt $y$, "
                          "$apr1$ or {SHA}; create one with `airgate passwd`)");
                ok = false;
              }
            } else {
              ok = false;
            }
          } else {
            error_at(item.node, item.path, "hash is required");
            ok = false;
          }
          if (ok) out.users.push_back(std::move(bu));
        }
      }
    }
    if (auto a = f.get("allow")) out.allow = read_network_list(*a);
    if (auto s = f.get("satisfy")) read_enum(*s, {{"any", Satisfy::any}, {"all", Satisfy::all}}, out.satisfy);
    if (auto fa = f.get("forward_authorization")) read_bool(*fa, out.forward_authorization);
    if (auto p = f.get("public_paths")) {
      const auto list = items(*p, true);
      out.public_paths.clear();
      for (const auto& item : list) {
        std::string s;
        if (!read_string(item, s, false)) continue;
        if (s.front() != '/')
          error(item, "must start with \"/\", got " + quote(s));
        else
          out.public_paths.push_back(std::move(s));
      }
    }
    if (auto t = f.get("throttle")) {
      const Fields tf = fields(*t, "throttle");
      if (auto m = tf.get("max_failures")) read_count(*m, 0, 1000000, out.throttle.max_failures);
      if (auto w = tf.get("window")) read_duration(*w, false, out.throttle.window);
      if (auto b = tf.get("block")) read_duration(*b, false, out.throttle.block);
    }
  }

  void parse_headers(const Val& v, Headers& out) {
    const Fields f = fields(v, "headers");
    if (auto h = f.get("hsts")) {
      std::optional<std::string> s;
      if (read_opt_string(*h, s)) {
        if (s && has_control(*s))
          error(*h, "must not contain control characters");
        else
          out.hsts = s;
      }
    }
    if (auto r = f.get("request_id")) read_bool(*r, out.request_id);
  }

  void parse_admin(const Val& v, Config& cfg) {
    if (v.node.IsNull()) {
      cfg.admin.address.reset();
      return;
    }
    const Fields f = fields(v, "admin");
    if (auto a = f.get("address")) {
      std::optional<std::string> s;
      if (!read_opt_string(*a, s)) return;
      if (!s) {
        cfg.admin.address.reset();
        return;
      }
      std::string host, why;
      std::uint16_t port = 0;
      if (!parse_socket_address(*s, host, port, why)) {
        error(*a, "invalid address " + quote(*s) + ": " + why);
        return;
      }
      if (port != 0) {
        for (std::size_t i = 0; i < cfg.listen.size(); ++i) {
          const auto& l = cfg.listen[i];
          if (l.port == port && l.host == host)
            error(*a, "address " + quote(*s) + " is already used by listen[" + std::to_string(i) + "]");
        }
      }
      cfg.admin.address = *s;
    }
  }

  void parse_logging(const Val& v, Logging& out) {
    const Fields f = fields(v, "logging");
    if (auto l = f.get("level")) {
      std::string s;
      if (scalar(*l, "trace | debug | info | warn | error", s)) {
        if (s == "trace" || s == "debug" || s == "info" || s == "warn" || s == "error")
          out.level = s;
        else
          type_error(*l, "trace | debug | info | warn | error");
      }
    }
    if (auto fm = f.get("format")) read_enum(*fm, {{"text", LogFormat::text}, {"json", LogFormat::json}}, out.format);
    if (auto a = f.get("access_log")) {
      if (a->node.IsNull()) {
        out.access_log = "off";
      } else {
        std::string s;
        if (read_string(*a, s, false)) out.access_log = (s == "stdout" || s == "stderr" || s == "off") ? s : resolve(s);
      }
    }
  }

  void parse_workers(const Val& v, unsigned& out) {
    std::string s;
    const std::string expected = "\"auto\" or an integer 1..1024";
    if (!scalar(v, expected, s)) return;
    if (s == "auto") {
      out = 0;
      return;
    }
    if (!all_digits(s) || s.size() > 5 || std::stoul(s) < 1 || std::stoul(s) > 1024) {
      type_error(v, expected);
      return;
    }
    out = static_cast<unsigned>(std::stoul(s));
  }

 private:
  std::string source_;
  fs::path base_;
  std::vector<Problem>& problems_;
};

// Problems with a position first, in document order; position-less ones last.
void sort_problems(std::vector<Problem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    const auto key = [](const Problem& p) {
      return std::make_pair(p.line <= 0 ? INT32_MAX : p.line, p.line <= 0 ? 0 : p.column);
    };
    return key(a) < key(b);
  });
}

// YAML::LoadAll of yaml-cpp 0.7 never returns for some inputs: a lone "," at
// the top makes the parser hand out empty documents forever without consuming
// it (found by tests/fuzz/fuzz_config). So the documents are counted here by
// a walk over at most two of them, and only the first is built (YAML::Load).
// A second document that starts where the first did is that stuck parser:
// a syntax error at that position.
class DocumentWalk : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;  // where each document starts
  std::vector<YAML::Mark> roots;   // its root node, if it has one
  void OnDocumentStart(const YAML::Mark& m) override { starts.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { root(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnMapEnd() override {}

 private:
  void root(const YAML::Mark& m) {
    if (roots.size() < starts.size()) roots.push_back(m);
  }
};

// The number of documents in `text` (0, 1, or 2 meaning "more than one") and
// the mark of the second one's root. Throws YAML::Exception on syntax errors.
std::size_t count_documents(const std::string& text, YAML::Mark& second) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentWalk walk;
  for (int i = 0; i < 2 && parser.HandleNextDocument(walk); ++i) {
  }
  if (walk.starts.size() >= 2) {
    if (walk.starts[1].pos == walk.starts[0].pos) throw YAML::ParserException(walk.starts[1], "unexpected character");
    second = walk.roots.size() >= 2 ? walk.roots[1] : walk.starts[1];
  }
  return std::min<std::size_t>(walk.starts.size(), 2);
}

// Parses into `cfg` (which keeps defaults for absent keys); never throws.
void parse_into(const std::string& text, const std::string& source, Config& cfg, std::vector<Problem>& problems) {
  cfg.source = source;
  std::vector<Problem> local;
  try {
    YAML::Mark second = YAML::Mark::null_mark();
    const std::size_t documents = count_documents(text, second);
    std::vector<YAML::Node> docs;
    if (documents > 0) docs.push_back(YAML::Load(text));
    if (documents > 1) {
      Problem p{source, 0, 0, "more than one YAML document (---); put the whole configuration in one document"};
      const auto m = second;
      if (!m.is_null()) {
        p.line = m.line + 1;
        p.column = m.column + 1;
      }
      local.push_back(std::move(p));
    }
    if (!docs.empty()) {
      Parser parser(source, local);
      parser.parse_root(docs.front(), cfg);
    }
  } catch (const YAML::Exception& e) {
    Problem p{source, 0, 0, "YAML syntax error: " + e.msg};
    if (!e.mark.is_null()) {
      p.line = e.mark.line + 1;
      p.column = e.mark.column + 1;
    }
    local.push_back(std::move(p));
  } catch (const std::exception& e) {
    local.push_back(Problem{source, 0, 0, std::string("cannot parse the configuration: ") + e.what()});
  } catch (...) {
    local.push_back(Problem{source, 0, 0, "cannot parse the configuration"});
  }
  sort_problems(local);
  problems.insert(problems.end(), local.begin(), local.end());
}

bool read_whole_file(const std::string& path, std::string& out, std::string& why) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    why = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

void load_file_into(const std::string& path, Config& cfg, std::vector<Problem>& problems) {
  std::string text, why;
  if (!read_whole_file(path, text, why)) {
    cfg.source = path;
    problems.push_back(Problem{path, 0, 0, "cannot read the configuration file: " + why});
    return;
  }
  parse_into(text, path, cfg, problems);
}

LoadResult finish(Config&& cfg, std::vector<Problem>&& problems) {
  LoadResult r;
  r.problems = std::move(problems);
  if (r.problems.empty()) r.config = std::make_shared<Config>(std::move(cfg));
  return r;
}

// --- environment -------------------------------------------------------------

const char* const kEnv = "<env>";

void env_problem(std::vector<Problem>& problems, const std::string& message) {
  problems.push_back(Problem{kEnv, 0, 0, message});
}

std::optional<std::string> bcrypt_hash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", 10, nullptr, 0, salt, sizeof salt)) return std::nullopt;
  auto data = std::make_unique<crypt_data>();  // value-initialised (zeroed)
  const char* h = crypt_r(password.c_str(), salt, data.get());
  if (!h || h[0] == '*' || std::string_view(h).substr(0, 4) != "$2b$") return std::nullopt;
  std::string out(h);
  std::memset(data.get(), 0, sizeof(crypt_data));
  return out;
}

}  // namespace

LoadResult parse_yaml(const std::string& text, const std::string& source) {
  Config cfg;
  std::vector<Problem> problems;
  parse_into(text, source, cfg, problems);
  return finish(std::move(cfg), std::move(problems));
}

LoadResult load_file(const std::string& path) {
  Config cfg;
  std::vector<Problem> problems;
  load_file_into(path, cfg, problems);
  return finish(std::move(cfg), std::move(problems));
}

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

void apply_env(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems) {
  const auto user = env("BASIC_AUTH_USERNAME");
  const auto password = env("BASIC_AUTH_PASSWORD");
  const auto password_file = env("BASIC_AUTH_PASSWORD_FILE");

  std::string pw = password.value_or("");
  bool pw_ok = true;
  if (password_file && !password_file->empty()) {
    if (!pw.empty()) {
      env_problem(problems, "BASIC_AUTH_PASSWORD and BASIC_AUTH_PASSWORD_FILE are both set; use only one");
      pw_ok = false;
    } else {
      std::string text, why;
      if (!read_whole_file(*password_file, text, why)) {
        env_problem(problems, "BASIC_AUTH_PASSWORD_FILE: cannot read " + quote(*password_file) + ": " + why);
        pw_ok = false;
      } else {
        if (!text.empty() && text.back() == '\n') {
          text.pop_back();
          if (!text.empty() && text.back() == '\r') text.pop_back();
        }
        pw = std::move(text);
        if (pw.empty()) {
          env_problem(problems, "BASIC_AUTH_PASSWORD_FILE: " + quote(*password_file) + " is empty");
          pw_ok = false;
        }
      }
    }
  }

  const std::string name = user.value_or("");
  if (pw_ok) {
    if (user && password && name.empty() && password->empty() && !(password_file && !password_file->empty())) {
      // Both set and empty: auth explicitly disabled (as Airbyte documents).
      cfg.auth.disabled_by_env = true;
      cfg.auth.env_password.reset();
    } else if (!name.empty() && pw.empty()) {
      env_problem(problems, "BASIC_AUTH_USERNAME is set but BASIC_AUTH_PASSWORD/BASIC_AUTH_PASSWORD_FILE is not");
    } else if (name.empty() && !pw.empty()) {
      env_problem(problems, std::string(password_file && !password_file->empty() ? "BASIC_AUTH_PASSWORD_FILE"
                                                                                  : "BASIC_AUTH_PASSWORD") +
                                " is set but BASIC_AUTH_USERNAME is not");
    } else if (!name.empty()) {
      if (name.find(':') != std::string::npos || has_control(name)) {
        env_problem(problems, "BASIC_AUTH_USERNAME must not contain ':' or control characters");
      } else if (auto hash = bcrypt_hash(pw)) {
        auto& users = cfg.auth.users;
        users.erase(std::remove_if(users.begin(), users.end(), [&](const BasicUser& u) { return u.user == name; }),
                    users.end());
        users.push_back(BasicUser{name, *hash});
        cfg.auth.env_password = pw;
      } else {
        env_problem(problems, "BASIC_AUTH_PASSWORD: cannot compute a bcrypt hash (libxcrypt failed)");
      }
    }
  }
  std::fill(pw.begin(), pw.end(), '\0');

  if (auto t = env("BASIC_AUTH_PROXY_TIMEOUT"); t && !t->empty()) {
    std::string why;
    auto d = parse_duration(*t, &why);
    if (!d || d->count() == 0) {
      env_problem(problems, "BASIC_AUTH_PROXY_TIMEOUT: expected a positive number of seconds, got " + quote(*t) +
                                (why.empty() ? "" : " (" + why + ")"));
    } else {
      auto set = [&](Upstream& u) { u.connect_timeout = u.read_timeout = u.send_timeout = *d; };
      set(cfg.upstream);
      for (auto& r : cfg.routes) set(r.upstream);
    }
  }

  if (auto u = env("PROXY_PASS_WEB"); u && !u->empty()) {
    std::string why;
    UpstreamUrl url;
    if (parse_upstream_url(*u, url, why))
      cfg.upstream.url = url;
    else
      env_problem(problems, u->find('@') == std::string::npos ? "PROXY_PASS_WEB: invalid URL " + quote(*u) + ": " + why
                                                              : "PROXY_PASS_WEB: invalid URL: " + why);
  }
}

LoadResult load(const std::optional<std::string>& cli_path, const EnvLookup& env) {
  Config cfg;
  std::vector<Problem> problems;
  std::optional<std::string> path;
  if (cli_path && !cli_path->empty())
    path = cli_path;
  else if (auto p = env("AIRGATE_CONFIG"); p && !p->empty())
    path = p;
  if (path)
    load_file_into(*path, cfg, problems);
  else
    cfg.source = "<defaults>";
  apply_env(cfg, env, problems);
  return finish(std::move(cfg), std::move(problems));
}

}  // namespace airgate::config
