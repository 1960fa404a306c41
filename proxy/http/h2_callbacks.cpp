// libnghttp2's callbacks for an HTTP/2 client connection: frames received
// and sent, each control frame and header block through the abuse
// accounting (rules/h2_limits), streams opened and closed.
#include "http/h2_connection_impl.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <cstdio>

namespace airgate::http {

using rules::H2Clock;
using namespace h2;

int H2Connection::control_frame(rules::H2ControlFrame f) {
  auto v = accounting_.on_control_frame(H2Clock::now(), f);
  if (v.ok()) return 0;
  abuse_ = std::move(v);
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

int H2Connection::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  rules::H2Verdict v;
  if (hd->type == NGHTTP2_HEADERS)
    v = self.accounting_.on_headers_frame(hd->length);
  else if (hd->type == NGHTTP2_CONTINUATION)
    v = self.accounting_.on_continuation_frame(hd->length);
  if (v.ok()) return 0;
  self.abuse_ = std::move(v);
  return NGHTTP2_ERR_CALLBACK_FAILURE;
}

int H2Connection::on_begin_headers(nghttp2_session* ng, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto st = std::make_shared<H2Stream>();
  st->id = frame->hd.stream_id;
  self.block_.clear();
  self.block_sizes_.clear();
  self.block_stream_ = st->id;
  self.block_bytes_ = 0;
  self.block_too_large_ = false;
  nghttp2_session_set_stream_user_data(ng, st->id, st.get());
  self.streams_.emplace(st->id, std::move(st));
  self.update_deadline();
  return 0;
}

// Each decoded field, in order. Past the header list limit nothing more is
// kept (an HPACK bomb expands into counting, not memory); the stream is
// answered 431 when its block ends. Trailers are not forwarded.
int H2Connection::on_header(nghttp2_session* ng, const nghttp2_frame* frame, const std::uint8_t* name,
                            std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                            void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (frame->hd.stream_id != self.block_stream_ || !nghttp2_session_get_stream_user_data(ng, frame->hd.stream_id))
    return 0;
  self.block_bytes_ += namelen + valuelen + rules::kH2FieldOverhead;
  if (self.block_too_large_) return 0;
  if (self.block_bytes_ > self.max_header_size_) {
    self.block_too_large_ = true;  // what came before stays for the log line (:method, :path)
    return 0;
  }
  self.block_.append(reinterpret_cast<const char*>(name), namelen);
  self.block_.append(reinterpret_cast<const char*>(value), valuelen);
  self.block_sizes_.emplace_back(static_cast<std::uint32_t>(namelen), static_cast<std::uint32_t>(valuelen));
  return 0;
}

int H2Connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  using F = rules::H2ControlFrame;
  const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      auto st = self.find(frame->hd.stream_id);
      if (!st) return 0;
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        st->request_done = end_stream;  // also for a stream refused before it started
        self.begin_request(st, end_stream);
      } else if (end_stream && st->started)
        self.end_request(*st);  // trailers end the body (they are not forwarded)
      return 0;
    }
    case NGHTTP2_DATA: {
      if (frame->hd.length == 0 && !end_stream) return self.control_frame(F::empty_data);
      auto st = self.find(frame->hd.stream_id);
      if (st && end_stream && st->started && !st->request_done) self.end_request(*st);
      return 0;
    }
    case NGHTTP2_SETTINGS:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) return 0;
      return self.control_frame(F::settings);
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) return 0;
      return self.control_frame(F::ping);
    case NGHTTP2_PRIORITY: return self.control_frame(F::priority);
    case NGHTTP2_WINDOW_UPDATE:
      if (self.window_update_credit_ > 0) {
        --self.window_update_credit_;
        return 0;
      }
      return self.control_frame(F::window_update);
    case NGHTTP2_RST_STREAM: {
      auto st = self.find(frame->hd.stream_id);
      if (st && !st->response_complete) {
        auto v = self.accounting_.on_client_reset(H2Clock::now());
        if (!v.ok()) {
          self.abuse_ = std::move(v);
          return NGHTTP2_ERR_CALLBACK_FAILURE;
        }
      }
      return self.control_frame(F::rst_stream);
    }
    default: return 0;
  }
}

int H2Connection::on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                                std::size_t len, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  auto st = self.find(id);
  if (!st || !st->started || st->discard) {
    nghttp2_session_consume(self.ng_, id, len);
    if (st && st->response_complete && !st->stopped) {
      st->stopped = true;
      self.reset(*st, NGHTTP2_NO_ERROR);
    }
    return 0;
  }
  if (st->length_check && !st->length_check->on_data(len)) {
    self.worker_.metrics->http2_abuse(kContentLengthMismatch);
    spdlog::debug("{}: HTTP/2 stream {} reset: more DATA bytes than its content-length", self.conn_->peer_address_, id);
    st->discard = true;
    nghttp2_session_consume(self.ng_, id, len);
    self.reset(*st, NGHTTP2_PROTOCOL_ERROR);
    return 0;
  }
  if (st->chunked) {
    char size[24];
    const int k = std::snprintf(size, sizeof size, "%zx\r\n", len);
    st->channel->push(std::string_view(size, static_cast<std::size_t>(k)), 0);
  }
  st->channel->push(std::string_view(reinterpret_cast<const char*>(data), len), len);
  if (st->chunked) st->channel->push("\r\n", 0);
  self.give_back(*st, st->channel->take_consumed_data());  // a session already gone takes nothing
  return 0;
}

// A response sent in full while the client may still be sending a body
// nobody will read (a 413, a 401): RST_STREAM NO_ERROR tells it to stop
// (RFC 9113 §8.1) -- when its next DATA arrives, or after a second if none
// does. Not at once: curl 7.88 (Debian 12) drops a complete response when the
// reset arrives before it sent any of the body.
int H2Connection::on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  // A GOAWAY with an error that airgate did not send for abuse: libnghttp2
  // ended the connection for a frame that broke the protocol (some, like
  // DATA on stream 0, reach no other callback).
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
      frame->goaway.error_code != NGHTTP2_ENHANCE_YOUR_CALM) {
    spdlog::debug("{}: HTTP/2 connection error: GOAWAY {}", self.conn_->peer_address_,
                  nghttp2_http2_strerror(frame->goaway.error_code));
    self.count_protocol_error();
  }
  if (frame->hd.type == NGHTTP2_DATA) {
    if (self.owed_since_) self.owed_since_ = std::chrono::steady_clock::now();  // progress
    self.window_update_credit_ = std::min<std::size_t>(self.window_update_credit_ + 2, 2000);
  }
  if (!(frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA)) return 0;
  if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
  auto st = self.find(frame->hd.stream_id);
  if (!st) return 0;
  st->response_complete = true;
  self.accounting_.on_stream_completed(H2Clock::now());
  if (!st->request_done) self.stop_body_later(st);
  return 0;
}

void H2Connection::stop_body_later(const std::shared_ptr<H2Stream>& st) {
  auto timer = std::make_shared<asio::steady_timer>(client().get_executor(), std::chrono::seconds(1));
  timer->async_wait([self = shared_from_this(), st, timer](error_code) {
    if (self->ended_ || st->closed || st->request_done || st->stopped) return;
    st->stopped = true;
    self->reset(*st, NGHTTP2_NO_ERROR);
    self->flush();
  });
}

// A frame libnghttp2 refused itself (its HTTP messaging rules run before
// airgate's: uppercase names, connection-specific fields, missing or repeated
// pseudo-headers, a content-length the DATA does not match; or a frame that
// breaks the protocol). It resets the stream or ends the connection; this
// counts it as airgate's own refusals are counted.
int H2Connection::on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  const bool messaging = lib_error == NGHTTP2_ERR_HTTP_HEADER || lib_error == NGHTTP2_ERR_HTTP_MESSAGING;
  spdlog::debug("{}: HTTP/2 frame (type {}, stream {}) refused: {}", self.conn_->peer_address_, frame->hd.type,
                frame->hd.stream_id, nghttp2_strerror(lib_error));
  if (messaging && frame->hd.type == NGHTTP2_HEADERS)
    self.worker_.metrics->http2_abuse(kMalformed);
  else if (messaging && frame->hd.type == NGHTTP2_DATA)
    self.worker_.metrics->http2_abuse(kContentLengthMismatch);
  else
    self.count_protocol_error();
  return 0;
}

// Once per connection: one broken connection is one protocol error, however
// many places report it.
void H2Connection::count_protocol_error() {
  if (protocol_error_counted_) return;
  protocol_error_counted_ = true;
  worker_.metrics->http2_abuse(kProtocolError);
}

int H2Connection::on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
  auto& self = *static_cast<H2Connection*>(user);
  auto it = self.streams_.find(id);
  if (it == self.streams_.end()) return 0;
  auto st = it->second;
  self.streams_.erase(it);
  // DATA not yet taken by the session still counts against the connection's window.
  st->closed = true;
  if (st->channel) {
    st->channel->connection_close();  // the session sees its client gone
    self.give_back(*st, st->channel->take_consumed_data());
  }
  if (self.streams_.empty()) self.arm_idle(std::chrono::steady_clock::now() + self.keepalive_timeout_);
  self.update_deadline();
  return 0;
}

}  // namespace airgate::http
