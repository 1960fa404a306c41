#include "access/proxy_protocol.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::access;

namespace {

// An address literal the test knows is valid.
IpAddress make_address(std::string_view s) {
  auto a = airgate::core::parse_ip(s);
  REQUIRE(a);
  return *a;
}

const std::string kSig("\x0D\x0A\x0D\x0A\x00\x0D\x0A\x51\x55\x49\x54\x0A", 12);

std::string v2(unsigned char ver_cmd, unsigned char fam, const std::string& body, int len_override = -1) {
  std::string h = kSig;
  h += static_cast<char>(ver_cmd);
  h += static_cast<char>(fam);
  std::size_t len = len_override >= 0 ? static_cast<std::size_t>(len_override) : body.size();
  h += static_cast<char>((len >> 8) & 0xff);
  h += static_cast<char>(len & 0xff);
  return h + body;
}

std::string inet_body() {
  // 192.0.2.10:51000 -> 10.0.0.5:443
  return std::string("\xC0\x00\x02\x0A"
                     "\x0A\x00\x00\x05"
                     "\xC7\x38"
                     "\x01\xBB",
                     12);
}

std::string inet6_body() {
  std::string b;
  auto s = make_address("2001:db8::42").bytes;
  auto d = make_address("2001:db8::1").bytes;
  b.append(reinterpret_cast<const char*>(s.data()), 16);
  b.append(reinterpret_cast<const char*>(d.data()), 16);
  b += std::string("\x30\x39\x01\xBB", 4);  // 12345 -> 443
  return b;
}

}  // namespace

TEST_CASE("PROXY v1 TCP4 and TCP6", "[access][proxy_protocol]") {
  std::string line = "PROXY TCP4 192.0.2.10 10.0.0.5 51000 443\r\n";
  auto h = parse_proxy_header(line + "\x16\x03\x01");  // TLS bytes follow
  REQUIRE(h.ok());
  CHECK(h.version == 1);
  CHECK(h.consumed == line.size());
  CHECK(*h.source == make_address("192.0.2.10"));
  CHECK(h.source_port == 51000);
  CHECK(*h.destination == make_address("10.0.0.5"));
  CHECK(h.destination_port == 443);
  CHECK_FALSE(h.local);

  h = parse_proxy_header("PROXY TCP6 2001:db8::42 2001:db8::1 12345 443\r\n");
  REQUIRE(h.ok());
  CHECK(*h.source == make_address("2001:db8::42"));

  h = parse_proxy_header("PROXY TCP6 ::ffff:192.0.2.10 ::1 1 2\r\n");
  REQUIRE(h.ok());
  CHECK(*h.source == make_address("192.0.2.10"));  // mapped -> v4
}

TEST_CASE("PROXY v1 UNKNOWN uses the real peer", "[access][proxy_protocol]") {
  auto h = parse_proxy_header("PROXY UNKNOWN\r\n");
  REQUIRE(h.ok());
  CHECK(h.local);
  CHECK_FALSE(h.source);
  CHECK(h.consumed == 15);
  h = parse_proxy_header("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n");
  REQUIRE(h.ok());
  CHECK_FALSE(h.source);
}

TEST_CASE("PROXY v1 truncations need more bytes", "[access][proxy_protocol]") {
  std::string line = "PROXY TCP4 192.0.2.10 10.0.0.5 51000 443\r\n";
  for (std::size_t n = 1; n < line.size(); ++n) {
    INFO(n);
    CHECK(parse_proxy_header(line.substr(0, n)).need_more());
  }
  CHECK(parse_proxy_header(line).ok());
  CHECK(parse_proxy_header("").need_more());
}

TEST_CASE("PROXY v1 errors", "[access][proxy_protocol]") {
  const char* bad[] = {
      "PROXY TCP4 192.0.2.10 10.0.0.5 51000\r\n",         // missing port
      "PROXY TCP4 192.0.2.10 10.0.0.5 51000 443 x\r\n",   // extra field
      "PROXY TCP4 2001:db8::1 10.0.0.5 51000 443\r\n",    // v6 in TCP4
      "PROXY TCP6 192.0.2.10 2001:db8::1 51000 443\r\n",  // v4 in TCP6
      "PROXY TCP4 192.0.2.10 10.0.0.5 70000 443\r\n",     // port range
      "PROXY TCP4 192.0.2.10 10.0.0.5 051000 443\r\n",    // leading zero
      "PROXY TCP4 192.0.2.10 10.0.0.5 -1 443\r\n",
      "PROXY TCP4  192.0.2.10 10.0.0.5 51000 443\r\n",  // double space
      "PROXY UDP4 192.0.2.10 10.0.0.5 51000 443\r\n",
      "PROXY TCP4 192.0.2.10 10.0.0.5 51000 443\n",  // LF only
      "PROXY TCP4 host.example 10.0.0.5 51000 443\r\n",
      "GET / HTTP/1.1\r\n",                      // no header at all
      "\x16\x03\x01\x02\x00",                    // TLS ClientHello: no header
      "proxy TCP4 192.0.2.10 10.0.0.5 1 2\r\n",  // case-sensitive
  };
  for (const char* b : bad) {
    INFO(b);
    auto h = parse_proxy_header(b);
    CHECK(h.error());
    CHECK_FALSE(h.reason.empty());
  }
  // over 107 bytes without CRLF
  std::string longline = "PROXY UNKNOWN " + std::string(100, 'x');
  CHECK(parse_proxy_header(longline).error());
  CHECK(parse_proxy_header(longline.substr(0, 106)).need_more());
  CHECK(parse_proxy_header("PROXY UNKNOWN " + std::string(92, 'x') + "\r\n").error());  // 108 bytes
  CHECK(parse_proxy_header("PROXY UNKNOWN " + std::string(91, 'x') + "\r\n").ok());     // 107 bytes
}

TEST_CASE("PROXY v2 AF_INET / AF_INET6 over STREAM", "[access][proxy_protocol]") {
  auto hdr = v2(0x21, 0x11, inet_body());
  auto h = parse_proxy_header(hdr + "rest");
  REQUIRE(h.ok());
  CHECK(h.version == 2);
  CHECK(h.consumed == 28);
  CHECK(*h.source == make_address("192.0.2.10"));
  CHECK(h.source_port == 51000);
  CHECK(*h.destination == make_address("10.0.0.5"));
  CHECK(h.destination_port == 443);

  h = parse_proxy_header(v2(0x21, 0x21, inet6_body()));
  REQUIRE(h.ok());
  CHECK(h.consumed == 16 + 36);
  CHECK(*h.source == make_address("2001:db8::42"));
  CHECK(h.source_port == 12345);
}

TEST_CASE("PROXY v2 TLVs are skipped", "[access][proxy_protocol]") {
  std::string tlvs = std::string("\x02\x00\x0B", 3) + "example.com" + std::string("\x04\x00\x00", 3);
  auto hdr = v2(0x21, 0x11, inet_body() + tlvs);
  auto h = parse_proxy_header(hdr + "\x16\x03");
  REQUIRE(h.ok());
  CHECK(h.consumed == hdr.size());
  CHECK(*h.source == make_address("192.0.2.10"));
}

TEST_CASE("PROXY v2 LOCAL and AF_UNSPEC carry no address", "[access][proxy_protocol]") {
  auto h = parse_proxy_header(v2(0x20, 0x00, ""));
  REQUIRE(h.ok());
  CHECK(h.local);
  CHECK_FALSE(h.source);
  CHECK(h.consumed == 16);
  h = parse_proxy_header(v2(0x20, 0x11, inet_body()));  // LOCAL with addresses: ignored
  REQUIRE(h.ok());
  CHECK(h.local);
  CHECK(h.consumed == 28);
  h = parse_proxy_header(v2(0x21, 0x00, ""));
  REQUIRE(h.ok());
  CHECK(h.local);
}

TEST_CASE("PROXY v2 truncations need more bytes", "[access][proxy_protocol]") {
  auto hdr = v2(0x21, 0x21, inet6_body());
  for (std::size_t n = 1; n < hdr.size(); ++n) {
    INFO(n);
    CHECK(parse_proxy_header(hdr.substr(0, n)).need_more());
  }
  CHECK(parse_proxy_header(hdr).ok());
}

TEST_CASE("PROXY v2 errors", "[access][proxy_protocol]") {
  CHECK(parse_proxy_header(v2(0x11, 0x11, inet_body())).error());               // version 1 in binary form
  CHECK(parse_proxy_header(v2(0x31, 0x11, inet_body())).error());               // version 3
  CHECK(parse_proxy_header(v2(0x22, 0x11, inet_body())).error());               // unknown command
  CHECK(parse_proxy_header(v2(0x21, 0x12, inet_body())).error());               // DGRAM
  CHECK(parse_proxy_header(v2(0x21, 0x31, std::string(216, '\0'))).error());    // AF_UNIX
  CHECK(parse_proxy_header(v2(0x21, 0x41, inet_body())).error());               // unknown family
  CHECK(parse_proxy_header(v2(0x21, 0x11, inet_body().substr(0, 8))).error());  // short for INET
  CHECK(parse_proxy_header(v2(0x21, 0x21, inet_body())).error());               // short for INET6
  // declared length beyond our cap: error at once, not an endless need_more
  CHECK(parse_proxy_header(v2(0x21, 0x11, "", 0xFFFF)).error());
  // bad signature byte
  std::string bad = v2(0x21, 0x11, inet_body());
  bad[11] = 'X';
  CHECK(parse_proxy_header(bad).error());
  CHECK(parse_proxy_header(bad.substr(0, 11)).need_more());  // still a prefix of the signature
  CHECK(parse_proxy_header(bad.substr(0, 12)).error());
}
