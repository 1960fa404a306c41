#include "access/client_address.hpp"
#include "access/ip_allowlist.hpp"

#include <catch2/catch.hpp>

using namespace airgate::access;

namespace {

IpAllowlist list(const std::vector<std::string>& entries) {
  std::vector<Cidr> rules;
  for (const auto& e : entries) {
    auto c = parse_cidr(e);
    REQUIRE(c);
    rules.push_back(*c);
  }
  return IpAllowlist(std::move(rules));
}

IpAddress ip(const char* s) {
  auto a = airgate::core::parse_ip(s);
  REQUIRE(a);
  return *a;
}

}  // namespace

TEST_CASE("allowlist: IPv4 networks and single addresses", "[access][allowlist]") {
  auto l = list({"10.0.0.0/8", "192.168.1.7", "172.16.0.0/12"});
  CHECK(l.contains(ip("10.0.0.1")));
  CHECK(l.contains(ip("10.255.255.255")));
  CHECK_FALSE(l.contains(ip("11.0.0.1")));
  CHECK(l.contains(ip("192.168.1.7")));
  CHECK_FALSE(l.contains(ip("192.168.1.8")));
  CHECK(l.contains(ip("172.31.255.255")));
  CHECK_FALSE(l.contains(ip("172.32.0.0")));
  CHECK_FALSE(l.contains(ip("::1")));
}

TEST_CASE("allowlist: IPv6 and IPv4-mapped", "[access][allowlist]") {
  auto l = list({"2001:db8::/32", "::1", "203.0.113.0/24", "::ffff:198.51.100.0/120"});
  CHECK(l.contains(ip("2001:db8:1234::5")));
  CHECK_FALSE(l.contains(ip("2001:db9::1")));
  CHECK(l.contains(ip("::1")));
  CHECK_FALSE(l.contains(ip("::2")));
  // dual-stack socket: IPv4 client seen as ::ffff:a.b.c.d matches the v4 rule
  CHECK(l.contains(ip("::ffff:203.0.113.9")));
  CHECK_FALSE(l.contains(ip("::ffff:203.0.114.9")));
  // a mapped rule is an IPv4 rule
  CHECK(l.contains(ip("198.51.100.20")));
  CHECK(l.contains(ip("::ffff:198.51.100.20")));
  CHECK_FALSE(l.contains(ip("127.0.0.1")));
}

TEST_CASE("allowlist: prefix edge cases", "[access][allowlist]") {
  CHECK(list({"0.0.0.0/0"}).contains(ip("8.8.8.8")));
  CHECK_FALSE(list({"0.0.0.0/0"}).contains(ip("2001:db8::1")));
  CHECK(list({"::/0"}).contains(ip("2001:db8::1")));
  CHECK(list({"10.1.2.3/8"}).contains(ip("10.200.0.1")));  // host bits ignored, as nginx
  CHECK(list({"10.0.0.128/25"}).contains(ip("10.0.0.200")));
  CHECK_FALSE(list({"10.0.0.128/25"}).contains(ip("10.0.0.127")));
  CHECK(list({"2001:db8:0:8000::/49"}).contains(ip("2001:db8:0:ffff::1")));
  CHECK_FALSE(list({"2001:db8:0:8000::/49"}).contains(ip("2001:db8:0:7fff::1")));
}

TEST_CASE("X-Forwarded-For entries", "[access][client_address]") {
  CHECK(parse_forwarded_entry(" 203.0.113.7 ") == ip("203.0.113.7"));
  CHECK(parse_forwarded_entry("203.0.113.7:5678") == ip("203.0.113.7"));
  CHECK(parse_forwarded_entry("2001:db8::1") == ip("2001:db8::1"));
  CHECK(parse_forwarded_entry("[2001:db8::1]") == ip("2001:db8::1"));
  CHECK(parse_forwarded_entry("[2001:db8::1]:443") == ip("2001:db8::1"));
  CHECK(parse_forwarded_entry("::ffff:203.0.113.7") == ip("203.0.113.7"));
  CHECK_FALSE(parse_forwarded_entry("unknown"));
  CHECK_FALSE(parse_forwarded_entry("_hidden"));
  CHECK_FALSE(parse_forwarded_entry("203.0.113.7:99999"));
  CHECK_FALSE(parse_forwarded_entry("[203.0.113.7]"));
  CHECK_FALSE(parse_forwarded_entry("[2001:db8::1"));
  CHECK_FALSE(parse_forwarded_entry("example.com"));
  CHECK_FALSE(parse_forwarded_entry(""));
}

TEST_CASE("client address resolution through trusted proxies", "[access][client_address]") {
  auto trusted = list({"10.0.0.0/8", "fd00::/8"});
  using V = std::vector<std::string_view>;

  SECTION("untrusted peer: X-Forwarded-For is ignored (spoofing)") {
    CHECK(resolve_client_address(ip("203.0.113.5"), V{"1.1.1.1"}, trusted) == ip("203.0.113.5"));
  }
  SECTION("no trusted proxies configured") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"1.1.1.1"}, IpAllowlist{}) == ip("10.0.0.1"));
  }
  SECTION("trusted peer without X-Forwarded-For") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{}, trusted) == ip("10.0.0.1"));
  }
  SECTION("trusted peer: right-most entry") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"198.51.100.9"}, trusted) == ip("198.51.100.9"));
  }
  SECTION("the client-supplied left part cannot spoof: right-most untrusted wins") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"6.6.6.6, 198.51.100.9, 10.1.1.1"}, trusted) == ip("198.51.100.9"));
  }
  SECTION("multiple headers are concatenated in order") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"6.6.6.6, 198.51.100.9", "10.2.2.2", "10.3.3.3"}, trusted) ==
          ip("198.51.100.9"));
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"6.6.6.6", "198.51.100.9, 10.2.2.2"}, trusted) ==
          ip("198.51.100.9"));
  }
  SECTION("all entries trusted: the left-most one") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"10.9.9.9, 10.2.2.2"}, trusted) == ip("10.9.9.9"));
  }
  SECTION("garbage stops the walk at the last good (trusted) address") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"6.6.6.6, garbage, 10.2.2.2"}, trusted) == ip("10.2.2.2"));
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"6.6.6.6, unknown"}, trusted) == ip("10.0.0.1"));
  }
  SECTION("empty entries are skipped; ports and brackets tolerated") {
    CHECK(resolve_client_address(ip("10.0.0.1"), V{"198.51.100.9:1234, , 10.2.2.2 ,"}, trusted) == ip("198.51.100.9"));
    CHECK(resolve_client_address(ip("fd00::1"), V{"[2001:db8::7]:443, [fd00::2]"}, trusted) == ip("2001:db8::7"));
  }
  SECTION("IPv4-mapped peer is normalized and matched against v4 rules") {
    auto r = resolve_client_address(ip("::ffff:10.0.0.1"), V{"198.51.100.9"}, trusted);
    CHECK(r == ip("198.51.100.9"));
    CHECK(resolve_client_address(ip("::ffff:203.0.113.5"), V{}, trusted) == ip("203.0.113.5"));
  }
  SECTION("the walk is bounded") {
    std::string many;
    for (int i = 0; i < 100; ++i) many += "10.0.0.2, ";
    many += "10.0.0.3";
    std::string with_client = "198.51.100.9, " + many;
    CHECK(resolve_client_address(ip("10.0.0.1"), V{with_client}, trusted).str().rfind("10.", 0) == 0);
  }
}
