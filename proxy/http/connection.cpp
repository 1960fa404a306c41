// The connection around the exchanges: set-up (PROXY header, TLS
// handshake), one exchange after another, and the idle state between them.
// An idle connection keeps no coroutine: the session parks itself on a
// readiness wait whose handler owns it (park), and a new coroutine serves the
// next request (serve). The steps of one exchange are in session.cpp.
#include "http/session_impl.hpp"

#include "http/h2_connection.hpp"

#include "net/ip.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

namespace airgate::http {

using net::Stream;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

Session::Session(Stream stream, tcp::endpoint peer, ListenerInfo listener, WorkerContext& worker)
    : client_(std::move(stream)), peer_ip_(net::to_ip(peer.address())), listener_(listener), worker_(worker) {
  peer_address_ = peer_ip_.str();
}

Session::Session(Stream stream, const Session& connection)
    : client_(std::move(stream)),
      peer_ip_(connection.peer_ip_),
      peer_address_(connection.peer_address_),
      tls_client_subject_(connection.tls_client_subject_),
      listener_(connection.listener_),
      worker_(connection.worker_),
      set_up_(true),
      h2_stream_(true) {}

void start_session(tcp::socket socket, tcp::endpoint peer, ListenerInfo listener, WorkerContext& worker) {
  error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto rt = worker.runtime();
  auto& tls = rt->listener_tls.at(listener.index);
  auto s = std::make_unique<Session>(listener.tls
                                         ? Stream(std::move(socket), tls.ctx->native_handle(), Stream::Role::server)
                                         : Stream(std::move(socket)),
                                     peer, listener, worker);
  rt.reset();
  Session::spawn(std::move(s));
}

// ---- connection loop -------------------------------------------------------

void Session::spawn(std::unique_ptr<Session> self, bool close_only) {
  if (self->stream_ended_) {
    auto executor = self->client_.get_executor();
    auto ended = self->stream_ended_;
    asio::co_spawn(executor, serve(std::move(self), close_only), [ended](std::exception_ptr e, bool parked) {
      if (!parked || e) ended(e);
    });
    return;
  }
  WorkerContext& worker = self->worker_;
  const std::size_t listener = self->listener_.index;
  auto executor = self->client_.get_executor();
  asio::co_spawn(executor, serve(std::move(self), close_only), [&worker, listener](std::exception_ptr e, bool parked) {
    if (!parked || e) worker.session_ended(listener, e);
  });
}

asio::awaitable<bool> Session::serve(std::unique_ptr<Session> self, bool close_only) {
  Session& s = *self;
  if (!close_only && !s.set_up_) {
    s.set_up_ = true;
    auto rt = s.worker_.runtime();
    if (s.listener_.proxy_protocol && !co_await s.read_proxy_header(*rt)) {
      s.client_.close();
      co_return false;
    }
    if (s.listener_.tls && !co_await s.handshake(*rt)) co_return false;
    // ALPN chose h2: the HTTP/2 connection owns the session from here on and
    // reports its end to the worker itself.
    if (s.listener_.tls && s.client_.alpn_h2()) {
      rt.reset();
      start_h2(std::move(self));
      co_return true;
    }
  }
  // A request waits when there is one; otherwise the connection parks, also
  // before its first request (a browser's preconnect idles like that).
  while (!close_only) {
    if (s.buffer_.size() == 0) {
      const Next next = s.look_for_next_request();
      if (next == Next::closed) break;
      if (next == Next::idle) {
        park(std::move(self));
        co_return true;
      }
    }
    if (!co_await s.exchange() || s.worker_.stopping) break;
    s.parser_.reset();
  }
  co_await s.close_client();
  co_return false;
}

// Between requests: under load the next request is often there already, so
// one non-blocking read first; only when it finds nothing does the
// connection go idle.
Session::Next Session::look_for_next_request() {
  std::size_t max_header_size = 0;
  {
    auto rt = worker_.runtime();  // not kept: a reload may retire it while the connection idles
    max_header_size = rt->config->limits.max_header_size;
  }
  error_code read_ec;
  std::size_t n = 0;
  switch (client_.try_read_some(buffer_.prepare(std::min<std::size_t>(kIdleRead, max_header_size + 4)), n, read_ec)) {
    case Stream::TryRead::data: buffer_.commit(n); return Next::request;
    case Stream::TryRead::busy: return Next::request;   // read_head's read does what OpenSSL needs
    case Stream::TryRead::failed: return Next::closed;  // EOF or reset: nothing to answer
    case Stream::TryRead::nothing: break;
  }
  // A shutdown that started before this connection became idle has closed
  // the idle ones already: this one ends here.
  return worker_.stopping ? Next::closed : Next::idle;
}

// An idle keep-alive connection holds the session, its stream and one
// pending readiness wait: no coroutine frame, no read buffer, no exchange
// state. When the client sends, a new coroutine serves it; when the wait
// ends otherwise (keepalive_timeout, a shutdown closing idle connections),
// one closes the connection.
void Session::park(std::unique_ptr<Session> self) {
  Session& s = *self;
  s.buffer_.shrink_to_fit();
  {
    auto rt = s.worker_.runtime();
    const auto& limits = rt->config->limits;
    s.client_.expires_after(s.exchanges_ == 0 ? limits.client_header_timeout : limits.keepalive_timeout);
  }
  const std::uint64_t idle_key = ++s.worker_.next_session_id;
  s.worker_.idle.emplace(idle_key, &s.client_);
  auto executor = s.client_.get_executor();
  s.client_.async_wait_readable(
      asio::bind_executor(executor, [self = std::move(self), idle_key](error_code ec) mutable {
        self->worker_.idle.erase(idle_key);
        // Readable: serve the next request. Otherwise (keepalive_timeout,
        // client_header_timeout, closed by a shutdown) only close.
        const bool close_only = ec || self->worker_.stopping;
        spawn(std::move(self), close_only);
      }));
}

}  // namespace airgate::http
