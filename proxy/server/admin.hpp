// The admin endpoint (design §7): plain HTTP on a loopback address by default.
// /healthz: 200 while running. /readyz: 200 when the upstream accepts
// connections, else 503 (result cached for one second). /metrics: Prometheus text.
#pragma once

#include "runtime/runtime.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace airgate::server {

class Admin {
 public:
  // Binds at once; throws std::runtime_error naming the address.
  Admin(boost::asio::io_context& ioc, const std::string& address, std::function<runtime::RuntimePtr()> runtime,
        std::function<std::string()> metrics);
  void start();
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  boost::asio::awaitable<bool> upstream_ready();

  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<runtime::RuntimePtr()> runtime_;
  std::function<std::string()> metrics_;
  std::string url_;  // http://address:port as bound, for the log
  std::chrono::steady_clock::time_point ready_checked_{};
  bool ready_cached_ = false;
};

}  // namespace airgate::server
