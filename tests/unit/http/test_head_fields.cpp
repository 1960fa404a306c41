// HeadFields (http/head_fields.hpp) and ResponseParser
// (http/response_parser.hpp): a response head's fields kept flat.
#include "http/fields.hpp"
#include "http/head_fields.hpp"
#include "http/request_head.hpp"
#include "http/response_parser.hpp"

#include <boost/asio/buffer.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace airgate::http;

TEST_CASE("head fields: order, names, values, lookups by enum and by name", "[head_fields]") {
  HeadFields f;
  f.add(bhttp::field::set_cookie, "Set-Cookie", "a=1");
  f.add(bhttp::field::unknown, "X-Thing", "");
  f.add(bhttp::field::set_cookie, "set-cookie", "b=2; Path=/");
  f.add(bhttp::field::connection, "Connection", "keep-alive");
  REQUIRE(f.size() == 4);
  std::vector<std::string> seen;
  for (const auto x : f) seen.push_back(std::string(x.name_string()) + "=" + std::string(x.value()));
  CHECK(seen ==
        std::vector<std::string>{"Set-Cookie=a=1", "X-Thing=", "set-cookie=b=2; Path=/", "Connection=keep-alive"});
  CHECK(f.first(bhttp::field::set_cookie) == "a=1");
  CHECK(f.join(bhttp::field::set_cookie) == "a=1, b=2; Path=/");
  CHECK(f.first(bhttp::field::upgrade).empty());
  CHECK(f.first("x-THING").empty());
  CHECK(f.first("CONNECTION") == "keep-alive");
  // field::unknown names many fields: looking it up finds none of them.
  CHECK(f.first(bhttp::field::unknown).empty());
  CHECK(f.join(bhttp::field::unknown).empty());
}

TEST_CASE("head fields: many and long fields stay intact as the storage grows", "[head_fields]") {
  HeadFields f;
  std::vector<std::string> values;
  for (int i = 0; i < 40; ++i) {
    values.push_back(std::string(static_cast<std::size_t>(i) * 37, static_cast<char>('a' + i % 26)));
    f.add(bhttp::field::unknown, "X-F" + std::to_string(i), values.back());
  }
  int i = 0;
  for (const auto x : f) {
    CHECK(x.name_string() == "X-F" + std::to_string(i));
    CHECK(x.value() == values[static_cast<std::size_t>(i)]);
    ++i;
  }
  CHECK(i == 40);
}

TEST_CASE("response parser: fields flat and in order, framing from the parser, body after", "[head_fields]") {
  const std::string head =
      "HTTP/1.1 200 OK\r\nServer: up\r\nSet-Cookie: a=1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: b=2\r\n"
      "Connection: keep-alive\r\n\r\n";
  ResponseParser p;
  boost::system::error_code ec;
  // In two pieces, the first ending inside a field: Beast takes the status
  // line and the complete field (the bytes they came in are then consumed,
  // so HeadFields must have copied them), the rest comes with the second.
  const std::size_t used = p.put(boost::asio::buffer(head.data(), 40), ec);
  CHECK(ec == bhttp::error::need_more);
  REQUIRE(used == std::string("HTTP/1.1 200 OK\r\nServer: up\r\n").size());
  CHECK(p.fields().size() == 1);
  std::string rest = head.substr(used);
  ec = {};
  CHECK(p.put(boost::asio::buffer(rest.data(), rest.size()), ec) == rest.size());
  rest.assign(rest.size(), 'x');  // the parsed bytes are gone
  REQUIRE_FALSE(ec);
  REQUIRE(p.is_header_done());
  CHECK(p.status() == 200);
  CHECK(p.reason() == "OK");
  CHECK(p.chunked());
  CHECK(p.keep_alive());
  REQUIRE(p.fields().size() == 5);
  CHECK(p.fields().join(bhttp::field::set_cookie) == "a=1, b=2");
  CHECK(p.fields().first(bhttp::field::server) == "up");
}

TEST_CASE("head fields: count and erase by enum; unknown names are neither counted nor erased", "[head_fields]") {
  HeadFields f;
  f.add(bhttp::field::authorization, "Authorization", "Basic YTpi");
  f.add(bhttp::field::host, "Host", "a");
  f.add(bhttp::field::unknown, "X-A", "1");
  f.add(bhttp::field::authorization, "authorization", "Bearer t");
  f.add(bhttp::field::unknown, "X-B", "2");
  CHECK(f.count(bhttp::field::authorization) == 2);
  CHECK(f.count(bhttp::field::unknown) == 0);
  f.erase(bhttp::field::unknown);
  CHECK(f.size() == 5);
  f.erase(bhttp::field::authorization);
  CHECK(f.count(bhttp::field::authorization) == 0);
  CHECK(f.first(bhttp::field::authorization).empty());
  std::vector<std::string> left;
  for (const auto x : f) left.push_back(std::string(x.name_string()) + ":" + std::string(x.value()));
  CHECK(left == std::vector<std::string>{"Host:a", "X-A:1", "X-B:2"});
}

TEST_CASE("request parser: fields flat, the request line and framing from Beast", "[head_fields]") {
  const std::string head =
      "POST /p?q HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nCookie: a=1\r\nCookie: b=2\r\n"
      "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
  RequestParser p;
  const auto check = parse_request_head(head, p);
  REQUIRE(check.parsed);
  REQUIRE_FALSE(check.failure);
  CHECK(p.method() == bhttp::verb::post);
  CHECK(p.target() == "/p?q");
  CHECK(p.version() == 11);
  CHECK(p.chunked());
  CHECK_FALSE(p.keep_alive());
  CHECK(p.fields().size() == 6);
  CHECK(p.fields().first("x-forwarded-for") == "10.0.0.1");
  CHECK(request_cookie(p.fields(), "b") == "2");
  p.target("/other");
  CHECK(p.target() == "/other");
}
