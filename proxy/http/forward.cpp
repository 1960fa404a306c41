// The session's steps that go upstream and answer (design §3 steps 5-9):
// route, admit_body (upload slot, 100-continue, a small body read first),
// send_upstream (upstream::exchange: connection, head, body, response head)
// and respond (the client response head, the body relay or the tunnel, the
// pool). A failure before the response started is a local reply; after it,
// the connection is dropped (never a truncated body that looks complete).
#include "http/session_impl.hpp"

#include "config/units.hpp"
#include "http/fields.hpp"
#include "http/head_writer.hpp"
#include "http/rules/browser.hpp"
#include "upstream/route.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace airgate::http {

using core::Reason;
using upstream::RelayResult;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

// Only a WebSocket handshake is ever forwarded as an upgrade; any other
// Upgrade (h2c, TLS/1.0, ...) is stripped with its Connection token.
bool is_websocket_request(const RequestParser& req) {
  const HeadFields& fields = req.fields();
  if (!fields.count(bhttp::field::upgrade)) return false;
  const std::string upgrade = fields.join(bhttp::field::upgrade);
  const std::string connection = fields.join(bhttp::field::connection);
  return rules::is_websocket_upgrade({req.method_string(), upgrade, connection,
                                      fields.count(bhttp::field::sec_websocket_key) == 1,
                                      fields.count(bhttp::field::sec_websocket_version) == 1});
}

}  // namespace

// Step 6: the peer of the request's route, and whether this is a WebSocket handshake.
Step Session::route(Exchange& ex, Forwarding& fw) {
  const auto& cfg = *ex.rt->config;
  auto& p = *parser_;
  fw.has_body = p.chunked() || (p.content_length() && *p.content_length() > 0);
  fw.upgrade = ex.may_upgrade && !fw.has_body && is_websocket_request(p);
  fw.buffer_body = fw.has_body && !p.chunked() && p.content_length().value_or(0) <= cfg.limits.client_body_buffer_size;
  fw.peer = &upstream::route(ex.rt->peers, ex.route);  // chosen with the normalised path, before access
  ex.log.upstream = fw.peer->cfg->url.authority();
  return Step::next();
}

// Step 5, the body: slow uploads. A body streamed upstream holds an upstream
// connection for as long as the client takes to send it. Small
// Content-Length bodies are read first (the upstream connection is taken when
// the body is here); one client address streams at most
// max_uploads_per_client bodies at once. Expect: 100-continue is answered
// here, only now that access and limits passed.
asio::awaitable<Step> Session::admit_body(Exchange& ex, Forwarding& fw) {
  const auto& cfg = *ex.rt->config;
  if (fw.has_body && !fw.buffer_body && cfg.limits.max_uploads_per_client != 0) {
    fw.upload_slot = access::upload_slots().acquire(ex.client_address, cfg.limits.max_uploads_per_client);
    if (!fw.upload_slot) {
      ExtraFields extra;
      extra.emplace_back(bhttp::field::retry_after, "1");
      co_return Step::reply(fail(Reason::too_many_uploads, "too many uploads from your address at once (limit " +
                                                               std::to_string(cfg.limits.max_uploads_per_client) +
                                                               "); try again when one has finished"),
                            true, std::move(extra));
    }
  }
  if (fw.has_body && beast::iequals(parser_->fields().first(bhttp::field::expect), "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    client_.expires_after(cfg.limits.client_body_timeout);
    auto [ec, n] = co_await asio::async_write(client_, asio::buffer(kContinue), use_tuple);
    if (ec) co_return Step::reply(fail(Reason::client_gone, "client closed the connection"));
  }
  if (fw.buffer_body) {
    const auto r = co_await upstream::read_request_body(client_, buffer_, parser_->content_length().value_or(0),
                                                        fw.body, cfg.limits);
    ex.log.bytes_received = r.bytes;
    request_body_read_ = r.complete;
    if (r.result != RelayResult::ok) co_return Step::reply(body_failure(r.result, cfg, *fw.peer->cfg));
  }
  co_return Step::next();
}

// Steps 6-7: the upstream request head, the body (in memory or streamed), the
// response head (upstream::exchange: pooled connection or connect, one retry
// of a stale pooled connection, 1xx skipped).
asio::awaitable<Step> Session::send_upstream(Exchange& ex, Forwarding& fw) {
  const auto& cfg = *ex.rt->config;
  const config::Upstream& up = *fw.peer->cfg;
  auto& p = *parser_;
  const auto length = p.content_length();
  const RequestFraming framing{length ? std::optional<std::uint64_t>(*length) : std::nullopt, p.chunked(), fw.upgrade};
  const std::string request_head = upstream_request_head(
      p, framing, ForwardedBy{peer_address_, ex.client_address, ex.request_id, listener_.tls});

  fw.relay.emplace(worker_.buffers);
  fw.upstream_buffer.emplace(worker_.flat_buffers);
  upstream::StreamedBody streamed{client_, buffer_, p};
  const bool stream_body = fw.has_body && !fw.buffer_body;
  if (stream_body) {
    // The head was read through a small buffer; the body moves in large reads.
    buffer_.reserve(kReadChunk);
    // A chunk whose announced size alone crosses max_body_size is refused
    // when its size line arrives, not after waiting for its bytes.
    if (p.chunked() && cfg.limits.max_body_size != 0) p.body_limit(cfg.limits.max_body_size);
  }
  const upstream::ExchangeRequest request{
      *fw.peer, request_head, fw.body, stream_body ? &streamed : nullptr, p.method() == bhttp::verb::head, cfg.limits};
  auto& exchanged = fw.exchanged;
  co_await upstream::exchange(worker_.pool, request, **fw.upstream_buffer, *fw.relay, exchanged);
  if (exchanged.body) {
    ex.log.bytes_received = exchanged.body->bytes;
    request_body_read_ = exchanged.body->complete;
  }
  if (!exchanged.failure) co_return Step::next();
  if (exchanged.connect != upstream::ConnectFailure::none)
    co_return Step::reply(connect_failure(exchanged.connect, up));
  if (exchanged.body && exchanged.body->result != RelayResult::ok)
    co_return Step::reply(body_failure(exchanged.body->result, cfg, up));
  co_return Step::reply(upstream_failure(*exchanged.failure, up));
}

// Steps 8-9: the client response head, then the body relayed (or the tunnel),
// and the upstream connection back to the pool when the exchange ended cleanly.
asio::awaitable<Step> Session::respond(Exchange& ex, Forwarding& fw) {
  const auto& cfg = *ex.rt->config;
  const config::Upstream& up = *fw.peer->cfg;
  net::Stream& upstream = *fw.exchanged.stream;
  upstream::ResponseParser& rp = *fw.exchanged.response;
  beast::flat_buffer& upstream_buffer = **fw.upstream_buffer;
  const int status = static_cast<int>(rp.status());
  // A 101 is accepted only as the answer to a WebSocket handshake, and only
  // when it switches to WebSocket.
  const bool tunnel = status == 101 && fw.upgrade &&
                      rules::is_websocket_upgrade({"GET", rp.fields().join(bhttp::field::upgrade),
                                                   rp.fields().join(bhttp::field::connection), true, true});
  if (status == 101 && !tunnel) {
    upstream.close();
    co_return Step::reply(
        fail(Reason::upstream_bad_response, fw.upgrade ? "the upstream switched to a protocol other than WebSocket"
                                                       : "the upstream switched protocols without being asked to"));
  }
  const bool is_head = parser_->method() == bhttp::verb::head;
  const bool response_has_body = !(is_head || status == 204 || status == 304 || tunnel);
  const bool close_delimited = response_has_body && !rp.chunked() && !rp.content_length();
  const bool upstream_keep = rp.keep_alive() && !close_delimited && !tunnel;

  bool client_keep = ex.keep_alive && !worker_.stopping && !tunnel;
  // A body without Content-Length (chunked, or until the upstream closes) is
  // re-framed chunked; an HTTP/1.0 client gets it until the connection ends.
  const bool has_length = rp.content_length().has_value();
  const bool rechunk = response_has_body && !has_length && ex.log.version == 11;
  if (response_has_body && !has_length && !rechunk) client_keep = false;
  const std::string* hsts = cfg.headers.hsts && listener_.tls ? &*cfg.headers.hsts : nullptr;
  // An upstream 401 challenge answered to a browser's script would raise the
  // browser's native sign-in dialog over the app (upstream.browser_basic_challenge).
  const bool strip_challenge = status == 401 && up.browser_basic_challenge == config::BasicChallenge::strip &&
                               rules::is_browser_script(parser_->fields().first(kSecFetchMode));
  const std::string response_head = client_response_head(rp, ResponseFraming{client_keep, tunnel, rechunk}, hsts,
                                                         ex.request_id, ex.set_cookie, strip_challenge);
  ex.log.status = status;
  ex.keep_alive = client_keep;

  client_.expires_after(cfg.limits.client_body_timeout);
  if (tunnel) {
    auto [wec, wn] = co_await asio::async_write(client_, asio::buffer(response_head.data(), response_head.size()),
                                                use_tuple);
    if (wec) {
      upstream.close();
      co_return dropped(ex, fail(status, Reason::client_gone, "client closed the connection"));
    }
    co_await upstream::run_tunnel(client_, buffer_, upstream, upstream_buffer, up.read_timeout);
    ex.keep_alive = false;
    co_return Step::next();
  }

  // The head leaves together with the first body bytes when they came with
  // it (one TLS record, one syscall), else at once, so a client sees the
  // status of a slow or streaming response without waiting.
  auto& relay = *fw.relay;
  auto r = response_has_body && !has_length
               ? co_await upstream::relay_response_body(upstream, upstream_buffer, rp, client_, response_head, rechunk,
                                                        relay, cfg.limits, up)
               : co_await upstream::relay_response_exact(upstream, upstream_buffer,
                                                         response_has_body ? *rp.content_length() : 0, client_,
                                                         response_head, relay, cfg.limits, up);
  ex.log.bytes_sent = r.bytes;
  if (r.result != RelayResult::ok) {
    upstream.close();
    if (r.result == RelayResult::peer_timeout)
      co_return dropped(
          ex, fail(Reason::upstream_read_timeout,
                   "upstream read timeout (" + config::format_duration(up.read_timeout) + ") exceeded mid-response"));
    if (r.result == RelayResult::client_timeout || r.result == RelayResult::client_error)
      co_return dropped(ex, fail(status, Reason::client_gone, "client stopped reading the response"));
    co_return dropped(ex, fail(Reason::upstream_truncated, "the upstream closed the connection mid-response"));
  }
  if (upstream_keep && r.complete && upstream_buffer.size() == 0)
    worker_.pool.put(fw.peer->key, std::move(upstream), up.max_idle_connections);
  else
    upstream.close();
  co_return Step::next();
}

// A failure once the response started: the client has a status line and
// maybe part of a body, so the connection is dropped (never a truncated body
// that looks complete) and the exchange logged with the status it had.
Step Session::dropped(Exchange& ex, const Failure& f) {
  ex.log.reason = f.reason;
  spdlog::warn("{} {} {} -> {} after the response started; connection closed: {}", ex.client_address, ex.log.method,
               ex.log.target, core::log_word(f.reason), f.message);
  finish_log(ex, ex.log.status ? ex.log.status : f.status);
  // An HTTP/2 stream's body ends where the session closes unless told
  // otherwise: a body without Content-Length would look complete.
  client_.abort_response();
  return Step::close();
}

}  // namespace airgate::http
