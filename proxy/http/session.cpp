// The request lifecycle of design §3, one named step per function:
//
//   run()            handshake, then one exchange after another (keep-alive)
//   exchange()       read_head -> parse_head -> resolve_client -> access
//                    -> check_limits -> forward -> log
//   forward()        pick the peer, send the head (retrying a stale pooled
//                    connection once), relay the body, read the response
//                    head, send it on, relay or tunnel, return the
//                    connection to the pool
//
// Socket plumbing lives in the small helpers at the top; failures become a
// status through fail() (one place) and every exchange is logged exactly once.
#include "http/session.hpp"

#include "access/client_address.hpp"
#include "access/client_slots.hpp"
#include "access/credentials.hpp"
#include "access/proxy_protocol.hpp"
#include "config/units.hpp"
#include "core/ids.hpp"
#include "core/reason.hpp"
#include "http/rules/error_page.hpp"
#include "http/rules/headers.hpp"
#include "upstream/exchange.hpp"
#include "upstream/relay.hpp"
#include "upstream/route.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include <optional>

namespace airgate::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using net::Stream;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = std::chrono::steady_clock;
using core::Reason;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kIdleRead = 2 * 1024;

namespace {

using upstream::RequestParser;
using upstream::ResponseParser;
using upstream::PooledFlatBuffer;
using upstream::RelayBuffer;
using upstream::RelayResult;

// Head read outcome (step 2).
enum class Head { ok, closed, timeout, too_large, malformed };

// A failure that ends an exchange with a local reply (or a closed connection
// when the response already started).
struct Failure {
  int status = 0;
  Reason reason;        // for log, metrics and the error body
  std::string message;  // plain words, shown to the client
};

// The reason's default status.
Failure fail(Reason reason, std::string message) {
  return Failure{core::default_status(reason), reason, std::move(message)};
}

// Another status than the default (client_gone once the response started).
Failure fail(int status, Reason reason, std::string message) {
  return Failure{status, reason, std::move(message)};
}

std::string seconds_text(config::Duration d) { return config::format_duration(d); }

Failure upstream_connect_failure(upstream::ConnectFailure f, const config::Upstream& up) {
  using F = upstream::ConnectFailure;
  switch (f) {
    case F::refused:
      return fail(Reason::upstream_refused, "the upstream refused the connection (is Airbyte running and listening?)");
    case F::timeout:
      return fail(Reason::upstream_connect_timeout, "upstream connect timeout (" + seconds_text(up.connect_timeout) + ") exceeded");
    case F::resolve:
      return fail(Reason::upstream_resolve, "the upstream host name could not be resolved");
    case F::tls_handshake:
      return fail(Reason::upstream_tls, "the TLS handshake with the upstream failed (certificate not trusted or not matching?)");
    default:
      return fail(Reason::upstream_unreachable, "the upstream could not be reached");
  }
}

// A failure of the upstream exchange other than connecting or the request body.
Failure upstream_failure(Reason reason, const config::Upstream& up) {
  switch (reason) {
    case Reason::upstream_send_timeout:
      return fail(reason, "upstream send timeout (" + seconds_text(up.send_timeout) + ") exceeded");
    case Reason::upstream_write_failed:
      return fail(reason, "the upstream closed the connection while the request was sent");
    case Reason::upstream_read_timeout:
      return fail(reason, "upstream read timeout (" + seconds_text(up.read_timeout) + ") exceeded");
    case Reason::upstream_closed:
      return fail(reason, "the upstream closed the connection without sending a response");
    default:
      return fail(Reason::upstream_bad_response, "the upstream sent an invalid response");
  }
}

// A request body that did not make it (read into memory or streamed).
Failure body_failure(RelayResult result, const config::Config& cfg, const config::Upstream& up) {
  switch (result) {
    case RelayResult::too_large:
      return fail(Reason::body_too_large, "request body larger than " + config::format_size(cfg.limits.max_body_size));
    case RelayResult::client_timeout:
      return fail(Reason::client_body_timeout,
                  "request body not received within client_body_timeout (" + seconds_text(cfg.limits.client_body_timeout) + ")");
    case RelayResult::client_too_slow:
      return fail(Reason::client_body_too_slow,
                  "request body arrived slower than client_body_min_rate (" +
                      config::format_size(cfg.limits.client_body_min_rate) + " per second)");
    case RelayResult::client_error:
      return fail(Reason::client_body_error,
                  "the request body could not be read (malformed chunked encoding or connection closed)");
    case RelayResult::peer_timeout:
      return fail(Reason::upstream_send_timeout, "upstream send timeout (" + seconds_text(up.send_timeout) + ") exceeded");
    default:
      return fail(Reason::upstream_write_failed, "the upstream closed the connection while the request body was sent");
  }
}

constexpr std::string_view kXRequestId = "X-Request-Id";
constexpr std::string_view kXForwardedFor = "X-Forwarded-For";
constexpr std::string_view kXForwardedProto = "X-Forwarded-Proto";
constexpr std::string_view kXForwardedHost = "X-Forwarded-Host";

template <class Name>
std::string_view field_or_empty(const bhttp::fields& f, Name name) {
  auto it = f.find(name);
  return it == f.end() ? std::string_view{} : std::string_view(it->value());
}

// All fields of one name joined with ", " (RFC 9110 §5.3).
template <class Name>
std::string join_fields(const bhttp::fields& f, Name name) {
  std::string out;
  auto [first, last] = f.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (!out.empty()) out += ", ";
    out.append(it->value());
  }
  return out;
}

// Only a WebSocket handshake is ever forwarded as an upgrade; any other
// Upgrade (h2c, TLS/1.0, ...) is stripped with its Connection token.
bool is_websocket_request(const bhttp::request_header<>& req) {
  if (!req.count(bhttp::field::upgrade)) return false;
  const std::string upgrade = join_fields(req, bhttp::field::upgrade);
  const std::string connection = join_fields(req, bhttp::field::connection);
  return rules::is_websocket_upgrade({req.method_string(), upgrade, connection,
                                      req.count(bhttp::field::sec_websocket_key) == 1,
                                      req.count(bhttp::field::sec_websocket_version) == 1});
}

}  // namespace

class Session {
 public:
  Session(Stream stream, tcp::endpoint peer, ListenerInfo listener, WorkerContext& worker)
      : client_(std::move(stream)), peer_ip_(access::normalize(peer.address())), listener_(listener), worker_(worker) {
    peer_address_ = peer_ip_.to_string();
  }

  asio::awaitable<void> run();

 private:
  // Everything one request/response exchange accumulates; logged once.
  struct Exchange {
    runtime::RuntimePtr rt;
    observe::AccessEntry log;
    Clock::time_point start = Clock::now();
    std::string client_address;
    bool keep_alive = false;
    bool logged = false;
    bool close_after_reply = true;
    std::vector<std::pair<bhttp::field, std::string>> extra;  // fields for a local reply
    bool response_started = false;
    bool json_errors = false;
    bool head_request = false;  // a local reply carries no body (RFC 9110 §9.3.2)
    bool may_upgrade = false;   // access passed by a check (not a public path): WebSocket allowed
    std::string request_id;
  };

  asio::awaitable<bool> handshake(const runtime::Runtime& rt);
  asio::awaitable<Head> read_head(const config::Limits& limits, std::size_t& head_len, std::string& problem);
  asio::awaitable<bool> exchange();
  std::optional<Failure> parse_head(Exchange& ex, std::size_t head_len);
  std::optional<Failure> check_limits(Exchange& ex);
  access::Evaluation begin_access(Exchange& ex);
  std::optional<Failure> apply_access(Exchange& ex, const access::AccessDecision& d);
  asio::awaitable<std::optional<Failure>> forward(Exchange& ex);
  std::string upstream_request_head(const Exchange& ex, bool upgrade) const;
  std::string client_response_head(const Exchange& ex, const bhttp::response_header<>& res, bool keep_alive,
                                   bool tunnel, bool chunked) const;
  using ExtraFields = std::vector<std::pair<bhttp::field, std::string>>;
  asio::awaitable<void> reply(Exchange& ex, Failure f, bool close, ExtraFields extra = ExtraFields());
  void finish_log(Exchange& ex, int status);
  std::string_view request_line_path() const;
  std::string_view request_line_method() const;
  asio::awaitable<void> close_client();
  asio::awaitable<bool> wait_for_next_request();

  asio::awaitable<bool> read_proxy_header(const runtime::Runtime& rt);
  template <class F>
  asio::awaitable<std::invoke_result_t<F>> run_blocking(F f);

  Stream client_;
  asio::ip::address peer_ip_;   // the connecting peer (or the PROXY protocol source)
  std::string peer_address_;
  std::string tls_client_subject_;
  ListenerInfo listener_;
  WorkerContext& worker_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  bool request_body_read_ = false;  // the body of parser_'s request was relayed in full
  std::uint64_t exchanges_ = 0;
  Clock::time_point head_start_ = Clock::now();  // first byte of the current request head
};

asio::awaitable<void> run_session(tcp::socket socket, ListenerInfo listener, WorkerContext& worker) {
  error_code ec;
  auto peer = socket.remote_endpoint(ec);
  if (ec) co_return;
  socket.set_option(tcp::no_delay(true), ec);
  auto rt = worker.runtime();
  auto& tls = rt->listener_tls.at(listener.index);
  // One Session in this frame (a local per branch would be two: a coroutine
  // frame keeps room for every local), which lives as long as the connection.
  Session s(listener.tls ? Stream(std::move(socket), tls.ctx->native_handle(), Stream::Role::server)
                         : Stream(std::move(socket)),
            peer, listener, worker);
  rt.reset();
  co_await s.run();
}

// ---- connection loop -------------------------------------------------------

asio::awaitable<void> Session::run() {
  auto rt = worker_.runtime();
  if (listener_.proxy_protocol && !co_await read_proxy_header(*rt)) {
    client_.close();
    co_return;
  }
  if (listener_.tls && !co_await handshake(*rt)) co_return;
  while (co_await exchange()) {
    if (worker_.stopping) break;
    parser_.reset();
    if (buffer_.size() == 0 && !co_await wait_for_next_request()) break;
  }
  co_await close_client();
}

// Between requests an idle connection keeps no read buffer, no old head and
// no exchange state: only the session and one pending wait.
asio::awaitable<bool> Session::wait_for_next_request() {
  // Under load the next request is often there already: one read, no wait.
  std::size_t max_header_size = 0;
  config::Duration keepalive_timeout{};
  {
    auto rt = worker_.runtime();  // not held across the wait: a reload may retire it
    max_header_size = rt->config->limits.max_header_size;
    keepalive_timeout = rt->config->limits.keepalive_timeout;
  }
  error_code read_ec;
  std::size_t n = 0;
  switch (client_.try_read_some(buffer_.prepare(std::min<std::size_t>(kIdleRead, max_header_size + 4)), n,
                                read_ec)) {
    case Stream::TryRead::data:
      buffer_.commit(n);
      co_return true;
    case Stream::TryRead::busy:
      co_return true;  // read_head's read does what OpenSSL needs
    case Stream::TryRead::failed:
      co_return false;  // EOF or reset: nothing to answer
    case Stream::TryRead::nothing:
      break;
  }
  buffer_.shrink_to_fit();
  // A shutdown that started before this connection became idle has closed
  // the idle ones already: this one ends here.
  if (worker_.stopping) co_return false;
  client_.expires_after(keepalive_timeout);
  const std::uint64_t idle_key = ++worker_.next_session_id;
  worker_.idle.emplace(idle_key, &client_);
  auto [ec] = co_await client_.async_wait_readable(use_tuple);
  worker_.idle.erase(idle_key);
  co_return !ec && !worker_.stopping;  // timeout, or closed by a shutdown
}

// Step 1: the PROXY protocol header (v1 or v2), believed only from
// trusted_proxies; its source address becomes the peer.
asio::awaitable<bool> Session::read_proxy_header(const runtime::Runtime& rt) {
  if (!rt.trusted_proxies.contains(peer_ip_)) {
    spdlog::warn("{}: PROXY protocol header from a peer not in trusted_proxies; connection closed", peer_address_);
    co_return false;
  }
  client_.expires_after(rt.config->limits.handshake_timeout);
  for (;;) {
    auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    auto header = access::parse_proxy_header(data);
    if (header.ok()) {
      if (header.source && !header.local) {
        peer_ip_ = *header.source;
        peer_address_ = peer_ip_.to_string();
      }
      buffer_.consume(header.consumed);
      co_return true;
    }
    if (header.error()) {
      spdlog::warn("{}: invalid PROXY protocol header: {}", peer_address_, header.reason);
      co_return false;
    }
    auto [ec, n] = co_await client_.async_plain_read_some(buffer_.prepare(512), use_tuple);
    if (ec) co_return false;
    buffer_.commit(n);
  }
}

asio::awaitable<bool> Session::handshake(const runtime::Runtime& rt) {
  client_.expires_after(rt.config->limits.handshake_timeout);
  // Bytes read past a PROXY header already belong to the TLS handshake.
  if (buffer_.size()) {
    client_.set_prefix(buffer_.data().data(), buffer_.size());
    buffer_.consume(buffer_.size());
  }
  auto [ec] = co_await client_.async_handshake(use_tuple);
  if (ec) {
    worker_.metrics->tls_handshake_failure();
    spdlog::debug("TLS handshake with {} failed: {}", peer_address_, ec.message());
    co_return false;
  }
  if (X509* cert = SSL_get0_peer_certificate(client_.ssl())) {
    // mTLS: OpenSSL has verified it against client_ca; keep the subject for the log.
    char subject[512];
    X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject);
    tls_client_subject_ = subject;
  }
  co_return true;
}

asio::awaitable<void> Session::close_client() {
  // Input the client may still be sending (a request body nobody read, a
  // pipelined request) is read and discarded until the client closes, at
  // most for 2 s: closing with unread bytes would reset the connection and
  // could destroy the reply before the client read it.
  const bool linger = buffer_.size() > 0 || (parser_ && !parser_->is_done() && !request_body_read_);
  if (client_.socket().is_open() && (client_.is_tls() || linger)) {
    client_.expires_after(std::chrono::seconds(2));
    co_await client_.async_shutdown(linger, use_tuple);
  }
  client_.close();
}

// Step 2: read the request head (request line + fields + blank line) within
// client_header_timeout. Between requests the connection may idle for
// keepalive_timeout first.
asio::awaitable<Head> Session::read_head(const config::Limits& limits, std::size_t& head_len,
                                         std::string& problem) {
  const std::size_t max = limits.max_header_size;
  std::size_t scan_from = 0;
  bool started = false;
  for (;;) {
    // RFC 9112 §2.2: ignore empty lines before the request line.
    for (;;) {
      auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      if (data.substr(0, 2) == "\r\n")
        buffer_.consume(2);
      else if (data.substr(0, 1) == "\n")
        buffer_.consume(1);
      else
        break;
    }
    auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    if (!data.empty() && !started) {
      started = true;
      head_start_ = Clock::now();
      client_.expires_after(limits.client_header_timeout);
    }
    auto end = data.find("\r\n\r\n", scan_from);
    if (end != std::string_view::npos) {
      head_len = end + 4;
      if (head_len > max) co_return Head::too_large;
      co_return Head::ok;
    }
    // A bare LF ends lines only for lenient parsers; refuse early instead of
    // waiting for a CRLFCRLF that never comes.
    for (auto lf = data.find('\n', scan_from); lf != std::string_view::npos; lf = data.find('\n', lf + 1)) {
      if (lf == 0 || data[lf - 1] != '\r') {
        problem = "bare LF line ending in request head";
        co_return Head::malformed;
      }
    }
    if (data.size() > max) co_return Head::too_large;
    scan_from = data.size() >= 3 ? data.size() - 3 : 0;

    std::uint64_t idle_key = 0;
    if (data.empty()) {
      if (worker_.stopping) co_return Head::closed;
      client_.expires_after(exchanges_ == 0 ? limits.client_header_timeout : limits.keepalive_timeout);
      // A new connection before its first byte is idle (closed at once on
      // shutdown); later requests were waited for in wait_for_next_request.
      if (exchanges_ == 0) {
        idle_key = ++worker_.next_session_id;
        worker_.idle.emplace(idle_key, &client_);
      }
    }
    // Waiting for a new request: a small buffer, so idle connections stay cheap.
    const std::size_t want = std::min<std::size_t>(data.empty() ? kIdleRead : kReadChunk, max + 4 - data.size());
    auto [ec, n] = co_await client_.async_read_some(buffer_.prepare(want), use_tuple);
    if (idle_key) worker_.idle.erase(idle_key);
    if (ec) {
      if (ec == beast::error::timeout && started) co_return Head::timeout;
      co_return Head::closed;  // EOF, reset, idle timeout, shutdown: nothing to answer
    }
    buffer_.commit(n);
  }
}

// The path of a request line that is still only raw bytes (for a 431 page
// in the right format when the head never parsed).
std::string_view Session::request_line_path() const {
  auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  data = data.substr(0, data.find("\r\n"));
  auto sp = data.find(' ');
  if (sp == std::string_view::npos) return {};
  auto target = data.substr(sp + 1);
  return target.substr(0, std::min(target.find(' '), target.find('?')));
}

std::string_view Session::request_line_method() const {
  auto data = std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  return data.substr(0, std::min(data.find(' '), data.find("\r\n")));
}

// One request/response exchange. Returns whether the connection stays open.
asio::awaitable<bool> Session::exchange() {
  Exchange ex;
  const auto head_rt = worker_.runtime();  // limits for reading the head
  ex.rt = head_rt;
  const auto& cfg = *head_rt->config;
  ex.client_address = peer_address_;
  ex.log.time = std::chrono::system_clock::now();
  ex.log.client = peer_address_;
  ex.log.tls_client_subject = tls_client_subject_;

  std::size_t head_len = 0;
  std::string problem;
  switch (co_await read_head(cfg.limits, head_len, problem)) {
    case Head::ok:
      break;
    case Head::closed:
      co_return false;
    case Head::timeout:
      spdlog::debug("{}: request head not complete within client_header_timeout ({})", peer_address_,
                    seconds_text(cfg.limits.client_header_timeout));
      co_return false;
    case Head::too_large:
      ex.json_errors = rules::wants_json({}, request_line_path());
      ex.head_request = request_line_method() == "HEAD";
      co_await reply(ex, fail(Reason::header_too_large,
                          "request line and headers larger than " + config::format_size(cfg.limits.max_header_size)),
                     true);
      co_return false;
    case Head::malformed:
      ex.head_request = request_line_method() == "HEAD";
      co_await reply(ex, fail(Reason::malformed_request, "malformed request: " + problem), true);
      co_return false;
  }
  ++exchanges_;
  // The head is here: from now on this request runs on the newest snapshot
  // (a reload while the connection idled applies to it), and its clock starts
  // at the head's first byte, not when the connection began to idle.
  ex.rt = worker_.runtime();
  ex.start = head_start_;
  ex.log.time = std::chrono::system_clock::now() -
                std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - head_start_);

  if (auto f = parse_head(ex, head_len)) {
    co_await reply(ex, *f, true);
    co_return false;
  }
  if (!listener_.redirect_origin.empty()) {
    const std::string location = listener_.redirect_origin + ex.log.target;
    const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
    ExtraFields extra;
    extra.emplace_back(bhttp::field::location, location);
    co_await reply(ex, fail(Reason::redirect_to_https, "this site is served over HTTPS: " + location), has_body,
                   std::move(extra));
    co_return ex.keep_alive;
  }
  // Step 4: access. Only a hash check (bcrypt: tens of ms) suspends: it runs
  // on the blocking pool, off the event loop.
  auto ev = begin_access(ex);
  access::AccessDecision decision;
  if (ev.pending) {
    auto& ac = *ex.rt->access;
    auto& pending = *ev.pending;
    const bool ok = co_await run_blocking([&ac, &pending] { return ac.verify(pending); });
    decision = ac.complete(std::move(ev), ok, Clock::now());
  } else {
    decision = std::move(ev.decision);
  }
  if (auto f = apply_access(ex, decision)) {
    co_await reply(ex, *f, ex.close_after_reply, std::move(ex.extra));
    co_return ex.keep_alive;
  }
  if (auto f = check_limits(ex)) {
    co_await reply(ex, *f, true);
    co_return false;
  }
  if (auto f = co_await forward(ex)) {
    if (ex.response_started) {
      // Never a truncated body that looks complete: drop the connection.
      ex.log.reason = f->reason;
      spdlog::warn("{} {} {} -> {} after the response started; connection closed: {}", ex.client_address,
                   ex.log.method, ex.log.target, core::log_word(f->reason), f->message);
      finish_log(ex, ex.log.status ? ex.log.status : f->status);
      co_return false;
    }
    co_await reply(ex, *f, true, std::move(ex.extra));
    co_return false;
  }
  co_return ex.keep_alive;
}

// Step 2 (parse) and the RFC 9112 smuggling defences.
std::optional<Failure> Session::parse_head(Exchange& ex, std::size_t head_len) {
  std::string_view head(static_cast<const char*>(buffer_.data().data()), head_len);
  auto bad = [](std::string why) { return fail(Reason::malformed_request, "malformed request: " + why); };
  if (auto why = rules::check_raw_head(head); !why.empty()) return bad(why);
  ex.head_request = request_line_method() == "HEAD";
  // A well-formed version other than 1.0 and 1.1 ("HTTP/2.0" sent as text)
  // is 505, not a parse error (RFC 9110 §15.6.6).
  if (const int version = rules::request_line_version(head); version >= 0 && version != 10 && version != 11) {
    ex.log.method = std::string(request_line_method());
    return fail(Reason::http_version_not_supported, "only HTTP/1.0 and HTTP/1.1 are supported");
  }

  auto& p = parser_.emplace();
  request_body_read_ = false;
  p.header_limit(static_cast<std::uint32_t>(std::max<std::size_t>(head_len + 1, 8192)));
  p.body_limit(boost::none);
  p.eager(false);
  error_code ec;
  const std::size_t used = p.put(asio::buffer(head.data(), head.size()), ec);
  if (ec == bhttp::error::need_more) ec = {};
  if (ec) {
    if (ec == bhttp::error::bad_transfer_encoding || ec == bhttp::error::bad_content_length ||
        ec == bhttp::error::multiple_content_length)
      return bad("ambiguous message length (" + ec.message() + ")");
    return bad(ec.message());
  }
  if (!p.is_header_done()) return bad("incomplete request head");
  buffer_.consume(used);

  auto& req = p.get();
  ex.log.method = std::string(req.method_string());
  ex.log.target = std::string(req.target());
  ex.log.version = req.version();
  ex.log.host = std::string(field_or_empty(req, bhttp::field::host));
  ex.log.user_agent = std::string(field_or_empty(req, bhttp::field::user_agent));
  ex.log.referer = std::string(field_or_empty(req, bhttp::field::referer));
  auto path = req.target().substr(0, req.target().find('?'));
  ex.json_errors = rules::wants_json(field_or_empty(req, bhttp::field::accept), path);
  ex.keep_alive = req.keep_alive();

  if (req.version() != 10 && req.version() != 11)
    return fail(Reason::http_version_not_supported, "only HTTP/1.0 and HTTP/1.1 are supported");
  if (req.version() == 11 && req.count(bhttp::field::host) != 1)
    return bad(req.count(bhttp::field::host) ? "more than one Host header" : "missing Host header");
  if (req.count(bhttp::field::host) > 1) return bad("more than one Host header");
  if (!rules::valid_host(field_or_empty(req, bhttp::field::host)))
    return bad("the Host header is not a valid host name or address");
  auto target = req.target();
  if (target.empty() || (target.front() != '/' && !(target == "*" && req.method() == bhttp::verb::options)))
    return bad("request target must be an absolute path (origin-form)");
  if (req.count(bhttp::field::transfer_encoding)) {
    if (req.count(bhttp::field::transfer_encoding) > 1 ||
        !rules::acceptable_request_transfer_encoding(field_or_empty(req, bhttp::field::transfer_encoding)))
      return bad("unsupported Transfer-Encoding (only \"chunked\" is accepted)");
    if (req.version() == 10) return bad("Transfer-Encoding in an HTTP/1.0 request");
  }

  if (ex.rt->config->headers.request_id) {
    auto incoming = field_or_empty(req, kXRequestId);
    ex.request_id = core::acceptable_request_id(incoming) ? std::string(incoming) : core::new_request_id();
    ex.log.request_id = ex.request_id;
  }
  return std::nullopt;
}

// Step 4: access control. Implemented by access::AccessControl; the expensive
// password hash check runs on the blocking pool, off the event loop.
template <class F>
asio::awaitable<std::invoke_result_t<F>> Session::run_blocking(F f) {
  auto home = co_await asio::this_coro::executor;
  co_await asio::post(asio::bind_executor(*worker_.blocking, asio::use_awaitable));
  auto result = f();
  co_await asio::post(asio::bind_executor(home, asio::use_awaitable));
  co_return result;
}

access::Evaluation Session::begin_access(Exchange& ex) {
  auto& req = parser_->get();
  const auto& rt = *ex.rt;
  auto& ac = *rt.access;

  // Step 3: the client address.
  std::vector<std::string_view> xff;
  auto [first, last] = req.equal_range(kXForwardedFor);
  for (auto it = first; it != last; ++it) xff.push_back(it->value());
  const auto client = access::resolve_client_address(peer_ip_, xff, rt.trusted_proxies);
  ex.client_address = client.to_string();
  ex.log.client = ex.client_address;

  // Step 4: access (cheap: no hash is computed here).
  const std::string path(req.target().substr(0, req.target().find('?')));
  access::AccessInput in{client, path, field_or_empty(req, bhttp::field::authorization),
                         field_or_empty(req, bhttp::field::proxy_authorization), Clock::now()};
  return ac.evaluate(in);
}

// Step 4, after the decision: credentials removed, the reply chosen.
std::optional<Failure> Session::apply_access(Exchange& ex, const access::AccessDecision& d) {
  auto& req = parser_->get();
  const auto& rt = *ex.rt;
  auto& ac = *rt.access;
  ex.log.reason = d.reason;
  if (d.outcome != access::Outcome::allow) worker_.metrics->failure(d.reason);

  // Our credential never travels upstream unless asked for (design §3 step 6);
  // a Bearer token in Authorization is the upstream's and passes untouched.
  if (d.credential_in_proxy_authorization) req.erase(bhttp::field::proxy_authorization);
  if (ac.basic_configured() && !rt.config->auth.forward_authorization &&
      access::is_basic_scheme(field_or_empty(req, bhttp::field::authorization)))
    req.erase(bhttp::field::authorization);

  const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
  using access::Outcome;
  switch (d.outcome) {
    case Outcome::allow:
      if (d.reason == Reason::basic_auth) ex.log.user = d.user;
      // A tunnel carries bytes nobody checks: only for a request that
      // passed access control, never for a public path.
      ex.may_upgrade = d.reason != Reason::public_path;
      return std::nullopt;
    case Outcome::unauthorized: {
      ex.extra.emplace_back(bhttp::field::www_authenticate, ac.www_authenticate());
      ex.close_after_reply = has_body;
      return fail(401, d.reason,
                     d.credential_present ? "wrong user name or password"
                                          : "this site requires a user name and password");
    }
    case Outcome::forbidden:
      ex.close_after_reply = has_body;
      return fail(403, d.reason, "access from your address is not allowed");
    case Outcome::too_many_requests:
      ex.extra.emplace_back(bhttp::field::retry_after, std::to_string(d.retry_after.count()));
      ex.close_after_reply = has_body;
      return fail(429, d.reason,
                     "too many failed logins from your address; try again in " +
                         std::to_string(d.retry_after.count()) + " seconds");
  }
  return std::nullopt;
}

// Step 5: body size known up front.
std::optional<Failure> Session::check_limits(Exchange& ex) {
  const auto max = ex.rt->config->limits.max_body_size;
  auto& p = *parser_;
  if (max != 0 && p.content_length() && *p.content_length() > max)
    return fail(Reason::body_too_large, "request body larger than " + config::format_size(max));
  return std::nullopt;
}

// Step 6: the upstream request head, written directly from the parsed
// request (no field is inserted into or erased from it): hop-by-hop fields,
// the fields named in Connection and Expect (answered here) dropped;
// X-Forwarded-For appended to, X-Forwarded-Proto/-Host, X-Real-IP and
// X-Request-Id replaced; one Content-Length (identical duplicates, accepted by
// RFC 9110 §8.6, leave as one), or chunked framing, or the Upgrade handshake.
std::string Session::upstream_request_head(const Exchange& ex, bool upgrade) const {
  const auto& req = parser_->get();
  const std::string_view host = field_or_empty(req, bhttp::field::host);
  std::vector<std::string> named;
  for (auto it = req.find(bhttp::field::connection); it != req.end() && it->name() == bhttp::field::connection; ++it)
    rules::connection_tokens(it->value(), named);
  const bool replace_host = !host.empty();
  const bool replace_id = !ex.request_id.empty();
  std::string xff;
  std::string out;
  out.reserve(512);
  out.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
  for (const auto& f : req) {
    const auto name = f.name_string();
    if (f.name() == bhttp::field::expect || f.name() == bhttp::field::content_length) continue;
    if (beast::iequals(name, kXForwardedFor)) {
      if (!xff.empty()) xff += ", ";
      xff.append(f.value());
      continue;
    }
    if (beast::iequals(name, kXForwardedProto) || beast::iequals(name, "X-Real-IP") ||
        (replace_host && beast::iequals(name, kXForwardedHost)) || (replace_id && beast::iequals(name, kXRequestId)) ||
        rules::must_strip(name, named))
      continue;
    out.append(name).append(": ").append(f.value()).append("\r\n");
  }
  out.append(kXForwardedFor).append(": ").append(rules::append_forwarded_for(xff, peer_address_)).append("\r\n");
  out.append(kXForwardedProto).append(listener_.tls ? ": https\r\n" : ": http\r\n");
  if (replace_host) out.append(kXForwardedHost).append(": ").append(host).append("\r\n");
  out.append("X-Real-IP: ").append(ex.client_address).append("\r\n");
  if (replace_id) out.append(kXRequestId).append(": ").append(ex.request_id).append("\r\n");
  if (auto length = parser_->content_length()) out.append("Content-Length: ").append(std::to_string(*length)).append("\r\n");
  if (parser_->chunked()) out.append("Transfer-Encoding: chunked\r\n");
  if (upgrade)
    out.append("Connection: upgrade\r\nUpgrade: ").append(field_or_empty(req, bhttp::field::upgrade)).append("\r\n");
  out.append("\r\n");
  return out;
}

// Step 8: the client response head, written directly from the parsed
// response: hop-by-hop fields and those named in Connection dropped,
// Strict-Transport-Security (TLS listeners, when configured) and X-Request-Id
// replaced; the body framed as the upstream framed it (Content-Length),
// chunked (re-framed), or by the end of the connection; or the Upgrade
// handshake of a tunnel.
std::string Session::client_response_head(const Exchange& ex, const bhttp::response_header<>& res, bool keep_alive,
                                          bool tunnel, bool chunked) const {
  const auto& cfg = *ex.rt->config;
  const bool hsts = cfg.headers.hsts && listener_.tls;
  const bool replace_id = !ex.request_id.empty();
  std::vector<std::string> named;
  for (auto it = res.find(bhttp::field::connection); it != res.end() && it->name() == bhttp::field::connection; ++it)
    rules::connection_tokens(it->value(), named);
  std::string out;
  out.reserve(512);
  auto reason = res.reason();
  if (reason.empty()) reason = bhttp::obsolete_reason(res.result());
  out.append("HTTP/1.1 ").append(std::to_string(res.result_int())).append(" ").append(reason).append("\r\n");
  for (const auto& f : res) {
    if (hsts && f.name() == bhttp::field::strict_transport_security) continue;
    const auto name = f.name_string();
    if ((replace_id && beast::iequals(name, kXRequestId)) || rules::must_strip(name, named)) continue;
    out.append(name).append(": ").append(f.value()).append("\r\n");
  }
  if (hsts) out.append("Strict-Transport-Security: ").append(*cfg.headers.hsts).append("\r\n");
  if (replace_id) out.append(kXRequestId).append(": ").append(ex.request_id).append("\r\n");
  if (chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (tunnel)
    out.append("Connection: upgrade\r\nUpgrade: ").append(field_or_empty(res, bhttp::field::upgrade)).append("\r\n");
  else if (!keep_alive)
    out.append("Connection: close\r\n");
  out.append("\r\n");
  return out;
}

// Steps 6-9: forward to the upstream and relay the response.
asio::awaitable<std::optional<Failure>> Session::forward(Exchange& ex) {
  const auto& cfg = *ex.rt->config;
  auto& p = *parser_;
  auto& req = p.get();
  const bool is_head = req.method() == bhttp::verb::head;
  const bool has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
  const bool upgrade = ex.may_upgrade && !has_body && is_websocket_request(req);
  const std::string path(req.target().substr(0, req.target().find('?')));
  const upstream::Peer& peer = upstream::route(ex.rt->config->routes, ex.rt->peers, path);
  const config::Upstream& up = *peer.cfg;
  ex.log.upstream = peer.cfg->url.authority();

  // Slow uploads: a body streamed upstream holds an upstream connection for
  // as long as the client takes to send it. Small Content-Length bodies are
  // read first (the upstream connection is taken when the body is here);
  // one client address streams at most max_uploads_per_client bodies at once.
  const std::uint64_t body_length = p.content_length().value_or(0);
  const bool buffer_body = has_body && !p.chunked() && body_length <= cfg.limits.client_body_buffer_size;
  access::ClientSlots::Slot upload_slot;
  if (has_body && !buffer_body && cfg.limits.max_uploads_per_client != 0) {
    upload_slot = access::upload_slots().acquire(ex.client_address, cfg.limits.max_uploads_per_client);
    if (!upload_slot) {
      ex.extra.emplace_back(bhttp::field::retry_after, "1");
      co_return fail(Reason::too_many_uploads,
                     "too many uploads from your address at once (limit " +
                         std::to_string(cfg.limits.max_uploads_per_client) + "); try again when one has finished");
    }
  }

  // Expect: 100-continue is answered here, only now that access and limits passed.
  if (has_body && beast::iequals(field_or_empty(req, bhttp::field::expect), "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    client_.expires_after(cfg.limits.client_body_timeout);
    auto [ec, n] = co_await asio::async_write(client_, asio::buffer(kContinue), use_tuple);
    if (ec) co_return fail(Reason::client_gone, "client closed the connection");
  }

  std::string body;
  if (buffer_body) {
    const auto r = co_await upstream::read_request_body(client_, buffer_, body_length, body, cfg.limits);
    ex.log.bytes_received = r.bytes;
    request_body_read_ = r.complete;
    if (r.result != RelayResult::ok) co_return body_failure(r.result, cfg, up);
  }

  const std::string request_head = upstream_request_head(ex, upgrade);

  RelayBuffer buffer(worker_.buffers);
  PooledFlatBuffer pooled_upstream_buffer(worker_.flat_buffers);
  beast::flat_buffer& upstream_buffer = pooled_upstream_buffer.buffer;
  upstream::StreamedBody streamed{client_, buffer_, p};
  const bool stream_body = has_body && !buffer_body;
  if (stream_body) {
    // The head was read through a small buffer; the body moves in large reads.
    buffer_.reserve(kReadChunk);
    // A chunk whose announced size alone crosses max_body_size is refused
    // when its size line arrives, not after waiting for its bytes.
    if (p.chunked() && cfg.limits.max_body_size != 0) p.body_limit(cfg.limits.max_body_size);
  }
  const upstream::ExchangeRequest request{peer, request_head, body, stream_body ? &streamed : nullptr, is_head,
                                          cfg.limits};
  upstream::ExchangeResult exchanged;
  co_await upstream::exchange(worker_.pool, request, upstream_buffer, buffer, exchanged);
  if (exchanged.body) {
    ex.log.bytes_received = exchanged.body->bytes;
    request_body_read_ = exchanged.body->complete;
  }
  if (exchanged.failure) {
    if (exchanged.connect != upstream::ConnectFailure::none) co_return upstream_connect_failure(exchanged.connect, up);
    if (exchanged.body && exchanged.body->result != RelayResult::ok)
      co_return body_failure(exchanged.body->result, cfg, up);
    co_return upstream_failure(*exchanged.failure, up);
  }
  std::optional<Stream>& upstream = exchanged.stream;
  std::optional<ResponseParser>& rp = exchanged.response;

  auto& res = rp->get();
  const int status = static_cast<int>(res.result_int());
  // A 101 is accepted only as the answer to a WebSocket handshake, and only
  // when it switches to WebSocket.
  const bool tunnel = status == 101 && upgrade && rules::is_websocket_upgrade({"GET", join_fields(res, bhttp::field::upgrade),
                                                                              join_fields(res, bhttp::field::connection), true, true});
  if (status == 101 && !tunnel) {
    upstream->close();
    co_return fail(Reason::upstream_bad_response, upgrade ? "the upstream switched to a protocol other than WebSocket"
                                                         : "the upstream switched protocols without being asked to");
  }
  const bool response_has_body = !(is_head || status == 204 || status == 304 || tunnel);
  const bool close_delimited = response_has_body && !rp->chunked() && !rp->content_length();
  const bool upstream_keep = rp->keep_alive() && !close_delimited && !tunnel;

  bool client_keep = ex.keep_alive && !worker_.stopping && !tunnel;
  // A body without Content-Length (chunked, or until the upstream closes) is
  // re-framed chunked; an HTTP/1.0 client gets it until the connection ends.
  const bool has_length = rp->content_length().has_value();
  const bool rechunk = response_has_body && !has_length && ex.log.version == 11;
  if (response_has_body && !has_length && !rechunk) client_keep = false;
  const std::string response_head = client_response_head(ex, res, client_keep, tunnel, rechunk);
  ex.log.status = status;
  ex.keep_alive = client_keep;

  client_.expires_after(cfg.limits.client_body_timeout);
  ex.response_started = true;
  if (tunnel) {
    auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(response_head.data(), response_head.size()),
                                               use_tuple);
    if (wec) {
      upstream->close();
      co_return fail(status, Reason::client_gone, "client closed the connection");
    }
    co_await upstream::run_tunnel(client_, buffer_, *upstream, upstream_buffer, up.read_timeout);
    finish_log(ex, status);
    ex.keep_alive = false;
    co_return std::nullopt;
  }

  // The head leaves together with the first body bytes when they came with
  // it (one TLS record, one syscall), else at once, so a client sees the
  // status of a slow or streaming response without waiting.
  auto r = response_has_body && !has_length
               ? co_await upstream::relay_response_body(*upstream, upstream_buffer, *rp, client_, response_head,
                                                        rechunk, buffer, cfg.limits, up)
               : co_await upstream::relay_response_exact(*upstream, upstream_buffer,
                                                         response_has_body ? *rp->content_length() : 0, client_,
                                                         response_head, buffer, cfg.limits, up);
  ex.log.bytes_sent = r.bytes;
  if (r.result != RelayResult::ok) {
    upstream->close();
    if (r.result == RelayResult::peer_timeout)
      co_return fail(Reason::upstream_read_timeout, "upstream read timeout (" + seconds_text(up.read_timeout) + ") exceeded mid-response");
    if (r.result == RelayResult::client_timeout || r.result == RelayResult::client_error)
      co_return fail(status, Reason::client_gone, "client stopped reading the response");
    co_return fail(Reason::upstream_truncated, "the upstream closed the connection mid-response");
  }
  const bool body_done = r.complete;

  // Step 9 done: reuse the upstream connection only when the exchange ended cleanly.
  if (upstream_keep && body_done && upstream_buffer.size() == 0)
    worker_.pool.put(peer.key, std::move(*upstream), up.max_idle_connections);
  else
    upstream->close();
  finish_log(ex, status);
  co_return std::nullopt;
}

// Local replies: one place for status, page and headers. A reply to HEAD
// has the headers of the page (Content-Length included) and no body.
// When the reply cannot be written (the client left, or a timeout closed
// the connection), the access log says so: status 499 as nginx logs a
// client that closed the request, 0 bytes sent, the reason kept.
asio::awaitable<void> Session::reply(Exchange& ex, Failure f, bool close, ExtraFields extra) {
  const auto& cfg = *ex.rt->config;
  auto page = rules::render_error(f.status, f.reason, f.message, ex.json_errors, ex.request_id);
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(f.status), 11};
  res.set(bhttp::field::content_type, page.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  for (auto& [name, value] : extra) res.set(name, value);
  if (cfg.headers.hsts && listener_.tls) res.set(bhttp::field::strict_transport_security, *cfg.headers.hsts);
  if (!ex.request_id.empty()) res.set(kXRequestId, ex.request_id);
  res.content_length(page.body.size());
  res.keep_alive(!close && ex.keep_alive && !worker_.stopping);
  ex.keep_alive = res.keep_alive();
  ex.log.reason = f.reason;
  if (f.status >= 500 || f.status == 413 || f.status == 431 || f.status == 400)
    spdlog::warn("{} {} {} -> {} {}: {}", ex.client_address, ex.log.method.empty() ? "-" : ex.log.method,
                 ex.log.target.empty() ? "-" : ex.log.target, f.status, core::log_word(f.reason), f.message);
  std::string out;
  out.reserve(256 + page.body.size());
  out.append("HTTP/1.1 ").append(std::to_string(f.status)).append(" ").append(rules::status_text(f.status)).append("\r\n");
  for (const auto& field : res) out.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  out.append("\r\n");
  const std::size_t head_size = out.size();
  if (!ex.head_request) out.append(page.body);
  client_.expires_after(cfg.limits.client_body_timeout);
  error_code ec;
  if (client_.socket().is_open()) {
    auto [wec, n] = co_await asio::async_write(client_, asio::buffer(out.data(), out.size()), use_tuple);
    ec = wec;
  } else {
    ec = asio::error::not_connected;
  }
  if (ec) {
    ex.keep_alive = false;
    ex.log.bytes_sent = 0;
    spdlog::debug("{}: the {} reply ({}) could not be sent: {}", ex.client_address, f.status, core::log_word(f.reason),
                  ec.message());
    finish_log(ex, 499);
    co_return;
  }
  ex.log.bytes_sent = out.size() - head_size;
  finish_log(ex, f.status);
}

void Session::finish_log(Exchange& ex, int status) {
  if (ex.logged) return;
  ex.logged = true;
  ex.log.status = status;
  ex.log.duration_s = std::chrono::duration<double>(Clock::now() - ex.start).count();
  if (ex.rt->access_log) ex.rt->access_log->write(ex.log);
  worker_.metrics->request(status, ex.log.duration_s);
  if (ex.log.reason && core::metric_family(*ex.log.reason) == core::MetricFamily::upstream_error)
    worker_.metrics->failure(*ex.log.reason);
}

}  // namespace airgate::http
