#include "http/rules/headers.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace airgate::http::rules {

namespace {

using core::iequals;
using core::trim;

template <class F>
void for_each_token(std::string_view list, F&& f) {
  while (!list.empty()) {
    auto comma = list.find(',');
    auto tok = trim(list.substr(0, comma));
    if (!tok.empty()) f(tok);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace

bool is_hop_by_hop(std::string_view name) {
  // HTTP2-Settings belongs to the h2c upgrade (RFC 7540 §3.2.1), which is
  // never forwarded.
  static constexpr std::array<std::string_view, 9> kHopByHop = {
      "connection", "keep-alive",         "proxy-connection", "te", "trailer", "transfer-encoding",
      "upgrade",    "proxy-authenticate", "http2-settings"};
  return std::any_of(kHopByHop.begin(), kHopByHop.end(), [&](auto h) { return iequals(h, name); });
}

void connection_tokens(std::string_view value, ConnectionNames& out) {
  for_each_token(value, [&](std::string_view tok) { out.push_back(tok); });
}

bool must_strip(std::string_view name, std::span<const std::string_view> named) {
  if (is_hop_by_hop(name)) return true;
  if (iequals(name, "host") || iequals(name, "content-length")) return false;
  return std::any_of(named.begin(), named.end(), [&](std::string_view n) { return iequals(n, name); });
}

std::string forwarded_address(std::string_view address) {
  if (address.size() > 2 && address.front() == '[' && address.back() == ']')
    address = address.substr(1, address.size() - 2);
  constexpr std::string_view kMapped = "::ffff:";
  if (address.size() > kMapped.size() && iequals(address.substr(0, kMapped.size()), kMapped) &&
      address.find('.') != std::string_view::npos)
    address.remove_prefix(kMapped.size());
  return std::string(address);
}

std::string append_forwarded_for(std::string_view existing, std::string_view peer) {
  existing = trim(existing);
  std::string out;
  out.reserve(existing.size() + peer.size() + 2);
  if (!existing.empty()) {
    out.append(existing);
    out.append(", ");
  }
  out.append(forwarded_address(peer));
  return out;
}

bool has_token(std::string_view list, std::string_view token) {
  bool found = false;
  for_each_token(list, [&](std::string_view tok) { found = found || iequals(tok, token); });
  return found;
}

bool acceptable_request_transfer_encoding(std::string_view value) { return iequals(trim(value), "chunked"); }

namespace {
bool is_unreserved_or_sub_delim(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' || c == '&' ||
         c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '=';
}
bool is_hex(unsigned char c) { return std::isxdigit(c) != 0; }
}  // namespace

bool valid_host(std::string_view v) {
  std::string_view host = v;
  std::string_view port;
  if (!v.empty() && v.front() == '[') {
    const auto close = v.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    const auto literal = v.substr(1, close - 1);
    for (unsigned char c : literal)
      if (!(is_hex(c) || c == ':' || c == '.')) return false;  // IPv6 (IPvFuture is not accepted)
    if (literal.find(':') == std::string_view::npos) return false;
    const auto rest = v.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
    host = {};
  } else {
    const auto colon = v.find(':');
    if (colon != std::string_view::npos) {
      host = v.substr(0, colon);
      port = v.substr(colon + 1);
      if (port.empty() || host.empty()) return false;
    }
  }
  if (port.size() > 5) return false;
  for (unsigned char c : port)
    if (!std::isdigit(c)) return false;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(host[i]);
    if (c == '%') {
      if (i + 2 >= host.size() || !is_hex(host[i + 1]) || !is_hex(host[i + 2])) return false;
      i += 2;
      continue;
    }
    if (!is_unreserved_or_sub_delim(c)) return false;
  }
  return true;
}

int request_line_version(std::string_view head) {
  auto line = head.substr(0, head.find("\r\n"));
  const auto sp = line.rfind(' ');
  if (sp == std::string_view::npos) return -1;
  const auto v = line.substr(sp + 1);
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || !std::isdigit(static_cast<unsigned char>(v[5])) || v[6] != '.' ||
      !std::isdigit(static_cast<unsigned char>(v[7])))
    return -1;
  return (v[5] - '0') * 10 + (v[7] - '0');
}

bool is_websocket_upgrade(const UpgradeFields& f) {
  return f.method == "GET" && iequals(trim(f.upgrade), "websocket") && has_token(f.connection, "upgrade") &&
         f.has_key && f.has_version;
}

namespace {
// Bytes check_raw_head looks at: CR, LF and every other control character
// but HT. All others (visible ASCII, SP, HT, obs-text) pass with one load.
constexpr std::array<bool, 256> kRawHeadSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = c != '\t';
  t[0x7f] = true;
  return t;
}();
}  // namespace

std::string check_raw_head(std::string_view head) {
  for (std::size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
    if (!kRawHeadSpecial[c]) continue;
    if (c == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') return "bare CR in request head";
      // A line starting with SP/HT after CRLF continues the previous field
      // (obs-fold), except after the blank line that ends the head.
      if (i + 2 < head.size() && (head[i + 2] == ' ' || head[i + 2] == '\t'))
        return "obsolete line folding (obs-fold) in a header field";
      ++i;
      continue;
    }
    if (c == '\n') return "bare LF line ending in request head";
    if (c == 0) return "NUL byte in request head";
    if ((c < 0x20 && c != '\t') || c == 0x7f) return "control character in request head";
  }
  return {};
}

}  // namespace airgate::http::rules
