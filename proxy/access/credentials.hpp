// Basic credentials from an Authorization / Proxy-Authorization value (RFC 7617).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace airgate::access {

// Header values longer than this are malformed (a real Basic credential is
// far smaller; the cap keeps base64 decoding bounded).
constexpr std::size_t kMaxCredentialHeader = 4096;

enum class CredentialStatus {
  absent,     // empty value, or a scheme other than Basic (e.g. Bearer): not ours
  malformed,  // "Basic" with bad base64, no ':', over the size cap, ...
  ok,
};

struct BasicCredential {
  CredentialStatus status = CredentialStatus::absent;
  std::string user;      // before the first ':'
  std::string password;  // after the first ':' (may contain ':')
};

// Scheme "Basic" matched case-insensitively, then one or more spaces, then
// strict padded base64 (optional trailing spaces tolerated). The decoded text
// must contain ':'; user and password are split at the first ':'. Decoded
// bytes are taken as they are (UTF-8 per RFC 7617, not validated).
BasicCredential parse_basic(std::string_view header_value);

// True when the value names the Basic scheme (whatever follows).
bool is_basic_scheme(std::string_view header_value);

}  // namespace airgate::access
