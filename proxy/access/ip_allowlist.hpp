// A list of IPv4/IPv6 networks (auth.allow, trusted_proxies).
//
// Entries: "10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "::1". A single
// address is a /32 or /128. Host bits below the prefix are ignored (as in
// nginx: "10.1.2.3/8" means 10.0.0.0/8). IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d), both as rules and as addresses looked up, are treated as
// the IPv4 address, so a v4 rule matches a client seen on a dual-stack socket.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::access {

using boost::asio::ip::address;

// ::ffff:a.b.c.d -> a.b.c.d; any other address unchanged.
address normalize(const address& a);

struct Cidr {
  bool v4 = true;
  std::array<std::uint8_t, 16> bytes{};  // network, host bits zeroed (first 4 bytes for v4)
  unsigned prefix = 0;                   // 0..32 or 0..128
  bool contains(const address& a) const;  // `a` is normalized first
  std::string str() const;                // canonical "net/prefix"
};

// nullopt on bad input; `error` then says why (without the "auth.allow" key).
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error = nullptr);

class IpAllowlist {
 public:
  IpAllowlist() = default;
  // Every bad entry is reported in `errors` as "'ENTRY': reason" and skipped.
  static IpAllowlist parse(const std::vector<std::string>& entries, std::vector<std::string>& errors);
  bool contains(const address& a) const;
  bool empty() const { return rules_.empty(); }
  const std::vector<Cidr>& rules() const { return rules_; }
  void add(const Cidr& c) { rules_.push_back(c); }

 private:
  std::vector<Cidr> rules_;
};

}  // namespace airgate::access
