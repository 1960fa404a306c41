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
    std::vector<std::string> errors;
    auto l = IpAllowlist::parse({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1", "127.0.0.0/8"}, errors);
    if (!errors.empty()) __builtin_trap();
    return l;
  }();
  return list;
}

const address kPeers[] = {
    boost::asio::ip::make_address("10.1.2.3"),         boost::asio::ip::make_address("203.0.113.9"),
    boost::asio::ip::make_address("::ffff:10.9.9.9"),  boost::asio::ip::make_address("2001:db8::5"),
    boost::asio::ip::make_address("::1"),              boost::asio::ip::make_address("2001:4860::8888"),
    boost::asio::ip::make_address("127.0.0.1"),        boost::asio::ip::make_address("192.168.1.7"),
};

bool mapped(const address& a) { return a.is_v6() && a.to_v6().is_v4_mapped(); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const address& peer = kPeers[data[0] % (sizeof(kPeers) / sizeof(kPeers[0]))];
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
      if (auto a = parse_forwarded_entry(v.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                                          : comma - start));
          a && mapped(*a))
        __builtin_trap();
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }

  const address client = resolve_client_address(peer, values, trusted());
  if (mapped(client)) __builtin_trap();
  if (!trusted().contains(normalize(peer)) && client != normalize(peer)) __builtin_trap();

  // The value forwarded upstream and X-Real-IP.
  std::string joined;
  for (auto v : values) {
    if (!joined.empty()) joined += ", ";
    joined += v;
  }
  (void)rules::append_forwarded_for(joined, rules::forwarded_address(client.to_string()));
  (void)rules::forwarded_address(rest);
  (void)parse_cidr(rest);
  return 0;
}
