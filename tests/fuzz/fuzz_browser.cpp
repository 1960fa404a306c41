// Fuzz target: what a browser (or an attacker posing as one) sends to the
// login flow. The first byte picks the parser, the rest is its input:
//   0: an application/x-www-form-urlencoded body (http::rules::parse_form)
//   1: a request target's query (query_value "rd") and the rd check
//   2: a Cookie header (find_cookie / remove_cookie of the session cookie)
//   3: a session cookie value (SessionKeys::decode under a fixed secret)
// Invariants: safe_redirect_target returns "/" or a path a browser cannot
// resolve to another origin; login_location's rd decodes back to the safe
// target; after remove_cookie the session cookie is gone and nothing else
// changed when it was absent; a token that decodes re-encodes to itself.
#include "access/session_cookie.hpp"
#include "access/session_token.hpp"
#include "http/rules/browser.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace airgate;

namespace {

void check_target(const std::string& t) {
  if (t.empty() || t[0] != '/') __builtin_trap();
  if (t.size() > 1 && (t[1] == '/' || t[1] == '\\')) __builtin_trap();
  for (char c : t) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '\\') __builtin_trap();
  }
}

void redirect(std::string_view in) {
  if (auto rd = http::rules::query_value(in, "rd")) check_target(http::rules::safe_redirect_target(*rd));
  const std::string safe = http::rules::safe_redirect_target(in);
  check_target(safe);
  const std::string loc = http::rules::login_location(in);
  auto back = http::rules::query_value(loc, "rd");
  if (back ? *back != safe : safe != "/") __builtin_trap();
}

void cookies(std::string_view in) {
  const std::string_view name = access::kSessionCookie;
  bool removed = false;
  const std::string rest = access::remove_cookie(in, name, &removed);
  if (access::find_cookie(rest, name)) __builtin_trap();
  if (!removed && rest != in) __builtin_trap();
  if (removed != access::find_cookie(in, name).has_value()) __builtin_trap();
}

void token(std::string_view in) {
  static const access::SessionKeys keys(std::string(32, 'k'));
  if (auto c = keys.decode(in)) {
    if (keys.encode(*c) != in) __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto f = http::rules::parse_form(in)) (void)http::rules::form_value(*f, "username");
      break;
    case 1: redirect(in); break;
    case 2: cookies(in); break;
    default: token(in); break;
  }
  return 0;
}
