#include "access/credential_cache.hpp"

// The low-level SHA-256 API lets the keyed HMAC state be copied as a plain
// struct, which keeps a cache lookup far cheaper than a one-shot HMAC().
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace airgate::access {

CredentialCache::CredentialCache(std::size_t max_entries, Clock::duration ttl)
    : max_entries_(max_entries == 0 ? 1 : max_entries), ttl_(ttl) {
  if (RAND_bytes(secret_.data(), static_cast<int>(secret_.size())) != 1)
    throw std::runtime_error("cannot seed the credential cache key (RAND_bytes failed)");
  static_assert(sizeof(SHA256_CTX) <= sizeof(inner_state_));
  unsigned char pad[SHA256_CBLOCK];
  for (unsigned char x : {0x36, 0x5c}) {
    std::fill(std::begin(pad), std::end(pad), x);
    for (std::size_t i = 0; i < secret_.size(); ++i) pad[i] ^= secret_[i];
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, sizeof pad);
    std::memcpy(x == 0x36 ? inner_state_.data() : outer_state_.data(), &ctx, sizeof ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
  }
  OPENSSL_cleanse(pad, sizeof pad);
}

CredentialCache::~CredentialCache() {
  OPENSSL_cleanse(secret_.data(), secret_.size());
  OPENSSL_cleanse(inner_state_.data(), inner_state_.size());
  OPENSSL_cleanse(outer_state_.data(), outer_state_.size());
}

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
  // HMAC-SHA256(secret, msg) from the precomputed pad states (RFC 2104).
  unsigned char inner[SHA256_DIGEST_LENGTH];
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  std::memcpy(&ctx, inner_state_.data(), sizeof ctx);
  SHA256_Update(&ctx, msg.data(), msg.size());
  SHA256_Final(inner, &ctx);
  std::memcpy(&ctx, outer_state_.data(), sizeof ctx);
  SHA256_Update(&ctx, inner, sizeof inner);
  SHA256_Final(md, &ctx);
  OPENSSL_cleanse(msg.data(), msg.size());
  OPENSSL_cleanse(&ctx, sizeof ctx);
  const unsigned int len = sizeof md;
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
