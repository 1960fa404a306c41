// upstream::exchange against a scripted upstream on a loopback acceptor in
// this process: interim responses skipped, a stale pooled connection retried
// once, and the Reason of each way it fails.
#include "../net/loopback.hpp"
#include "upstream/exchange.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
using airgate::core::Reason;
using airgate::net::Stream;
using namespace airgate::upstream;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::string_view kRequest = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
constexpr std::string_view kOk = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
constexpr std::string_view kCloseAfterRequest = "";  // read the request, then close without answering
constexpr std::string_view kSilent = "-";            // read the request, then answer nothing

// An upstream that accepts one connection per scripted answer, reads a request
// head on it and answers as scripted. It records the heads it received.
struct ScriptedUpstream {
  asio::io_context& io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)};
  std::vector<std::string> heads;
  std::vector<tcp::socket> open;  // kept open until the test ends
  airgate::config::Upstream cfg;
  Peer peer;

  explicit ScriptedUpstream(asio::io_context& io) : io(io) {
    cfg.url.host = "127.0.0.1";
    cfg.url.port = acceptor.local_endpoint().port();
    peer = Peer{&cfg, nullptr, cfg.url.authority()};
  }

  asio::awaitable<void> serve(std::vector<std::string_view> answers) {
    for (auto answer : answers) {
      auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
      if (aec) co_return;
      std::string head;
      auto [rec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(head), "\r\n\r\n", use_tuple);
      if (rec) co_return;
      heads.push_back(head.substr(0, n));
      if (answer == kCloseAfterRequest) {
        socket.close();
        continue;
      }
      if (answer != kSilent) co_await asio::async_write(socket, asio::buffer(answer), use_tuple);
      open.push_back(std::move(socket));
    }
  }
};

struct Run {
  ExchangeResult result;
  std::string after_head;  // what the upstream sent after the response head
};

void run_exchange(asio::io_context& io, Pool& pool, const Peer& peer, Run& out) {
  BufferPool buffers;
  RelayBuffer relay(buffers);
  beast::flat_buffer read_buffer;
  const airgate::config::Limits limits;
  const ExchangeRequest request{peer, kRequest, {}, nullptr, false, limits};
  airgate::test::run(io, exchange(pool, request, read_buffer, relay, out.result));
  out.after_head.assign(static_cast<const char*>(read_buffer.data().data()), read_buffer.size());
}

}  // namespace

TEST_CASE("exchange: interim 1xx responses are skipped, the final head is read", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  const std::string answer = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" +
                             std::string(kOk);
  asio::co_spawn(io, upstream.serve({answer}), asio::detached);
  Pool pool;
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE_FALSE(run.result.failure);
  REQUIRE(run.result.stream);
  REQUIRE(run.result.response);
  CHECK(run.result.response->status() == 200);
  CHECK(run.result.response->fields().first("Link").empty());  // the 103's field is not the 200's
  CHECK(run.result.response->fields().size() == 1);            // Content-Length
  CHECK(run.after_head == "hi");
  REQUIRE(upstream.heads.size() == 1);
  CHECK(upstream.heads[0] == kRequest);
}

TEST_CASE("exchange: a 101 ends the wait for the final response", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  asio::co_spawn(io, upstream.serve({"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"}),
                 asio::detached);
  Pool pool;
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE_FALSE(run.result.failure);
  CHECK(run.result.response->status() == 101);
}

TEST_CASE("exchange: a pooled connection the upstream closed is retried once on a new one", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  asio::co_spawn(io, upstream.serve({kCloseAfterRequest, kOk}), asio::detached);
  Pool pool;
  tcp::socket pooled(io);
  pooled.connect(upstream.acceptor.local_endpoint());
  pool.put(upstream.peer.key, Stream(std::move(pooled)), 8);
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE_FALSE(run.result.failure);
  CHECK(run.result.response->status() == 200);
  REQUIRE(upstream.heads.size() == 2);  // the same request on both connections
  CHECK(upstream.heads[0] == kRequest);
  CHECK(upstream.heads[1] == kRequest);
}

TEST_CASE("exchange: a new connection closed without a response is not retried", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  asio::co_spawn(io, upstream.serve({kCloseAfterRequest, kOk}), asio::detached);
  Pool pool;
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE(run.result.failure);
  CHECK(*run.result.failure == Reason::upstream_closed);
  CHECK_FALSE(run.result.stream);
  CHECK(upstream.heads.size() == 1);
}

TEST_CASE("exchange: a refused connection reports upstream_refused", "[exchange]") {
  asio::io_context io;
  airgate::config::Upstream cfg;
  cfg.url.host = "127.0.0.1";
  {
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    cfg.url.port = closed.local_endpoint().port();
  }  // nothing listens there any more
  const Peer peer{&cfg, nullptr, cfg.url.authority()};
  Pool pool;
  Run run;
  run_exchange(io, pool, peer, run);
  REQUIRE(run.result.failure);
  CHECK(*run.result.failure == Reason::upstream_refused);
  CHECK(run.result.connect == ConnectFailure::refused);
  CHECK(connect_failure_reason(run.result.connect) == Reason::upstream_refused);
}

TEST_CASE("exchange: an upstream that never answers ends with upstream_read_timeout", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  upstream.cfg.read_timeout = std::chrono::milliseconds(150);
  asio::co_spawn(io, upstream.serve({kSilent}), asio::detached);
  Pool pool;
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE(run.result.failure);
  CHECK(*run.result.failure == Reason::upstream_read_timeout);
}

TEST_CASE("exchange: a response that is not HTTP reports upstream_bad_response", "[exchange]") {
  asio::io_context io;
  ScriptedUpstream upstream(io);
  asio::co_spawn(io, upstream.serve({"SSH-2.0-OpenSSH_9.2\r\n\r\n"}), asio::detached);
  Pool pool;
  Run run;
  run_exchange(io, pool, upstream.peer, run);
  REQUIRE(run.result.failure);
  CHECK(*run.result.failure == Reason::upstream_bad_response);
}
