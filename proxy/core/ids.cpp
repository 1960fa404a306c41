#include "core/ids.hpp"

#include <openssl/rand.h>

#include <cstdint>

namespace airgate::core {

namespace {
// splitmix64 over a per-thread random seed: fast, no locks, and ids from
// different threads or restarts do not collide in practice.
std::uint64_t next() {
  thread_local std::uint64_t state = [] {
    std::uint64_t seed = 0;
    RAND_bytes(reinterpret_cast<unsigned char*>(&seed), sizeof seed);
    return seed;
  }();
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
}  // namespace

std::string new_request_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    std::uint64_t v = next();
    for (int i = 15; i >= 0; --i, v >>= 4) id[half * 16 + i] = kHex[v & 0xf];
  }
  return id;
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace airgate::core
