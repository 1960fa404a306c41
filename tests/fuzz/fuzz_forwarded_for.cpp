// Fuzz target: X-Forwarded-For. Input: the first byte picks the TCP peer (one
// of a few trusted or untrusted addresses), the rest is split at '\n' into
// several X-Forwarded-For header values (as a request may carry). Runs
// access::resolve_client_address with a trusted-proxy list, the per-entry
// parser on every ','-separated entry, and the rules that build the value
// sent upstream. Invariant: the result is the peer when the peer is not
// trusted, and is always normalized (never an IPv4-mapped IPv6 address).
#include "access/client_address.hpp"
#include "access/ip_allowlist.hpp"
#include "http/rules/headers.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace airgate::access;
namespace rules = airgate::http::rules;

namespace {

const IpAllowlist& trusted() {
  static const IpAllowlist list = [] {
    std::vector<Cidr> rules;
    for (const char* e : {"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "127.0.0.0/8"}) {
      auto c = parse_cidr(e);
      if (!c) __builtin_trap();
      rules.push_back(*c);
    }
    return IpAllowlist(std::move(rules));
  }();
  return list;
}

const IpAddress kPeers[] = {
    *airgate::core::parse_ip("10.1.2.3"),
    *airgate::core::parse_ip("203.0.113.9"),
    *airgate::core::parse_ip("::ffff:10.9.9.9"),
    *airgate::core::parse_ip("2001:db8::5"),
    *airgate::core::parse_ip("::1"),
    *airgate::core::parse_ip("2001:4860::8888"),
    *airgate::core::parse_ip("127.0.0.1"),
    *airgate::core::parse_ip("192.168.1.7"),
};

bool mapped(const IpAddress& a) { return a.is_v4_mapped(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const IpAddress& peer = kPeers[data[0] % (sizeof(kPeers) / sizeof(kPeers[0]))];
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  std::vector<std::string_view> values;
  for (std::size_t start = 0;;) {
    const auto nl = rest.find('\n', start);
    values.push_back(rest.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  for (auto v : values) {
    for (std::size_t start = 0;;) {
      const auto comma = v.find(',', start);
      if (auto a = parse_forwarded_entry(
              v.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
          a && mapped(*a))
        __builtin_trap();
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }

  const IpAddress client = resolve_client_address(peer, values, trusted());
  if (mapped(client)) __builtin_trap();
  if (!trusted().contains(peer.normalized()) && client != peer.normalized()) __builtin_trap();

  // The value forwarded upstream and X-Real-IP.
  std::string joined;
  for (auto v : values) {
    if (!joined.empty()) joined += ", ";
    joined += v;
  }
  (void)rules::append_forwarded_for(joined, rules::forwarded_address(client.str()));
  (void)rules::forwarded_address(rest);
  (void)parse_cidr(rest);
  return 0;
}
