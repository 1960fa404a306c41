// net::Stream over a loopback TCP pair: reads and writes, the deadline that
// ends a pending read with a timeout, the non-waiting read, and close.
#include "loopback.hpp"
#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <thread>

using airgate::net::Stream;
namespace asio = boost::asio;
using error_code = boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

TEST_CASE("net::Stream: bytes written on one end are read on the other", "[net]") {
  asio::io_context io;
  auto pair = airgate::test::connected_pair(io);
  Stream a(std::move(pair.a));
  Stream b(std::move(pair.b));
  const std::string sent(100 * 1024, 'x');  // more than one socket buffer's worth in one write
  auto got = airgate::test::run(io, [&]() -> asio::awaitable<std::string> {
    auto writer = [&]() -> asio::awaitable<void> {
      auto [ec, n] = co_await asio::async_write(a, asio::buffer(sent), use_tuple);
      REQUIRE_FALSE(ec);
      a.close();
    };
    asio::co_spawn(co_await asio::this_coro::executor, writer(), asio::detached);
    std::string out;
    char chunk[4096];
    for (;;) {
      auto [ec, n] = co_await b.async_read_some(asio::buffer(chunk), use_tuple);
      out.append(chunk, n);
      if (ec) {
        CHECK(ec == asio::error::eof);
        break;
      }
    }
    co_return out;
  }());
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}

TEST_CASE("net::Stream: a passed deadline ends a pending read with a timeout", "[net]") {
  asio::io_context io;
  auto pair = airgate::test::connected_pair(io);
  Stream a(std::move(pair.a));
  Stream b(std::move(pair.b));
  const auto start = std::chrono::steady_clock::now();
  auto ec = airgate::test::run(io, [&]() -> asio::awaitable<error_code> {
    b.expires_after(std::chrono::milliseconds(100));
    char byte;
    auto [ec, n] = co_await b.async_read_some(asio::buffer(&byte, 1), use_tuple);  // the peer sends nothing
    co_return ec;
  }());
  const auto waited = std::chrono::steady_clock::now() - start;
  CHECK(ec == boost::beast::error::timeout);
  CHECK(waited >= std::chrono::milliseconds(100));
  CHECK(waited < std::chrono::seconds(5));
  CHECK_FALSE(b.socket().is_open());  // the sweep closed it
}

TEST_CASE("net::Stream: without a deadline passing, a pending read waits for its bytes", "[net]") {
  asio::io_context io;
  auto pair = airgate::test::connected_pair(io);
  Stream a(std::move(pair.a));
  Stream b(std::move(pair.b));
  auto got = airgate::test::run(io, [&]() -> asio::awaitable<std::string> {
    b.expires_after(std::chrono::seconds(30));
    auto writer = [&]() -> asio::awaitable<void> {
      asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(150));
      co_await t.async_wait(asio::use_awaitable);
      co_await asio::async_write(a, asio::buffer(std::string_view("late")), use_tuple);
    };
    asio::co_spawn(co_await asio::this_coro::executor, writer(), asio::detached);
    char buf[16];
    auto [ec, n] = co_await asio::async_read(b, asio::buffer(buf, 4), use_tuple);
    REQUIRE_FALSE(ec);
    co_return std::string(buf, n);
  }());
  CHECK(got == "late");
}

TEST_CASE("net::Stream: try_read_some reads what is there without waiting", "[net]") {
  asio::io_context io;
  auto pair = airgate::test::connected_pair(io);
  Stream a(std::move(pair.a));
  Stream b(std::move(pair.b));
  char buf[16];
  std::size_t n = 0;
  error_code ec;
  CHECK(b.try_read_some(asio::buffer(buf), n, ec) == Stream::TryRead::nothing);
  CHECK(n == 0);
  asio::write(a.socket(), asio::buffer(std::string_view("abc")));
  // Loopback delivers at once, but give the kernel a moment on a loaded machine.
  Stream::TryRead r = Stream::TryRead::nothing;
  for (int i = 0; i < 100 && r == Stream::TryRead::nothing; ++i) {
    r = b.try_read_some(asio::buffer(buf), n, ec);
    if (r == Stream::TryRead::nothing) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  REQUIRE(r == Stream::TryRead::data);
  CHECK(std::string_view(buf, n) == "abc");
  a.close();
  r = Stream::TryRead::nothing;
  for (int i = 0; i < 100 && r == Stream::TryRead::nothing; ++i) {
    r = b.try_read_some(asio::buffer(buf), n, ec);
    if (r == Stream::TryRead::nothing) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(r == Stream::TryRead::failed);
  CHECK(ec == asio::error::eof);
}

TEST_CASE("net::Stream: close ends the connection for both ends", "[net]") {
  asio::io_context io;
  auto pair = airgate::test::connected_pair(io);
  Stream a(std::move(pair.a));
  Stream b(std::move(pair.b));
  a.close();
  CHECK_FALSE(a.socket().is_open());
  auto ec = airgate::test::run(io, [&]() -> asio::awaitable<error_code> {
    char byte;
    auto [ec, n] = co_await b.async_read_some(asio::buffer(&byte, 1), use_tuple);
    co_return ec;
  }());
  CHECK(ec == asio::error::eof);
}
