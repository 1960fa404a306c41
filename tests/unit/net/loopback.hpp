// Helpers of the socket tests: a connected TCP pair on loopback (both ends in
// this process) and a coroutine run to completion on one io_context.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <future>
#include <stdexcept>
#include <utility>

namespace airgate::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct SocketPair {
  tcp::socket a;
  tcp::socket b;
};

inline SocketPair connected_pair(asio::io_context& io) {
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  tcp::socket a(io);
  tcp::socket b(io);
  a.connect(acceptor.local_endpoint());
  acceptor.accept(b);
  return {std::move(a), std::move(b)};
}

// Runs `task` until it completes (at most `limit`) and returns its result;
// its exception, if any, is rethrown here. The io_context may keep other work
// (a deadline sweep timer) that is not waited for.
template <class T>
T run(asio::io_context& io, asio::awaitable<T> task, std::chrono::seconds limit = std::chrono::seconds(10)) {
  auto result = asio::co_spawn(io, std::move(task), asio::use_future);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (result.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    if (std::chrono::steady_clock::now() > until) throw std::runtime_error("test coroutine did not finish in time");
    io.restart();
    io.run_one_for(std::chrono::milliseconds(50));
  }
  return result.get();
}

}  // namespace airgate::test
