#include "access/credentials.hpp"

#include "access/base64.hpp"
#include "access/htpasswd.hpp"
#include "core/text.hpp"

namespace airgate::access {
namespace {

using core::iequals;
using core::trim;

std::string_view scheme_of(std::string_view v) {
  v = trim(v);
  return v.substr(0, v.find_first_of(core::kOws));
}

}  // namespace

bool is_basic_scheme(std::string_view value) { return iequals(scheme_of(value), "basic"); }

BasicCredential parse_basic(std::string_view value) {
  BasicCredential c;
  std::string_view v = trim(value);
  if (v.empty()) return c;
  std::string_view scheme = scheme_of(v);
  if (!iequals(scheme, "basic")) return c;  // Bearer, Digest, ...: not ours
  c.status = CredentialStatus::malformed;
  if (value.size() > kMaxCredentialHeader) return c;
  std::string_view token = trim(v.substr(scheme.size()));
  if (token.empty()) return c;
  auto decoded = base64_decode(token);
  if (!decoded) return c;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) {
    wipe(*decoded);
    return c;
  }
  c.user = decoded->substr(0, colon);
  c.password = decoded->substr(colon + 1);
  wipe(*decoded);
  c.status = CredentialStatus::ok;
  return c;
}

}  // namespace airgate::access
