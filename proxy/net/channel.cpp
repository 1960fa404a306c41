#include "net/channel.hpp"

#include <algorithm>
#include <cstring>

namespace airgate::net {

std::size_t Channel::session_read(void* data, std::size_t size) {
  const std::size_t n = std::min(size, in_.size() - in_offset_);
  if (n == 0) return 0;
  std::memcpy(data, in_.data() + in_offset_, n);
  in_offset_ += n;
  if (in_offset_ == in_.size()) {
    in_.clear();
    in_offset_ = 0;
  }
  in_read_total_ += n;
  while (marks_head_ < marks_.size() && marks_[marks_head_].end <= in_read_total_)
    consumed_data_ += marks_[marks_head_++].data_bytes;
  if (marks_head_ == marks_.size() || (marks_head_ >= 64 && 2 * marks_head_ >= marks_.size())) {
    marks_.erase(marks_.begin(), marks_.begin() + static_cast<std::ptrdiff_t>(marks_head_));  // a long upload
    marks_head_ = 0;
  }
  activity();
  return n;
}

std::size_t Channel::session_write(const void* data, std::size_t size) {
  if (out_.size() >= kOutputLimit) return 0;
  const std::size_t n = std::min(size, kOutputLimit - out_.size());
  if (out_offset_ > 0 && out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  if (out_.capacity() < kFirstOutput) out_.reserve(kFirstOutput);  // a head and a small body in one allocation
  out_.append(static_cast<const char*>(data), n);
  activity();
  return n;
}

void Channel::reply(std::string_view bytes) {
  out_.append(bytes);
  session_close();
}

void Channel::give_back_marks() {
  for (std::size_t i = marks_head_; i < marks_.size(); ++i) consumed_data_ += marks_[i].data_bytes;
  marks_.clear();
  marks_head_ = 0;
}

void Channel::session_close() {
  if (session_closed_) return;
  session_closed_ = true;
  // What the session did not read is given back all the same.
  give_back_marks();
  in_.clear();
  in_offset_ = 0;
  activity();
}

void Channel::wake_all() {
  if (auto r = std::move(reader_)) r->wake();
  if (auto w = std::move(writer_)) w->wake();
}

void Channel::push(std::string_view bytes, std::size_t data_bytes) {
  if (session_closed_ || connection_closed_) {
    consumed_data_ += data_bytes;  // nobody reads it: given back at once
    return;
  }
  if (in_offset_ > 0 && in_offset_ >= in_.size() / 2) {
    in_.erase(0, in_offset_);
    in_offset_ = 0;
  }
  in_.append(bytes);
  in_pushed_total_ += bytes.size();
  if (data_bytes) marks_.push_back({in_pushed_total_, data_bytes});
  if (auto r = std::move(reader_)) r->wake();
}

std::size_t Channel::take_consumed_data() {
  const std::size_t n = consumed_data_;
  consumed_data_ = 0;
  return n;
}

void Channel::take_output(std::size_t n) {
  out_offset_ += std::min(n, out_.size() - out_offset_);
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  } else if (out_offset_ >= out_.size() / 2) {
    out_.erase(0, out_offset_);
    out_offset_ = 0;
  }
  if (writable())
    if (auto w = std::move(writer_)) w->wake();
}

void Channel::connection_close() {
  if (connection_closed_) return;
  connection_closed_ = true;
  on_activity_ = nullptr;
  // DATA the session will never read goes back to the connection's window.
  give_back_marks();
  wake_all();
}

// The connection hears of the session's reads, writes and close once per
// turn of the event loop, never from inside the session's operation.
void Channel::activity() {
  if (activity_posted_ || !on_activity_) return;
  activity_posted_ = true;
  boost::asio::post(executor_, [self = shared_from_this()] {
    self->activity_posted_ = false;
    if (self->on_activity_) self->on_activity_();
  });
}

}  // namespace airgate::net
