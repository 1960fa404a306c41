// What a browser needs from the login flow, as pure functions: telling a
// navigation from a script's fetch, the login page's own paths, the `rd`
// (return-to) target that must never become an open redirect, and the
// `application/x-www-form-urlencoded` body of the login form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airgate::http::rules {

// airgate's own prefix: never forwarded upstream.
constexpr std::string_view kOwnPrefix = "/.airgate/";
constexpr std::string_view kLoginPath = "/.airgate/login";
constexpr std::string_view kLogoutPath = "/.airgate/logout";
// Longest `rd` kept; a longer one is replaced by "/".
constexpr std::size_t kMaxRedirectTarget = 2048;

// A top-level browser navigation: GET or HEAD with `Sec-Fetch-Mode: navigate`
// (sent by every current browser; scripts cannot set it).
bool is_navigation(std::string_view method, std::string_view sec_fetch_mode);
// A request made by a browser (any Sec-Fetch-Mode): a 401 to it must not carry
// `WWW-Authenticate: Basic`, or the browser shows its native dialog.
inline bool is_browser_request(std::string_view sec_fetch_mode) { return !sec_fetch_mode.empty(); }
// A browser's script (fetch, XHR, a subresource): a browser request that is
// not a navigation. A navigation of any method (a form POST too) shows its
// answer as the page, where the browser's own dialog is expected.
inline bool is_browser_script(std::string_view sec_fetch_mode) {
  return is_browser_request(sec_fetch_mode) && sec_fetch_mode != "navigate";
}

// `rd` when it is a safe same-origin target (a path starting with one "/",
// no "//" or "/\" prefix, no backslash, no control character or space, no
// scheme, at most kMaxRedirectTarget bytes, not airgate's own login/logout
// page); "/" otherwise. Browsers treat "\" like "/" and drop tabs and
// newlines inside URLs, so those are refused anywhere in the target.
std::string safe_redirect_target(std::string_view rd);

// "/.airgate/login?rd=<target percent-encoded>" for the request target
// `original` (path and query as the client sent it).
std::string login_location(std::string_view original);

// Percent-encoding for a query value (everything but RFC 3986 unreserved).
std::string percent_encode(std::string_view s);

// Parses an application/x-www-form-urlencoded body ('+' is a space, %XX an
// octet). nullopt on a malformed escape or more than `max_fields` fields.
using FormFields = std::vector<std::pair<std::string, std::string>>;
std::optional<FormFields> parse_form(std::string_view body, std::size_t max_fields = 16);
// The first value of `name`, or nullopt.
std::optional<std::string_view> form_value(const FormFields& f, std::string_view name);

// The value of query parameter `name` in a request target ("/p?a=1&rd=%2Fx"),
// percent-decoded; nullopt when absent or malformed.
std::optional<std::string> query_value(std::string_view target, std::string_view name);

}  // namespace airgate::http::rules
