// Verified-credential cache (design §4): a browser sends the same Basic
// credential on every request; only the first one costs a hash verification.
//
// Keys are HMAC-SHA256 under a random per-instance key (RAND_bytes) of
// (len(user) as 4 bytes big-endian, user, password): the password is never
// stored, and the keys are useless outside this process. Only successful
// verifications are cached. An entry lives `ttl` from its insertion (no
// sliding), at most `max_entries` are kept (the oldest is evicted). Each
// AccessControl owns one, so a reload (new users, new config) starts empty.
// Thread-safe (one mutex, O(1) critical sections).
#pragma once

#include "access/hmac.hpp"

#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace airgate::access {

constexpr std::size_t kCredentialCacheMaxEntries = 10000;
constexpr std::chrono::minutes kCredentialCacheTtl{5};

class CredentialCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit CredentialCache(std::size_t max_entries = kCredentialCacheMaxEntries,
                           Clock::duration ttl = kCredentialCacheTtl);
  ~CredentialCache();
  CredentialCache(const CredentialCache&) = delete;
  CredentialCache& operator=(const CredentialCache&) = delete;

  // 32-byte binary key for (user, password).
  std::string key(std::string_view user, std::string_view password) const;
  // True when `key` was inserted less than ttl ago; expired entries are dropped.
  bool contains(const std::string& key, Clock::time_point now);
  void insert(const std::string& key, Clock::time_point now);
  void clear();
  std::size_t size() const;

 private:
  struct Entry {
    Clock::time_point expires;
    std::list<std::string>::iterator order;
  };
  HmacSha256 mac_;
  std::size_t max_entries_;
  Clock::duration ttl_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> order_;  // front = oldest insertion
};

}  // namespace airgate::access
