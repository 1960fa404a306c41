// The request lifecycle of design §3 as an ordered list of steps. Each step
// returns a Step: next (the request goes on), reply (a local answer ends the
// exchange) or close (the connection ends, nothing more to send).
//
//   serve()      (connection.cpp) PROXY header, TLS handshake, then one
//                exchange after another; parks the connection between them
//   exchange()   receive_head -> parse_head -> redirect -> select_route ->
//                resolve_client -> check_access -> check_limits -> route -> admit_body
//                (upload slot, 100-continue) -> send_upstream -> respond ->
//                finish (the reply or the log line)
//
// This file has the connection's reads, handshake and close, and the steps up
// to the limits; connection.cpp the loop and the idle state; forward.cpp
// the steps that go upstream and answer; reply.cpp the local replies' bytes.
#include "http/session_impl.hpp"

#include "access/client_address.hpp"
#include "access/credentials.hpp"
#include "access/proxy_protocol.hpp"
#include "access/session_cookie.hpp"
#include "config/units.hpp"
#include "core/ids.hpp"
#include "core/path.hpp"
#include "http/fields.hpp"
#include "http/rules/browser.hpp"
#include "http/rules/error_page.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

namespace airgate::http {

using net::Stream;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using Clock = Session::Clock;
using core::Reason;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<bool> Session::read_proxy_header(const runtime::Runtime& rt) {
  if (!rt.trusted_proxies.contains(peer_ip_)) {
    spdlog::warn("{}: PROXY protocol header from a peer not in trusted_proxies; connection closed", peer_address_);
    co_return false;
  }
  client_.expires_after(rt.config->limits.handshake_timeout);
  for (;;) {
    auto header = access::parse_proxy_header(buffered());
    if (header.ok()) {
      if (header.source && !header.local) {
        peer_ip_ = *header.source;
        peer_address_ = peer_ip_.str();
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
  // An HTTP/2 stream's socket pair: nothing to linger for, the connection
  // decides what becomes of unread request bytes.
  if (h2_stream_) {
    client_.close();
    co_return;
  }
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

// Step 2, the socket side: read the request head (request line + fields +
// blank line) within client_header_timeout. Between requests the connection
// may idle for keepalive_timeout first.
asio::awaitable<Session::Head> Session::read_head(const config::Limits& limits, std::size_t& head_len) {
  const std::size_t max = limits.max_header_size;
  std::size_t scan_from = 0;
  bool started = false;
  for (;;) {
    buffer_.consume(leading_empty_lines(buffered()));
    const std::string_view data = buffered();
    if (!data.empty() && !started) {
      started = true;
      head_start_ = Clock::now();
      client_.expires_after(limits.client_header_timeout);
    }
    const HeadScan scan = scan_request_head(data, scan_from, max);
    switch (scan.kind) {
      case HeadScan::Kind::complete: head_len = scan.length; co_return Head::ok;
      case HeadScan::Kind::too_large: co_return Head::too_large;
      case HeadScan::Kind::bare_lf: co_return Head::malformed;
      case HeadScan::Kind::incomplete: break;
    }
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

// What the client sent and nobody consumed yet.
std::string_view Session::buffered() const {
  return std::string_view(static_cast<const char*>(buffer_.data().data()), buffer_.size());
}

// One request/response exchange, step by step. Returns whether the
// connection stays open.
asio::awaitable<bool> Session::exchange() {
  Exchange ex;
  ex.rt = worker_.runtime();  // limits for reading the head
  ex.client_address = peer_address_;
  ex.log.time = std::chrono::system_clock::now();
  ex.log.client = peer_address_;
  ex.log.tls_client_subject = tls_client_subject_;

  std::size_t head_len = 0;
  Step step = co_await receive_head(ex, head_len);
  if (step.proceeds()) step = parse_head(ex, head_len);
  if (step.proceeds()) step = redirect(ex);
  if (step.proceeds()) step = select_route(ex);
  if (step.proceeds()) {
    resolve_client(ex);
    // airgate's own pages (login.cpp) answer before access control.
    if (parser_->target().starts_with(rules::kOwnPrefix))
      step = co_await own_page(ex);
    else
      step = co_await check_access(ex);
  }
  if (step.proceeds()) step = check_limits(ex);
  if (step.proceeds()) {
    Forwarding fw;  // released when the forwarding steps end, before a local reply
    step = route(ex, fw);
    if (step.proceeds()) step = co_await admit_body(ex, fw);
    if (step.proceeds()) step = co_await send_upstream(ex, fw);
    if (step.proceeds()) step = co_await respond(ex, fw);
  }
  co_return co_await finish(ex, std::move(step));
}

// The last step: a request that went through is logged; a reply is written
// (and logged); a closed connection was logged, if at all, where it closed.
asio::awaitable<bool> Session::finish(Exchange& ex, Step step) {
  switch (step.kind) {
    case Step::Kind::next: finish_log(ex, ex.log.status); co_return ex.keep_alive;
    case Step::Kind::reply: co_await reply(ex, step.failure, step.close_after, step.extra); co_return ex.keep_alive;
    case Step::Kind::close: break;
  }
  co_return false;
}

// Step 2: the request head's bytes. Once they are here the request runs on
// the newest snapshot (a reload while the connection idled applies to it),
// and its clock starts at the head's first byte, not when the connection
// began to idle.
asio::awaitable<Step> Session::receive_head(Exchange& ex, std::size_t& head_len) {
  const auto& limits = ex.rt->config->limits;
  switch (co_await read_head(limits, head_len)) {
    case Head::ok: break;
    case Head::closed: co_return Step::close();
    case Head::timeout:
      spdlog::debug("{}: request head not complete within client_header_timeout ({})", peer_address_,
                    config::format_duration(limits.client_header_timeout));
      co_return Step::close();
    case Head::too_large:
      ex.json_errors = rules::wants_json({}, raw_request_path(buffered()));
      ex.head_request = raw_request_method(buffered()) == "HEAD";
      co_return Step::reply(fail(Reason::header_too_large, "request line and headers larger than " +
                                                               config::format_size(limits.max_header_size)));
    case Head::malformed:
      ex.head_request = raw_request_method(buffered()) == "HEAD";
      co_return Step::reply(fail(Reason::malformed_request, "malformed request: bare LF line ending in request head"));
  }
  ++exchanges_;
  ex.rt = worker_.runtime();
  ex.start = head_start_;
  ex.log.time = std::chrono::system_clock::now() -
                std::chrono::duration_cast<std::chrono::system_clock::duration>(Clock::now() - head_start_);
  co_return Step::next();
}

// Step 2: parse the head (parse_request_head: the RFC 9112 smuggling
// defences) and note what the log and the replies need from it.
Step Session::parse_head(Exchange& ex, std::size_t head_len) {
  // On the heap: an idle connection keeps no parser (272 bytes less each).
  parser_ = std::make_unique<RequestParser>();
  auto& p = *parser_;
  request_body_read_ = false;
  const auto check = parse_request_head(buffered().substr(0, head_len), p);
  if (check.line_trusted) ex.head_request = raw_request_method(buffered()) == "HEAD";
  if (!check.parsed) {
    // A version refused from the raw request line still logs the method.
    if (check.failure == Reason::http_version_not_supported)
      ex.log.method = std::string(raw_request_method(buffered()));
    return Step::reply(fail(*check.failure, check.message));
  }
  buffer_.consume(check.used);

  const HeadFields& fields = p.fields();
  ex.log.method = std::string(p.method_string());
  ex.log.target = std::string(p.target());
  ex.log.version = h2_stream_ ? 20 : static_cast<int>(p.version());
  ex.log.host = std::string(fields.first(bhttp::field::host));
  ex.log.user_agent = std::string(fields.first(bhttp::field::user_agent));
  ex.log.referer = std::string(fields.first(bhttp::field::referer));
  auto path = p.target().substr(0, p.target().find('?'));
  ex.json_errors = rules::wants_json(fields.first(bhttp::field::accept), path);
  ex.keep_alive = p.keep_alive();  // the parser's: Connection and the version, as the message's would say
  if (check.failure) return Step::reply(fail(*check.failure, check.message));

  if (ex.rt->config->headers.request_id) {
    auto incoming = fields.first(kXRequestId);
    ex.request_id = core::acceptable_request_id(incoming) ? std::string(incoming) : core::new_request_id();
    ex.log.request_id = ex.request_id;
  }
  return Step::next();
}

// A redirect_to_https listener answers every request with 308 to the HTTPS origin.
Step Session::redirect(Exchange& ex) {
  if (listener_.redirect_origin.empty()) return Step::next();
  const std::string location = listener_.redirect_origin + ex.log.target;
  const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
  ExtraFields extra;
  extra.emplace_back(bhttp::field::location, location);
  return Step::reply(fail(Reason::redirect_to_https, "this site is served over HTTPS: " + location), has_body,
                     std::move(extra));
}

// Before any path decision: the path in canonical form (core/path.hpp), or
// 400 when it has none; a non-canonical spelling is replaced in the request
// (query kept), so public_paths, the route and the upstream see one form.
// Then the route, by path and method, whose access check_access applies.
Step Session::select_route(Exchange& ex) {
  auto& req = *parser_;
  const std::string_view target = req.target();
  if (target == "*") return Step::next();  // OPTIONS *: no path, no route
  const auto query_at = target.find('?');
  const std::string_view path = target.substr(0, query_at);
  if (!core::path_is_canonical(path)) {
    auto canonical = core::normalize_path(path);
    if (!canonical.ok) {
      // A body is not read: the connection closes after the reply.
      const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
      return Step::reply(fail(Reason::bad_path, "invalid request path: " + std::string(canonical.why)), has_body);
    }
    ex.json_errors = ex.json_errors || rules::wants_json({}, canonical.path);  // "//api/..." is under /api/ too
    if (query_at != std::string_view::npos) canonical.path += target.substr(query_at);
    req.target(canonical.path);
  }
  const std::string_view normalised = req.target();
  ex.route = config::match_route(ex.rt->config->routes, normalised.substr(0, normalised.find('?')),
                                 req.method_string());
  return Step::next();
}

// Step 3: the client address (X-Forwarded-For believed from trusted_proxies only).
void Session::resolve_client(Exchange& ex) {
  std::vector<std::string_view> xff;
  for (const auto f : parser_->fields())
    if (f.name() == bhttp::field::unknown && beast::iequals(f.name_string(), kXForwardedFor)) xff.push_back(f.value());
  ex.client_ip = access::resolve_client_address(peer_ip_, xff, ex.rt->trusted_proxies);
  // The peer's address is formatted once per connection; a client named by
  // a trusted proxy's X-Forwarded-For is formatted here.
  ex.client_address = ex.client_ip == peer_ip_ ? peer_address_ : ex.client_ip.str();
  ex.log.client = ex.client_address;
}

// Step 4: access control (access::AccessControl). Only a hash check (bcrypt:
// tens of ms) suspends: it runs on the blocking pool, off the event loop.
asio::awaitable<Step> Session::check_access(Exchange& ex) {
  const auto& req = *parser_;
  auto& ac = *ex.rt->access;
  const std::string path(req.target().substr(0, req.target().find('?')));
  access::AccessInput in{ex.client_ip,
                         path,
                         req.fields().first(bhttp::field::authorization),
                         req.fields().first(bhttp::field::proxy_authorization),
                         Clock::now(),
                         {}};
  check_session(ex);
  in.session_user = ex.session_user;
  auto ev = ac.evaluate(in, ex.route);
  if (!ev.pending) co_return apply_access(ex, ev.decision);
  auto& pending = *ev.pending;
  const bool ok = co_await run_blocking([&ac, &pending] { return ac.verify(pending); });
  co_return apply_access(ex, ac.complete(std::move(ev), ok, Clock::now()));
}

// The session cookie, on TLS listeners with sessions on: its user stands in
// for the Basic credential; a cookie due for its sliding refresh is re-issued
// with the response. A tampered, expired or revoked cookie counts as none.
void Session::check_session(Exchange& ex) {
  const auto* sessions = ex.rt->sessions.get();
  if (!sessions || !listener_.tls) return;
  const auto token = request_cookie(parser_->fields(), access::kSessionCookie);
  if (!token) return;
  const auto checked = sessions->check(*token, unix_now());
  if (checked.user) {
    ex.session_user = *checked.user;
    if (checked.refresh_token)
      ex.set_cookie = access::session_set_cookie(access::kSessionCookie, *checked.refresh_token);
  } else {
    worker_.metrics->session_rejected(static_cast<std::size_t>(*checked.reject));
  }
}

std::optional<std::string_view> request_cookie(const HeadFields& f, std::string_view name) {
  for (const auto field : f)
    if (field.name() == bhttp::field::cookie)
      if (auto v = access::find_cookie(field.value(), name)) return v;
  return std::nullopt;
}

// Step 4, after the decision: credentials removed, the reply chosen.
Step Session::apply_access(Exchange& ex, const access::AccessDecision& d) {
  HeadFields& fields = parser_->fields();
  const auto& rt = *ex.rt;
  auto& ac = *rt.access;
  ex.log.reason = d.reason;
  if (d.outcome != access::Outcome::allow) worker_.metrics->failure(d.reason);

  // Our credential never travels upstream unless asked for (design §3 step 6);
  // a Bearer token in Authorization is the upstream's and passes untouched.
  // Also with a session: a browser keeps sending the Basic credential it
  // cached for this site, and that is airgate's, not the app's.
  if (d.credential_in_proxy_authorization) fields.erase(bhttp::field::proxy_authorization);
  if (ac.basic_configured() && !rt.config->auth.forward_authorization &&
      access::is_basic_scheme(fields.first(bhttp::field::authorization)))
    fields.erase(bhttp::field::authorization);

  // A denied request with a body closes the connection (the body is not read).
  const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
  ExtraFields extra;
  using access::Outcome;
  switch (d.outcome) {
    case Outcome::allow:
      if (d.reason == Reason::basic_auth || d.reason == Reason::session) ex.log.user = d.user;
      // A browser's login by Basic credentials on a TLS listener starts a
      // session, so it keeps access when the app sets its own Authorization.
      // API clients (no Sec-Fetch-Mode) keep no cookies: none is sent to them.
      if (d.reason == Reason::basic_auth && rt.sessions && listener_.tls &&
          rules::is_browser_request(fields.first(kSecFetchMode))) {
        ex.set_cookie = access::session_set_cookie(access::kSessionCookie, rt.sessions->issue(d.user, unix_now()));
        worker_.metrics->session_issued();
      }
      // A tunnel carries bytes nobody checks: only for a request that
      // passed access control, never for a public path.
      ex.may_upgrade = d.reason != Reason::public_path;
      return Step::next();
    case Outcome::unauthorized: {
      // A page the user opens goes to the login form (auth.login: form).
      const auto fetch_mode = fields.first(kSecFetchMode);
      if (login_form_on(rt) && rules::is_navigation(parser_->method_string(), fetch_mode)) {
        extra.emplace_back(bhttp::field::location, rules::login_location(parser_->target()));
        return Step::reply(fail(Reason::login_required, "sign in first"), has_body, std::move(extra));
      }
      // A browser's script gets no Basic challenge: the browser would show its
      // native dialog over the app. Everyone else (curl, API clients, a page
      // the user opened with auth.login: basic) gets it as before.
      if (!rules::is_browser_script(fetch_mode))
        extra.emplace_back(bhttp::field::www_authenticate, ac.www_authenticate());
      return Step::reply(
          fail(401, d.reason,
               d.credential_present ? "wrong user name or password" : "this site requires a user name and password"),
          has_body, std::move(extra));
    }
    case Outcome::forbidden:
      if (d.reason == Reason::forbidden_user) ex.log.user = d.user;  // authenticated: the log names who was refused
      return Step::reply(fail(403, d.reason,
                              d.reason == Reason::forbidden_user ? "your user may not make this request"
                                                                 : "access from your address is not allowed"),
                         has_body);
    case Outcome::too_many_requests:
      extra.emplace_back(bhttp::field::retry_after, std::to_string(d.retry_after.count()));
      return Step::reply(fail(429, d.reason,
                              "too many failed logins from your address; try again in " +
                                  std::to_string(d.retry_after.count()) + " seconds"),
                         has_body, std::move(extra));
  }
  return Step::next();
}

// Step 5: a body size known up front.
Step Session::check_limits(Exchange& ex) {
  const auto max = ex.rt->config->limits.max_body_size;
  auto& p = *parser_;
  if (max != 0 && p.content_length() && *p.content_length() > max)
    return Step::reply(fail(Reason::body_too_large, "request body larger than " + config::format_size(max)));
  return Step::next();
}

// Local replies: one place for status, page and headers. A reply to HEAD
// has the headers of the page (Content-Length included) and no body.
// When the reply cannot be written (the client left, or a timeout closed
// the connection), the access log says so: status 499 as nginx logs a
// client that closed the request, 0 bytes sent, the reason kept.
asio::awaitable<void> Session::reply(Exchange& ex, const Failure& f, bool close, const ExtraFields& extra) {
  const auto& cfg = *ex.rt->config;
  ReplyOptions options;
  options.json = ex.json_errors;
  options.head_request = ex.head_request;
  options.keep_alive = !close && ex.keep_alive && !worker_.stopping;
  options.hsts = cfg.headers.hsts && listener_.tls ? &*cfg.headers.hsts : nullptr;
  options.request_id = ex.request_id;
  if (auto page = ex.rt->error_pages.find(f.status); page != ex.rt->error_pages.end())
    options.operator_page = &page->second;
  ex.keep_alive = options.keep_alive;
  ex.log.reason = f.reason;
  if (f.status >= 500 || f.status == 413 || f.status == 431 || f.status == 400)
    spdlog::warn("{} {} {} -> {} {}: {}", ex.client_address, ex.log.method.empty() ? "-" : ex.log.method,
                 ex.log.target.empty() ? "-" : ex.log.target, f.status, core::log_word(f.reason), f.message);
  const RenderedReply out = render_reply(f, extra, options);
  client_.expires_after(cfg.limits.client_body_timeout);
  error_code ec;
  if (client_.is_open()) {
    auto [wec, n] = co_await asio::async_write(client_, asio::buffer(out.bytes.data(), out.bytes.size()), use_tuple);
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
  ex.log.bytes_sent = out.bytes.size() - out.head_size;
  finish_log(ex, f.status);
}

void Session::finish_log(Exchange& ex, int status) {
  if (ex.logged) return;
  ex.logged = true;
  ex.log.status = status;
  ex.log.duration_s = std::chrono::duration<double>(Clock::now() - ex.start).count();
  if (ex.rt->access_log) ex.rt->access_log->write(ex.log);
  worker_.metrics->request(status, ex.log.duration_s, h2_stream_);
  if (ex.log.reason && core::metric_family(*ex.log.reason) == core::MetricFamily::upstream_error)
    worker_.metrics->failure(*ex.log.reason);
}

}  // namespace airgate::http
