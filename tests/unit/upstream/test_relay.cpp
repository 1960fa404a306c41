// The body relay (upstream/relay.hpp) between two loopback TCP pairs: bodies
// go socket -> fixed buffer -> socket, framed as they came or re-chunked.
#include "../net/loopback.hpp"
#include "http/request_head.hpp"
#include "upstream/exchange.hpp"
#include "upstream/relay.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <charconv>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace asio::experimental::awaitable_operators;
using airgate::net::Stream;
using namespace airgate::upstream;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A client -> client-side stream, and an upstream-side stream -> upstream pair.
struct Wires {
  asio::io_context io;
  airgate::test::SocketPair c = airgate::test::connected_pair(io);
  airgate::test::SocketPair u = airgate::test::connected_pair(io);
  Stream client_peer{std::move(c.a)};
  Stream client{std::move(c.b)};
  Stream upstream{std::move(u.a)};
  Stream upstream_peer{std::move(u.b)};
};

// A body with a byte pattern that shows a dropped, doubled or reordered piece.
std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

asio::awaitable<void> send(Stream& s, std::string data) {
  co_await asio::async_write(s, asio::buffer(data), use_tuple);
}

// Everything until the other end closes.
asio::awaitable<std::string> read_all(Stream& s) {
  std::string out;
  char chunk[8192];
  for (;;) {
    auto [ec, n] = co_await s.async_read_some(asio::buffer(chunk), use_tuple);
    out.append(chunk, n);
    if (ec) co_return out;
  }
}

// Decodes a chunked body; empty optional when it is not one.
std::optional<std::string> dechunk(std::string_view in) {
  std::string out;
  for (;;) {
    const auto eol = in.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    const std::size_t size = std::stoul(std::string(in.substr(0, eol)), nullptr, 16);
    in.remove_prefix(eol + 2);
    if (size == 0) return in == "\r\n" ? std::optional(out) : std::nullopt;
    if (in.size() < size + 2 || in.substr(size, 2) != "\r\n") return std::nullopt;
    out.append(in.substr(0, size));
    in.remove_prefix(size + 2);
  }
}

std::string chunked(const std::string& body, std::size_t piece) {
  std::string out;
  for (std::size_t at = 0; at < body.size(); at += piece) {
    const auto part = body.substr(at, piece);
    char hex[16];
    out.append(hex, std::to_chars(hex, hex + sizeof hex, part.size(), 16).ptr)
        .append("\r\n")
        .append(part)
        .append("\r\n");
  }
  return out + "0\r\n\r\n";
}

}  // namespace

TEST_CASE("relay: a Content-Length request body passes byte for byte through the fixed buffer", "[relay]") {
  Wires w;
  BufferPool pool;
  RelayBuffer buffer(pool);
  const std::string body = pattern(5 * BufferPool::kSize + 123);
  beast::flat_buffer client_buffer;
  // What came with the head is already buffered; the rest arrives later.
  const std::size_t early = 1000;
  auto in = client_buffer.prepare(early);
  std::memcpy(in.data(), body.data(), early);
  client_buffer.commit(early);
  asio::co_spawn(w.io, send(w.client_peer, body.substr(early)), asio::detached);
  airgate::config::Limits limits;
  airgate::config::Upstream up;
  auto [outcome, received] = airgate::test::run(w.io, [&]() -> asio::awaitable<std::tuple<RelayOutcome, std::string>> {
    auto relay = [&]() -> asio::awaitable<RelayOutcome> {
      auto r = co_await relay_request_exact(w.client, client_buffer, body.size(), w.upstream, buffer, limits, up);
      w.upstream.close();
      co_return r;
    };
    co_return co_await (relay() && read_all(w.upstream_peer));
  }());
  CHECK(outcome.result == RelayResult::ok);
  CHECK(outcome.complete);
  CHECK(outcome.bytes == body.size());
  CHECK(received.size() == body.size());
  CHECK(received == body);
}

// relay_response_exact from w.upstream (upstream_buffer holds what the head's
// read brought past the head) to w.client; returns the outcome and what the
// client received.
std::tuple<RelayOutcome, std::string> relay_response(Wires& w, beast::flat_buffer& upstream_buffer, std::size_t length,
                                                     const std::string& head, RelayBuffer& buffer) {
  airgate::config::Limits limits;
  airgate::config::Upstream up;
  return airgate::test::run(w.io, [&]() -> asio::awaitable<std::tuple<RelayOutcome, std::string>> {
    auto relay = [&]() -> asio::awaitable<RelayOutcome> {
      auto r = co_await relay_response_exact(w.upstream, upstream_buffer, length, w.client, head, buffer, limits, up);
      w.client.close();
      co_return r;
    };
    co_return co_await (relay() && read_all(w.client_peer));
  }());
}

TEST_CASE("relay: a Content-Length response leaves with its head first", "[relay]") {
  Wires w;  // here the upstream pair carries the response: upstream_peer writes, upstream reads
  BufferPool pool;
  RelayBuffer buffer(pool);
  const std::string body = pattern(3 * BufferPool::kSize);
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  beast::flat_buffer upstream_buffer;
  asio::co_spawn(w.io, send(w.upstream_peer, body), asio::detached);
  auto [outcome, received] = relay_response(w, upstream_buffer, body.size(), head, buffer);
  CHECK(outcome.result == RelayResult::ok);
  CHECK(outcome.bytes == body.size());
  CHECK(received == head + body);
}

TEST_CASE("relay: a small body that came with its head is sent from there, no relay buffer taken", "[relay]") {
  Wires w;
  BufferPool pool;
  RelayBuffer buffer(pool);
  const std::string body = "{\"ok\":true}";
  const std::string head = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
  beast::flat_buffer upstream_buffer;  // the head's read brought the body too
  upstream_buffer.commit(asio::buffer_copy(upstream_buffer.prepare(body.size()), asio::buffer(body)));
  auto [outcome, received] = relay_response(w, upstream_buffer, body.size(), head, buffer);
  CHECK(outcome.result == RelayResult::ok);
  CHECK(received == head + body);
  CHECK(upstream_buffer.size() == 0);
  // 32 KiB held for a 11-byte body: under HTTP/2, hundreds of streams in flight.
  CHECK_FALSE(buffer.taken());
}

TEST_CASE("relay: a chunked request body is decoded and sent on chunked", "[relay]") {
  Wires w;
  BufferPool pool;
  RelayBuffer buffer(pool);
  const std::string body = pattern(2 * BufferPool::kSize + 777);
  airgate::http::RequestParser parser;
  REQUIRE_FALSE(
      airgate::http::parse_request_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", parser)
          .failure);
  beast::flat_buffer client_buffer;
  asio::co_spawn(w.io, send(w.client_peer, chunked(body, 10000)), asio::detached);
  airgate::config::Limits limits;
  airgate::config::Upstream up;
  auto [outcome, received] = airgate::test::run(w.io, [&]() -> asio::awaitable<std::tuple<RelayOutcome, std::string>> {
    auto relay = [&]() -> asio::awaitable<RelayOutcome> {
      auto r = co_await relay_request_body(w.client, client_buffer, parser, w.upstream, buffer, limits, up);
      w.upstream.close();
      co_return r;
    };
    co_return co_await (relay() && read_all(w.upstream_peer));
  }());
  CHECK(outcome.result == RelayResult::ok);
  CHECK(outcome.complete);
  CHECK(outcome.bytes == body.size());
  const auto decoded = dechunk(received);
  REQUIRE(decoded);
  CHECK(*decoded == body);
}

TEST_CASE("relay: a chunked request body over max_body_size stops as too large", "[relay]") {
  Wires w;
  BufferPool pool;
  RelayBuffer buffer(pool);
  airgate::http::RequestParser parser;
  REQUIRE_FALSE(
      airgate::http::parse_request_head("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", parser)
          .failure);
  beast::flat_buffer client_buffer;
  airgate::config::Limits limits;
  limits.max_body_size = 1000;
  // Two chunks of 600: the running total crosses the limit on the second.
  asio::co_spawn(w.io, send(w.client_peer, chunked(pattern(1200), 600)), asio::detached);
  airgate::config::Upstream up;
  auto outcome = airgate::test::run(
      w.io, relay_request_body(w.client, client_buffer, parser, w.upstream, buffer, limits, up));
  CHECK(outcome.result == RelayResult::too_large);
  CHECK_FALSE(outcome.complete);
  CHECK(outcome.bytes > limits.max_body_size);
}

TEST_CASE("relay: a chunked response reaches an HTTP/1.0 client decoded", "[relay]") {
  Wires w;
  BufferPool pool;
  RelayBuffer buffer(pool);
  const std::string body = pattern(BufferPool::kSize + 5);
  const std::string head = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
  // The upstream's response head was read by the exchange: the parser has it.
  ResponseParser parser;
  parser.eager(false);
  const std::string upstream_head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  boost::system::error_code ec;
  parser.put(asio::buffer(upstream_head), ec);
  REQUIRE(parser.is_header_done());
  beast::flat_buffer upstream_buffer;
  asio::co_spawn(w.io, send(w.upstream_peer, chunked(body, 4000)), asio::detached);
  airgate::config::Limits limits;
  airgate::config::Upstream up;
  auto [outcome, received] = airgate::test::run(w.io, [&]() -> asio::awaitable<std::tuple<RelayOutcome, std::string>> {
    auto relay = [&]() -> asio::awaitable<RelayOutcome> {
      auto r = co_await relay_response_body(w.upstream, upstream_buffer, parser, w.client, head, false, buffer, limits,
                                            up);
      w.client.close();
      co_return r;
    };
    co_return co_await (relay() && read_all(w.client_peer));
  }());
  CHECK(outcome.result == RelayResult::ok);
  CHECK(outcome.complete);
  CHECK(received == head + body);
}

TEST_CASE("relay buffers: a pooled buffer goes back to its pool and is reused", "[relay]") {
  BufferPool pool;
  char* first = nullptr;
  {
    RelayBuffer b(pool);
    first = b->get();
  }
  // Had the pool freed it, this allocation would most likely get its memory.
  auto other = std::make_unique<char[]>(BufferPool::kSize);
  RelayBuffer again(pool);
  CHECK(again->get() == first);

  FlatBufferPool flat;
  {
    PooledFlatBuffer b(flat);
    CHECK(b->capacity() >= FlatBufferPool::kReserve);
    b->reserve(2 * FlatBufferPool::kReserve);  // grown by a large read
    b->commit(asio::buffer_copy(b->prepare(10), asio::buffer("0123456789", 10)));
  }
  PooledFlatBuffer reused(flat);
  CHECK(reused->size() == 0);                                 // cleared when given back
  CHECK(reused->capacity() >= 2 * FlatBufferPool::kReserve);  // its storage kept
}
