// Failed-login throttle per client address (auth.throttle).
//
// Fixed window: the first failure opens a window of `window`; when
// `max_failures` failures fall in it, the address is blocked for `block`
// (retry-after = remaining block, rounded up, at least 1 s) and its count
// starts again from zero. While blocked, further failures do not extend the
// block. A successful login clears the failure count but never lifts a block
// (a blocked address is answered 429 before any password check anyway).
// max_failures = 0 disables the throttle.
//
// Keys: an IPv4 address, or the /64 prefix of an IPv6 address (one host
// usually owns a whole /64, so per-address counting would be trivial to
// evade). IPv4-mapped IPv6 counts as IPv4.
//
// Memory is bounded: at most `max_entries` addresses are tracked; when full
// the least recently seen entry is evicted (expired entries go first). One
// mutex, O(1) critical sections.
#pragma once

#include "access/ip_allowlist.hpp"
#include "config/config.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace airgate::access {

constexpr std::size_t kThrottleMaxEntries = 100000;

class Throttle {
 public:
  using Clock = std::chrono::steady_clock;
  explicit Throttle(config::Throttle cfg, std::size_t max_entries = kThrottleMaxEntries);

  bool enabled() const { return cfg_.max_failures > 0; }
  // Seconds to wait when `a` is blocked at `now`.
  std::optional<std::chrono::seconds> blocked(const IpAddress& a, Clock::time_point now);
  // Counts a failed login; returns the retry-after when this failure starts a block.
  std::optional<std::chrono::seconds> record_failure(const IpAddress& a, Clock::time_point now);
  // Clears the failure count (not a block).
  void record_success(const IpAddress& a, Clock::time_point now);
  std::size_t size() const;

  static std::string key_of(const IpAddress& a);

 private:
  struct Entry {
    std::size_t count = 0;
    Clock::time_point window_start{};
    Clock::time_point blocked_until{};
    std::list<std::string>::iterator lru;
  };
  bool expired(const Entry& e, Clock::time_point now) const;
  void touch(Entry& e);
  void make_room(Clock::time_point now);
  std::chrono::seconds remaining(const Entry& e, Clock::time_point now) const;

  config::Throttle cfg_;
  std::size_t max_entries_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // front = most recently seen
};

}  // namespace airgate::access
