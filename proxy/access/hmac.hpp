// HMAC-SHA256 with the key's pad states computed once (RFC 2104): each MAC
// then costs two SHA-256 runs over the message, with no EVP fetch or context
// allocation. Used where a MAC sits on the request path (the verified-credential
// cache key, the session cookie check). Thread-safe for const use.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <string_view>

namespace airgate::access {

class HmacSha256 {
 public:
  using Digest = std::array<unsigned char, 32>;

  // A key longer than the SHA-256 block (64 bytes) is hashed first, as RFC 2104 says.
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = default;
  HmacSha256& operator=(const HmacSha256&) = default;

  // MAC over the concatenation of `parts`.
  Digest mac(std::initializer_list<std::string_view> parts) const;
  Digest mac(std::string_view message) const { return mac({message}); }

 private:
  // SHA256_CTX after absorbing (key ^ ipad) and (key ^ opad), stored as bytes
  // so this header needs no OpenSSL include.
  alignas(8) std::array<unsigned char, 128> inner_{};
  alignas(8) std::array<unsigned char, 128> outer_{};
};

// Constant-time equality of two byte strings of the same length (different
// lengths compare unequal at once: lengths are not secret here).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace airgate::access
