#include "http/rules/h2_limits.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::http::rules;
using namespace std::chrono_literals;

namespace {

// Any fixed start: nothing reads the clock.
const H2Clock::time_point t0 = H2Clock::time_point{} + 1000h;

bool mentions(const H2Verdict& v, std::string_view s) { return v.detail.find(s) != std::string::npos; }

}  // namespace

TEST_CASE("h2 defaults and names", "[h2]") {
  const H2Limits l;
  CHECK(l.window == 10s);
  CHECK(l.rapid_reset_floor == 100);
  CHECK(l.control_frame_budget == 1000);
  CHECK(l.control_frames_per_stream == 10);
  CHECK(l.max_header_block_frames == 16);
  CHECK(l.max_header_block_bytes == 64 * 1024);
  CHECK(abuse_name(H2Abuse::none) == "none");
  CHECK(abuse_name(H2Abuse::rapid_reset) == "rapid_reset");
  CHECK(abuse_name(H2Abuse::control_flood) == "control_flood");
  CHECK(abuse_name(H2Abuse::continuation_flood) == "continuation_flood");
}

TEST_CASE("h2 window counter slides", "[h2]") {
  WindowCounter c(10s);
  c.add(t0, 5);
  c.add(t0 + 3s);
  CHECK(c.total(t0) == 5);
  CHECK(c.total(t0 + 3s) == 6);
  CHECK(c.total(t0 + 9s) == 6);
  CHECK(c.total(t0 + 10s) == 1);  // the first slot left the window
  CHECK(c.total(t0 + 13s) == 0);
  c.add(t0 + 25s, 2);  // reuses a slot: the old count is gone
  CHECK(c.total(t0 + 25s) == 2);
  CHECK(WindowCounter(0s).total(t0) == 0);
}

TEST_CASE("h2 rapid reset: a client that only opens and cancels is stopped", "[h2]") {
  H2Accounting a;
  for (int i = 0; i < 100; ++i) REQUIRE(a.on_client_reset(t0 + std::chrono::milliseconds(i)).ok());
  const auto v = a.on_client_reset(t0 + 100ms);
  CHECK(v.abuse == H2Abuse::rapid_reset);
  CHECK(mentions(v, "101 streams reset by the client and 0 completed"));
}

TEST_CASE("h2 rapid reset: resets up to the completed streams are fine", "[h2]") {
  H2Accounting a;
  for (int i = 0; i < 500; ++i) a.on_stream_completed(t0);
  for (int i = 0; i < 500; ++i) REQUIRE(a.on_client_reset(t0 + 1s).ok());
  CHECK(a.on_client_reset(t0 + 1s).abuse == H2Abuse::rapid_reset);
}

TEST_CASE("h2 rapid reset: a browser cancelling now and then is never stopped", "[h2]") {
  H2Accounting a;
  // An hour of 20 requests a second, one in ten cancelled; and cancels that
  // stay under the floor even with no completed streams in the window.
  for (int s = 0; s < 3600; ++s) {
    const auto now = t0 + std::chrono::seconds(s);
    for (int i = 0; i < 18; ++i) a.on_stream_completed(now);
    for (int i = 0; i < 2; ++i) REQUIRE(a.on_client_reset(now).ok());
  }
  H2Accounting idle;
  for (int s = 0; s < 600; ++s) REQUIRE(idle.on_client_reset(t0 + std::chrono::seconds(s)).ok());
}

TEST_CASE("h2 rapid reset: old resets leave the window", "[h2]") {
  H2Accounting a;
  for (int i = 0; i < 100; ++i) REQUIRE(a.on_client_reset(t0).ok());
  for (int i = 0; i < 100; ++i) REQUIRE(a.on_client_reset(t0 + 10s).ok());
  CHECK_FALSE(a.on_client_reset(t0 + 10s).ok());
}

TEST_CASE("h2 control frames: a budget per window, more with real work", "[h2]") {
  for (auto f : {H2ControlFrame::settings, H2ControlFrame::ping, H2ControlFrame::priority,
                 H2ControlFrame::window_update, H2ControlFrame::rst_stream, H2ControlFrame::empty_data}) {
    H2Accounting a;
    for (int i = 0; i < 1000; ++i) REQUIRE(a.on_control_frame(t0, f).ok());
    const auto v = a.on_control_frame(t0, f);
    CHECK(v.abuse == H2Abuse::control_flood);
    CHECK(mentions(v, "1001 control frames"));
    CHECK(mentions(v, "the last one " + std::string(frame_name(f))));
  }
  H2Accounting busy;
  for (int i = 0; i < 50; ++i) busy.on_stream_completed(t0);
  for (int i = 0; i < 1500; ++i) REQUIRE(busy.on_control_frame(t0, H2ControlFrame::window_update).ok());
  const auto v = busy.on_control_frame(t0, H2ControlFrame::window_update);
  CHECK(v.abuse == H2Abuse::control_flood);
  CHECK(mentions(v, "budget 1500"));
  // A steady 90 PINGs a second is under 1000 per 10 s, forever.
  H2Accounting steady;
  for (int s = 0; s < 120; ++s)
    for (int i = 0; i < 90; ++i)
      REQUIRE(steady.on_control_frame(t0 + std::chrono::seconds(s), H2ControlFrame::ping).ok());
}

TEST_CASE("h2 CONTINUATION: frames and bytes of one header block", "[h2]") {
  H2Accounting a;
  REQUIRE(a.on_headers_frame(100).ok());
  for (int i = 0; i < 15; ++i) REQUIRE(a.on_continuation_frame(100).ok());
  const auto v = a.on_continuation_frame(100);
  CHECK(v.abuse == H2Abuse::continuation_flood);
  CHECK(mentions(v, "more than 16 frames"));

  // Each HEADERS frame starts the count again.
  H2Accounting b;
  for (int block = 0; block < 100; ++block) {
    REQUIRE(b.on_headers_frame(10).ok());
    for (int i = 0; i < 14; ++i) REQUIRE(b.on_continuation_frame(10).ok());
    REQUIRE(b.on_continuation_frame(10).ok());
    REQUIRE(b.on_headers_frame(10).ok());
  }

  H2Accounting c;
  REQUIRE(c.on_headers_frame(16384).ok());
  REQUIRE(c.on_continuation_frame(16384).ok());
  REQUIRE(c.on_continuation_frame(16384).ok());
  REQUIRE(c.on_continuation_frame(16384).ok());
  const auto big = c.on_continuation_frame(1);
  CHECK(big.abuse == H2Abuse::continuation_flood);
  CHECK(mentions(big, "larger than 65536 bytes before END_HEADERS"));
  CHECK(H2Accounting().on_headers_frame(65536).ok());
  CHECK_FALSE(H2Accounting().on_headers_frame(static_cast<std::size_t>(-1)).ok());

  H2Limits small;
  small.max_header_block_frames = 2;
  H2Accounting d(small);
  REQUIRE(d.on_headers_frame(1).ok());
  REQUIRE(d.on_continuation_frame(1).ok());
  CHECK_FALSE(d.on_continuation_frame(1).ok());
}
