#include "access/client_address.hpp"

#include "core/text.hpp"

#include <charconv>
#include <string>

namespace airgate::access {
namespace {

using core::trim;

bool valid_port(std::string_view p) {
  if (p.empty() || p.size() > 5) return false;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
  return ec == std::errc() && ptr == p.data() + p.size() && v <= 65535;
}

std::optional<IpAddress> parse_plain(std::string_view s) {
  if (s.empty() || s.size() > 45 || s.find('%') != std::string_view::npos) return std::nullopt;
  return core::parse_ip(s);
}

}  // namespace

std::optional<IpAddress> parse_forwarded_entry(std::string_view e) {
  e = trim(e);
  if (e.empty()) return std::nullopt;
  if (e.front() == '[') {
    auto close = e.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    std::string_view rest = e.substr(close + 1);
    if (!rest.empty() && !(rest.front() == ':' && valid_port(rest.substr(1)))) return std::nullopt;
    auto a = parse_plain(e.substr(1, close - 1));
    if (!a || !a->is_v6()) return std::nullopt;
    return a->normalized();
  }
  if (auto a = parse_plain(e)) return a->normalized();
  // "1.2.3.4:port"
  auto colon = e.find(':');
  if (colon != std::string_view::npos && e.find(':', colon + 1) == std::string_view::npos &&
      valid_port(e.substr(colon + 1))) {
    auto a = parse_plain(e.substr(0, colon));
    if (a && a->is_v4()) return *a;
  }
  return std::nullopt;
}

IpAddress resolve_client_address(const IpAddress& peer_raw, const std::vector<std::string_view>& xff_values,
                                 const IpAllowlist& trusted) {
  IpAddress current = peer_raw.normalized();
  if (trusted.empty() || !trusted.contains(current)) return current;
  std::size_t examined = 0;
  for (auto hv = xff_values.rbegin(); hv != xff_values.rend(); ++hv) {
    std::string_view v = *hv;
    while (true) {
      auto comma = v.rfind(',');
      std::string_view entry = comma == std::string_view::npos ? v : v.substr(comma + 1);
      if (!trim(entry).empty()) {
        if (++examined > kMaxForwardedEntries) return current;
        auto a = parse_forwarded_entry(entry);
        if (!a) return current;  // garbage stops the walk
        current = *a;
        if (!trusted.contains(current)) return current;
      }
      if (comma == std::string_view::npos) break;
      v = v.substr(0, comma);
    }
  }
  return current;  // every entry trusted: the left-most one
}

}  // namespace airgate::access
