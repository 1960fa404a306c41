#include "observe/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace airgate::observe {

namespace {
constexpr auto relaxed = std::memory_order_relaxed;

std::string label_escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}
}  // namespace

void Metrics::request(int status, double seconds, bool http2) {
  requests_by_protocol_[http2 ? 1 : 0].fetch_add(1, relaxed);
  if (status >= 100 && status < 600) requests_by_status_[status].fetch_add(1, relaxed);
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  latency_buckets_[i].fetch_add(1, relaxed);  // non-cumulative here; summed at scrape
  latency_sum_us_.fetch_add(static_cast<std::uint64_t>(std::max(0.0, seconds) * 1e6), relaxed);
}

void Metrics::failure(core::Reason reason) {
  for (std::size_t i = 0; i < kAuthFailureReasons.size(); ++i)
    if (kAuthFailureReasons[i] == reason) auth_failures_[i].fetch_add(1, relaxed);
  for (std::size_t i = 0; i < kUpstreamErrorKinds.size(); ++i)
    if (kUpstreamErrorKinds[i] == reason) upstream_errors_[i].fetch_add(1, relaxed);
}

std::string Metrics::exposition(const Sample& s) const {
  std::string out;
  out.reserve(4096);

  header(out, "airgate_requests_total", "counter", "Requests answered, by HTTP status code.");
  for (int code = 100; code < 600; ++code)
    if (auto n = requests_by_status_[code].load(relaxed))
      out += fmt::format("airgate_requests_total{{code=\"{}\"}} {}\n", code, n);

  header(out, "airgate_requests_by_protocol_total", "counter",
         "Requests answered, by the protocol the client spoke (HTTP/1.x or HTTP/2).");
  out += fmt::format("airgate_requests_by_protocol_total{{protocol=\"http/1.1\"}} {}\n",
                     requests_by_protocol_[0].load(relaxed));
  out += fmt::format("airgate_requests_by_protocol_total{{protocol=\"h2\"}} {}\n",
                     requests_by_protocol_[1].load(relaxed));
  header(out, "airgate_http2_connections_total", "counter", "Client connections that negotiated HTTP/2.");
  out += fmt::format("airgate_http2_connections_total {}\n", http2_connections_.load(relaxed));
  header(out, "airgate_http2_abuse_total", "counter",
         "HTTP/2 connections sent GOAWAY (rapid_reset, control_flood, continuation_flood, protocol_error) and "
         "streams refused (the others), by kind.");
  for (std::size_t i = 0; i < kHttp2Abuses.size(); ++i)
    out += fmt::format("airgate_http2_abuse_total{{kind=\"{}\"}} {}\n", kHttp2Abuses[i],
                       http2_abuses_[i].load(relaxed));

  header(out, "airgate_request_duration_seconds", "histogram",
         "Time from the first byte of the request head to the end of the response.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_buckets_[i].load(relaxed);
    out += fmt::format("airgate_request_duration_seconds_bucket{{le=\"{}\"}} {}\n", kLatencyBuckets[i], cumulative);
  }
  cumulative += latency_buckets_.back().load(relaxed);
  out += fmt::format("airgate_request_duration_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("airgate_request_duration_seconds_sum {:.6f}\n", latency_sum_us_.load(relaxed) / 1e6);
  out += fmt::format("airgate_request_duration_seconds_count {}\n", cumulative);

  header(out, "airgate_auth_failures_total", "counter", "Denied requests, by reason.");
  for (std::size_t i = 0; i < kAuthFailureReasons.size(); ++i)
    out += fmt::format("airgate_auth_failures_total{{reason=\"{}\"}} {}\n", core::log_word(kAuthFailureReasons[i]),
                       auth_failures_[i].load(relaxed));

  header(out, "airgate_upstream_errors_total", "counter", "Upstream failures, by kind.");
  for (std::size_t i = 0; i < upstream_errors_.size(); ++i)
    out += fmt::format("airgate_upstream_errors_total{{kind=\"{}\"}} {}\n",
                       i < kUpstreamErrorKinds.size() ? core::log_word(kUpstreamErrorKinds[i]) : "other",
                       upstream_errors_[i].load(relaxed));

  header(out, "airgate_sessions_issued_total", "counter", "Browser session cookies issued after a login.");
  out += fmt::format("airgate_sessions_issued_total {}\n", sessions_issued_.load(relaxed));
  header(out, "airgate_sessions_rejected_total", "counter", "Session cookies presented that did not count, by reason.");
  for (std::size_t i = 0; i < kSessionRejects.size(); ++i)
    out += fmt::format("airgate_sessions_rejected_total{{reason=\"{}\"}} {}\n", kSessionRejects[i],
                       sessions_rejected_[i].load(relaxed));
  header(out, "airgate_logins_total", "counter", "Logins through the login form, by outcome.");
  for (std::size_t i = 0; i < kLoginOutcomes.size(); ++i)
    out += fmt::format("airgate_logins_total{{outcome=\"{}\"}} {}\n", kLoginOutcomes[i], logins_[i].load(relaxed));

  header(out, "airgate_active_connections", "gauge", "Open client connections.");
  out += fmt::format("airgate_active_connections {}\n", s.active_connections);
  header(out, "airgate_tls_handshake_failures_total", "counter", "Failed client TLS handshakes.");
  out += fmt::format("airgate_tls_handshake_failures_total {}\n", tls_handshake_failures_.load(relaxed));
  header(out, "airgate_reloads_total", "counter", "Configuration reloads, by result.");
  out += fmt::format("airgate_reloads_total{{result=\"success\"}} {}\n", reloads_ok_.load(relaxed));
  out += fmt::format("airgate_reloads_total{{result=\"failure\"}} {}\n", reloads_failed_.load(relaxed));
  header(out, "airgate_credential_verifications_total", "counter",
         "Password hash verifications run (cache misses) since the last reload.");
  out += fmt::format("airgate_credential_verifications_total {}\n", s.credential_verifications);
  header(out, "airgate_credential_cache_entries", "gauge", "Entries in the verified-credential cache.");
  out += fmt::format("airgate_credential_cache_entries {}\n", s.credential_cache_entries);
  header(out, "airgate_certificate_expiry_timestamp_seconds", "gauge",
         "notAfter of each served certificate, unix time.");
  for (const auto& c : s.certificates)
    out += fmt::format("airgate_certificate_expiry_timestamp_seconds{{listener=\"{}\",certificate=\"{}\"}} {}\n",
                       label_escape(c.listener), label_escape(c.certificate), c.not_after);
  return out;
}

}  // namespace airgate::observe
