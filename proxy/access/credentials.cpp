#include "access/credentials.hpp"

#include "access/base64.hpp"
#include "access/htpasswd.hpp"

namespace airgate::access {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view scheme_of(std::string_view v) {
  v = trim(v);
  std::size_t i = 0;
  while (i < v.size() && !is_space(v[i])) ++i;
  return v.substr(0, i);
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
