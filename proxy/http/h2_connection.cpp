// An HTTP/2 client connection (design §9). libnghttp2 does the framing,
// HPACK and flow control; this file maps its streams onto airgate's request
// lifecycle:
//
//   HEADERS   the decoded header list is checked and translated
//             (rules/h2_request: the h2 -> h1 downgrade rules); a refusal is
//             a stream error, too large a list a 431
//   stream    one Session exchange, the same steps an HTTP/1.1 request runs
//             (access, limits, login, upstream, error pages, access log,
//             metrics), fed through an in-process channel (net/channel):
//             this side pushes the translated HTTP/1.1 request head and the
//             DATA, the session answers in HTTP/1.1, which becomes HEADERS
//             and DATA again
//   close     END_STREAM when the response is complete; RST_STREAM when the
//             session ended it early (never a truncated body that looks
//             complete)
//
// Memory is bounded both ways: request DATA is acknowledged to the client
// (WINDOW_UPDATE) only once the session has taken it, so a slow upstream
// slows the client; at most net::Channel::kOutputLimit response bytes wait
// per stream in its channel for the client's window (nghttp2 takes them
// from there), beyond that the session's writes wait; response bytes a
// closed window keeps from leaving
// end the connection after client_body_timeout.
// Abuse accounting (rules/h2_limits) ends the connection with GOAWAY
// ENHANCE_YOUR_CALM.
//
// This file: set-up and the client's socket (h2_connection_impl.hpp lists
// the others).
#include "http/h2_connection_impl.hpp"

#include "http/h2_connection.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>

namespace airgate::http {

using rules::H2Clock;
using namespace h2;

void start_h2(std::unique_ptr<Session> session) { std::make_shared<H2Connection>(std::move(session))->start(); }

void H2Connection::start() {
  {
    auto rt = worker_.runtime();
    const auto& limits = rt->config->limits;
    max_header_size_ = limits.max_header_size;
    header_timeout_ = limits.client_header_timeout;
    keepalive_timeout_ = limits.keepalive_timeout;
    send_timeout_ = limits.client_body_timeout;
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cb, on_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid_frame);
    nghttp2_option* opt = nullptr;
    nghttp2_option_new(&opt);
    // The window follows what the sessions consume, not what arrived.
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_settings(opt, 32);
    // Closed streams are not kept for the RFC 7540 priority tree (up to
    // max_concurrent_streams of them would stay with an idle connection).
    nghttp2_option_set_no_closed_streams(opt, 1);
    // Response fields are not added to an HPACK table of ours (nginx and
    // HAProxy keep none either): an upstream's per-response values (trace
    // ids, connection numbers) would fill it, and every idle connection
    // would keep it. Names still come from the static table.
    nghttp2_option_set_max_deflate_dynamic_table_size(opt, 0);
    nghttp2_mem mem = memory_.mem();
    memory_.creating(true);
    nghttp2_session_server_new3(&ng_, cb, this, opt, &mem);
    memory_.creating(false);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, static_cast<std::uint32_t>(limits.http2_max_concurrent_streams)},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<std::uint32_t>(kStreamWindow)},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<std::uint32_t>(max_header_size_)},
        {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 0},
    };
    nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  }
  worker_.metrics->http2_connection();
  idle_timer_.emplace(client().get_executor());
  arm_idle(std::chrono::steady_clock::now() + header_timeout_);
  drain_key_ = ++worker_.next_session_id;
  worker_.draining.emplace(drain_key_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->drain();
  });
  flush();
  read();
}

// ---- connection I/O ---------------------------------------------------------

// The socket deadline. A pending write, or response bytes the client's
// window keeps from leaving, must make progress within client_body_timeout
// (a zero-window stall ends there). With no stream open the idle timer
// sends GOAWAY; the deadline is a backstop a few seconds later. Otherwise
// the streams' sessions keep their own timeouts.
void H2Connection::update_deadline() {
  const auto now = std::chrono::steady_clock::now();
  if (owes_client()) {
    if (!owed_since_) owed_since_ = now;
  } else {
    owed_since_.reset();
  }
  if (writing_) {
    client().expires_after(send_timeout_);
  } else if (owed_since_) {
    client().expires_after(std::max<std::chrono::steady_clock::duration>(*owed_since_ + send_timeout_ - now, {}));
  } else if (streams_.empty()) {
    client().expires_after((requests_ ? keepalive_timeout_ : header_timeout_) + std::chrono::seconds(5));
  } else {
    client().expires_never();
  }
}

bool H2Connection::owes_client() const {
  for (const auto& [id, st] : streams_)
    if (st->head_done && !st->response_complete && (st->buffered() > 0 || st->body_in())) return true;
  return false;
}

void H2Connection::arm_idle(std::chrono::steady_clock::time_point at) {
  idle_at_ = at;
  if (ended_ || (idle_armed_ && timer_at_ <= at)) return;  // a pending wait re-arms itself for a later idle_at_
  idle_armed_ = true;
  timer_at_ = at;
  idle_timer_->expires_at(at);  // an earlier wait ends with operation_aborted
  idle_timer_->async_wait([self = shared_from_this()](error_code ec) {
    if (ec == asio::error::operation_aborted) return;
    self->idle_armed_ = false;
    self->on_idle_timer();
  });
}

void H2Connection::on_idle_timer() {
  if (ended_ || !streams_.empty()) return;  // a stream is open: armed again when the last one closes
  if (std::chrono::steady_clock::now() < idle_at_) {
    arm_idle(idle_at_);
    return;
  }
  spdlog::debug("{}: HTTP/2 connection idle: GOAWAY", conn_->peer_address_);
  nghttp2_session_terminate_session(ng_, NGHTTP2_NO_ERROR);
  flush();
}

// Reads what the client has sent, as long as there is something, without
// waiting; an empty socket is waited on for readiness only. The bytes go
// through one of the worker's relay buffers for the time of the read, so a
// connection waiting for its client (idle between a browser's clicks, or
// between frames) holds no read buffer. After kReadsPerTurn reads in a row
// the next turn is posted: one busy client does not starve the others, and
// the stack does not grow with what a client sends.
void H2Connection::read() {
  if (ended_ || reading_) return;
  auto self = shared_from_this();
  reading_ = true;
  upstream::RelayBuffer buffer(worker_.buffers);
  for (int turn = 0; turn < kReadsPerTurn; ++turn) {
    if (ended_) return;
    if (!nghttp2_session_want_read(ng_)) {
      reading_ = false;
      if (!nghttp2_session_want_write(ng_) && !writing_) end("done");
      return;
    }
    update_deadline();
    std::size_t n = 0;
    error_code ec;
    switch (client().try_read_some(asio::buffer(buffer->get(), upstream::BufferPool::kSize), n, ec)) {
      case net::Stream::TryRead::data:
        if (!receive(reinterpret_cast<const std::uint8_t*>(buffer->get()), n)) return;
        flush();
        continue;
      case net::Stream::TryRead::failed: end("closed by the client"); return;
      case net::Stream::TryRead::busy: read_when_busy(); return;
      case net::Stream::TryRead::nothing:
        client().async_wait_readable([self](error_code wait_ec) {
          self->reading_ = false;
          if (self->open_after(wait_ec, "timeout")) self->read();
        });
        return;
    }
  }
  asio::post(client().get_executor(), [self] {
    self->reading_ = false;
    self->read();
  });
}

// OpenSSL must write before it can read (rare: a TLS record it answers):
// an ordinary read with a buffer of its own does what it needs.
void H2Connection::read_when_busy() {
  auto buffer = std::make_shared<std::array<std::uint8_t, kReadSize>>();
  client().async_read_some(asio::buffer(*buffer), [self = shared_from_this(), buffer](error_code ec, std::size_t n) {
    self->reading_ = false;
    if (!self->open_after(ec, "timeout") || !self->receive(buffer->data(), n)) return;
    self->flush();
    self->read();
  });
}

// Bytes from the client into nghttp2 (its callbacks run from here). False
// when the connection ended.
bool H2Connection::receive(const std::uint8_t* data, std::size_t n) {
  const ssize_t rv = nghttp2_session_mem_recv(ng_, data, n);
  if (abuse_) {
    refuse_abuse(*abuse_);
  } else if (rv < 0) {
    spdlog::debug("{}: HTTP/2 connection error: {}", conn_->peer_address_, nghttp2_strerror(static_cast<int>(rv)));
    if (rv == kTooManyContinuations) {
      refuse_abuse({rules::H2Abuse::continuation_flood, "a header block in too many CONTINUATION frames"});
      return !ended_;
    }
    if (rv == NGHTTP2_ERR_FLOODED) {
      worker_.metrics->http2_abuse(abuse_index(rules::H2Abuse::control_flood));
      spdlog::warn("{}: HTTP/2 connection closed: it sent control frames faster than it read our answers",
                   conn_->peer_address_);
      end("flood");
      return false;
    }
    count_protocol_error();
    if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {
      end("not HTTP/2");
      return false;
    }
    nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
  }
  return !ended_;
}

// After an operation on the client's socket: whether the connection is still
// open (an error ends it, a timeout under the name given).
bool H2Connection::open_after(error_code ec, std::string_view timeout_word) {
  if (ended_) return false;
  if (!ec) return true;
  end(ec == boost::beast::error::timeout ? timeout_word : "closed by the client");
  return false;
}

void H2Connection::refuse_abuse(const rules::H2Verdict& v) {
  worker_.metrics->http2_abuse(abuse_index(v.abuse));
  spdlog::warn("{}: HTTP/2 connection sent GOAWAY ({}): {}", conn_->peer_address_, rules::abuse_name(v.abuse),
               v.detail);
  nghttp2_session_terminate_session(ng_, NGHTTP2_ENHANCE_YOUR_CALM);
}

// Sends what nghttp2 has queued, up to 64 KiB per write.
void H2Connection::flush() {
  if (ended_ || writing_ || flushing_) return;
  flushing_ = true;
  out_.clear();
  memory_.sending();
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) {
      flushing_ = false;
      spdlog::debug("{}: HTTP/2 send failed: {}", conn_->peer_address_, nghttp2_strerror(static_cast<int>(n)));
      end("send failed");
      return;
    }
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out_.size() >= 64 * 1024) break;
  }
  flushing_ = false;
  if (out_.empty()) {
    // Nothing in flight: what a burst of responses grew out_ to is not kept
    // by an idle connection (a browser's, between clicks), nor the pages of
    // libnghttp2's frame buffer (every frame it packed has been taken).
    if (streams_.empty()) release_idle();
    if (!nghttp2_session_want_read(ng_) && !nghttp2_session_want_write(ng_))
      end("done");
    else
      update_deadline();  // response bytes may be waiting for the client's window
    return;
  }
  writing_ = true;
  update_deadline();
  asio::async_write(client(), asio::buffer(out_), [self = shared_from_this()](error_code ec, std::size_t) {
    self->writing_ = false;
    if (!self->open_after(ec, "send timeout")) return;
    self->update_deadline();
    self->flush();
    self->read();
  });
}

// No stream open and nothing to send (a browser's connection between
// clicks): the buffers a burst of streams grew are freed, and the pages of
// libnghttp2's frame buffer go back to the kernel. The next burst allocates
// them again, a handful of allocations per burst.
void H2Connection::release_idle() {
  std::string().swap(out_);
  std::string().swap(block_);
  std::vector<std::pair<std::uint32_t, std::uint32_t>>().swap(block_sizes_);
  std::vector<rules::H2Field>().swap(views_);
  request_ = rules::H2RequestView{};
  std::string().swap(scratch_);
  std::vector<nghttp2_nv>().swap(nva_);
  decltype(streams_)().swap(streams_);  // its bucket array
  memory_.idle();
}

// Shutdown or reload: GOAWAY in two steps (RFC 9113 §6.8). First a notice
// (GOAWAY with the highest stream id: nothing is refused, the client stops
// opening streams here), a second later the GOAWAY naming the last stream
// taken. Those streams finish; the connection ends when the last one is
// done. A single GOAWAY would refuse a request already on its way (a new
// connection's first stream, sent before the GOAWAY arrived).
void H2Connection::drain() {
  if (ended_ || draining_) return;
  draining_ = true;
  nghttp2_submit_shutdown_notice(ng_);
  flush();
  auto timer = std::make_shared<asio::steady_timer>(client().get_executor(), std::chrono::seconds(1));
  timer->async_wait([self = shared_from_this(), timer](error_code) {
    if (self->ended_) return;
    nghttp2_submit_goaway(self->ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(self->ng_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    self->flush();
  });
}

void H2Connection::end(std::string_view why) {
  if (ended_) return;
  ended_ = true;
  spdlog::debug("{}: HTTP/2 connection ended ({}, {} requests)", conn_->peer_address_, why, requests_);
  worker_.draining.erase(drain_key_);
  if (idle_timer_) idle_timer_->cancel();
  for (auto& [id, st] : streams_) {
    st->closed = true;
    if (st->channel) st->channel->connection_close();
  }
  streams_.clear();
  client().close();
  worker_.session_ended(conn_->listener_.index, nullptr);
}

}  // namespace airgate::http
