#include "access/session_token.hpp"

#include "access/base64.hpp"
#include "access/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace airgate::access {
namespace {

constexpr std::string_view kPrefix = "v1.";
constexpr std::size_t kFixedPayload = 16 + 3 * 8 + 16;  // id, times, fingerprint
constexpr std::size_t kMaxUser = 255;
constexpr std::size_t kMacBytes = 32;

void put_u64(std::string& out, std::int64_t v) {
  auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((u >> shift) & 0xff);
}

std::int64_t get_u64(std::string_view in, std::size_t at) {
  std::uint64_t u = 0;
  for (std::size_t i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(in[at + i]);
  return static_cast<std::int64_t>(u);
}

std::string_view as_view(const HmacSha256::Digest& d, std::size_t n = kMacBytes) {
  return {reinterpret_cast<const char*>(d.data()), n};
}

// One key per purpose, HMAC(secret, label), so a MAC made for one purpose is
// never valid for another.
HmacSha256 derive(std::string_view secret, std::string_view label) {
  if (secret.size() < kSessionSecretMinBytes) {
    throw std::invalid_argument("session secret is " + std::to_string(secret.size()) + " bytes; at least " +
                                std::to_string(kSessionSecretMinBytes) + " are needed");
  }
  auto key = HmacSha256(secret).mac({"airgate session key v1:", label});
  HmacSha256 derived(as_view(key));
  OPENSSL_cleanse(key.data(), key.size());
  return derived;
}

}  // namespace

std::string_view reject_word(SessionReject r) {
  switch (r) {
    case SessionReject::malformed: return "malformed";
    case SessionReject::bad_mac: return "bad_mac";
    case SessionReject::expired: return "expired";
    case SessionReject::idle: return "idle";
    case SessionReject::revoked: return "revoked";
    case SessionReject::credential_changed: return "credential_changed";
  }
  return "malformed";
}

SessionKeys::SessionKeys(std::string_view secret)
    : mac_(derive(secret, "cookie mac")),
      fingerprint_(derive(secret, "credential fingerprint")),
      csrf_(derive(secret, "login csrf")) {}

std::string SessionKeys::random_secret() {
  std::string s(kSessionSecretMinBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(s.size())) != 1)
    throw std::runtime_error("cannot make a session secret (RAND_bytes failed)");
  return s;
}

std::string new_login_nonce() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("cannot make a login nonce (RAND_bytes failed)");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

bool is_login_nonce(std::string_view value) {
  if (value.size() != 22) return false;
  for (char c : value)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

CredentialFingerprint SessionKeys::fingerprint(std::string_view user, std::string_view hash) const {
  // Length-prefixed so ("ab", "c") and ("a", "bc") differ.
  const std::string len = std::to_string(user.size()) + ":";
  auto d = fingerprint_.mac({len, user, hash});
  CredentialFingerprint fp{};
  std::copy_n(d.begin(), fp.size(), fp.begin());
  return fp;
}

std::string SessionKeys::encode(const SessionClaims& c) const {
  std::string payload;
  payload.reserve(kFixedPayload + c.user.size());
  payload.append(reinterpret_cast<const char*>(c.id.data()), c.id.size());
  put_u64(payload, c.issued);
  put_u64(payload, c.expires);
  put_u64(payload, c.refreshed);
  payload.append(reinterpret_cast<const char*>(c.fingerprint.data()), c.fingerprint.size());
  payload += c.user;
  std::string token(kPrefix);
  token += base64url_encode(payload);
  auto mac = mac_.mac(token);
  token += '.';
  token += base64url_encode(as_view(mac));
  return token;
}

std::optional<SessionClaims> SessionKeys::decode(std::string_view token, SessionReject* why) const {
  auto fail = [&](SessionReject r) -> std::optional<SessionClaims> {
    if (why) *why = r;
    return std::nullopt;
  };
  // Bounded before any work: the longest valid token is about 450 bytes.
  if (token.size() > 600 || token.substr(0, kPrefix.size()) != kPrefix) return fail(SessionReject::malformed);
  const std::size_t dot = token.rfind('.');
  if (dot < kPrefix.size()) return fail(SessionReject::malformed);
  const std::string_view signed_part = token.substr(0, dot);
  auto mac = base64url_decode(token.substr(dot + 1));
  if (!mac || mac->size() != kMacBytes) return fail(SessionReject::malformed);
  auto expected = mac_.mac(signed_part);
  if (!equal_constant_time(*mac, as_view(expected))) return fail(SessionReject::bad_mac);
  auto payload = base64url_decode(signed_part.substr(kPrefix.size()));
  if (!payload || payload->size() <= kFixedPayload || payload->size() > kFixedPayload + kMaxUser)
    return fail(SessionReject::malformed);
  SessionClaims c;
  std::copy_n(payload->begin(), c.id.size(), c.id.begin());
  c.issued = get_u64(*payload, 16);
  c.expires = get_u64(*payload, 24);
  c.refreshed = get_u64(*payload, 32);
  std::copy_n(payload->begin() + 40, c.fingerprint.size(), c.fingerprint.begin());
  c.user = payload->substr(kFixedPayload);
  return c;
}

std::string SessionKeys::csrf_token(std::string_view nonce) const {
  return base64url_encode(as_view(csrf_.mac(nonce)));
}

bool SessionKeys::csrf_valid(std::string_view nonce, std::string_view token) const {
  if (nonce.empty() || token.empty()) return false;
  return equal_constant_time(csrf_token(nonce), token);
}

std::optional<SessionReject> check_times(const SessionClaims& c, std::int64_t now, std::chrono::seconds idle_timeout) {
  if (now >= c.expires || c.issued > now + 60) return SessionReject::expired;
  if (idle_timeout.count() > 0 && now >= c.refreshed + idle_timeout.count()) return SessionReject::idle;
  return std::nullopt;
}

bool needs_refresh(const SessionClaims& c, std::int64_t now) {
  return now - c.refreshed >= kSessionRefreshInterval.count();
}

std::string base64url_encode(std::string_view bytes) {
  std::string s = base64_encode(bytes);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& ch : s) {
    if (ch == '+')
      ch = '-';
    else if (ch == '/')
      ch = '_';
  }
  return s;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string s;
  s.reserve(text.size() + 3);
  for (char ch : text) {
    // The standard alphabet's '+', '/' and '=' are not base64url.
    if (ch == '+' || ch == '/' || ch == '=') return std::nullopt;
    s += ch == '-' ? '+' : ch == '_' ? '/' : ch;
  }
  while (s.size() % 4 != 0) s += '=';
  return base64_decode(s);
}

}  // namespace airgate::access
