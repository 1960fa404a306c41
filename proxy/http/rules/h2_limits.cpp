#include "http/rules/h2_limits.hpp"

#include <algorithm>

namespace airgate::http::rules {

std::string_view abuse_name(H2Abuse a) {
  switch (a) {
    case H2Abuse::none: return "none";
    case H2Abuse::rapid_reset: return "rapid_reset";
    case H2Abuse::control_flood: return "control_flood";
    case H2Abuse::continuation_flood: return "continuation_flood";
  }
  return "none";
}

std::string_view frame_name(H2ControlFrame f) {
  switch (f) {
    case H2ControlFrame::settings: return "SETTINGS";
    case H2ControlFrame::ping: return "PING";
    case H2ControlFrame::priority: return "PRIORITY";
    case H2ControlFrame::window_update: return "WINDOW_UPDATE";
    case H2ControlFrame::rst_stream: return "RST_STREAM";
    case H2ControlFrame::empty_data: return "empty DATA";
  }
  return "?";
}

WindowCounter::WindowCounter(H2Clock::duration window)
    : slot_length_(std::max(window / static_cast<std::int64_t>(kSlots), H2Clock::duration(1))) {}

std::int64_t WindowCounter::slot_of(H2Clock::time_point t) const {
  return static_cast<std::int64_t>(t.time_since_epoch() / slot_length_);
}

void WindowCounter::add(H2Clock::time_point now, std::size_t n) {
  const std::int64_t id = slot_of(now);
  const auto k = static_cast<std::int64_t>(kSlots);
  const auto i = static_cast<std::size_t>(((id % k) + k) % k);
  // A slot last used a whole window ago (or more) starts again from zero.
  if (slot_ids_[i] != id) {
    slot_ids_[i] = id;
    counts_[i] = 0;
  }
  counts_[i] += n;
}

std::size_t WindowCounter::total(H2Clock::time_point now) const {
  const std::int64_t id = slot_of(now);
  std::size_t sum = 0;
  for (std::size_t i = 0; i < kSlots; ++i) {
    if (slot_ids_[i] <= id && slot_ids_[i] > id - static_cast<std::int64_t>(kSlots)) sum += counts_[i];
  }
  return sum;
}

H2Accounting::H2Accounting(const H2Limits& limits)
    : limits_(limits), completed_(limits.window), resets_(limits.window), control_(limits.window) {}

void H2Accounting::on_stream_completed(H2Clock::time_point now) { completed_.add(now); }

// CVE-2023-44487: a client opens a stream and resets it at once, over and
// over. Each reset costs the server a request it starts (here: an upstream
// exchange) and the concurrent-stream limit never applies because every
// stream is gone before the next one opens. Comparing resets with completed
// streams, not with a fixed rate, separates the two uses: a client that only
// opens and cancels completes nothing and is stopped after the floor; a
// browser that cancels a few navigations or superseded fetches completes far
// more than it cancels, and a busy one earns room in proportion to its work.
H2Verdict H2Accounting::on_client_reset(H2Clock::time_point now) {
  resets_.add(now);
  const std::size_t resets = resets_.total(now);
  const std::size_t completed = completed_.total(now);
  if (resets <= std::max(limits_.rapid_reset_floor, completed)) return {};
  return {H2Abuse::rapid_reset, std::to_string(resets) + " streams reset by the client and " +
                                    std::to_string(completed) + " completed within the window"};
}

// Control frames cost work (an answer to PING and SETTINGS, a priority tree
// update, a window recalculation) but bring none; nghttp2 answers them for
// free from the attacker's view. A fixed budget per window lets any real
// client through, and completed streams add to it so that a long busy
// connection with many window updates is never cut.
H2Verdict H2Accounting::on_control_frame(H2Clock::time_point now, H2ControlFrame f) {
  control_.add(now);
  const std::size_t frames = control_.total(now);
  const std::size_t budget = limits_.control_frame_budget + limits_.control_frames_per_stream * completed_.total(now);
  if (frames <= budget) return {};
  return {H2Abuse::control_flood, std::to_string(frames) + " control frames within the window (budget " +
                                      std::to_string(budget) + "), the last one " + std::string(frame_name(f))};
}

H2Verdict H2Accounting::on_headers_frame(std::size_t bytes) {
  block_frames_ = 0;
  block_bytes_ = 0;
  return header_block_frame(bytes);
}

H2Verdict H2Accounting::on_continuation_frame(std::size_t bytes) { return header_block_frame(bytes); }

// CVE-2024-27316: a header block that never ends (CONTINUATION frames without
// END_HEADERS) makes a server buffer and decode without bound, and nothing is
// logged because no request ever completes. Both the number of frames and the
// bytes are capped: many tiny frames cost per-frame work, few large ones
// memory. The count starts again with each HEADERS frame (after END_HEADERS
// only a HEADERS frame can follow; nghttp2 refuses a stray CONTINUATION), so
// END_HEADERS needs no bookkeeping here.
H2Verdict H2Accounting::header_block_frame(std::size_t bytes) {
  ++block_frames_;
  // Capped per frame so that the sum cannot wrap.
  block_bytes_ += std::min(bytes, limits_.max_header_block_bytes + 1);
  if (block_frames_ > limits_.max_header_block_frames)
    return {H2Abuse::continuation_flood,
            "header block across more than " + std::to_string(limits_.max_header_block_frames) + " frames"};
  if (block_bytes_ > limits_.max_header_block_bytes)
    return {H2Abuse::continuation_flood,
            "header block larger than " + std::to_string(limits_.max_header_block_bytes) + " bytes before END_HEADERS"};
  return {};
}

}  // namespace airgate::http::rules
