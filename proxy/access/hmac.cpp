#include "access/hmac.hpp"

// The low-level SHA-256 API lets the keyed state be copied as a plain struct.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>

namespace airgate::access {

HmacSha256::HmacSha256(std::string_view key) {
  static_assert(sizeof(SHA256_CTX) <= sizeof(inner_));
  unsigned char block[SHA256_CBLOCK] = {};
  if (key.size() > sizeof block) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block);
  } else {
    std::memcpy(block, key.data(), key.size());
  }
  unsigned char pad[SHA256_CBLOCK];
  for (unsigned char x : {0x36, 0x5c}) {
    for (std::size_t i = 0; i < sizeof pad; ++i) pad[i] = block[i] ^ x;
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Update(&ctx, pad, sizeof pad);
    std::memcpy(x == 0x36 ? inner_.data() : outer_.data(), &ctx, sizeof ctx);
    OPENSSL_cleanse(&ctx, sizeof ctx);
  }
  OPENSSL_cleanse(pad, sizeof pad);
  OPENSSL_cleanse(block, sizeof block);
}

HmacSha256::~HmacSha256() {
  OPENSSL_cleanse(inner_.data(), inner_.size());
  OPENSSL_cleanse(outer_.data(), outer_.size());
}

HmacSha256::Digest HmacSha256::mac(std::initializer_list<std::string_view> parts) const {
  Digest inner{};
  Digest out{};
  SHA256_CTX ctx;
  std::memcpy(&ctx, inner_.data(), sizeof ctx);
  for (std::string_view p : parts) SHA256_Update(&ctx, p.data(), p.size());
  SHA256_Final(inner.data(), &ctx);
  std::memcpy(&ctx, outer_.data(), sizeof ctx);
  SHA256_Update(&ctx, inner.data(), inner.size());
  SHA256_Final(out.data(), &ctx);
  OPENSSL_cleanse(&ctx, sizeof ctx);
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace airgate::access
