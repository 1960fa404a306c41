#include "access/throttle.hpp"

namespace airgate::access {

Throttle::Throttle(config::Throttle cfg, std::size_t max_entries)
    : cfg_(cfg), max_entries_(max_entries == 0 ? 1 : max_entries) {}

std::string Throttle::key_of(const IpAddress& raw) {
  const IpAddress a = raw.normalized();
  const auto* b = reinterpret_cast<const char*>(a.bytes.data());
  if (a.is_v4()) return std::string(1, '4') + std::string(b, 4);
  return std::string(1, '6') + std::string(b, 8);  // the /64
}

bool Throttle::expired(const Entry& e, Clock::time_point now) const {
  return e.blocked_until <= now && (e.count == 0 || e.window_start + cfg_.window <= now);
}

void Throttle::touch(Entry& e) { lru_.splice(lru_.begin(), lru_, e.lru); }

std::chrono::seconds Throttle::remaining(const Entry& e, Clock::time_point now) const {
  auto left = e.blocked_until - now;
  auto secs = std::chrono::ceil<std::chrono::seconds>(left);
  return secs < std::chrono::seconds(1) ? std::chrono::seconds(1) : secs;
}

void Throttle::make_room(Clock::time_point now) {
  // Drop expired entries from the cold end, then the coldest one if still full.
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    if (it == entries_.end() || !expired(it->second, now)) break;
    entries_.erase(it);
    lru_.pop_back();
  }
  // Still full: evict the coldest entry that is not blocked (looking at a
  // few from the cold end only, to keep this O(1)); else the coldest one.
  while (entries_.size() >= max_entries_ && !lru_.empty()) {
    auto victim = std::prev(lru_.end());
    auto probe = victim;
    for (int i = 0; i < 32; ++i) {
      if (entries_.at(*probe).blocked_until <= now) {
        victim = probe;
        break;
      }
      if (probe == lru_.begin()) break;
      --probe;
    }
    entries_.erase(*victim);
    lru_.erase(victim);
  }
}

std::optional<std::chrono::seconds> Throttle::blocked(const IpAddress& a, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(a));
  if (it == entries_.end()) return std::nullopt;
  Entry& e = it->second;
  if (e.blocked_until > now) {
    touch(e);
    return remaining(e, now);
  }
  if (expired(e, now)) {
    lru_.erase(e.lru);
    entries_.erase(it);
  }
  return std::nullopt;
}

std::optional<std::chrono::seconds> Throttle::record_failure(const IpAddress& a, Clock::time_point now) {
  if (!enabled()) return std::nullopt;
  std::lock_guard lock(mu_);
  std::string key = key_of(a);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    make_room(now);
    lru_.push_front(key);
    it = entries_.emplace(std::move(key), Entry{}).first;
    it->second.lru = lru_.begin();
  } else {
    touch(it->second);
  }
  Entry& e = it->second;
  if (e.blocked_until > now) return std::nullopt;  // already blocked: a verification that was in flight
  if (e.count == 0 || e.window_start + cfg_.window <= now) {
    e.count = 0;
    e.window_start = now;
  }
  if (++e.count >= cfg_.max_failures) {
    e.count = 0;
    e.blocked_until = now + cfg_.block;
    if (cfg_.block.count() > 0) return remaining(e, now);
  }
  return std::nullopt;
}

void Throttle::record_success(const IpAddress& a, Clock::time_point now) {
  if (!enabled()) return;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key_of(a));
  if (it == entries_.end()) return;
  Entry& e = it->second;
  e.count = 0;
  if (e.blocked_until <= now) {
    lru_.erase(e.lru);
    entries_.erase(it);
  }
}

std::size_t Throttle::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace airgate::access
