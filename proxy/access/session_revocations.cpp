#include "access/session_revocations.hpp"

namespace airgate::access {

void SessionRevocations::drop_expired(std::int64_t now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    by_id_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

void SessionRevocations::revoke(const SessionId& id, std::int64_t expires, std::int64_t now) {
  if (expires <= now || max_entries_ == 0) return;  // already worthless
  std::lock_guard lock(mu_);
  drop_expired(now);
  if (by_id_.count(id) != 0) return;
  if (by_id_.size() >= max_entries_) {
    by_id_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
  by_id_.emplace(id, expires);
  by_expiry_.emplace(expires, id);
}

bool SessionRevocations::is_revoked(const SessionId& id, std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  return it != by_id_.end() && it->second > now;
}

std::size_t SessionRevocations::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

}  // namespace airgate::access
