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
// slows the client; at most kResponseBuffered response bytes wait per stream
// for the client's window (and as much in the channel), beyond that the
// session's writes wait; response bytes a closed window keeps from leaving
// end the connection after client_body_timeout.
// Abuse accounting (rules/h2_limits) ends the connection with GOAWAY
// ENHANCE_YOUR_CALM.
#include "http/h2_connection.hpp"

#include "config/units.hpp"
#include "http/rules/error_page.hpp"
#include "http/rules/h2_limits.hpp"
#include "http/rules/h2_request.hpp"
#include "http/session_impl.hpp"
#include "net/channel.hpp"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <unordered_map>

namespace airgate::http {

using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using rules::H2Clock;

namespace {

// Flow control windows we grant: per stream (bytes a client may send ahead of
// what the stream's session has taken) and per connection.
constexpr std::int32_t kStreamWindow = 256 * 1024;
constexpr std::int32_t kConnectionWindow = 1024 * 1024;
// A read when OpenSSL must write first (rare), and the reads of one
// connection before the others get a turn (each up to a relay buffer).
constexpr std::size_t kReadSize = 16 * 1024;
constexpr int kReadsPerTurn = 16;
// Response bytes held per stream while the client's window is closed; above
// this the stream's session is not read (its writes wait).
constexpr std::size_t kResponseBuffered = 64 * 1024;
// A response head from the session larger than this is not ours to forward.
constexpr std::size_t kMaxResponseHead = 256 * 1024;

std::size_t abuse_index(rules::H2Abuse a) { return static_cast<std::size_t>(a) - 1; }
// Indexes into observe::Metrics::kHttp2Abuses beyond the H2Abuse kinds.
// NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: libnghttp2 1.61's CONTINUATION limit
// (CVE-2024-28182), backported to Debian 12's 1.52; a literal, since older
// headers do not name it.
constexpr int kTooManyContinuations = -905;
constexpr std::size_t kHeaderListTooLarge = 3, kMalformed = 4, kContentLengthMismatch = 5, kProtocolError = 6;

bool hop_by_hop(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "te";
}

}  // namespace

// One request stream.
struct H2Stream {
  std::int32_t id = 0;
  bool head_request = false;

  // The in-process pipe to the stream's session: the request head, then the
  // body (chunked when the client declared no length) one way, the
  // HTTP/1.1 response the other. The response body stays in the channel
  // until nghttp2 takes it into DATA frames (at most kOutputLimit bytes:
  // beyond that the session's writes wait).
  std::shared_ptr<net::Channel> channel;
  bool started = false;  // a session serves the stream
  std::optional<rules::ContentLengthCheck> length_check;
  bool chunked = false;
  bool request_done = false;  // END_STREAM received
  bool discard = false;       // no session takes the body: DATA is dropped

  // Session -> client.
  std::string head;  // a response head that arrived in pieces
  bool head_done = false;
  bool no_body = false;
  std::optional<std::uint64_t> remaining;  // Content-Length bytes still to send; none: until the session closes
  bool deferred = false;                   // nghttp2 waits for body bytes
  bool failed = false;                     // the response was reset: nothing more is taken from the session
  bool response_complete = false;
  bool stopped = false;  // RST_STREAM NO_ERROR sent after the response
  bool closed = false;   // nghttp2 closed the stream

  std::size_t buffered() const { return head_done && channel ? channel->output().size() : 0; }
  // Every body byte is in the channel (or sent): what is there ends the response.
  bool body_in() const {
    return no_body || (remaining ? *remaining <= buffered() : channel && channel->closed_by_session());
  }
  // Every body byte has been taken into DATA frames.
  bool body_sent() const {
    return remaining ? *remaining == 0 : channel && channel->closed_by_session() && buffered() == 0;
  }
};

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  explicit H2Connection(std::unique_ptr<Session> s) : conn_(std::move(s)), worker_(conn_->worker_) {}
  ~H2Connection() {
    if (ng_) nghttp2_session_del(ng_);
  }
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  void start();

 private:
  net::Stream& client() { return conn_->client_; }

  // Connection I/O.
  void read();
  void read_when_busy();
  bool open_after(error_code ec, std::string_view timeout_word);
  bool receive(const std::uint8_t* data, std::size_t n);
  void flush();
  void end(std::string_view why);
  void update_deadline();
  void drain();
  void refuse_abuse(const rules::H2Verdict& v);
  void arm_idle(std::chrono::steady_clock::time_point at);
  void on_idle_timer();
  bool owes_client() const;
  void stop_body_later(const std::shared_ptr<H2Stream>& st);

  // Streams.
  std::shared_ptr<H2Stream> find(std::int32_t id);
  void begin_request(const std::shared_ptr<H2Stream>& st, bool end_stream);
  void end_request(H2Stream& st);
  void reset(H2Stream& st, std::uint32_t code);
  void open_channel(const std::shared_ptr<H2Stream>& st);
  void start_session(const std::shared_ptr<H2Stream>& st);
  void local_reply(const std::shared_ptr<H2Stream>& st, const Failure& f);
  std::string_view block_field(std::string_view name) const;
  void on_channel(H2Stream& st);
  void give_back(H2Stream& st, std::size_t data_bytes);
  bool next_head(H2Stream& st);
  void fail_response(H2Stream& st, std::string_view why);
  bool submit_head(H2Stream& st, std::string_view head);

  // nghttp2 callbacks.
  static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name, std::size_t namelen,
                       const std::uint8_t* value, std::size_t valuelen, std::uint8_t flags, void* user);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_data_chunk(nghttp2_session*, std::uint8_t flags, std::int32_t id, const std::uint8_t* data,
                           std::size_t len, void* user);
  static int on_frame_send(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_stream_close(nghttp2_session*, std::int32_t id, std::uint32_t code, void* user);
  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int lib_error, void* user);
  void count_protocol_error();
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* user);
  int control_frame(rules::H2ControlFrame f);

  std::unique_ptr<Session> conn_;  // the TLS stream, the peer, the listener
  WorkerContext& worker_;
  nghttp2_session* ng_ = nullptr;
  std::unordered_map<std::int32_t, std::shared_ptr<H2Stream>> streams_;
  rules::H2Accounting accounting_;
  std::optional<rules::H2Verdict> abuse_;  // found in a callback; acted on after nghttp2 returns
  std::string out_;
  // The header block being decoded. One at a time: a block's HEADERS and
  // CONTINUATION frames arrive with no other frame between them (RFC 9113
  // §4.3), so one buffer serves every stream, its capacity kept.
  std::string block_;                                                 // names and values back to back
  std::vector<std::pair<std::uint32_t, std::uint32_t>> block_sizes_;  // each field's name and value length
  std::int32_t block_stream_ = 0;
  std::size_t block_bytes_ = 0;  // RFC 7541 size so far
  bool block_too_large_ = false;
  // Scratch reused stream after stream: the checked request, the head
  // written for the session, the response head lowercased for nghttp2.
  std::vector<rules::H2Field> views_;
  rules::H2RequestView request_;
  std::string scratch_;
  std::vector<nghttp2_nv> nva_;
  bool reading_ = false, writing_ = false, flushing_ = false, ended_ = false;
  bool protocol_error_counted_ = false;
  bool draining_ = false;  // GOAWAY sent or about to be (shutdown, reload)
  std::uint64_t requests_ = 0;
  std::uint64_t drain_key_ = 0;
  // Idle: GOAWAY once no stream has been open for the idle timeout (reads of
  // control frames do not keep a connection alive).
  std::optional<asio::steady_timer> idle_timer_;
  std::chrono::steady_clock::time_point idle_at_{}, timer_at_{};
  bool idle_armed_ = false;
  // Response bytes ready but not leaving (the client's window is closed):
  // since when, for the send timeout. Reset by every DATA frame sent.
  std::optional<std::chrono::steady_clock::time_point> owed_since_;
  // WINDOW_UPDATEs that answer DATA we sent are flow control, not a flood:
  // two (stream and connection) per DATA frame are free.
  std::size_t window_update_credit_ = 0;
  std::size_t max_header_size_ = 0;
  std::chrono::steady_clock::duration header_timeout_{}, keepalive_timeout_{}, send_timeout_{};
};

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
    nghttp2_session_server_new2(&ng_, cb, this, opt);
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

// ---- streams ----------------------------------------------------------------

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
  auto s = std::make_unique<Session>(net::Stream(tcp::socket(client().get_executor()), st->channel), tcp::endpoint{},
                                     conn_->listener_, worker_);
  s->peer_ip_ = conn_->peer_ip_;
  s->peer_address_ = conn_->peer_address_;
  s->tls_client_subject_ = conn_->tls_client_subject_;
  s->set_up_ = true;
  s->h2_stream_ = true;
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

// The session read, wrote or closed: the DATA it took goes back into the
// client's window, its response head becomes HEADERS, its body waits in the
// channel for nghttp2 (read_body) while the client's window allows.
void H2Connection::on_channel(H2Stream& st) {
  give_back(st, st.channel->take_consumed_data());
  while (!st.head_done && !st.failed && next_head(st)) {
  }
  if (!st.failed && st.channel->aborted_by_session()) {
    // The session dropped the exchange after its response started (the
    // upstream failed mid-body): reset, whatever the framing said.
    fail_response(st, "the response was cut short");
  } else if (!st.failed) {
    const bool closed = st.channel->closed_by_session();
    if (!st.head_done) {
      // The session dropped the exchange before answering (a timeout, an
      // upstream that failed before its head).
      if (closed) fail_response(st, "no response");
    } else if (st.no_body) {
      st.channel->take_output(st.channel->output().size());  // nothing of it is sent
    } else if (st.deferred && (st.buffered() > 0 || closed)) {
      st.deferred = false;
      nghttp2_session_resume_data(ng_, st.id);
    }
  }
  flush();
}

void H2Connection::fail_response(H2Stream& st, std::string_view why) {
  spdlog::debug("{}: HTTP/2 stream {} reset: {}", conn_->peer_address_, st.id, why);
  st.failed = true;
  if (!st.response_complete) reset(st, NGHTTP2_INTERNAL_ERROR);
}

// One response head at the start of the channel's output (airgate's own
// writing: an informational one, 100 Continue, or the final one), taken out
// of the channel and submitted. False when none is complete yet.
bool H2Connection::next_head(H2Stream& st) {
  const std::string_view out = st.channel->output();
  if (out.empty()) return false;
  if (st.head.empty()) {
    if (const auto end = out.find("\r\n\r\n"); end != std::string_view::npos) {
      const bool ok = submit_head(st, out.substr(0, end + 4));  // copies what it keeps
      st.channel->take_output(end + 4);
      return ok;
    }
  }
  // A head in pieces is collected apart, so the channel has room for the rest.
  const std::size_t before = st.head.size();
  st.head.append(out);
  const auto end = st.head.find("\r\n\r\n", before >= 3 ? before - 3 : 0);
  if (end == std::string::npos) {
    st.channel->take_output(out.size());
    if (st.head.size() > kMaxResponseHead) fail_response(st, "response head too large");
    return false;
  }
  st.channel->take_output(end + 4 - before);
  st.head.resize(end + 4);
  const bool ok = submit_head(st, st.head);
  st.head.clear();
  return ok;
}

// A response head as HTTP/2 HEADERS: status, names lowercased, hop-by-hop
// fields dropped. Parsed in a copy (scratch_), lowercased in place, so
// nothing is allocated once the buffers have grown; nghttp2 copies the list.
bool H2Connection::submit_head(H2Stream& st, std::string_view text) {
  int status = 0;
  if (text.size() >= 12 && text.substr(0, 5) == "HTTP/") {
    for (std::size_t i = 9; i < 12; ++i) status = status * 10 + (text[i] - '0');
  }
  if (status < 100 || status > 599) {
    fail_response(st, "the response has no valid status line");
    return false;
  }
  scratch_.assign(text);
  const std::string_view head = scratch_;
  char status_text[3] = {head[9], head[10], head[11]};
  nva_.clear();
  auto nv = [](std::string_view n, std::string_view v) {
    return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                      reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(), v.size(),
                      NGHTTP2_NV_FLAG_NONE};
  };
  nva_.push_back(nv(":status", std::string_view(status_text, 3)));
  std::optional<std::uint64_t> length;
  for (std::size_t at = head.find("\r\n") + 2; at < head.size();) {
    const auto eol = head.find("\r\n", at);
    if (eol == std::string_view::npos || eol == at) break;
    const std::string_view line = head.substr(at, eol - at);
    const std::size_t line_at = at;
    at = eol + 2;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    for (std::size_t i = line_at; i < line_at + colon; ++i)
      scratch_[i] = static_cast<char>(std::tolower(static_cast<unsigned char>(scratch_[i])));
    const std::string_view name = line.substr(0, colon);
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (hop_by_hop(name)) continue;
    if (name == "content-length") {
      std::uint64_t v = 0;
      for (char c : value) v = v * 10 + static_cast<std::uint64_t>(c - '0');
      length = v;
    }
    nva_.push_back(nv(name, value));
  }

  if (status < 200) {
    // 100 Continue (the session answers Expect after access and limits) and
    // 103; a 101 never comes (no upgrade over HTTP/2).
    if (status != 101)
      nghttp2_submit_headers(ng_, NGHTTP2_FLAG_NONE, st.id, nullptr, nva_.data(), nva_.size(), nullptr);
    return true;
  }
  st.head_done = true;
  st.no_body = st.head_request || status == 204 || status == 304 || (length && *length == 0);
  st.remaining = length;
  if (st.no_body) {
    nghttp2_submit_response(ng_, st.id, nva_.data(), nva_.size(), nullptr);
    return true;
  }
  nghttp2_data_provider provider{};
  provider.source.ptr = &st;
  provider.read_callback = read_body;
  nghttp2_submit_response(ng_, st.id, nva_.data(), nva_.size(), &provider);
  return true;
}

// nghttp2 wants body bytes for DATA: straight from the channel. Taking them
// makes room there, so the session's waiting write moves on.
ssize_t H2Connection::read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                                std::uint32_t* flags, nghttp2_data_source* source, void*) {
  auto& st = *static_cast<H2Stream*>(source->ptr);
  const std::string_view out = st.channel->output();
  std::size_t n = std::min(length, out.size());
  if (st.remaining) n = static_cast<std::size_t>(std::min<std::uint64_t>(n, *st.remaining));
  if (st.channel->aborted_by_session()) {
    st.failed = true;
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // RST_STREAM INTERNAL_ERROR
  }
  if (n == 0 && !st.body_sent()) {
    // The session closed before the announced length: cut short, never an
    // END_STREAM that would make it look complete (RST_STREAM INTERNAL_ERROR).
    if (st.channel->closed_by_session()) {
      st.failed = true;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    st.deferred = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  std::memcpy(buf, out.data(), n);
  st.channel->take_output(n);
  if (st.remaining) *st.remaining -= n;
  if (st.body_sent()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

// ---- nghttp2 callbacks --------------------------------------------------------

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
