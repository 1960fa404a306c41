// Fuzz target: Authorization / Proxy-Authorization values (access::parse_basic,
// is_basic_scheme) and the strict base64 codec under them. Invariants: a
// decoded value re-encodes to the same text (only canonical base64 is
// accepted), encoding then decoding is the identity, an ok credential's
// user has no ':'.
#include "access/base64.hpp"
#include "access/credentials.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using namespace airgate::access;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto cred = parse_basic(in);
  if (cred.status == CredentialStatus::ok) {
    if (!is_basic_scheme(in)) __builtin_trap();
    if (cred.user.find(':') != std::string::npos) __builtin_trap();
    if (in.size() > kMaxCredentialHeader) __builtin_trap();
  }
  (void)is_basic_scheme(in);

  if (auto decoded = base64_decode(in)) {
    if (base64_encode(*decoded) != in) __builtin_trap();
  }
  const auto encoded = base64_encode(in);
  const auto back = base64_decode(encoded);
  if (!back || *back != in) __builtin_trap();
  return 0;
}
