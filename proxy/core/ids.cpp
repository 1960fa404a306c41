#include "core/ids.hpp"

#include <openssl/rand.h>

#include <cstdint>
#include <cstdio>

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
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(next()),
                static_cast<unsigned long long>(next()));
  return std::string(buf, 32);
}

bool acceptable_request_id(std::string_view id) {
  if (id.empty() || id.size() > 200) return false;
  for (unsigned char c : id)
    if (c <= 0x20 || c >= 0x7f || c == '"' || c == '\\') return false;
  return true;
}

}  // namespace airgate::core
