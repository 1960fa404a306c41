// Ended sessions (logout): a copy of a logged-out cookie must not pass again.
// Each id is kept until the token it belonged to would have expired anyway,
// then forgotten. Bounded: at most `max_entries`; when full, the entry closest
// to its own expiry is dropped first (the smallest window for a replay).
// Process-wide and thread-safe (one mutex, O(log n) critical sections); it
// survives reloads, as the tokens do.
#pragma once

#include "access/session_token.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

namespace airgate::access {

constexpr std::size_t kSessionRevocationsMax = 100000;

class SessionRevocations {
 public:
  explicit SessionRevocations(std::size_t max_entries = kSessionRevocationsMax) : max_entries_(max_entries) {}

  void revoke(const SessionId& id, std::int64_t expires, std::int64_t now);
  bool is_revoked(const SessionId& id, std::int64_t now);
  std::size_t size() const;

 private:
  void drop_expired(std::int64_t now);  // mu_ held

  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::map<SessionId, std::int64_t> by_id_;
  std::multimap<std::int64_t, SessionId> by_expiry_;
};

}  // namespace airgate::access
