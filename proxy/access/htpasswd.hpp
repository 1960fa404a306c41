// htpasswd files and password hashes (design §5).
//
// Accepted hash formats:
//   bcrypt      $2y$ $2b$ $2a$   (libxcrypt crypt_r)
//   SHA-crypt   $5$ $6$          (libxcrypt crypt_r)
//   yescrypt    $y$              (libxcrypt crypt_r)
//   Apache MD5  $apr1$           (implemented here on OpenSSL MD5)   weak
//   {SHA}       base64(SHA-1)    (OpenSSL SHA-1, unsalted)           weak
// Anything else (plain text, DES crypt, $1$ MD5-crypt, ...) is a load error
// naming the file and line, never a silent deny-all.
//
// File format (Apache / nginx): one `user:hash` per line; blank lines and
// lines starting with `#` (after optional spaces) are skipped; CRLF line ends
// are tolerated; as in nginx, a third `:comment` field is allowed and ignored.
#pragma once

#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::access {

// The scheme of a hash and the bcrypt writer (config/password_hash.hpp).
using config::hash_password_bcrypt;
using config::hash_scheme;
using config::HashScheme;
using config::is_weak;
using config::scheme_name;

// Full format check of a hash string. On failure `why` (if given) says what is
// wrong without echoing the hash.
bool valid_hash(std::string_view hash, std::string* why = nullptr);

// Verify `password` against `hash`. Unknown / malformed hashes and passwords
// containing NUL never verify. The computed and stored hashes are compared in
// constant time (CRYPTO_memcmp). Thread-safe (crypt_r with a private buffer).
bool verify_password(std::string_view hash, std::string_view password);
// The same for a hash already checked with valid_hash() whose scheme is
// `scheme` (the users of a loaded configuration): no format check again.
bool verify_password(HashScheme scheme, std::string_view hash, std::string_view password);

// Apache's "$apr1$" MD5 variant: returns "$apr1$<salt>$<22 chars>". The salt
// is truncated at 8 characters or at a '$'.
std::string apr1_crypt(std::string_view password, std::string_view salt);
// "{SHA}" + base64(SHA-1(password)).
std::string sha1_htpasswd(std::string_view password);

struct HtpasswdEntry {
  std::string user;
  std::string hash;
  HashScheme scheme = HashScheme::unknown;
  int line = 0;
};

struct HtpasswdParse {
  std::vector<HtpasswdEntry> entries;
  std::vector<std::string> errors;  // "SOURCE:LINE: message"
  bool ok() const { return errors.empty(); }
};

// Parse htpasswd text. Errors: missing ':', empty user, empty or unknown /
// malformed hash, duplicate user (the later line is reported).
HtpasswdParse parse_htpasswd(std::string_view text, std::string_view source);
// Read and parse a file; an unreadable file is one error "PATH: reason".
HtpasswdParse load_htpasswd_file(const std::string& path);

// The users of `auth`: users_file entries merged with the inline users
// (`auth.users`). An inline user with the same name as a file user replaces
// it (the config, and the environment overlay that appends to the inline
// list, override the file); among inline users the last one wins. Every hash
// is format-checked; problems are appended to `errors` ("FILE:LINE: message"
// for the file, "auth.basic.users[i] (USER): message" for inline users) and
// the bad entries are left out. Callers must treat a non-empty `errors` as a
// failed load.
std::vector<config::BasicUser> effective_users(const config::Auth& auth, std::vector<std::string>& errors);

// Why `user` cannot be written to an htpasswd file (empty, contains ':',
// control characters, leading '#', leading/trailing whitespace); nullopt if ok.
std::optional<std::string> username_problem(std::string_view user);

struct HtpasswdUpdate {
  std::string text;       // the new file content
  bool replaced = false;  // true: the user existed ("updated"), false: appended ("added")
};
// Set USER's hash in htpasswd `text`: replaces the first line for USER (later
// duplicate lines for USER are dropped), keeps every other line, comment and
// line ending as is, appends "USER:HASH\n" when USER is new.
HtpasswdUpdate upsert_htpasswd(std::string_view text, std::string_view user, std::string_view hash);

// Replace `path` atomically with `content`: write PATH.tmp.XXXXXX in the same
// directory with mode 0600, fsync, rename over PATH, fsync the directory. On
// failure nothing is left behind and `error` names the file and the reason.
bool write_file_atomic(const std::string& path, std::string_view content, std::string* error);

struct SetPasswordResult {
  bool ok = false;
  bool replaced = false;              // the user existed
  std::string error;                  // "FILE: reason" when !ok
  std::vector<std::string> warnings;  // problems in other lines of the existing file (kept as they are)
};
// `airgate passwd` without the terminal part: validates USER, refuses an empty
// password, hashes with bcrypt (`cost`), reads FILE (a missing file is
// created), upserts the line and writes FILE atomically with mode 0600.
SetPasswordResult set_user_password(const std::string& file, std::string_view user, std::string_view password,
                                    unsigned cost = 12);

// Wipe a secret held in a std::string (OPENSSL_cleanse) and clear it.
void wipe(std::string& secret);

}  // namespace airgate::access
