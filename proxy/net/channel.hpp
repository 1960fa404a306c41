// An in-process byte pipe between an HTTP/2 stream (http/h2_streams.cpp)
// and the Session that serves it as an HTTP/1.1 exchange: the session reads
// and writes it through a net::Stream as it would a socket, the connection
// pushes the request in and takes the response out directly. No system call,
// no descriptor; everything on the worker's thread.
//
// Flow control: the connection learns how many request DATA bytes the session
// has read (take_consumed_data) and gives them back to the client's window;
// the response side holds at most kOutputLimit bytes, beyond that the
// session's writes wait until the connection takes some.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::net {

// A session operation parked until the other side acts.
struct ChannelWaiter {
  virtual ~ChannelWaiter() = default;
  virtual void wake() = 0;  // posts the operation to run again
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  static constexpr std::size_t kOutputLimit = 64 * 1024;

  explicit Channel(boost::asio::any_io_executor executor) : executor_(std::move(executor)) {}
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  // ---- the session's side (net::Stream) ----
  // Copies up to `size` request bytes; 0 when there are none.
  std::size_t session_read(void* data, std::size_t size);
  // Takes up to `size` response bytes, as many as fit; 0 when full.
  std::size_t session_write(const void* data, std::size_t size);
  bool readable() const { return in_offset_ < in_.size(); }
  bool writable() const { return out_.size() < kOutputLimit; }
  // The connection ended the stream (the client reset it or left).
  bool ended_by_connection() const { return connection_closed_; }
  bool closed_by_session() const { return session_closed_; }
  // The session gave up mid-response: what it wrote is incomplete.
  void session_abort() { session_aborted_ = true; }
  bool aborted_by_session() const { return session_aborted_; }
  void session_close();
  // Parks the session's pending read (or write); woken by the connection's
  // next push (take) or close, or by wake_all (its deadline passed).
  void park_reader(std::unique_ptr<ChannelWaiter> w) { reader_ = std::move(w); }
  void park_writer(std::unique_ptr<ChannelWaiter> w) { writer_ = std::move(w); }
  void wake_all();

  // ---- the connection's side ----
  // Request bytes for the session; `data_bytes` of them are DATA payload (the
  // rest framing), reported by take_consumed_data once the session read past them.
  void push(std::string_view bytes, std::size_t data_bytes);
  std::size_t take_consumed_data();
  // The response bytes the session wrote and the connection has not taken.
  std::string_view output() const { return std::string_view(out_).substr(out_offset_); }
  void take_output(std::size_t n);
  // An answer made by the connection itself (no session on the other side):
  // the whole of `bytes` as the response, then the session's side closed.
  void reply(std::string_view bytes);
  void connection_close();
  // Called (posted, once per burst) when the session read, wrote or closed.
  void on_activity(std::function<void()> f) { on_activity_ = std::move(f); }

 private:
  void activity();
  void give_back_marks();
  static constexpr std::size_t kFirstOutput = 2048;

  boost::asio::any_io_executor executor_;
  std::string in_;
  std::size_t in_offset_ = 0;
  std::uint64_t in_read_total_ = 0;    // bytes the session has read, ever
  std::uint64_t in_pushed_total_ = 0;  // bytes pushed, ever
  struct Mark {
    std::uint64_t end;       // in_pushed_total_ after the push
    std::size_t data_bytes;  // DATA payload in it
  };
  std::vector<Mark> marks_;  // in order; the first marks_head_ are consumed
  std::size_t marks_head_ = 0;
  std::size_t consumed_data_ = 0;
  std::string out_;
  std::size_t out_offset_ = 0;
  bool session_closed_ = false;
  bool session_aborted_ = false;
  bool connection_closed_ = false;
  bool activity_posted_ = false;
  std::unique_ptr<ChannelWaiter> reader_, writer_;
  std::function<void()> on_activity_;
};

}  // namespace airgate::net
