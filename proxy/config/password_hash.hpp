// Password hash schemes (what a users entry's hash is, decided once when the
// hash is read) and the one bcrypt writer, used by `airgate passwd` and by the
// environment overlay (BASIC_AUTH_PASSWORD).
//
// Accepted schemes, by prefix:
//   bcrypt      $2y$ $2b$ $2a$
//   SHA-crypt   $5$ $6$
//   yescrypt    $y$
//   Apache MD5  $apr1$            weak
//   {SHA}       base64(SHA-1)     weak
// The full format check and verification live in access/htpasswd.hpp.
#pragma once

#include <string>
#include <string_view>

namespace airgate::config {

enum class HashScheme { unknown, bcrypt, sha256_crypt, sha512_crypt, yescrypt, apr1, sha1 };

// Scheme by prefix only (no validation of the rest).
HashScheme hash_scheme(std::string_view hash);
// "bcrypt", "sha256-crypt", "sha512-crypt", "yescrypt", "apr1-md5", "sha1", "unknown".
std::string_view scheme_name(HashScheme s);
// apr1 and {SHA}: fast, unsalted or weakly salted; the self-check flags them.
bool is_weak(HashScheme s);

// A fresh bcrypt hash with a random salt (libxcrypt). `prefix` "$2y$" is what
// Apache's htpasswd writes (`airgate passwd`), "$2b$" the same algorithm as
// libxcrypt names it (the environment user). Cost 10..31; throws
// std::runtime_error when the password holds a NUL byte or libxcrypt fails.
std::string hash_password_bcrypt(std::string_view password, unsigned cost = 12, std::string_view prefix = "$2y$");

}  // namespace airgate::config
