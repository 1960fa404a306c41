#include "http/rules/headers.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace airgate::http::rules;

TEST_CASE("hop-by-hop fields and the fields Connection names are stripped", "[rules]") {
  ConnectionNames named;
  connection_tokens("close, X-Foo ,, Keep-Alive", named);
  CHECK(std::vector<std::string_view>(named.begin(), named.end()) ==
        std::vector<std::string_view>{"close", "X-Foo", "Keep-Alive"});
  CHECK(must_strip("X-FOO", named));
  CHECK(must_strip("x-foo", named));
  CHECK(must_strip("Transfer-Encoding", {}));
  CHECK(must_strip("Upgrade", {}));
  CHECK(must_strip("HTTP2-Settings", {}));
  CHECK_FALSE(must_strip("Cookie", {}));
}

TEST_CASE("many Connection names: past the inline ones, still every one is stripped", "[rules]") {
  ConnectionNames named;
  connection_tokens("a, b, c, d", named);
  connection_tokens("E, f", named);
  REQUIRE(named.size() == 6);
  for (const char* n : {"A", "b", "C", "d", "e", "F"}) CHECK(must_strip(n, named));
  CHECK_FALSE(must_strip("g", named));
}

TEST_CASE("Connection cannot make airgate drop Host or Content-Length", "[rules]") {
  ConnectionNames named;
  connection_tokens("Host, Content-Length, Cookie", named);
  CHECK_FALSE(must_strip("Host", named));
  CHECK_FALSE(must_strip("content-length", named));
  CHECK(must_strip("Cookie", named));
}

TEST_CASE("Host values: RFC 3986 host and port only", "[rules]") {
  for (const char* ok : {"", "localhost", "airbyte.example.com", "airbyte.example.com:443", "127.0.0.1:8443", "[::1]",
                         "[::1]:8443", "[2001:db8::1]", "a_b-c~d", "xn--bcher-kva.example", "a%41b"})
    CHECK(valid_host(ok));
  for (const char* bad :
       {"a b",      "a/b",      "a@b",  "a:b:c", "[::1", "[]",  "[::1]x", "[::1]:",  "a:",        ":80",
        "a:99999x", "a:123456", "a%zz", "a%4",   "a\\b", "a?b", "a#b",    "[zz::1]", "[1.2.3.4]", "a\"b"})
    CHECK_FALSE(valid_host(bad));
}

TEST_CASE("request-line version", "[rules]") {
  CHECK(request_line_version("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == 11);
  CHECK(request_line_version("GET / HTTP/1.0\r\n\r\n") == 10);
  CHECK(request_line_version("GET / HTTP/2.0\r\n\r\n") == 20);
  CHECK(request_line_version("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == 20);
  CHECK(request_line_version("GET / HTTP/2\r\n\r\n") == -1);
  CHECK(request_line_version("GET / HTTP/x.y\r\n\r\n") == -1);
  CHECK(request_line_version("GET / http/1.1\r\n\r\n") == -1);
  CHECK(request_line_version("GET\r\n\r\n") == -1);
  CHECK(request_line_version("") == -1);
}

TEST_CASE("only a complete WebSocket handshake is an upgrade", "[rules]") {
  UpgradeFields ws{"GET", "websocket", "keep-alive, Upgrade", true, true};
  CHECK(is_websocket_upgrade(ws));
  auto f = ws;
  f.upgrade = "h2c";
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.upgrade = "websocket, h2c";
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.method = "POST";
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.connection = "keep-alive";
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.has_key = false;
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.has_version = false;
  CHECK_FALSE(is_websocket_upgrade(f));
  f = ws;
  f.upgrade = "WebSocket";
  CHECK(is_websocket_upgrade(f));
}

TEST_CASE("raw head checks refuse smuggling characters", "[rules]") {
  CHECK(check_raw_head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").empty());
  CHECK_FALSE(check_raw_head("GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n").empty());
  CHECK_FALSE(check_raw_head("GET / HTTP/1.1\nHost: a\r\n\r\n").empty());
  CHECK_FALSE(check_raw_head("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n").empty());
  CHECK_FALSE(check_raw_head(std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29)).empty());
  CHECK(acceptable_request_transfer_encoding(" Chunked "));
  CHECK_FALSE(acceptable_request_transfer_encoding("gzip, chunked"));
}

TEST_CASE("X-Forwarded-For is appended to", "[rules]") {
  CHECK(append_forwarded_for("", "127.0.0.1") == "127.0.0.1");
  CHECK(append_forwarded_for(" 10.0.0.1 ", "[::1]") == "10.0.0.1, ::1");
  CHECK(append_forwarded_for("", "::ffff:10.1.2.3") == "10.1.2.3");
}
