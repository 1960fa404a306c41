#include "access/hmac.hpp"
#include "access/session_revocations.hpp"
#include "access/session_token.hpp"

#include <catch2/catch.hpp>

#include <openssl/hmac.h>

using namespace airgate::access;
using namespace std::chrono_literals;

namespace {

const std::string kSecret(32, 'k');

SessionClaims claims(std::string user = "alice") {
  SessionClaims c;
  for (std::size_t i = 0; i < c.id.size(); ++i) c.id[i] = static_cast<unsigned char>(i + 1);
  c.user = std::move(user);
  c.issued = 1'700'000'000;
  c.expires = c.issued + 12 * 3600;
  c.refreshed = c.issued;
  c.fingerprint = SessionKeys(kSecret).fingerprint(c.user, "$2y$10$abcdefghijklmnopqrstuv");
  return c;
}

// Flips one character of the token at `pos` to another base64url character.
std::string flip(std::string t, std::size_t pos) {
  t[pos] = t[pos] == 'A' ? 'B' : 'A';
  return t;
}

}  // namespace

TEST_CASE("HmacSha256 matches OpenSSL's HMAC for short and long keys", "[access][session]") {
  for (std::size_t key_len : {0u, 5u, 32u, 64u, 65u, 200u}) {
    const std::string key(key_len, 'x');
    const std::string msg = "the quick brown fox";
    unsigned char expected[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(msg.data()),
         msg.size(), expected, &n);
    auto got = HmacSha256(key).mac({"the quick ", "brown fox"});
    CHECK(std::equal(got.begin(), got.end(), expected));
  }
}

TEST_CASE("a session token round-trips every claim", "[access][session]") {
  SessionKeys keys(kSecret);
  auto c = claims("ünïcode user");
  auto token = keys.encode(c);
  CHECK(token.rfind("v1.", 0) == 0);
  // Cookie-safe: base64url and dots only.
  for (char ch : token) CHECK((std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'));
  auto d = keys.decode(token);
  REQUIRE(d);
  CHECK(d->id == c.id);
  CHECK(d->user == c.user);
  CHECK(d->issued == c.issued);
  CHECK(d->expires == c.expires);
  CHECK(d->refreshed == c.refreshed);
  CHECK(d->fingerprint == c.fingerprint);
}

TEST_CASE("a tampered, truncated or foreign token is refused", "[access][session]") {
  SessionKeys keys(kSecret);
  const auto token = keys.encode(claims());
  SessionReject why{};
  // Every single-character change anywhere in the token is caught.
  for (std::size_t i = 3; i < token.size(); ++i) {
    if (token[i] == '.') continue;
    CHECK_FALSE(keys.decode(flip(token, i), &why));
  }
  CHECK_FALSE(keys.decode(token.substr(0, token.size() - 1), &why));
  CHECK_FALSE(keys.decode("", &why));
  CHECK(why == SessionReject::malformed);
  CHECK_FALSE(keys.decode("v2" + token.substr(2), &why));
  CHECK(why == SessionReject::malformed);
  CHECK_FALSE(keys.decode(token + std::string(600, 'A'), &why));
  CHECK(why == SessionReject::malformed);
  // Another secret's token.
  SessionKeys other(std::string(32, 'o'));
  CHECK_FALSE(keys.decode(other.encode(claims()), &why));
  CHECK(why == SessionReject::bad_mac);
  // The payload of one token with the MAC of another.
  auto c2 = claims("mallory");
  auto t2 = keys.encode(c2);
  auto mixed = t2.substr(0, t2.rfind('.')) + token.substr(token.rfind('.'));
  CHECK_FALSE(keys.decode(mixed, &why));
  CHECK(why == SessionReject::bad_mac);
}

TEST_CASE("a session secret shorter than 32 bytes is refused", "[access][session]") {
  CHECK_THROWS_WITH(SessionKeys(std::string(31, 'k')), "session secret is 31 bytes; at least 32 are needed");
  CHECK(SessionKeys::random_secret().size() == 32);
  CHECK(SessionKeys::random_secret() != SessionKeys::random_secret());
}

TEST_CASE("credential fingerprints change with the user's entry and the secret", "[access][session]") {
  SessionKeys keys(kSecret);
  auto fp = keys.fingerprint("alice", "hash-1");
  CHECK(fp == keys.fingerprint("alice", "hash-1"));
  CHECK(fp != keys.fingerprint("alice", "hash-2"));
  CHECK(fp != keys.fingerprint("alicehash-1", ""));
  CHECK(fp != SessionKeys(std::string(32, 'o')).fingerprint("alice", "hash-1"));
}

TEST_CASE("session times: absolute expiry, sliding idle limit, refresh once a minute", "[access][session]") {
  auto c = claims();
  const auto t0 = c.issued;
  CHECK_FALSE(check_times(c, t0, 3600s));
  CHECK(check_times(c, t0 + 3600, 3600s) == SessionReject::idle);
  CHECK_FALSE(check_times(c, t0 + 3599, 3600s));
  c.refreshed = t0 + 11 * 3600;
  CHECK_FALSE(check_times(c, t0 + 12 * 3600 - 1, 3600s));
  CHECK(check_times(c, t0 + 12 * 3600, 3600s) == SessionReject::expired);
  CHECK_FALSE(check_times(claims(), t0 + 5 * 3600, 0s));                     // idle limit off
  CHECK(check_times(claims(), t0 - 3600, 3600s) == SessionReject::expired);  // issued in the future
  CHECK_FALSE(needs_refresh(claims(), t0 + 59));
  CHECK(needs_refresh(claims(), t0 + 60));
}

TEST_CASE("login CSRF tokens are bound to the nonce cookie", "[access][session]") {
  SessionKeys keys(kSecret);
  auto tok = keys.csrf_token("nonce-1");
  CHECK(keys.csrf_valid("nonce-1", tok));
  CHECK_FALSE(keys.csrf_valid("nonce-2", tok));
  CHECK_FALSE(keys.csrf_valid("", keys.csrf_token("")));
  CHECK_FALSE(keys.csrf_valid("nonce-1", ""));
  CHECK_FALSE(SessionKeys(std::string(32, 'o')).csrf_valid("nonce-1", tok));
  // A CSRF token is not a session MAC and the reverse.
  CHECK(tok != keys.encode(claims()).substr(keys.encode(claims()).rfind('.') + 1));
}

TEST_CASE("login nonces: fresh, 22 base64url characters, other shapes refused", "[access][session]") {
  const auto a = new_login_nonce();
  const auto b = new_login_nonce();
  CHECK(a != b);
  CHECK(is_login_nonce(a));
  CHECK(is_login_nonce(b));
  CHECK_FALSE(is_login_nonce(""));
  CHECK_FALSE(is_login_nonce(a.substr(1)));
  CHECK_FALSE(is_login_nonce(a + "A"));
  CHECK_FALSE(is_login_nonce(std::string(21, 'A') + "\""));
  CHECK_FALSE(is_login_nonce(std::string(21, 'A') + "="));
}

TEST_CASE("base64url is strict", "[access][session]") {
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
  CHECK_FALSE(base64url_decode("+/8"));
  CHECK_FALSE(base64url_decode("-_8="));
  CHECK_FALSE(base64url_decode("A"));
  CHECK(base64url_decode("") == std::string());
}

TEST_CASE("revoked sessions stay refused until they expire; the set is bounded", "[access][session]") {
  SessionRevocations r(3);
  SessionId a{}, b{}, c{}, d{};
  a[0] = 1;
  b[0] = 2;
  c[0] = 3;
  d[0] = 4;
  r.revoke(a, 100, 10);
  CHECK(r.is_revoked(a, 50));
  CHECK_FALSE(r.is_revoked(b, 50));
  CHECK_FALSE(r.is_revoked(a, 100));  // its token has expired anyway
  r.revoke(b, 300, 10);
  r.revoke(c, 200, 10);
  r.revoke(d, 400, 10);  // full: a (closest to expiry) goes
  CHECK(r.size() == 3);
  CHECK_FALSE(r.is_revoked(a, 50));
  CHECK(r.is_revoked(b, 50));
  CHECK(r.is_revoked(d, 50));
  r.revoke(a, 500, 250);  // c expired at 200: dropped before inserting
  CHECK(r.size() == 3);
  CHECK_FALSE(r.is_revoked(c, 150));
  r.revoke(b, 5, 10);  // already expired: ignored
  CHECK(r.is_revoked(b, 260));
}

#include "access/session_cookie.hpp"

TEST_CASE("the session cookie is found and removed; other cookies keep their bytes", "[access][session]") {
  const std::string n(kSessionCookie);
  CHECK(find_cookie("a=1; " + n + "=tok; b=2", n) == "tok");
  CHECK(find_cookie(n + "=first; " + n + "=second", n) == "first");
  CHECK_FALSE(find_cookie("a=1; x" + n + "=tok", n));
  CHECK_FALSE(find_cookie("", n));
  CHECK(find_cookie(n + "=", n) == "");
  bool removed = false;
  CHECK(remove_cookie("a=1; " + n + "=tok; b=\"q; r\"", n, &removed) ==
        "a=1; b=\"q; r\"");  // a quoted value holds no ";": r" is a pair of its own
  CHECK(removed);
  CHECK(remove_cookie(n + "=tok", n, &removed).empty());
  CHECK(remove_cookie("a=1;b=2;  " + n + "=x;c", n) == "a=1; b=2; c");
  // Not present: byte for byte, odd spacing and all.
  CHECK(remove_cookie("a=1;b=2;;  c=%20 ", n, &removed) == "a=1;b=2;;  c=%20 ");
  CHECK_FALSE(removed);
}

TEST_CASE("Set-Cookie values for the __Host- session cookie", "[access][session]") {
  CHECK(session_set_cookie(kSessionCookie, "v1.x.y", 3600s) ==
        "__Host-airgate_session=v1.x.y; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=3600");
  CHECK(session_set_cookie("n", "v", -5s, "Strict") == "n=v; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
  CHECK(session_set_cookie(kSessionCookie, "v") == "__Host-airgate_session=v; Path=/; Secure; HttpOnly; SameSite=Lax");
  CHECK(session_clear_cookie(kSessionCookie) ==
        "__Host-airgate_session=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0");
}

#include "access/sessions.hpp"

TEST_CASE("Sessions: issue, check, refresh, credential change, logout", "[access][session]") {
  auto keys = std::make_shared<const SessionKeys>(kSecret);
  auto revoked = std::make_shared<SessionRevocations>();
  SessionSettings st{12h, 1h};
  Sessions s(keys, st, revoked);
  s.add_user("alice", "hash-a");
  s.add_user("bob", "hash-b");
  const std::int64_t t0 = 1'700'000'000;
  auto tok = s.issue("alice", t0);
  auto c = s.check(tok, t0 + 10);
  REQUIRE(c.user);
  CHECK(*c.user == "alice");
  CHECK_FALSE(c.refresh_token);  // refreshed less than a minute ago
  // After a minute, a refreshed token slides the idle limit.
  c = s.check(tok, t0 + 61);
  REQUIRE(c.refresh_token);
  CHECK(s.check(tok, t0 + 3600).reject == SessionReject::idle);
  auto c2 = s.check(*c.refresh_token, t0 + 3600);
  CHECK(c2.user == std::optional<std::string>("alice"));
  CHECK(c2.claims.id == c.claims.id);  // the same session, not a new one
  // Absolute expiry even while active.
  CHECK(s.check(keys->encode([&] {
           auto x = c2.claims;
           x.refreshed = t0 + 12 * 3600 - 10;
           return x;
         }()),
                t0 + 12 * 3600)
            .reject == SessionReject::expired);
  // The user's entry changes (a new password): the next snapshot refuses the old cookie.
  Sessions after(keys, st, revoked);
  after.add_user("alice", "hash-a-new");
  CHECK(after.check(tok, t0 + 10).reject == SessionReject::credential_changed);
  Sessions removed(keys, st, revoked);
  removed.add_user("bob", "hash-b");
  CHECK(removed.check(tok, t0 + 10).reject == SessionReject::credential_changed);
  // Logout ends it everywhere the revocation set is shared, replayed or not.
  s.end(c.claims, t0 + 20);
  CHECK(s.check(tok, t0 + 30).reject == SessionReject::revoked);
  CHECK(s.check(*c.refresh_token, t0 + 90).reject == SessionReject::revoked);
  CHECK(s.check(s.issue("alice", t0 + 40), t0 + 41).user);  // a new login is a new session
  CHECK(s.check("garbage", t0).reject == SessionReject::malformed);
  CHECK_THROWS(s.issue("mallory", t0));
}
