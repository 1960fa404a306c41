#include "server/admin.hpp"

#include "server/task.hpp"
#include "upstream/pool.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>
#include <tuple>

namespace airgate::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {
tcp::endpoint parse_endpoint(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos) throw std::runtime_error("admin.address " + address + ": expected host:port");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) throw std::runtime_error("admin.address " + address + ": \"" + host + "\" is not an IP address");
  return {addr, static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))};
}
}  // namespace

Admin::Admin(asio::io_context& ioc, const std::string& address, std::function<runtime::RuntimePtr()> runtime,
             std::function<std::string()> metrics)
    : ioc_(ioc), acceptor_(ioc), runtime_(std::move(runtime)), metrics_(std::move(metrics)) {
  auto endpoint = parse_endpoint(address);
  boost::system::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec == asio::error::address_in_use)
    throw std::runtime_error("admin.address " + address + ": address already in use (is another airgate running?)");
  if (ec) throw std::runtime_error("admin.address " + address + ": cannot listen: " + ec.message());
  const auto bound = acceptor_.local_endpoint();
  const bool v6 = bound.address().is_v6();
  url_ = "http://" + std::string(v6 ? "[" : "") + bound.address().to_string() + (v6 ? "]" : "") + ":" +
         std::to_string(bound.port());
  spdlog::info("admin listening on {}", url_);
}

void Admin::start() { asio::co_spawn(ioc_, accept_loop(), log_failure("admin accept loop on " + url_)); }

void Admin::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> Admin::accept_loop() {
  asio::steady_timer backoff(ioc_);
  for (;;) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
    if (ec) {
      if (!acceptor_.is_open()) co_return;
      // Out of file descriptors (or another accept error): the pending
      // connection stays in the backlog; pause as the listeners do instead of
      // retrying at once, which would spin a core until a descriptor frees up.
      spdlog::debug("admin accept on {} failed: {}", url_, ec.message());
      backoff.expires_after(std::chrono::milliseconds(250));
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    asio::co_spawn(ioc_, serve(std::move(socket)), log_failure("admin connection on " + url_));
  }
}

asio::awaitable<bool> Admin::upstream_ready() {
  const auto now = std::chrono::steady_clock::now();
  if (now - ready_checked_ < std::chrono::seconds(1)) co_return ready_cached_;
  auto rt = runtime_();
  upstream::Peer peer = rt->peers.at(0);
  config::Upstream probe = *peer.cfg;
  probe.connect_timeout = std::min<config::Duration>(probe.connect_timeout, std::chrono::seconds(2));
  peer.cfg = &probe;
  auto connected = co_await upstream::connect(peer);
  if (connected.stream) connected.stream->close();
  ready_cached_ = connected.stream.has_value();
  ready_checked_ = std::chrono::steady_clock::now();
  co_return ready_cached_;
}

asio::awaitable<void> Admin::serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::empty_body> parser;
    parser.header_limit(8192);
    stream.expires_after(std::chrono::seconds(10));
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    if (ec) co_return;
    const auto& req = parser.get();
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
    const auto target = req.target();
    if (target == "/healthz") {
      res.body() = "ok\n";
    } else if (target == "/readyz") {
      if (co_await upstream_ready()) {
        res.body() = "ready\n";
      } else {
        res.result(bhttp::status::service_unavailable);
        res.body() = "upstream not accepting connections\n";
      }
    } else if (target == "/metrics") {
      res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = metrics_();
    } else {
      res.result(bhttp::status::not_found);
      res.body() = "not found: the admin endpoint serves /healthz, /readyz and /metrics\n";
    }
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    boost::system::error_code wec;
    if (req.method() == bhttp::verb::head) {
      // The headers of the answer (Content-Length included), no body (RFC 9110 §9.3.2).
      bhttp::response_serializer<bhttp::string_body> sr(res);
      std::tie(wec, std::ignore) = co_await bhttp::async_write_header(stream, sr, use_tuple);
    } else {
      std::tie(wec, std::ignore) = co_await bhttp::async_write(stream, res, use_tuple);
    }
    if (wec || !res.keep_alive()) co_return;
  }
}

}  // namespace airgate::server
