#include "access/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace airgate::access {

namespace {

// A random per-instance HMAC key: the cache keys are useless outside this process.
HmacSha256 random_key() {
  std::array<unsigned char, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1)
    throw std::runtime_error("cannot seed the credential cache key (RAND_bytes failed)");
  HmacSha256 key(std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
  OPENSSL_cleanse(secret.data(), secret.size());
  return key;
}

}  // namespace

CredentialCache::CredentialCache(std::size_t max_entries, Clock::duration ttl)
    : mac_(random_key()), max_entries_(max_entries == 0 ? 1 : max_entries), ttl_(ttl) {}

CredentialCache::~CredentialCache() = default;

std::string CredentialCache::key(std::string_view user, std::string_view password) const {
  // (len(user) as 4 bytes big-endian, user, password): ("ab", "c") and ("a", "bc") differ.
  const auto n = static_cast<std::uint32_t>(user.size());
  const char len[4] = {static_cast<char>((n >> 24) & 0xff), static_cast<char>((n >> 16) & 0xff),
                       static_cast<char>((n >> 8) & 0xff), static_cast<char>(n & 0xff)};
  auto md = mac_.mac({std::string_view(len, sizeof len), user, password});
  std::string out(reinterpret_cast<const char*>(md.data()), md.size());
  OPENSSL_cleanse(md.data(), md.size());
  return out;
}

bool CredentialCache::contains(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  if (it->second.expires <= now) {
    order_.erase(it->second.order);
    entries_.erase(it);
    return false;
  }
  return true;
}

void CredentialCache::insert(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    order_.erase(it->second.order);
    entries_.erase(it);
  }
  // Expired entries sit at the front (fixed ttl, insertion order).
  while (!order_.empty()) {
    auto front = entries_.find(order_.front());
    if (entries_.size() < max_entries_ && front->second.expires > now) break;
    entries_.erase(front);
    order_.pop_front();
  }
  order_.push_back(key);
  entries_.emplace(key, Entry{now + ttl_, std::prev(order_.end())});
}

void CredentialCache::clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  order_.clear();
}

std::size_t CredentialCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace airgate::access
