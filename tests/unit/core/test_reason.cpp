#include "core/reason.hpp"
#include "observe/metrics.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

using namespace airgate::core;

TEST_CASE("every Reason has a distinct non-empty snake_case word", "[core][reason]") {
  std::set<std::string> words;
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const auto word = log_word(static_cast<Reason>(i));
    INFO("reason #" << i << ": " << std::string(word));
    REQUIRE_FALSE(word.empty());
    CHECK(word.front() != '_');
    CHECK(word.back() != '_');
    for (char c : word) CHECK(((c >= 'a' && c <= 'z') || c == '_'));
    CHECK(words.insert(std::string(word)).second);
  }
  CHECK(words.size() == kReasonCount);
}

TEST_CASE("the words metrics export round-trip to their Reason and family", "[core][reason]") {
  using airgate::observe::Metrics;
  for (Reason r : Metrics::kAuthFailureReasons) {
    CHECK(reason_from_word(log_word(r)) == r);
    CHECK(metric_family(r) == MetricFamily::auth_failure);
  }
  for (Reason r : Metrics::kUpstreamErrorKinds) {
    CHECK(reason_from_word(log_word(r)) == r);
    CHECK(metric_family(r) == MetricFamily::upstream_error);
    CHECK(log_word(r).substr(0, 9) == "upstream_");
  }
  // The /metrics label order, which dashboards and tests read.
  CHECK(Metrics::kAuthFailureReasons.size() == 7);  // forbidden_user: a route's access.users
  CHECK(log_word(Metrics::kAuthFailureReasons.front()) == "missing_credentials");
  CHECK(log_word(Metrics::kAuthFailureReasons.back()) == "throttled");
  CHECK(Metrics::kUpstreamErrorKinds.size() == 11);
  CHECK(log_word(Metrics::kUpstreamErrorKinds.front()) == "upstream_refused");
  CHECK(log_word(Metrics::kUpstreamErrorKinds.back()) == "upstream_write_failed");
  CHECK_FALSE(reason_from_word("other").has_value());
  CHECK_FALSE(reason_from_word("").has_value());
}

TEST_CASE("default statuses", "[core][reason]") {
  CHECK(default_status(Reason::basic_auth) == 0);
  CHECK(default_status(Reason::public_path) == 0);
  CHECK(default_status(Reason::missing_credentials) == 401);
  CHECK(default_status(Reason::ip_not_allowed) == 403);
  CHECK(default_status(Reason::forbidden_user) == 403);
  CHECK(default_status(Reason::bad_path) == 400);
  CHECK(default_status(Reason::throttled) == 429);
  CHECK(default_status(Reason::body_too_large) == 413);
  CHECK(default_status(Reason::header_too_large) == 431);
  CHECK(default_status(Reason::upstream_refused) == 502);
  CHECK(default_status(Reason::upstream_connect_timeout) == 504);
  CHECK(default_status(Reason::upstream_read_timeout) == 504);
  for (std::size_t i = 0; i < kReasonCount; ++i) {
    const auto r = static_cast<Reason>(i);
    if (metric_family(r) != MetricFamily::other) CHECK(default_status(r) >= 400);
  }
}
