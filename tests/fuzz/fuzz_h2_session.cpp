// Fuzz target: what an HTTP/2 client sends, into the real HTTP/2 connection
// (http/h2_connection.cpp): libnghttp2's framing and HPACK, airgate's
// callbacks, the abuse accounting, the request translation, and for each
// accepted stream its own Session (the whole HTTP/1.1 lifecycle) against an
// in-process upstream that answers every request. Input: the frames after the
// client connection preface (the target sends the preface itself). The
// connection runs on a socket pair in one io_context until it ends or a
// bounded number of steps passed; ASan/UBSan/LSan and the connection's own
// bookkeeping (its end reported exactly once) are the invariants.
#include "config/load.hpp"
#include "http/h2_connection.hpp"
#include "http/session_impl.hpp"
#include "observe/metrics.hpp"
#include "runtime/runtime.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace http = airgate::http;

namespace {

// Answers every request on a connection with a small response, then closes
// (callbacks, not coroutines: clang's fuzzer instrumentation of a coroutine
// in this file trips a backend error).
struct Answer : std::enable_shared_from_this<Answer> {
  explicit Answer(tcp::socket s) : socket(std::move(s)) {}
  tcp::socket socket;
  asio::streambuf in;
  void start() {
    asio::async_read_until(
        socket, in, "\r\n\r\n", [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
          if (ec) return;
          static const std::string response =
              "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\nX-Up: yes\r\nConnection: close\r\n\r\nhello";
          asio::async_write(self->socket, asio::buffer(response), [self](boost::system::error_code, std::size_t) {});
        });
  }
};

void accept_next(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](boost::system::error_code ec, tcp::socket s) {
    if (ec) return;
    std::make_shared<Answer>(std::move(s))->start();
    accept_next(acceptor);
  });
}

struct World {
  asio::io_context ioc;
  asio::thread_pool blocking{1};
  tcp::acceptor acceptor{ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  airgate::observe::Metrics metrics;
  airgate::runtime::RuntimePtr rt;
  std::atomic<std::size_t> active{0};
  http::WorkerContext ctx;
  int ended = 0;

  World() {
    spdlog::set_level(spdlog::level::off);
    const std::string yaml = "listen:\n  - address: 127.0.0.1:0\nupstream:\n  url: http://127.0.0.1:" +
                             std::to_string(acceptor.local_endpoint().port()) +
                             "\n  read_timeout: 2s\n  connect_timeout: 1s\n"
                             "limits:\n  max_body_size: 64KiB\n  max_header_size: 4KiB\n"
                             "  client_body_timeout: 1s\n  keepalive_timeout: 1s\n  client_header_timeout: 1s\n"
                             "logging:\n  access_log: \"off\"\n  level: error\n";
    auto loaded = airgate::config::parse_yaml(yaml, "<fuzz>");
    if (!loaded.ok()) std::abort();
    rt = airgate::runtime::build_runtime(loaded.config);
    ctx.blocking = &blocking;
    ctx.active_connections = &active;
    ctx.metrics = &metrics;
    ctx.runtime = [this] { return rt; };
    ctx.session_ended = [this](std::size_t, std::exception_ptr e) {
      if (e) std::abort();  // a failure the connection let escape
      ++ended;
    };
    accept_next(acceptor);
  }
};

World& world() {
  static World* w = new World();  // for the process: building the runtime per input would dominate
  return *w;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  World& w = world();
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  tcp::socket server(w.ioc), client(w.ioc);
  server.assign(tcp::v4(), fds[0]);
  client.assign(tcp::v4(), fds[1]);
  client.non_blocking(true);

  w.ended = 0;
  http::ListenerInfo listener;
  listener.tls = true;  // as an HTTP/2 connection's sessions see it
  auto session = std::make_unique<http::Session>(airgate::net::Stream(std::move(server)),
                                                 tcp::endpoint(asio::ip::make_address("127.0.0.1"), 40000), listener,
                                                 w.ctx);
  http::start_h2(std::move(session));

  std::string input = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  input.append(reinterpret_cast<const char*>(data), size);
  std::size_t sent = 0;
  bool shut = false;
  char sink[16384];
  // Feed the input as the connection takes it, read (and drop) what it
  // answers, then half-close: the connection ends once its streams are done.
  for (int step = 0; step < 20000 && w.ended == 0; ++step) {
    boost::system::error_code ec;
    if (sent < input.size()) {
      sent += client.write_some(asio::buffer(input.data() + sent, input.size() - sent), ec);
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) sent = input.size();
    } else if (!shut) {
      client.shutdown(tcp::socket::shutdown_send, ec);
      shut = true;
    }
    while (client.read_some(asio::buffer(sink), ec) > 0) {
    }
    w.ioc.run_for(std::chrono::microseconds(200));
  }
  client.close();
  // Whatever the connection still had (its streams' sessions) winds down.
  for (int step = 0; step < 2000 && w.ended == 0; ++step) w.ioc.run_for(std::chrono::milliseconds(1));
  w.ioc.run_for(std::chrono::milliseconds(2));
  if (w.ended != 1) std::abort();  // the connection must end, and report it once
  return 0;
}
