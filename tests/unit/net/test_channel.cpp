// net::Stream over a net::Channel (the in-process pipe of an HTTP/2 stream):
// the session side reads what the connection pushed and waits when there is
// nothing, its writes wait above the output limit, the DATA it read is
// reported for flow control, a deadline ends a parked read, and either side
// closing ends the other's operations.
#include "loopback.hpp"
#include "net/channel.hpp"
#include "net/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

using airgate::net::Channel;
using airgate::net::Stream;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
struct Pipe {
  explicit Pipe(asio::io_context& io)
      : channel(std::make_shared<Channel>(io.get_executor())), session(tcp::socket(io), channel) {}
  std::shared_ptr<Channel> channel;
  Stream session;
};

asio::awaitable<void> sleep_ms(int ms) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(ms));
  co_await t.async_wait(use_tuple);
}
}  // namespace

TEST_CASE("net::Channel: a read waits for pushed bytes; the DATA read is reported once", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  auto got = airgate::test::run(io, [&]() -> asio::awaitable<std::string> {
    auto pusher = [&]() -> asio::awaitable<void> {
      co_await sleep_ms(20);  // the read below is parked by now
      p.channel->push("HEAD\r\n", 0);
      p.channel->push("hello", 5);
    };
    asio::co_spawn(co_await asio::this_coro::executor, pusher(), asio::detached);
    std::string out(11, '\0');
    auto [ec, n] = co_await asio::async_read(p.session, asio::buffer(out), use_tuple);
    CHECK_FALSE(ec);
    CHECK(n == 11);
    co_return out;
  }());
  CHECK(got == "HEAD\r\nhello");
  CHECK(p.channel->take_consumed_data() == 5);
  CHECK(p.channel->take_consumed_data() == 0);
}

TEST_CASE("net::Channel: DATA counts as consumed only once the session read past it", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  p.channel->push("0123456789", 10);
  char buf[4];
  std::size_t n = 0;
  error_code ec;
  REQUIRE(p.session.try_read_some(asio::buffer(buf), n, ec) == Stream::TryRead::data);
  CHECK(n == 4);
  CHECK(p.channel->take_consumed_data() == 0);
  std::string rest(6, '\0');
  REQUIRE(p.session.try_read_some(asio::buffer(rest), n, ec) == Stream::TryRead::data);
  CHECK(p.channel->take_consumed_data() == 10);
  CHECK(p.session.try_read_some(asio::buffer(buf), n, ec) == Stream::TryRead::nothing);
}

TEST_CASE("net::Channel: writes wait above the output limit until the connection takes bytes", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  const std::string big(Channel::kOutputLimit + 1000, 'r');
  bool wrote = false;
  auto taken = airgate::test::run(io, [&]() -> asio::awaitable<std::size_t> {
    auto writer = [&]() -> asio::awaitable<void> {
      auto [ec, n] = co_await asio::async_write(p.session, asio::buffer(big), use_tuple);
      CHECK_FALSE(ec);
      CHECK(n == big.size());
      wrote = true;
    };
    asio::co_spawn(co_await asio::this_coro::executor, writer(), asio::detached);
    co_await sleep_ms(20);
    CHECK_FALSE(wrote);  // parked at the limit
    CHECK(p.channel->output().size() == Channel::kOutputLimit);
    std::size_t total = 0;
    while (!wrote || !p.channel->output().empty()) {
      const auto out = p.channel->output();
      total += out.size();
      p.channel->take_output(out.size());
      co_await sleep_ms(1);
    }
    co_return total;
  }());
  CHECK(taken == big.size());
}

TEST_CASE("net::Channel: a passed deadline ends a parked read with a timeout", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  auto ec = airgate::test::run(io, [&]() -> asio::awaitable<error_code> {
    p.session.expires_after(std::chrono::milliseconds(50));
    char buf[8];
    auto [ec, n] = co_await p.session.async_read_some(asio::buffer(buf), use_tuple);
    co_return ec;
  }());
  CHECK(ec == boost::beast::error::timeout);
}

TEST_CASE("net::Channel: the connection closing ends the session's read and write", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  auto result = airgate::test::run(io, [&]() -> asio::awaitable<std::pair<error_code, error_code>> {
    auto closer = [&]() -> asio::awaitable<void> {
      co_await sleep_ms(20);
      p.channel->connection_close();
    };
    asio::co_spawn(co_await asio::this_coro::executor, closer(), asio::detached);
    char buf[8];
    auto [rec, rn] = co_await p.session.async_read_some(asio::buffer(buf), use_tuple);
    auto [wec, wn] = co_await asio::async_write(p.session, asio::buffer("x", 1), use_tuple);
    co_return std::pair{rec, wec};
  }());
  CHECK(result.first == asio::error::connection_reset);
  CHECK(result.second == asio::error::broken_pipe);
}

TEST_CASE("net::Channel: the session closing is seen by the connection, unread DATA given back", "[net][channel]") {
  asio::io_context io;
  Pipe p(io);
  int activity = 0;
  p.channel->on_activity([&] { ++activity; });
  p.channel->push("abc", 3);
  CHECK(p.session.is_open());
  p.session.close();
  CHECK_FALSE(p.session.is_open());
  CHECK(p.channel->closed_by_session());
  CHECK(p.channel->take_consumed_data() == 3);
  io.poll();
  CHECK(activity == 1);        // posted once, not from inside close()
  p.channel->push("more", 4);  // after the session left: given back at once
  CHECK(p.channel->take_consumed_data() == 4);
}

TEST_CASE("net::Channel: a long upload's DATA is reported exactly, read piece by piece", "[net][channel]") {
  asio::io_context io;
  Channel c(io.get_executor());
  // 1,000 DATA frames of 10 bytes, each with 3 bytes of framing around it,
  // read in 7-byte pieces that never line up with the frames: what is
  // reported is the DATA fully read, no byte twice, none lost.
  std::size_t pushed = 0, reported = 0, read = 0;
  char buf[7];
  for (int i = 0; i < 1000; ++i) {
    c.push("xx\n", 0);
    c.push("0123456789", 10);
    pushed += 13;
    while (read + 7 + 13 * 3 <= pushed) read += c.session_read(buf, sizeof buf);  // stays behind the pushes
    reported += c.take_consumed_data();
    CHECK(reported <= read);
  }
  while (std::size_t n = c.session_read(buf, sizeof buf)) read += n;
  reported += c.take_consumed_data();
  CHECK(read == pushed);
  CHECK(reported == 10000);
  // What is pushed after the session closed is given back at once.
  c.session_close();
  c.push("late", 4);
  CHECK(c.take_consumed_data() == 4);
}

TEST_CASE("net::Channel: an aborted response is told apart from a closed one", "[net][channel]") {
  asio::io_context io;
  Channel c(io.get_executor());
  CHECK(c.session_write("HTTP/1.1 200 OK\r\n\r\npart", 23) == 23);
  CHECK_FALSE(c.aborted_by_session());
  c.session_abort();
  c.session_close();
  CHECK(c.aborted_by_session());
  CHECK(c.closed_by_session());
  CHECK(c.output() == "HTTP/1.1 200 OK\r\n\r\npart");  // the connection decides what becomes of it
}
