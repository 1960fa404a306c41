// The head writers (http/head_writer.hpp) on parsed messages, without a session.
#include "http/head_writer.hpp"
#include "http/request_head.hpp"
#include "http/response_parser.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

using namespace airgate::http;

namespace {

// A request head as the session has it: through parse_request_head.
struct Parsed {
  RequestParser parser;
  explicit Parsed(std::string_view head) {
    const auto check = parse_request_head(head, parser);
    REQUIRE_FALSE(check.failure);
  }
  RequestFraming framing(bool upgrade = false) {
    auto length = parser.content_length();
    return {length ? std::optional<std::uint64_t>(*length) : std::nullopt, parser.chunked(), upgrade};
  }
};

std::string upstream_head(std::string_view head, const ForwardedBy& by = {"10.0.0.1", "203.0.113.5", "", true}) {
  Parsed p(head);
  return upstream_request_head(p.parser, p.framing(), by);
}

// An upstream's response head as the session has it: through ResponseParser
// (the fields flat, beside the status line).
struct Response {
  std::unique_ptr<ResponseParser> p = std::make_unique<ResponseParser>();
};

Response response(std::string_view head) {
  Response r;
  boost::system::error_code ec;
  r.p->put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec == bhttp::error::need_more || ec == bhttp::error::need_buffer) ec = {};
  REQUIRE_FALSE(ec);
  REQUIRE(r.p->is_header_done());
  return r;
}

std::string client_response_head(const Response& r, const ResponseFraming& framing, const std::string* hsts,
                                 std::string_view request_id, std::string_view set_cookie = {},
                                 bool strip_basic_challenge = false) {
  return airgate::http::client_response_head(*r.p, framing, hsts, request_id, set_cookie, strip_basic_challenge);
}

}  // namespace

TEST_CASE("upstream head: hop-by-hop fields, those Connection names and Expect are dropped", "[head_writer]") {
  const auto out = upstream_head(
      "POST /a?b=c HTTP/1.1\r\nHost: airbyte.example.com\r\nConnection: keep-alive, X-Secret\r\n"
      "Keep-Alive: timeout=5\r\nX-Secret: s\r\nTE: trailers\r\nProxy-Connection: x\r\nExpect: 100-continue\r\n"
      "Content-Length: 3\r\nX-Kept: k\r\n\r\n");
  CHECK(out == "POST /a?b=c HTTP/1.1\r\nHost: airbyte.example.com\r\nX-Kept: k\r\n"
               "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: airbyte.example.com\r\n"
               "X-Real-IP: 203.0.113.5\r\nContent-Length: 3\r\n\r\n");
}

TEST_CASE("upstream head: every hop-by-hop name and a well-known field Connection names are dropped", "[head_writer]") {
  // The writer decides known names by Beast's field enum: Trailer,
  // Proxy-Authenticate and HTTP2-Settings are hop-by-hop, and a field every
  // parser knows (Accept-Language) goes when Connection lists it, in any case.
  const auto out = upstream_head(
      "GET / HTTP/1.1\r\nHost: a\r\nConnection: ACCEPT-language\r\nAccept-Language: de\r\nTrailer: x\r\n"
      "Proxy-Authenticate: Basic\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\nAccept: */*\r\nx-real-ip: 1.2.3.4\r\n\r\n");
  CHECK(out == "GET / HTTP/1.1\r\nHost: a\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
               "X-Forwarded-Host: a\r\nX-Real-IP: 203.0.113.5\r\n\r\n");
}

TEST_CASE("upstream head: X-Forwarded-For appended to, the others replaced", "[head_writer]") {
  const auto out = upstream_head(
      "GET / HTTP/1.1\r\nX-Forwarded-For: 198.51.100.1\r\nHost: a\r\nx-forwarded-for: 198.51.100.2\r\n"
      "X-Forwarded-Proto: http\r\nX-Forwarded-Host: evil\r\nX-Real-IP: 1.2.3.4\r\n\r\n",
      ForwardedBy{"10.0.0.1", "198.51.100.2", "", false});
  CHECK(out == "GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 198.51.100.1, 198.51.100.2, 10.0.0.1\r\n"
               "X-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\nX-Real-IP: 198.51.100.2\r\n\r\n");
}

TEST_CASE("upstream head: Host kept byte for byte, cookies byte-exact and in order", "[head_writer]") {
  const std::string big(6000, 'c');
  const auto out = upstream_head("GET / HTTP/1.1\r\nhost: Airbyte.Example.COM:8443\r\nCookie: a=1; b=\"x y\"\r\n"
                                 "cookie: c=" +
                                 big + "\r\nCookie: d=%3B;\r\n\r\n");
  CHECK(out.find("\r\nhost: Airbyte.Example.COM:8443\r\nCookie: a=1; b=\"x y\"\r\ncookie: c=" + big +
                 "\r\nCookie: d=%3B;\r\n") != std::string::npos);
  CHECK(out.find("X-Forwarded-Host: Airbyte.Example.COM:8443\r\n") != std::string::npos);
}

TEST_CASE("upstream head: X-Request-Id replaced when airgate sets one, else passed", "[head_writer]") {
  const std::string head = "GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: theirs\r\n\r\n";
  const auto replaced = upstream_head(head, ForwardedBy{"10.0.0.1", "10.0.0.1", "ours", false});
  CHECK(replaced.find("theirs") == std::string::npos);
  CHECK(replaced.find("X-Request-Id: ours\r\n") != std::string::npos);
  const auto passed = upstream_head(head, ForwardedBy{"10.0.0.1", "10.0.0.1", "", false});
  CHECK(passed.find("X-Request-Id: theirs\r\n") != std::string::npos);
}

TEST_CASE("upstream head: framing (one Content-Length, chunked, the WebSocket handshake)", "[head_writer]") {
  const auto twice = upstream_head("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
  CHECK(twice.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(twice.find("Content-Length: 5\r\n") == twice.rfind("Content-Length: 5\r\n"));
  const auto chunked = upstream_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
  CHECK(chunked.find("\r\nTransfer-Encoding: chunked\r\n\r\n") != std::string::npos);

  const std::string ws = "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                         "Sec-WebSocket-Key: k\r\nSec-WebSocket-Version: 13\r\n\r\n";
  Parsed p(ws);
  const ForwardedBy by{"10.0.0.1", "10.0.0.1", "", false};
  const auto upgraded = upstream_request_head(p.parser, p.framing(true), by);
  CHECK(upgraded.find("\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n") != std::string::npos);
  const auto plain = upstream_request_head(p.parser, p.framing(false), by);
  CHECK(plain.find("Upgrade") == std::string::npos);
  CHECK(plain.find("Sec-WebSocket-Key: k\r\n") != std::string::npos);
}

TEST_CASE("response head: hop-by-hop dropped, Set-Cookie byte-exact, reason phrase kept", "[head_writer]") {
  auto p = response("HTTP/1.1 200 Fine\r\nConnection: keep-alive, X-Internal\r\nX-Internal: i\r\n"
                    "Keep-Alive: timeout=4\r\nSet-Cookie: a=1; Path=/; HttpOnly\r\nset-cookie: b=\"2\"; Secure\r\n"
                    "Content-Length: 2\r\n\r\n");
  const auto out = client_response_head(p, ResponseFraming{true, false, false}, nullptr, "");
  CHECK(out == "HTTP/1.1 200 Fine\r\nSet-Cookie: a=1; Path=/; HttpOnly\r\nset-cookie: b=\"2\"; Secure\r\n"
               "Content-Length: 2\r\n\r\n");
}

TEST_CASE("response head: a well-known field Connection names is dropped", "[head_writer]") {
  auto res = response("HTTP/1.1 200 OK\r\nConnection: Cache-Control\r\nCache-Control: no-store\r\nTrailer: x\r\n"
                      "Content-Type: text/plain\r\n\r\n");
  CHECK(client_response_head(res, {true, false, false}, nullptr, "", "", false) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n");
}

TEST_CASE("response head: HSTS replaced when configured, passed when not", "[head_writer]") {
  auto p = response("HTTP/1.1 204 No Content\r\nStrict-Transport-Security: max-age=1\r\n\r\n");
  const std::string hsts = "max-age=31536000";
  const auto ours = client_response_head(p, ResponseFraming{true, false, false}, &hsts, "");
  CHECK(ours == "HTTP/1.1 204 No Content\r\nStrict-Transport-Security: max-age=31536000\r\n\r\n");
  const auto theirs = client_response_head(p, ResponseFraming{true, false, false}, nullptr, "");
  CHECK(theirs == "HTTP/1.1 204 No Content\r\nStrict-Transport-Security: max-age=1\r\n\r\n");
}

TEST_CASE("response head: framing (close, re-chunked, tunnel) and X-Request-Id", "[head_writer]") {
  auto p = response("HTTP/1.1 200 \r\nTransfer-Encoding: chunked\r\nX-Request-Id: up\r\n\r\n");
  CHECK(client_response_head(p, ResponseFraming{false, false, false}, nullptr, "") ==
        "HTTP/1.1 200 OK\r\nX-Request-Id: up\r\nConnection: close\r\n\r\n");
  CHECK(client_response_head(p, ResponseFraming{true, false, true}, nullptr, "id1") ==
        "HTTP/1.1 200 OK\r\nX-Request-Id: id1\r\nTransfer-Encoding: chunked\r\n\r\n");
  auto ws = response("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Accept: x\r\n\r\n");
  CHECK(client_response_head(ws, ResponseFraming{false, true, false}, nullptr, "") ==
        "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: x\r\nConnection: upgrade\r\nUpgrade: "
        "websocket\r\n\r\n");
}
