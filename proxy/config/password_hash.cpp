#include "config/password_hash.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace airgate::config {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

HashScheme hash_scheme(std::string_view h) {
  if (starts_with(h, "$2y$") || starts_with(h, "$2b$") || starts_with(h, "$2a$")) return HashScheme::bcrypt;
  if (starts_with(h, "$5$")) return HashScheme::sha256_crypt;
  if (starts_with(h, "$6$")) return HashScheme::sha512_crypt;
  if (starts_with(h, "$y$")) return HashScheme::yescrypt;
  if (starts_with(h, "$apr1$")) return HashScheme::apr1;
  if (starts_with(h, "{SHA}")) return HashScheme::sha1;
  return HashScheme::unknown;
}

std::string_view scheme_name(HashScheme s) {
  switch (s) {
    case HashScheme::bcrypt: return "bcrypt";
    case HashScheme::sha256_crypt: return "sha256-crypt";
    case HashScheme::sha512_crypt: return "sha512-crypt";
    case HashScheme::yescrypt: return "yescrypt";
    case HashScheme::apr1: return "apr1-md5";
    case HashScheme::sha1: return "sha1";
    case HashScheme::unknown: break;
  }
  return "unknown";
}

bool is_weak(HashScheme s) { return s == HashScheme::apr1 || s == HashScheme::sha1; }

std::string hash_password_bcrypt(std::string_view password, unsigned cost, std::string_view prefix) {
  if (cost < 10 || cost > 31) throw std::runtime_error("bcrypt cost must be between 10 and 31");
  if (prefix != "$2y$" && prefix != "$2b$") throw std::runtime_error("bcrypt prefix must be $2y$ or $2b$");
  if (password.find('\0') != std::string_view::npos) throw std::runtime_error("password contains a NUL byte");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", cost, nullptr, 0, setting, sizeof setting) || setting[0] == '*')
    throw std::runtime_error(std::string("cannot generate a bcrypt salt: ") + std::strerror(errno));
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  const char* out = crypt_r(pw.c_str(), setting, data.get());
  OPENSSL_cleanse(pw.data(), pw.size());
  std::string hash = out ? out : "";
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  if (hash.size() != 60 || !starts_with(hash, "$2b$")) throw std::runtime_error("bcrypt hashing failed");
  hash.replace(0, 4, prefix);  // $2y$ and $2b$ are the same algorithm
  return hash;
}

}  // namespace airgate::config
