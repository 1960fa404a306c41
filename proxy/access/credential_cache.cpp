#include "access/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace airgate::access {

CredentialCache::CredentialCache(std::size_t max_entries, Clock::duration ttl)
    : max_entries_(max_entries == 0 ? 1 : max_entries), ttl_(ttl) {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1)
    throw std::runtime_error("cannot seed the credential cache key (RAND_bytes failed)");
}

CredentialCache::~CredentialCache() { OPENSSL_cleanse(secret_.data(), secret_.size()); }

std::string CredentialCache::key(std::string_view user, std::string_view password) const {
  std::string msg;
  msg.reserve(4 + user.size() + password.size());
  auto n = static_cast<std::uint32_t>(user.size());
  msg += static_cast<char>((n >> 24) & 0xff);
  msg += static_cast<char>((n >> 16) & 0xff);
  msg += static_cast<char>((n >> 8) & 0xff);
  msg += static_cast<char>(n & 0xff);
  msg += user;
  msg += password;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const unsigned char* ok = HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
                                 reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), md, &len);
  OPENSSL_cleanse(msg.data(), msg.size());
  if (!ok) throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<const char*>(md), len);
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
