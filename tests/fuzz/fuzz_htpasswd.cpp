// Fuzz target: htpasswd files (access::parse_htpasswd) and the hash format
// checks, plus the `airgate passwd` upsert over the same text. No slow hash
// is computed: only apr1 and {SHA} (fast by design) are verified, with a
// fixed password.
#include "access/htpasswd.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace airgate::access;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = parse_htpasswd(text, "fuzz.htpasswd");
  for (const auto& e : parsed.entries) {
    if (e.user.empty() || e.line < 1) __builtin_trap();
    std::string why;
    if (!valid_hash(e.hash, &why)) __builtin_trap();  // accepted entries are well-formed
    const auto scheme = hash_scheme(e.hash);
    (void)scheme_name(scheme);
    if (scheme == HashScheme::apr1 || scheme == HashScheme::sha1) (void)verify_password(e.hash, "password");
  }
  // A single line as a hash string (inline users in the config).
  const std::string_view first = text.substr(0, text.find('\n'));
  std::string why;
  (void)valid_hash(first, &why);
  (void)username_problem(first);

  // `airgate passwd` updating this file: the user stays findable afterwards.
  const auto up = upsert_htpasswd(text, "fuzzuser", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");
  const auto again = upsert_htpasswd(up.text, "fuzzuser", "{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=");
  if (!again.replaced) __builtin_trap();
  return 0;
}
