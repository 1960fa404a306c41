// One stream type for plain TCP and TLS, client side and upstream side, so the
// session and relay code is written (and compiled) once.
#pragma once

#include <boost/asio/async_result.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>

namespace airgate::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

class Stream {
 public:
  using executor_type = beast::tcp_stream::executor_type;

  explicit Stream(beast::tcp_stream tcp) : tcp_(std::make_unique<beast::tcp_stream>(std::move(tcp))) {}
  Stream(beast::tcp_stream tcp, asio::ssl::context& ctx)
      : tls_(std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(tcp), ctx)) {}
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  bool is_tls() const { return tls_ != nullptr; }
  beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *tcp_; }
  tcp::socket& socket() { return tcp().socket(); }
  beast::ssl_stream<beast::tcp_stream>& tls() { return *tls_; }
  executor_type get_executor() { return tcp().get_executor(); }

  void expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
  void expires_never() { tcp().expires_never(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const MutableBuffers& b) {
          if (tls_)
            tls_->async_read_some(b, std::move(handler));
          else
            tcp_->async_read_some(b, std::move(handler));
        },
        token, buffers);
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(error_code, std::size_t)>(
        [this](auto handler, const ConstBuffers& b) {
          if (tls_)
            tls_->async_write_some(b, std::move(handler));
          else
            tcp_->async_write_some(b, std::move(handler));
        },
        token, buffers);
  }

  // Closes the socket at once (no TLS close_notify).
  void close() {
    error_code ec;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp().close();
  }

 private:
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
};

}  // namespace airgate::net
