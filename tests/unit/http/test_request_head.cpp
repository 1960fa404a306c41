// The request head from raw bytes to a checked parse (http/request_head.hpp).
#include "http/request_head.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::http;
using airgate::core::Reason;
using Kind = HeadScan::Kind;

TEST_CASE("request head scan: complete, incomplete, too large, bare LF", "[request_head]") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  auto s = scan_request_head(head + "body", 0, 1024);
  CHECK(s.kind == Kind::complete);
  CHECK(s.length == head.size());
  CHECK(scan_request_head("GET / HTTP/1.1\r\nHost: a\r\n", 0, 1024).kind == Kind::incomplete);
  CHECK(scan_request_head(head, 0, head.size() - 1).kind == Kind::too_large);
  CHECK(scan_request_head(head, 0, head.size()).kind == Kind::complete);
  CHECK(scan_request_head(std::string(2000, 'a'), 0, 1024).kind == Kind::too_large);
  CHECK(scan_request_head("GET / HTTP/1.1\nHost: a\r\n", 0, 1024).kind == Kind::bare_lf);
  CHECK(scan_request_head("\nGET", 0, 1024).kind == Kind::bare_lf);
  // A CRLFCRLF split across reads is found from three bytes back.
  CHECK(scan_request_head(head, head.size() - 3 - 4 + 1, 1024).kind == Kind::complete);
}

TEST_CASE("request head: empty lines before the request line are skipped", "[request_head]") {
  CHECK(leading_empty_lines("\r\n\n\r\nGET") == 5);
  CHECK(leading_empty_lines("GET\r\n") == 0);
  CHECK(leading_empty_lines("\r") == 0);
}

TEST_CASE("request head: the raw request line's method and path", "[request_head]") {
  CHECK(raw_request_method("HEAD /api/x?y HTTP/1.1\r\n") == "HEAD");
  CHECK(raw_request_path("HEAD /api/x?y HTTP/1.1\r\n") == "/api/x");
  CHECK(raw_request_path("GARBAGE\r\n") == "");
}

TEST_CASE("request head: an acceptable head parses", "[request_head]") {
  const std::string head = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\n";
  RequestParser p;
  const auto r = parse_request_head(head, p);
  CHECK_FALSE(r.failure);
  CHECK(r.parsed);
  CHECK(r.line_trusted);
  CHECK(r.used == head.size());
  CHECK(p.target() == "/x");
  CHECK(p.fields().first(bhttp::field::host) == "a");
  CHECK(p.fields().size() == 2);
  CHECK(p.content_length().value_or(0) == 4);
}

TEST_CASE("request head: what is refused, and how far it got", "[request_head]") {
  struct Case {
    std::string head;
    Reason reason;
    std::string message;
    bool line_trusted;
    bool parsed;
  };
  const Case cases[] = {
      {"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", Reason::malformed_request, "malformed request: ", false, false},
      {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", Reason::http_version_not_supported,
       "only HTTP/1.0 and HTTP/1.1 are supported", true, false},
      {"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", Reason::malformed_request,
       "malformed request: ambiguous message length", true, false},
      {"GET / HTTP/1.1\r\n\r\n", Reason::malformed_request, "malformed request: missing Host header", true, true},
      {"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", Reason::malformed_request,
       "malformed request: more than one Host header", true, true},
      {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", Reason::malformed_request,
       "malformed request: more than one Host header", true, true},
      {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", Reason::malformed_request,
       "malformed request: the Host header is not a valid host name", true, true},
      {"GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", Reason::malformed_request,
       "malformed request: request target must be an absolute path", true, true},
      {"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", Reason::malformed_request,
       "malformed request: unsupported Transfer-Encoding", true, true},
      {"POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", Reason::malformed_request,
       "malformed request: Transfer-Encoding in an HTTP/1.0 request", true, true},
  };
  for (const auto& c : cases) {
    INFO(c.head);
    RequestParser p;
    const auto r = parse_request_head(c.head, p);
    REQUIRE(r.failure);
    CHECK(*r.failure == c.reason);
    CHECK(r.message.rfind(c.message, 0) == 0);
    CHECK(r.line_trusted == c.line_trusted);
    CHECK(r.parsed == c.parsed);
  }
}

TEST_CASE("request head: OPTIONS * is the one target that is not a path", "[request_head]") {
  RequestParser ok;
  CHECK_FALSE(parse_request_head("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", ok).failure);
  RequestParser refused;
  CHECK(parse_request_head("GET * HTTP/1.1\r\nHost: a\r\n\r\n", refused).failure);
}
