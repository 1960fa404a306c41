// Browser sessions as access control sees them: which user a session cookie
// stands for, whether it still counts, and the cookie to issue after a login.
// Built with each runtime snapshot (the users of that snapshot: a user whose
// entry changed or disappeared no longer matches the fingerprint in their
// old cookies); the keys and the revocation set outlive reloads.
#pragma once

#include "access/session_revocations.hpp"
#include "access/session_token.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace airgate::access {

struct SessionSettings {
  std::chrono::seconds ttl{12 * 3600};
  std::chrono::seconds idle_timeout{3600};  // 0: no sliding limit
};

class Sessions {
 public:
  Sessions(std::shared_ptr<const SessionKeys> keys, SessionSettings settings,
           std::shared_ptr<SessionRevocations> revocations);

  // A user who may hold a session, with their current credential entry.
  void add_user(const std::string& user, std::string_view hash);

  struct Checked {
    std::optional<std::string> user;           // set when the session counts
    std::optional<SessionReject> reject;       // set when it does not
    std::optional<std::string> refresh_token;  // a re-issued token to send back (sliding idle)
    SessionClaims claims;                      // valid when decoded
  };
  Checked check(std::string_view token, std::int64_t now) const;

  // A new session for `user` (who must have been added): its token.
  std::string issue(const std::string& user, std::int64_t now) const;

  // Logout: the session is refused from now on, even if its cookie is replayed.
  void end(const SessionClaims& claims, std::int64_t now) const;

  const SessionKeys& keys() const { return *keys_; }

 private:
  std::shared_ptr<const SessionKeys> keys_;
  SessionSettings settings_;
  std::shared_ptr<SessionRevocations> revocations_;
  std::unordered_map<std::string, CredentialFingerprint> fingerprints_;
};

}  // namespace airgate::access
