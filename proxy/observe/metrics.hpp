// Process metrics for /metrics (design §7), Prometheus text exposition format.
// Counters are relaxed atomics: workers bump them without locks; a scrape
// reads a slightly fuzzy but never torn snapshot.
#pragma once

#include "core/reason.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::observe {

class Metrics {
 public:
  // Upper bounds of the latency histogram buckets, seconds.
  static constexpr std::array<double, 15> kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                             2.5,   5,    10,    30,   60,  300,  3600};
  // Labels with a fixed set of values: the Reasons of each metric family, in
  // enum order. The upstream errors also export a series labelled "other",
  // kept for dashboards; every upstream failure has its own Reason, so it stays 0.
  static constexpr auto kAuthFailureReasons = core::reasons_of<core::MetricFamily::auth_failure>();
  static constexpr auto kUpstreamErrorKinds = core::reasons_of<core::MetricFamily::upstream_error>();

  // `http2`: the request came on an HTTP/2 stream (else HTTP/1.x).
  void request(int status, double seconds, bool http2 = false);
  // Counts the reason in its metric family (auth failures, upstream errors);
  // reasons of no family are ignored.
  void failure(core::Reason reason);
  void tls_handshake_failure() { tls_handshake_failures_.fetch_add(1, std::memory_order_relaxed); }
  // Browser sessions: cookies issued after a login, and presented cookies
  // that did not count, by why (kSessionRejects, in access::SessionReject order).
  static constexpr std::array<std::string_view, 6> kSessionRejects = {"malformed", "bad_mac", "expired",
                                                                      "idle",      "revoked", "credential_changed"};
  void session_issued() { sessions_issued_.fetch_add(1, std::memory_order_relaxed); }
  void session_rejected(std::size_t why) {
    if (why < sessions_rejected_.size()) sessions_rejected_[why].fetch_add(1, std::memory_order_relaxed);
  }
  // Logins through the login form, by outcome (kLoginOutcomes order).
  enum class Login { success, failure, throttled, expired, forbidden };
  static constexpr std::array<std::string_view, 5> kLoginOutcomes = {"success", "failure", "throttled", "expired",
                                                                     "forbidden"};
  void login(Login outcome) { logins_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed); }
  // HTTP/2: connections that negotiated h2, and what the abuse limits
  // stopped, by kind (kHttp2Abuses order; the first three are
  // http::rules::H2Abuse's GOAWAY kinds, the others stream refusals).
  static constexpr std::array<std::string_view, 7> kHttp2Abuses = {
      "rapid_reset",       "control_flood",           "continuation_flood", "header_list_too_large",
      "malformed_request", "content_length_mismatch", "protocol_error"};
  void http2_connection() { http2_connections_.fetch_add(1, std::memory_order_relaxed); }
  void http2_abuse(std::size_t kind) {
    if (kind < http2_abuses_.size()) http2_abuses_[kind].fetch_add(1, std::memory_order_relaxed);
  }
  void reload(bool ok) { (ok ? reloads_ok_ : reloads_failed_).fetch_add(1, std::memory_order_relaxed); }

  // Gauges and values owned elsewhere, sampled at scrape time.
  struct Sample {
    std::size_t active_connections = 0;
    std::uint64_t credential_verifications = 0;
    std::size_t credential_cache_entries = 0;
    struct Certificate {
      std::string listener;
      std::string certificate;     // file path or "self-signed"
      std::int64_t not_after = 0;  // unix seconds
    };
    std::vector<Certificate> certificates;
  };

  std::string exposition(const Sample& sample) const;

 private:
  std::array<std::atomic<std::uint64_t>, 600> requests_by_status_{};
  std::array<std::atomic<std::uint64_t>, 2> requests_by_protocol_{};  // http/1.1, h2
  std::atomic<std::uint64_t> http2_connections_{0};
  std::array<std::atomic<std::uint64_t>, kHttp2Abuses.size()> http2_abuses_{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_buckets_{};
  std::atomic<std::uint64_t> latency_sum_us_{0};
  std::array<std::atomic<std::uint64_t>, kAuthFailureReasons.size()> auth_failures_{};
  std::array<std::atomic<std::uint64_t>, kUpstreamErrorKinds.size() + 1> upstream_errors_{};  // + "other"
  std::atomic<std::uint64_t> tls_handshake_failures_{0};
  std::atomic<std::uint64_t> reloads_ok_{0};
  std::atomic<std::uint64_t> reloads_failed_{0};
  std::atomic<std::uint64_t> sessions_issued_{0};
  std::array<std::atomic<std::uint64_t>, kSessionRejects.size()> sessions_rejected_{};
  std::array<std::atomic<std::uint64_t>, kLoginOutcomes.size()> logins_{};
};

}  // namespace airgate::observe
