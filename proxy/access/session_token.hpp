// Browser session cookies: the value of `__Host-airgate_session`.
//
// A session token says "this browser logged in as <user>": it is issued after
// any successful login and then stands in for the Basic credential, so a
// single-page app that sets its own `Authorization` keeps working.
//
// Format (version 1), all of it cookie-safe:
//
//   "v1." base64url(payload) "." base64url(HMAC-SHA256(mac_key, "v1." base64url(payload)))
//
//   payload = session id (16 random bytes)
//           | issued, expires, refreshed (3 × 8 bytes, big-endian Unix seconds)
//           | credential fingerprint (16 bytes)
//           | user (the rest, 1..255 bytes)
//
// `expires` is absolute (issued + ttl); `refreshed` slides: a token is valid
// while now < refreshed + idle_timeout, and is re-issued with refreshed = now
// at most once a minute. The fingerprint is an HMAC of the user's current
// credential entry (user and hash as in the users file), so changing or
// removing the user ends their sessions at the next reload. The MAC is checked
// in constant time before anything in the payload is trusted.
//
// Pure: OpenSSL only, no Asio, no clock reads (callers pass `now`).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "access/hmac.hpp"

namespace airgate::access {

constexpr std::string_view kSessionCookie = "__Host-airgate_session";
// The login form's nonce (login-CSRF): set with the form, SameSite=Strict.
constexpr std::string_view kLoginCookie = "__Host-airgate_login";
constexpr std::chrono::seconds kLoginNonceLifetime{3600};
// A session secret shorter than this is refused (it would be guessable).
constexpr std::size_t kSessionSecretMinBytes = 32;
// `refreshed` is moved forward at most this often (one Set-Cookie a minute
// per active browser, not one per request).
constexpr std::chrono::seconds kSessionRefreshInterval{60};

using SessionId = std::array<unsigned char, 16>;
using CredentialFingerprint = std::array<unsigned char, 16>;

struct SessionClaims {
  SessionId id{};
  std::string user;
  std::int64_t issued = 0;     // Unix seconds
  std::int64_t expires = 0;    // absolute end
  std::int64_t refreshed = 0;  // last sliding refresh
  CredentialFingerprint fingerprint{};
};

// Why a presented token does not count. Every one of them means "no
// credentials"; the distinction is for logs and metrics only.
enum class SessionReject { malformed, bad_mac, expired, idle, revoked, credential_changed };
std::string_view reject_word(SessionReject r);

// The keys derived from one session secret. Thread-safe after construction
// (const use only).
class SessionKeys {
 public:
  // `secret` must hold at least kSessionSecretMinBytes bytes (throws
  // std::invalid_argument otherwise). Independent keys are derived for the
  // cookie MAC, the credential fingerprints and the login form's CSRF token,
  // so one can never be replayed as another.
  explicit SessionKeys(std::string_view secret);
  // A fresh random secret (RAND_bytes), for `secret_file: null`.
  static std::string random_secret();

  // 16-byte fingerprint of a credential entry (user + its hash string).
  CredentialFingerprint fingerprint(std::string_view user, std::string_view hash) const;

  std::string encode(const SessionClaims& claims) const;
  // Checks the MAC, then decodes. Does not look at times (see check_times).
  std::optional<SessionClaims> decode(std::string_view token, SessionReject* why = nullptr) const;

  // The hidden form field for a login form shown to a browser holding the
  // nonce cookie `nonce` (login-CSRF: a cross-site form cannot read the
  // cookie, so it cannot produce the field).
  std::string csrf_token(std::string_view nonce) const;
  bool csrf_valid(std::string_view nonce, std::string_view token) const;

 private:
  HmacSha256 mac_;
  HmacSha256 fingerprint_;
  HmacSha256 csrf_;
};

// Validity in time: nullopt when valid, else why not. `idle_timeout` zero or
// negative disables the sliding limit.
std::optional<SessionReject> check_times(const SessionClaims& c, std::int64_t now, std::chrono::seconds idle_timeout);
// True when a valid token should be re-issued with refreshed = now.
bool needs_refresh(const SessionClaims& c, std::int64_t now);

// base64url without padding (RFC 4648 §5), strict on decode.
std::string base64url_encode(std::string_view bytes);
// A fresh login nonce (16 random bytes, base64url: 22 characters), and
// whether a cookie value has that shape (a value of any other shape is
// replaced, never reflected).
std::string new_login_nonce();
bool is_login_nonce(std::string_view value);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace airgate::access
