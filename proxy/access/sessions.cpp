#include "access/sessions.hpp"

#include "access/hmac.hpp"

#include <openssl/rand.h>

#include <stdexcept>

namespace airgate::access {

Sessions::Sessions(std::shared_ptr<const SessionKeys> keys, SessionSettings settings,
                   std::shared_ptr<SessionRevocations> revocations)
    : keys_(std::move(keys)), settings_(settings), revocations_(std::move(revocations)) {}

void Sessions::add_user(const std::string& user, std::string_view hash) {
  fingerprints_[user] = keys_->fingerprint(user, hash);
}

Sessions::Checked Sessions::check(std::string_view token, std::int64_t now) const {
  Checked out;
  SessionReject why{};
  auto claims = keys_->decode(token, &why);
  if (!claims) {
    out.reject = why;
    return out;
  }
  out.claims = *claims;
  auto fp = fingerprints_.find(claims->user);
  const auto as_view = [](const CredentialFingerprint& f) {
    return std::string_view(reinterpret_cast<const char*>(f.data()), f.size());
  };
  if (fp == fingerprints_.end() || !equal_constant_time(as_view(fp->second), as_view(claims->fingerprint))) {
    out.reject = SessionReject::credential_changed;
    return out;
  }
  if (auto t = check_times(*claims, now, settings_.idle_timeout)) {
    out.reject = *t;
    return out;
  }
  if (revocations_ && revocations_->is_revoked(claims->id, now)) {
    out.reject = SessionReject::revoked;
    return out;
  }
  if (settings_.idle_timeout.count() > 0 && needs_refresh(*claims, now)) {
    SessionClaims next = *claims;
    next.refreshed = now;
    out.refresh_token = keys_->encode(next);
  }
  out.user = claims->user;
  return out;
}

std::string Sessions::issue(const std::string& user, std::int64_t now) const {
  auto fp = fingerprints_.find(user);
  if (fp == fingerprints_.end()) throw std::logic_error("session for an unknown user");
  SessionClaims c;
  if (RAND_bytes(c.id.data(), static_cast<int>(c.id.size())) != 1)
    throw std::runtime_error("cannot make a session id (RAND_bytes failed)");
  c.user = user;
  c.issued = now;
  c.expires = now + settings_.ttl.count();
  c.refreshed = now;
  c.fingerprint = fp->second;
  return keys_->encode(c);
}

void Sessions::end(const SessionClaims& claims, std::int64_t now) const {
  if (revocations_) revocations_->revoke(claims.id, claims.expires, now);
}

}  // namespace airgate::access
