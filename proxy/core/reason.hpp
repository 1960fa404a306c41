// Why a request was allowed, denied or failed: one enum for the access log,
// the JSON error bodies, the metric labels and the default status of a local
// reply. No Asio here.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace airgate::core {

// The order inside each metric family is the order of its labels in /metrics.
enum class Reason {
  // Access allowed.
  public_path,
  no_checks,
  allowlist,
  basic_auth,
  session,  // a valid browser session cookie stood in for the Basic credential
  // Access denied (metric family auth_failure).
  missing_credentials,
  malformed_credentials,
  unknown_user,
  invalid_password,
  ip_not_allowed,
  forbidden_user,  // authenticated, but not among a route's access.users
  throttled,
  // Upstream failures (metric family upstream_error).
  upstream_refused,
  upstream_connect_timeout,
  upstream_resolve,
  upstream_tls,
  upstream_unreachable,
  upstream_read_timeout,
  upstream_send_timeout,
  upstream_closed,
  upstream_bad_response,
  upstream_truncated,
  upstream_write_failed,
  // The request or the client.
  header_too_large,
  malformed_request,
  bad_path,  // a request path that cannot be normalised safely
  http_version_not_supported,
  redirect_to_https,
  body_too_large,
  client_body_timeout,
  client_body_too_slow,
  client_body_error,
  too_many_uploads,
  client_gone,
  // airgate's own pages under /.airgate/ (the login flow, design of browser sessions).
  login_required,  // a browser navigation without credentials: 303 to the login page
  login_page,      // the login form shown
  login,           // a login by the form: 303 to where the user was going, with a session
  login_expired,   // the form's login-CSRF check failed (expired, replayed or another site's form)
  logout,          // the session ended: 303 to the login page
  not_found,       // a path under /.airgate/ that is none of the above
};

inline constexpr std::size_t kReasonCount = static_cast<std::size_t>(Reason::not_found) + 1;

// The stable snake_case word: access log `reason`, JSON error `error`, metric label.
constexpr std::string_view log_word(Reason r) {
  switch (r) {
    case Reason::public_path: return "public_path";
    case Reason::no_checks: return "no_checks";
    case Reason::allowlist: return "allowlist";
    case Reason::basic_auth: return "basic_auth";
    case Reason::session: return "session";
    case Reason::missing_credentials: return "missing_credentials";
    case Reason::malformed_credentials: return "malformed_credentials";
    case Reason::unknown_user: return "unknown_user";
    case Reason::invalid_password: return "invalid_password";
    case Reason::ip_not_allowed: return "ip_not_allowed";
    case Reason::forbidden_user: return "forbidden_user";
    case Reason::throttled: return "throttled";
    case Reason::upstream_refused: return "upstream_refused";
    case Reason::upstream_connect_timeout: return "upstream_connect_timeout";
    case Reason::upstream_resolve: return "upstream_resolve";
    case Reason::upstream_tls: return "upstream_tls";
    case Reason::upstream_unreachable: return "upstream_unreachable";
    case Reason::upstream_read_timeout: return "upstream_read_timeout";
    case Reason::upstream_send_timeout: return "upstream_send_timeout";
    case Reason::upstream_closed: return "upstream_closed";
    case Reason::upstream_bad_response: return "upstream_bad_response";
    case Reason::upstream_truncated: return "upstream_truncated";
    case Reason::upstream_write_failed: return "upstream_write_failed";
    case Reason::header_too_large: return "header_too_large";
    case Reason::malformed_request: return "malformed_request";
    case Reason::bad_path: return "bad_path";
    case Reason::http_version_not_supported: return "http_version_not_supported";
    case Reason::redirect_to_https: return "redirect_to_https";
    case Reason::body_too_large: return "body_too_large";
    case Reason::client_body_timeout: return "client_body_timeout";
    case Reason::client_body_too_slow: return "client_body_too_slow";
    case Reason::client_body_error: return "client_body_error";
    case Reason::too_many_uploads: return "too_many_uploads";
    case Reason::client_gone: return "client_gone";
    case Reason::login_required: return "login_required";
    case Reason::login_page: return "login_page";
    case Reason::login: return "login";
    case Reason::login_expired: return "login_expired";
    case Reason::logout: return "logout";
    case Reason::not_found: return "not_found";
  }
  return "";
}

// The word's Reason, or nullopt.
constexpr std::optional<Reason> reason_from_word(std::string_view word) {
  for (std::size_t i = 0; i < kReasonCount; ++i)
    if (log_word(static_cast<Reason>(i)) == word) return static_cast<Reason>(i);
  return std::nullopt;
}

enum class MetricFamily { auth_failure, upstream_error, other };

constexpr MetricFamily metric_family(Reason r) {
  if (r >= Reason::missing_credentials && r <= Reason::throttled) return MetricFamily::auth_failure;
  if (r >= Reason::upstream_refused && r <= Reason::upstream_write_failed) return MetricFamily::upstream_error;
  return MetricFamily::other;
}

// The status of a local reply for this reason; 0 for the allow reasons, which
// have none. A caller may answer another status (client_gone mid-response).
constexpr int default_status(Reason r) {
  switch (r) {
    case Reason::public_path:
    case Reason::no_checks:
    case Reason::allowlist:
    case Reason::basic_auth:
    case Reason::session: return 0;
    case Reason::missing_credentials:
    case Reason::malformed_credentials:
    case Reason::unknown_user:
    case Reason::invalid_password: return 401;
    case Reason::ip_not_allowed:
    case Reason::forbidden_user: return 403;
    case Reason::throttled: return 429;
    case Reason::upstream_connect_timeout:
    case Reason::upstream_read_timeout:
    case Reason::upstream_send_timeout: return 504;
    case Reason::upstream_refused:
    case Reason::upstream_resolve:
    case Reason::upstream_tls:
    case Reason::upstream_unreachable:
    case Reason::upstream_closed:
    case Reason::upstream_bad_response:
    case Reason::upstream_truncated:
    case Reason::upstream_write_failed: return 502;
    case Reason::header_too_large: return 431;
    case Reason::malformed_request:
    case Reason::bad_path: return 400;
    case Reason::http_version_not_supported: return 505;
    case Reason::redirect_to_https: return 308;
    case Reason::body_too_large: return 413;
    case Reason::client_body_timeout:
    case Reason::client_body_too_slow: return 408;
    case Reason::client_body_error: return 400;
    case Reason::too_many_uploads: return 429;
    case Reason::client_gone: return 400;
    case Reason::login_page: return 200;
    case Reason::login_required:
    case Reason::login:
    case Reason::logout: return 303;
    case Reason::login_expired: return 403;
    case Reason::not_found: return 404;
  }
  return 0;
}

// The reasons of one metric family, in enum order (the /metrics label order).
template <MetricFamily F>
constexpr auto reasons_of() {
  constexpr std::size_t n = [] {
    std::size_t count = 0;
    for (std::size_t i = 0; i < kReasonCount; ++i) count += metric_family(static_cast<Reason>(i)) == F;
    return count;
  }();
  std::array<Reason, n> out{};
  std::size_t k = 0;
  for (std::size_t i = 0; i < kReasonCount; ++i)
    if (metric_family(static_cast<Reason>(i)) == F) out[k++] = static_cast<Reason>(i);
  return out;
}

}  // namespace airgate::core
