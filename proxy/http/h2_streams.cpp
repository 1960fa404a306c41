// HTTP/2 request streams: a header block checked (rules/h2_request) and
// handed to a Session of its own through a channel as an HTTP/1.1 request;
// DATA follows it; a header list too large is answered 431 here.
#include "http/h2_connection_impl.hpp"

#include "config/units.hpp"
#include "http/rules/error_page.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace airgate::http {

using tcp = asio::ip::tcp;
using namespace h2;

std::shared_ptr<H2Stream> H2Connection::find(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

void H2Connection::reset(H2Stream& st, std::uint32_t code) {
  nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, st.id, code);
}

// The header block is complete: check it, then hand the request to a session.
void H2Connection::begin_request(const std::shared_ptr<H2Stream>& st, bool end_stream) {
  ++requests_;
  if (block_stream_ != st->id) {  // not this stream's block (cannot happen: blocks are contiguous)
    reset(*st, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (block_too_large_) {
    local_reply(st, fail(core::Reason::header_too_large,
                         "request headers larger than " + config::format_size(max_header_size_)));
    return;
  }
  views_.clear();
  for (std::size_t at = 0; const auto& [n, v] : block_sizes_) {
    const std::string_view f = std::string_view(block_).substr(at, n + v);
    views_.emplace_back(f.substr(0, n), f.substr(n));
    at += n + v;
  }
  const auto check = rules::check_h2_request(views_, false, max_header_size_, request_);
  if (check.refusal == rules::H2Refusal::protocol_error) {
    worker_.metrics->http2_abuse(kMalformed);
    spdlog::debug("{}: HTTP/2 stream {} refused: {}", conn_->peer_address_, st->id, check.what);
    reset(*st, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (check.refusal == rules::H2Refusal::header_list_too_large) {
    local_reply(st, fail(core::Reason::header_too_large,
                         "request headers larger than " + config::format_size(max_header_size_)));
    return;
  }
  const auto& r = request_;
  st->head_request = r.method == "HEAD";
  st->length_check.emplace(r.content_length);
  st->chunked = !end_stream && !r.content_length;

  // The request as HTTP/1.1, for the session to parse with its own rules.
  // Every name and value passed the translation: no CR, LF or NUL.
  std::string& head = scratch_;
  head.clear();
  head.append(r.method).append(" ").append(r.target).append(" HTTP/1.1\r\nHost: ");
  head.append(rules::host_for_upstream(r)).append("\r\n");
  for (const auto& [n, v] : r.fields) {
    if (n == "host" || n == "content-length" || n == "te") continue;
    head.append(n).append(": ").append(v).append("\r\n");
  }
  if (r.content_length) {
    char digits[24];
    const int k = std::snprintf(digits, sizeof digits, "%llu", static_cast<unsigned long long>(*r.content_length));
    head.append("Content-Length: ").append(digits, static_cast<std::size_t>(k)).append("\r\n");
  } else if (st->chunked) {
    head.append("Transfer-Encoding: chunked\r\n");
  }
  head.append("Connection: close\r\n\r\n");
  open_channel(st);
  st->channel->push(head, 0);
  start_session(st);
  if (end_stream) end_request(*st);
}

// The stream's channel. Its activity callback holds the stream and the
// connection; connection_close (stream closed, connection ended) lets go of
// both.
void H2Connection::open_channel(const std::shared_ptr<H2Stream>& st) {
  st->channel = std::make_shared<net::Channel>(client().get_executor());
  st->channel->on_activity([self = shared_from_this(), st] {
    if (!self->ended_ && !st->closed) self->on_channel(*st);
  });
}

// A session on the channel's other side, spawned on this worker.
void H2Connection::start_session(const std::shared_ptr<H2Stream>& st) {
  st->started = true;
  auto s = std::make_unique<Session>(net::Stream(tcp::socket(client().get_executor()), st->channel), *conn_);
  s->stream_ended_ = [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("HTTP/2 stream: request handling failed: {}", ex.what());
    }
  };
  Session::spawn(std::move(s));
}

// A field of the header block just decoded, "" when absent (or past the
// header list limit).
std::string_view H2Connection::block_field(std::string_view name) const {
  for (std::size_t at = 0; const auto& [n, v] : block_sizes_) {
    if (std::string_view(block_).substr(at, n) == name) return std::string_view(block_).substr(at + n, v);
    at += n + v;
  }
  return {};
}

// A reply made here (the header list was too large to hand on): rendered as
// the session renders its replies, logged as it logs them, and sent through
// the stream's channel as a session's answer would be.
void H2Connection::local_reply(const std::shared_ptr<H2Stream>& st, const Failure& f) {
  auto rt = worker_.runtime();
  const std::string_view method = block_field(":method").substr(0, 32);
  const std::string_view target = block_field(":path").substr(0, 256);
  const std::string_view path = target.substr(0, target.find('?'));
  ReplyOptions options;
  options.json = rules::wants_json({}, path);
  options.head_request = method == "HEAD";
  st->head_request = options.head_request;
  const auto& cfg = *rt->config;
  options.hsts = cfg.headers.hsts ? &*cfg.headers.hsts : nullptr;
  const RenderedReply out = render_reply(f, {}, options);
  observe::AccessEntry e;
  e.time = std::chrono::system_clock::now();
  e.client = conn_->peer_address_;
  e.method = method;
  e.target = target;
  e.version = 20;
  e.status = f.status;
  e.reason = f.reason;
  e.bytes_sent = out.bytes.size() - out.head_size;
  e.tls_client_subject = conn_->tls_client_subject_;
  if (rt->access_log) rt->access_log->write(e);
  worker_.metrics->request(f.status, 0, true);
  worker_.metrics->http2_abuse(kHeaderListTooLarge);
  spdlog::warn("{} {} {} -> {} {}: {}", e.client, e.method.empty() ? "-" : e.method, e.target.empty() ? "-" : e.target,
               f.status, core::log_word(f.reason), f.message);
  st->discard = true;
  open_channel(st);
  st->channel->reply(out.bytes);
}

void H2Connection::end_request(H2Stream& st) {
  st.request_done = true;
  if (st.length_check && !st.length_check->on_end()) {
    worker_.metrics->http2_abuse(kContentLengthMismatch);
    spdlog::debug("{}: HTTP/2 stream {} reset: fewer DATA bytes than its content-length", conn_->peer_address_, st.id);
    reset(st, NGHTTP2_PROTOCOL_ERROR);
    return;
  }
  if (st.chunked && !st.discard && st.channel) st.channel->push("0\r\n\r\n", 0);
}

void H2Connection::give_back(H2Stream& st, std::size_t data_bytes) {
  if (data_bytes == 0) return;
  if (st.closed)
    nghttp2_session_consume_connection(ng_, data_bytes);
  else
    nghttp2_session_consume(ng_, st.id, data_bytes);
}

}  // namespace airgate::http
