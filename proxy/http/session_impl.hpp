// The Session class behind run_session (session.hpp): shared by session.cpp
// (the connection loop and the steps up to access and limits) and forward.cpp
// (the steps that go upstream and answer). Included nowhere else.
#pragma once

#include "access/client_slots.hpp"
#include "http/reply.hpp"
#include "http/request_head.hpp"
#include "http/session.hpp"
#include "upstream/exchange.hpp"

#include "core/ip.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace airgate::http {

namespace beast = boost::beast;
class H2Connection;

// Session cookies carry Unix seconds (they must mean the same on every replica).
inline std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Session {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kReadChunk = 16 * 1024;  // reads of a head in progress and of a streamed body
  static constexpr std::size_t kIdleRead = 2 * 1024;    // the first read of a head (an idle connection's)

  Session(net::Stream stream, asio::ip::tcp::endpoint peer, ListenerInfo listener, WorkerContext& worker);
  // A session for one stream of an HTTP/2 connection: the connection's peer,
  // listener and client certificate, already set up.
  Session(net::Stream stream, const Session& connection);

  // Serves the connection from where it stands: the connection set-up on the
  // first call, then one exchange after another. Between requests an idle
  // connection keeps no coroutine: the session parks itself on a readiness
  // wait (park) and serve runs again when the client sends. True when
  // parked, false when the connection has ended.
  // close_only: the idle wait ended the connection; serve only closes it.
  static asio::awaitable<bool> serve(std::unique_ptr<Session> self, bool close_only);
  static void spawn(std::unique_ptr<Session> self, bool close_only = false);

 private:
  // An HTTP/2 connection (h2_connection.cpp) takes over the session after
  // the handshake and serves each of its streams with a Session of its own.
  friend class H2Connection;

  // Everything one request/response exchange accumulates; logged once.
  struct Exchange {
    runtime::RuntimePtr rt;
    observe::AccessEntry log;
    Clock::time_point start = Clock::now();
    core::IpAddress client_ip;  // the resolved client (step 3)
    std::string client_address;
    bool keep_alive = false;
    bool logged = false;
    bool json_errors = false;
    bool head_request = false;  // a local reply carries no body (RFC 9110 §9.3.2)
    bool may_upgrade = false;   // access passed by a check (not a public path): WebSocket allowed
    std::string request_id;
    int route = -1;  // config::match_route over the normalised path and the method (select_route)
    // Browser sessions (TLS listeners with sessions on).
    std::string session_user;  // the user of a valid session cookie
    std::string set_cookie;    // a Set-Cookie of ours for the response (issued or refreshed)
  };

  // What the forwarding steps hand on to each other. It lives only while they
  // run: the upload slot, the buffers and the upstream connection are given
  // back before a local reply is written.
  struct Forwarding {
    const upstream::Peer* peer = nullptr;
    bool upgrade = false;  // a WebSocket handshake goes upstream
    bool has_body = false;
    bool buffer_body = false;               // a small Content-Length body, read before connecting
    std::string body;                       // that body
    access::ClientSlots::Slot upload_slot;  // held while a body streams upstream
    std::optional<upstream::RelayBuffer> relay;
    std::optional<upstream::PooledFlatBuffer> upstream_buffer;
    upstream::ExchangeResult exchanged;
  };

  // Head read outcome (the socket side of step 2).
  enum class Head { ok, closed, timeout, too_large, malformed };

  // Connection (session.cpp).
  asio::awaitable<bool> read_proxy_header(const runtime::Runtime& rt);
  asio::awaitable<bool> handshake(const runtime::Runtime& rt);
  enum class Next { request, idle, closed };
  Next look_for_next_request();
  static void park(std::unique_ptr<Session> self);
  asio::awaitable<void> close_client();
  asio::awaitable<Head> read_head(const config::Limits& limits, std::size_t& head_len);
  std::string_view buffered() const;

  // The lifecycle steps, in order (exchange() runs them).
  asio::awaitable<bool> exchange();
  asio::awaitable<Step> receive_head(Exchange& ex, std::size_t& head_len);
  Step select_route(Exchange& ex);  // session.cpp: the path normalised (400), the route chosen
  Step parse_head(Exchange& ex, std::size_t head_len);
  Step redirect(Exchange& ex);
  void resolve_client(Exchange& ex);
  asio::awaitable<Step> check_access(Exchange& ex);
  Step apply_access(Exchange& ex, const access::AccessDecision& d);
  void check_session(Exchange& ex);
  Step check_limits(Exchange& ex);
  // airgate's own pages under /.airgate/ (login.cpp).
  bool login_form_on(const runtime::Runtime& rt) const;
  asio::awaitable<Step> own_page(Exchange& ex);
  asio::awaitable<Step> login_submit(Exchange& ex);
  Step login_form(Exchange& ex, int status, core::Reason reason, std::string_view rd, std::string_view username,
                  std::string_view message, bool close_after, ExtraFields extra = ExtraFields());
  Step logout(Exchange& ex, bool has_body);
  Step route(Exchange& ex, Forwarding& fw);                           // forward.cpp
  asio::awaitable<Step> admit_body(Exchange& ex, Forwarding& fw);     // forward.cpp
  asio::awaitable<Step> send_upstream(Exchange& ex, Forwarding& fw);  // forward.cpp
  asio::awaitable<Step> respond(Exchange& ex, Forwarding& fw);        // forward.cpp
  Step dropped(Exchange& ex, const Failure& f);                       // forward.cpp
  asio::awaitable<bool> finish(Exchange& ex, Step step);

  asio::awaitable<void> reply(Exchange& ex, const Failure& f, bool close, const ExtraFields& extra);
  void finish_log(Exchange& ex, int status);
  // f() on the blocking pool (a password hash check), then back on this worker.
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> run_blocking(F f) {
    auto home = co_await asio::this_coro::executor;
    co_await asio::post(asio::bind_executor(*worker_.blocking, asio::use_awaitable));
    auto result = f();
    co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
    co_return result;
  }

  net::Stream client_;
  core::IpAddress peer_ip_;  // the connecting peer (or the PROXY protocol source)
  std::string peer_address_;
  std::string tls_client_subject_;
  ListenerInfo listener_;
  WorkerContext& worker_;
  beast::flat_buffer buffer_;
  std::unique_ptr<RequestParser> parser_;  // the current request, while an exchange runs
  bool request_body_read_ = false;         // the body of parser_'s request was relayed in full
  std::uint64_t exchanges_ = 0;
  bool set_up_ = false;  // PROXY header and TLS handshake done
  // A stream of an HTTP/2 connection: one exchange read from its channel
  // (h2_streams.cpp), logged as HTTP/2.0; stream_ended_ is called when it
  // ends instead of worker_.session_ended (the connection is counted once).
  bool h2_stream_ = false;
  std::function<void(std::exception_ptr)> stream_ended_;
  Clock::time_point head_start_ = Clock::now();  // first byte of the current request head
};

}  // namespace airgate::http
