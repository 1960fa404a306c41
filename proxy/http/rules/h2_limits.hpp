// Per-connection abuse accounting for HTTP/2 (design §9): the patterns that
// cost a server work while giving it none to do, each ending in a GOAWAY
// ENHANCE_YOUR_CALM by the wiring. Pure: the time of every event is passed in,
// nothing here reads a clock, so the tests drive time by hand.
// http/h2_connection_impl.hpp keeps one H2Accounting per connection.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace airgate::http::rules {

using H2Clock = std::chrono::steady_clock;

// The window over which resets, control frames and completed streams are
// counted. Long enough that a burst (a page load) averages out, short enough
// that an attack is stopped within seconds.
constexpr H2Clock::duration kH2AbuseWindow = std::chrono::seconds(10);
// Resets a connection may always send per window, whatever it completed: a
// browser cancelling navigations or a search-as-you-type page stays far below.
constexpr std::size_t kH2RapidResetFloor = 100;
// SETTINGS, PING, PRIORITY, WINDOW_UPDATE, RST_STREAM and empty DATA frames per
// window with no work done; browsers send a handful per page.
constexpr std::size_t kH2ControlFrameBudget = 1000;
// Extra control frames allowed per stream completed in the window: real work
// brings window updates and priority changes with it.
constexpr std::size_t kH2ControlFramesPerStream = 10;
// HEADERS plus CONTINUATION frames of one header block. Real clients send one
// frame (the block fits in the 16 KiB default frame size).
constexpr std::size_t kH2MaxHeaderBlockFrames = 16;
// Bytes of one header block before END_HEADERS; the default of the proxy's
// max_header_size.
constexpr std::size_t kH2MaxHeaderBlockBytes = 64 * 1024;

// The limits; the connection uses the defaults above (not configurable:
// they stop abuse, a real client stays far below them).
struct H2Limits {
  H2Clock::duration window = kH2AbuseWindow;
  std::size_t rapid_reset_floor = kH2RapidResetFloor;
  std::size_t control_frame_budget = kH2ControlFrameBudget;
  std::size_t control_frames_per_stream = kH2ControlFramesPerStream;
  std::size_t max_header_block_frames = kH2MaxHeaderBlockFrames;
  std::size_t max_header_block_bytes = kH2MaxHeaderBlockBytes;
};

enum class H2Abuse { none, rapid_reset, control_flood, continuation_flood };

// The metric label of an abuse ("rapid_reset", ...; "none").
std::string_view abuse_name(H2Abuse a);

// What the wiring does with a frame: nothing (ok) or GOAWAY ENHANCE_YOUR_CALM,
// counting `abuse` in the metrics and logging `detail`.
struct H2Verdict {
  H2Abuse abuse = H2Abuse::none;
  std::string detail;
  bool ok() const { return abuse == H2Abuse::none; }
};

// The control frames counted against the budget.
enum class H2ControlFrame { settings, ping, priority, window_update, rst_stream, empty_data };
std::string_view frame_name(H2ControlFrame f);

// Events counted over a sliding window, in kSlots slots of window / kSlots:
// constant memory however many events come (a busy connection completes
// thousands of streams a second), at most one slot of imprecision.
class WindowCounter {
 public:
  static constexpr std::size_t kSlots = 10;
  explicit WindowCounter(H2Clock::duration window);
  void add(H2Clock::time_point now, std::size_t n = 1);
  std::size_t total(H2Clock::time_point now) const;

 private:
  std::int64_t slot_of(H2Clock::time_point t) const;
  H2Clock::duration slot_length_;
  std::array<std::int64_t, kSlots> slot_ids_{};
  std::array<std::size_t, kSlots> counts_{};
};

// One connection's accounting. The wiring calls the on_* function for each
// event and sends GOAWAY when a verdict is not ok(); after that the connection
// is closing and further verdicts do not matter.
class H2Accounting {
 public:
  explicit H2Accounting(const H2Limits& limits = {});

  // A stream's response was sent completely.
  void on_stream_completed(H2Clock::time_point now);
  // The client reset a stream (RST_STREAM) before its response was complete.
  H2Verdict on_client_reset(H2Clock::time_point now);
  // A control frame (or an empty DATA frame without END_STREAM) arrived.
  H2Verdict on_control_frame(H2Clock::time_point now, H2ControlFrame f);
  // A HEADERS frame starts a header block; a CONTINUATION frame adds to it.
  // `bytes`: the frame's payload length. Called as each frame begins, before
  // its header block fragment is decoded.
  H2Verdict on_headers_frame(std::size_t bytes);
  H2Verdict on_continuation_frame(std::size_t bytes);

 private:
  H2Verdict header_block_frame(std::size_t bytes);
  H2Limits limits_;
  WindowCounter completed_;
  WindowCounter resets_;
  WindowCounter control_;
  std::size_t block_frames_ = 0;
  std::size_t block_bytes_ = 0;
};

}  // namespace airgate::http::rules
