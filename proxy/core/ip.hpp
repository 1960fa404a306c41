// IP addresses and networks as plain values, without Asio: the pure modules
// (config, access) hold and compare them; the socket side converts an Asio
// address at the edge (net/ip.hpp).
//
// Networks (auth.allow, trusted_proxies): "10.0.0.0/8", "192.168.1.7",
// "2001:db8::/32", "::1". A single address is a /32 or /128. Host bits below
// the prefix are ignored (as in nginx: "10.1.2.3/8" means 10.0.0.0/8).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d), both as networks and as
// addresses looked up, are treated as the IPv4 address, so a v4 rule matches
// a client seen on a dual-stack socket.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::core {

enum class Family : std::uint8_t { v4, v6 };

struct IpAddress {
  Family family = Family::v4;
  std::array<std::uint8_t, 16> bytes{};  // network byte order; v4 uses the first 4

  static IpAddress v4(const std::array<std::uint8_t, 4>& b);
  static IpAddress v6(const std::array<std::uint8_t, 16>& b);

  bool is_v4() const { return family == Family::v4; }
  bool is_v6() const { return family == Family::v6; }
  bool is_v4_mapped() const;  // ::ffff:a.b.c.d
  // ::ffff:a.b.c.d -> a.b.c.d; any other address unchanged.
  IpAddress normalized() const;
  // "10.1.2.3", "2001:db8::1" (inet_ntop's text, no brackets).
  std::string str() const;

  friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// An IPv4 dotted quad or an IPv6 address (inet_pton: no zone id, no
// brackets, no port); nullopt otherwise. Not normalized.
std::optional<IpAddress> parse_ip(std::string_view text);

struct Cidr {
  Family family = Family::v4;
  std::array<std::uint8_t, 16> bytes{};     // the network, host bits zeroed (first 4 bytes for v4)
  unsigned prefix = 0;                      // 0..32 or 0..128
  bool contains(const IpAddress& a) const;  // `a` is normalized first
  std::string str() const;                  // canonical "net/prefix"
};

// An address or "address/prefix" (spaces and tabs around are ignored);
// nullopt on bad input, `error` then says why: "empty address", "zone ids
// (%...) are not allowed", "not an IP address or CIDR", "bad prefix length",
// "prefix length over 32" / "over 128".
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error = nullptr);

}  // namespace airgate::core
