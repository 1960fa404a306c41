// The HTTP/2 connection's classes, shared by its four source files and
// included nowhere else:
//   h2_connection.cpp  set-up, the client's socket (reads, writes, deadlines,
//                      idle, GOAWAY on shutdown and reload)
//   h2_streams.cpp     a request stream: its header block checked and handed
//                      to a Session through a channel, its DATA, a 431 made here
//   h2_response.cpp    the Session's HTTP/1.1 answer as HEADERS and DATA
//   h2_callbacks.cpp   libnghttp2's callbacks: frames in, abuse accounting
#pragma once

#include "http/h2_memory.hpp"
#include "http/rules/h2_limits.hpp"
#include "http/rules/h2_request.hpp"
#include "http/session_impl.hpp"
#include "net/channel.hpp"

#include <nghttp2/nghttp2.h>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace airgate::http {

using error_code = boost::system::error_code;

namespace h2 {

// Flow control windows we grant: per stream (bytes a client may send ahead of
// what the stream's session has taken) and per connection.
inline constexpr std::int32_t kStreamWindow = 256 * 1024;
inline constexpr std::int32_t kConnectionWindow = 1024 * 1024;
// A read when OpenSSL must write first (rare), and the reads of one
// connection before the others get a turn (each up to a relay buffer).
inline constexpr std::size_t kReadSize = 16 * 1024;
inline constexpr int kReadsPerTurn = 16;
// A response head from the session larger than this is not ours to forward.
inline constexpr std::size_t kMaxResponseHead = 256 * 1024;

inline std::size_t abuse_index(rules::H2Abuse a) { return static_cast<std::size_t>(a) - 1; }
// Indexes into observe::Metrics::kHttp2Abuses beyond the H2Abuse kinds.
// NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: libnghttp2 1.61's CONTINUATION limit
// (CVE-2024-28182), backported to Debian 12's 1.52; a literal, since older
// headers do not name it.
inline constexpr int kTooManyContinuations = -905;
inline constexpr std::size_t kHeaderListTooLarge = 3, kMalformed = 4, kContentLengthMismatch = 5, kProtocolError = 6;

}  // namespace h2

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
  void release_idle();
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
  h2::SessionMemory memory_;  // the session's allocator (its frame buffer's pages go back when idle)
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

}  // namespace airgate::http
