#include "upstream/pool.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <sys/socket.h>

namespace airgate::upstream {

namespace {
using tcp = asio::ip::tcp;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Still usable: no EOF and no stray bytes waiting (a response nobody asked
// for: a body after a HEAD, 204 or 304 answer, bytes past Content-Length).
// Such bytes would become the next request's response, possibly another
// client's: the connection is discarded instead.
bool still_open(Stream& s) {
  if (s.is_tls() && SSL_has_pending(s.ssl())) return false;
  char byte;
  const ssize_t n = ::recv(s.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

ConnectFailure classify(const boost::system::error_code& ec) {
  namespace err = asio::error;
  if (ec == boost::beast::error::timeout) return ConnectFailure::timeout;
  if (ec == err::connection_refused) return ConnectFailure::refused;
  return ConnectFailure::unreachable;
}
}  // namespace

asio::awaitable<Connected> connect(const Peer& peer) {
  auto ex = co_await asio::this_coro::executor;
  const auto& url = peer.cfg->url;
  Connected out;

  tcp::resolver resolver(ex);
  boost::system::error_code ec;
  auto address = asio::ip::make_address(url.host, ec);
  const bool ip_literal = !ec;
  tcp::resolver::results_type endpoints;
  if (!ip_literal) {
    auto [rec, results] = co_await resolver.async_resolve(url.host, std::to_string(url.port), use_tuple);
    if (rec) {
      out.failure = ConnectFailure::resolve;
      co_return out;
    }
    endpoints = results;
  } else {
    endpoints = tcp::resolver::results_type::create(tcp::endpoint(address, url.port), url.host,
                                                    std::to_string(url.port));
  }

  Stream stream = peer.tls ? Stream(tcp::socket(ex), peer.tls->native_handle(), Stream::Role::client)
                           : Stream(tcp::socket(ex));
  stream.expires_after(peer.cfg->connect_timeout);
  auto [cec, ep] = co_await stream.async_connect(endpoints, use_tuple);
  if (cec) {
    out.failure = classify(cec);
    co_return out;
  }
  stream.socket().set_option(tcp::no_delay(true), ec);
  stream.socket().non_blocking(true, ec);  // OpenSSL's recv/send must not block

  if (!peer.tls) {
    out.stream.emplace(std::move(stream));
    co_return out;
  }

  SSL* ssl = stream.ssl();
  if (ip_literal) {
    // IP literal: verify the IP SAN, no SNI.
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url.host.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, url.host.c_str());
    SSL_set1_host(ssl, url.host.c_str());
  }
  static const unsigned char alpn[] = "\x08http/1.1";
  SSL_set_alpn_protos(ssl, alpn, sizeof alpn - 1);
  stream.expires_after(peer.cfg->connect_timeout);
  auto [hec] = co_await stream.async_handshake(use_tuple);
  if (hec) {
    out.failure = hec == boost::beast::error::timeout ? ConnectFailure::timeout : ConnectFailure::tls_handshake;
    co_return out;
  }
  out.stream.emplace(std::move(stream));
  co_return out;
}

std::optional<Stream> Pool::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end()) return std::nullopt;
  auto& list = it->second;
  const auto now = std::chrono::steady_clock::now();
  while (!list.empty()) {
    Idle idle = std::move(list.back());  // most recently used first: warmest connection
    list.pop_back();
    // Every connection is checked when taken (one non-blocking peek): an
    // EOF the upstream sent meanwhile, or bytes nobody asked for, discard it.
    if (now - idle.since < kPoolIdleLimit && still_open(idle.stream)) return std::move(idle.stream);
    idle.stream.close();
  }
  return std::nullopt;
}

void Pool::put(const std::string& key, Stream stream, std::size_t max_idle) {
  auto& list = idle_[key];
  if (max_idle == 0) {
    stream.close();
    return;
  }
  stream.expires_never();
  while (list.size() >= max_idle) {
    list.front().stream.close();
    list.pop_front();
  }
  list.push_back(Idle{std::move(stream), std::chrono::steady_clock::now()});
}

void Pool::clear() {
  for (auto& [key, list] : idle_)
    for (auto& idle : list) idle.stream.close();
  idle_.clear();
}

std::size_t Pool::idle_count() const {
  std::size_t n = 0;
  for (auto& [key, list] : idle_) n += list.size();
  return n;
}

}  // namespace airgate::upstream
