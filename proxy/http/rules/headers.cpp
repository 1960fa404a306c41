#include "http/rules/headers.hpp"

#include <algorithm>
#include <array>
#include <cctype>

namespace airgate::http::rules {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

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
  static constexpr std::array<std::string_view, 8> kHopByHop = {
      "connection", "keep-alive", "proxy-connection", "te",
      "trailer",    "transfer-encoding", "upgrade", "proxy-authenticate"};
  return std::any_of(kHopByHop.begin(), kHopByHop.end(), [&](auto h) { return iequals(h, name); });
}

void connection_tokens(std::string_view value, std::vector<std::string>& out) {
  for_each_token(value, [&](std::string_view tok) {
    std::string lower(tok);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.push_back(std::move(lower));
  });
}

bool must_strip(std::string_view name, const std::vector<std::string>& named) {
  if (is_hop_by_hop(name)) return true;
  return std::any_of(named.begin(), named.end(), [&](const std::string& n) { return iequals(n, name); });
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

bool acceptable_request_transfer_encoding(std::string_view value) {
  return iequals(trim(value), "chunked");
}

std::string check_raw_head(std::string_view head) {
  for (std::size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
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
