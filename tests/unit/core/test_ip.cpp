#include "core/ip.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::core;

namespace {

IpAddress ip(const char* s) {
  auto a = parse_ip(s);
  REQUIRE(a);
  return *a;
}

Cidr cidr(const char* s) {
  std::string why;
  auto c = parse_cidr(s, &why);
  INFO(s << ": " << why);
  REQUIRE(c);
  return *c;
}

std::string cidr_error(const char* s) {
  std::string why;
  CHECK_FALSE(parse_cidr(s, &why));
  return why;
}

}  // namespace

TEST_CASE("parse_ip: IPv4 and IPv6 literals", "[core][ip]") {
  const auto a = ip("192.0.2.10");
  CHECK(a.is_v4());
  CHECK(a.bytes[0] == 192);
  CHECK(a.bytes[3] == 10);
  CHECK(a.str() == "192.0.2.10");
  const auto b = ip("2001:DB8::1");
  CHECK(b.is_v6());
  CHECK(b.bytes[0] == 0x20);
  CHECK(b.bytes[15] == 1);
  CHECK(b.str() == "2001:db8::1");
  CHECK(ip("::").str() == "::");
  for (const char* bad : {"", "1.2.3", "1.2.3.256", "01.2.3.4x", "host", "[::1]", "::1%eth0", "1.2.3.4:80", " 1.2.3.4",
                          "2001:db8::1::2", "::ffff:1.2.3.4.5"}) {
    INFO(bad);
    CHECK_FALSE(parse_ip(bad));
  }
}

TEST_CASE("IPv4-mapped addresses normalize to IPv4", "[core][ip]") {
  const auto m = ip("::ffff:198.51.100.7");
  CHECK(m.is_v4_mapped());
  CHECK(m.normalized() == ip("198.51.100.7"));
  CHECK(m.normalized().str() == "198.51.100.7");
  CHECK_FALSE(ip("::1").is_v4_mapped());
  CHECK(ip("::1").normalized() == ip("::1"));
  CHECK(ip("10.0.0.1").normalized() == ip("10.0.0.1"));
  CHECK(IpAddress::v6(m.bytes) == m);
  CHECK(IpAddress::v4({10, 0, 0, 1}) == ip("10.0.0.1"));
}

TEST_CASE("Cidr: prefixes 0, 32 and 128, host bits ignored", "[core][ip]") {
  CHECK(cidr("0.0.0.0/0").contains(ip("8.8.8.8")));
  CHECK_FALSE(cidr("0.0.0.0/0").contains(ip("2001:db8::1")));
  CHECK(cidr("::/0").contains(ip("2001:db8::1")));
  CHECK_FALSE(cidr("::/0").contains(ip("8.8.8.8")));
  CHECK(cidr("192.0.2.7/32").contains(ip("192.0.2.7")));
  CHECK_FALSE(cidr("192.0.2.7/32").contains(ip("192.0.2.6")));
  CHECK(cidr("192.0.2.7").prefix == 32);
  CHECK(cidr("2001:db8::5/128").contains(ip("2001:db8::5")));
  CHECK_FALSE(cidr("2001:db8::5/128").contains(ip("2001:db8::4")));
  CHECK(cidr("::1").prefix == 128);
  CHECK(cidr("10.1.2.3/8").str() == "10.0.0.0/8");
  CHECK(cidr("10.0.0.128/25").contains(ip("10.0.0.200")));
  CHECK_FALSE(cidr("10.0.0.128/25").contains(ip("10.0.0.127")));
  CHECK(cidr(" 2001:db8:0:8000::/49\t").contains(ip("2001:db8:0:ffff::1")));
  CHECK_FALSE(cidr("2001:db8:0:8000::/49").contains(ip("2001:db8:0:7fff::1")));
}

TEST_CASE("Cidr: IPv4-mapped rules and addresses are IPv4", "[core][ip]") {
  const auto mapped_rule = cidr("::ffff:10.0.0.0/104");
  CHECK(mapped_rule.family == Family::v4);
  CHECK(mapped_rule.str() == "10.0.0.0/8");
  CHECK(mapped_rule.contains(ip("10.9.9.9")));
  CHECK(cidr("10.0.0.0/8").contains(ip("::ffff:10.1.2.3")));
  CHECK_FALSE(cidr("10.0.0.0/8").contains(ip("::ffff:11.1.2.3")));
  // below /96 a mapped network stays an IPv6 network
  CHECK(cidr("::ffff:0.0.0.0/95").family == Family::v6);
}

TEST_CASE("parse_cidr: bad input says why", "[core][ip]") {
  CHECK(cidr_error("") == "empty address");
  CHECK(cidr_error(" \t") == "empty address");
  CHECK(cidr_error("fe80::1%eth0") == "zone ids (%...) are not allowed");
  CHECK(cidr_error("nonsense") == "not an IP address or CIDR");
  CHECK(cidr_error("1.2.3.4/") == "bad prefix length");
  CHECK(cidr_error("1.2.3.4/x") == "bad prefix length");
  CHECK(cidr_error("1.2.3.4/08x") == "bad prefix length");
  CHECK(cidr_error("1.2.3.4/0008") == "bad prefix length");
  CHECK(cidr_error("10.0.0.0/33") == "prefix length over 32");
  CHECK(cidr_error("::1/129") == "prefix length over 128");
}
