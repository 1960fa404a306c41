#include "access/htpasswd.hpp"

#include "access/base64.hpp"
#include "core/text.hpp"

#include <crypt.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <unordered_map>

namespace airgate::access {
namespace {

constexpr std::string_view kCrypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

bool is_crypt64(char c) { return kCrypt64.find(c) != std::string_view::npos; }

bool all_crypt64(std::string_view s) {
  for (char c : s)
    if (!is_crypt64(c)) return false;
  return true;
}

using core::all_digits;

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool set_why(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

// Constant-time comparison of two hash strings. The length of a hash is not
// secret (it is fixed by the scheme), so a length mismatch returns early.
bool ct_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view rstrip(std::string_view s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string_view lstrip(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

// Splits "$a$b$c" after `prefix` into its '$'-separated fields.
std::vector<std::string_view> fields_after(std::string_view hash, std::size_t prefix) {
  return core::split(hash.substr(prefix), '$');
}

bool valid_bcrypt(std::string_view h, std::string* why) {
  // $2y$NN$ + 22 chars salt + 31 chars hash = 60
  if (h.size() != 60 || h[6] != '$') return set_why(why, "malformed bcrypt hash (expected 60 characters: $2y$NN$...)");
  if (!all_digits(h.substr(4, 2))) return set_why(why, "malformed bcrypt hash (cost is not a number)");
  int cost = (h[4] - '0') * 10 + (h[5] - '0');
  if (cost < 4 || cost > 31) return set_why(why, "malformed bcrypt hash (cost outside 04..31)");
  if (!all_crypt64(h.substr(7))) return set_why(why, "malformed bcrypt hash (invalid character)");
  return true;
}

bool valid_sha_crypt(std::string_view h, std::size_t digest_chars, std::string* why) {
  const char* name = digest_chars == 43 ? "SHA-256-crypt" : "SHA-512-crypt";
  auto f = fields_after(h, 3);
  std::size_t i = 0;
  if (!f.empty() && starts_with(f[0], "rounds=")) {
    if (!all_digits(f[0].substr(7)) || f[0].size() > 7 + 9)
      return set_why(why, std::string("malformed ") + name + " hash (bad rounds=)");
    ++i;
  }
  if (f.size() != i + 2) return set_why(why, std::string("malformed ") + name + " hash (expected $salt$hash)");
  std::string_view salt = f[i], digest = f[i + 1];
  if (salt.size() > 16 || !all_crypt64(salt))
    return set_why(why, std::string("malformed ") + name + " hash (bad salt)");
  if (digest.size() != digest_chars || !all_crypt64(digest))
    return set_why(why, std::string("malformed ") + name + " hash (bad digest length or character)");
  return true;
}

bool valid_yescrypt(std::string_view h, std::string* why) {
  auto f = fields_after(h, 3);  // params, salt, hash
  if (f.size() != 3 || f[0].empty() || f[1].empty())
    return set_why(why, "malformed yescrypt hash (expected $y$params$salt$hash)");
  if (!all_crypt64(f[0]) || !all_crypt64(f[1]) || !all_crypt64(f[2]) || f[2].size() != 43)
    return set_why(why, "malformed yescrypt hash (bad character or digest length)");
  return true;
}

bool valid_apr1(std::string_view h, std::string* why) {
  auto f = fields_after(h, 6);  // salt, hash
  if (f.size() != 2) return set_why(why, "malformed $apr1$ hash (expected $apr1$salt$hash)");
  if (f[0].empty() || f[0].size() > 8 || !all_crypt64(f[0]))
    return set_why(why, "malformed $apr1$ hash (salt must be 1-8 characters of ./0-9A-Za-z)");
  if (f[1].size() != 22 || !all_crypt64(f[1]))
    return set_why(why, "malformed $apr1$ hash (digest must be 22 characters)");
  return true;
}

bool valid_sha1(std::string_view h, std::string* why) {
  auto raw = base64_decode(h.substr(5));
  if (!raw || raw->size() != 20) return set_why(why, "malformed {SHA} hash (expected base64 of 20 bytes)");
  return true;
}

// MD5 helper over OpenSSL's EVP interface.
class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr) != 1) throw std::runtime_error("MD5 unavailable");
  }
  ~Md5() { EVP_MD_CTX_free(ctx_); }
  Md5(const Md5&) = delete;
  Md5& operator=(const Md5&) = delete;
  void update(std::string_view s) { EVP_DigestUpdate(ctx_, s.data(), s.size()); }
  void update(const unsigned char* p, std::size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  void final(unsigned char out[16]) {
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

void to64(std::string& out, unsigned long v, int n) {
  while (n-- > 0) {
    out += kCrypt64[v & 0x3f];
    v >>= 6;
  }
}

bool verify_with_crypt(std::string_view hash, std::string_view password) {
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  std::string pw(password);
  std::string setting(hash);
  const char* out = crypt_r(pw.c_str(), setting.c_str(), data.get());
  bool ok = out != nullptr && out[0] != '*' && ct_equal(out, hash);
  wipe(pw);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return ok;
}

}  // namespace

void wipe(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

bool valid_hash(std::string_view h, std::string* why) {
  switch (hash_scheme(h)) {
    case HashScheme::bcrypt: return valid_bcrypt(h, why);
    case HashScheme::sha256_crypt: return valid_sha_crypt(h, 43, why);
    case HashScheme::sha512_crypt: return valid_sha_crypt(h, 86, why);
    case HashScheme::yescrypt: return valid_yescrypt(h, why);
    case HashScheme::apr1: return valid_apr1(h, why);
    case HashScheme::sha1: return valid_sha1(h, why);
    case HashScheme::unknown: break;
  }
  if (h.empty()) return set_why(why, "empty password hash");
  if (starts_with(h, "$1$"))
    return set_why(
        why, "MD5-crypt ($1$) hashes are not supported; re-create the entry with `airgate passwd` or `htpasswd -B`");
  if (starts_with(h, "$2x$"))
    return set_why(why, "bcrypt $2x$ (buggy pre-2011 variant) is not supported; re-create the entry");
  if (starts_with(h, "{")) return set_why(why, "unsupported {SCHEME} hash (only {SHA} is accepted)");
  if (h.front() != '$')
    return set_why(why, "not a supported password hash (plain-text passwords and DES crypt are not accepted; "
                        "expected bcrypt $2y$, SHA-crypt $5$/$6$, yescrypt $y$, $apr1$ or {SHA})");
  return set_why(why, "unknown password hash format (expected bcrypt $2y$, SHA-crypt $5$/$6$, yescrypt $y$, "
                      "$apr1$ or {SHA})");
}

std::string apr1_crypt(std::string_view password, std::string_view salt) {
  constexpr std::string_view magic = "$apr1$";
  if (starts_with(salt, magic)) salt.remove_prefix(magic.size());
  salt = salt.substr(0, salt.find('$'));
  salt = salt.substr(0, 8);

  unsigned char fin[16];
  {
    Md5 alt;
    alt.update(password);
    alt.update(salt);
    alt.update(password);
    alt.final(fin);
  }
  Md5 ctx;
  ctx.update(password);
  ctx.update(magic);
  ctx.update(salt);
  for (std::size_t left = password.size(); left > 0; left -= std::min<std::size_t>(left, 16))
    ctx.update(fin, std::min<std::size_t>(left, 16));
  std::memset(fin, 0, sizeof fin);
  // One bit of the length at a time: a NUL byte for a set bit, the first
  // password character for a clear bit (the historic md5crypt quirk).
  for (std::size_t i = password.size(); i != 0; i >>= 1) {
    if (i & 1)
      ctx.update(fin, 1);
    else
      ctx.update(password.substr(0, 1));
  }
  ctx.final(fin);

  for (int i = 0; i < 1000; ++i) {
    Md5 round;
    if (i & 1)
      round.update(password);
    else
      round.update(fin, 16);
    if (i % 3) round.update(salt);
    if (i % 7) round.update(password);
    if (i & 1)
      round.update(fin, 16);
    else
      round.update(password);
    round.final(fin);
  }

  std::string out;
  out.reserve(magic.size() + salt.size() + 1 + 22);
  out += magic;
  out += salt;
  out += '$';
  auto b = [&](int i) { return static_cast<unsigned long>(fin[i]); };
  to64(out, (b(0) << 16) | (b(6) << 8) | b(12), 4);
  to64(out, (b(1) << 16) | (b(7) << 8) | b(13), 4);
  to64(out, (b(2) << 16) | (b(8) << 8) | b(14), 4);
  to64(out, (b(3) << 16) | (b(9) << 8) | b(15), 4);
  to64(out, (b(4) << 16) | (b(10) << 8) | b(5), 4);
  to64(out, b(11), 2);
  OPENSSL_cleanse(fin, sizeof fin);
  return out;
}

std::string sha1_htpasswd(std::string_view password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(password.data(), password.size(), md, &len, EVP_sha1(), nullptr) != 1)
    throw std::runtime_error("SHA-1 unavailable");
  return "{SHA}" + base64_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!valid_hash(hash)) return false;
  return verify_password(hash_scheme(hash), hash, password);
}

bool verify_password(HashScheme scheme, std::string_view hash, std::string_view password) {
  if (password.find('\0') != std::string_view::npos) return false;
  switch (scheme) {
    case HashScheme::bcrypt:
    case HashScheme::sha256_crypt:
    case HashScheme::sha512_crypt:
    case HashScheme::yescrypt: return verify_with_crypt(hash, password);
    case HashScheme::apr1: {
      std::string computed = apr1_crypt(password, hash.substr(6));
      bool ok = ct_equal(computed, hash);
      wipe(computed);
      return ok;
    }
    case HashScheme::sha1: {
      std::string computed = sha1_htpasswd(password);
      bool ok = ct_equal(computed, hash);
      wipe(computed);
      return ok;
    }
    case HashScheme::unknown: break;
  }
  return false;
}

HtpasswdParse parse_htpasswd(std::string_view text, std::string_view source) {
  HtpasswdParse result;
  std::unordered_map<std::string, int> seen;
  if (starts_with(text, "\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM
  int lineno = 0;
  auto error = [&](const std::string& msg) {
    std::ostringstream os;
    os << source << ':' << lineno << ": " << msg;
    result.errors.push_back(os.str());
  };
  while (!text.empty()) {
    ++lineno;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view trimmed = lstrip(rstrip(line));
    if (trimmed.empty() || trimmed.front() == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      error("missing ':' between user name and password hash");
      continue;
    }
    std::string user(line.substr(0, colon));
    if (user.empty()) {
      error("empty user name");
      continue;
    }
    std::string_view hash = line.substr(colon + 1);
    hash = hash.substr(0, hash.find(':'));  // nginx-style "user:hash:comment"
    hash = lstrip(rstrip(hash));
    std::string why;
    if (hash.empty()) {
      error("user '" + user + "': empty password hash");
      continue;
    }
    if (!valid_hash(hash, &why)) {
      error("user '" + user + "': " + why);
      continue;
    }
    auto [it, inserted] = seen.emplace(user, lineno);
    if (!inserted) {
      error("duplicate user '" + user + "' (first defined on line " + std::to_string(it->second) + ")");
      continue;
    }
    result.entries.push_back(HtpasswdEntry{std::move(user), std::string(hash), hash_scheme(hash), lineno});
  }
  return result;
}

HtpasswdParse load_htpasswd_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    HtpasswdParse r;
    r.errors.push_back(path + ": cannot read users file: " + std::strerror(errno));
    return r;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    HtpasswdParse r;
    r.errors.push_back(path + ": cannot read users file: " + std::strerror(errno));
    return r;
  }
  return parse_htpasswd(buf.str(), path);
}

std::vector<config::BasicUser> effective_users(const config::Auth& auth, std::vector<std::string>& errors) {
  std::vector<config::BasicUser> users;
  std::unordered_map<std::string, std::size_t> index;
  if (auth.users_file) {
    auto parsed = load_htpasswd_file(*auth.users_file);
    errors.insert(errors.end(), parsed.errors.begin(), parsed.errors.end());
    for (auto& e : parsed.entries) {
      index.emplace(e.user, users.size());
      users.push_back(config::BasicUser{std::move(e.user), std::move(e.hash), e.scheme});
    }
  }
  for (std::size_t i = 0; i < auth.users.size(); ++i) {
    const auto& u = auth.users[i];
    std::string where = "auth.basic.users[" + std::to_string(i) + "]";
    if (u.user.empty() || u.user.find(':') != std::string::npos) {
      errors.push_back(where + ": user name must be non-empty and must not contain ':'");
      continue;
    }
    std::string why;
    if (!valid_hash(u.hash, &why)) {
      errors.push_back(where + " (" + u.user + "): " + why);
      continue;
    }
    auto it = index.find(u.user);
    if (it != index.end()) {
      users[it->second] = u;  // inline (and environment) override the file
    } else {
      index.emplace(u.user, users.size());
      users.push_back(u);
    }
  }
  return users;
}

std::optional<std::string> username_problem(std::string_view user) {
  if (user.empty()) return "user name is empty";
  if (user.find(':') != std::string_view::npos) return "user name must not contain ':'";
  for (unsigned char c : user)
    if (c < 0x20 || c == 0x7f) return "user name must not contain control characters";
  if (user.front() == '#') return "user name must not start with '#' (it would be read as a comment)";
  if (user.front() == ' ' || user.front() == '\t' || user.back() == ' ' || user.back() == '\t')
    return "user name must not start or end with whitespace";
  if (user.size() > 255) return "user name is longer than 255 bytes";
  return std::nullopt;
}

HtpasswdUpdate upsert_htpasswd(std::string_view text, std::string_view user, std::string_view hash) {
  HtpasswdUpdate r;
  const std::string entry = std::string(user) + ":" + std::string(hash);
  const bool crlf = text.find("\r\n") != std::string_view::npos;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view raw = rest.substr(0, nl == std::string_view::npos ? rest.size() : nl + 1);
    rest.remove_prefix(raw.size());
    std::string_view content = raw;
    if (!content.empty() && content.back() == '\n') content.remove_suffix(1);
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    std::string_view ending = raw.substr(content.size());
    std::string_view trimmed = lstrip(content);
    bool is_user_line = !trimmed.empty() && trimmed.front() != '#' && content.find(':') != std::string_view::npos &&
                        content.substr(0, content.find(':')) == user;
    if (!is_user_line) {
      r.text += raw;
      continue;
    }
    if (r.replaced) continue;  // drop later duplicates of the same user
    r.replaced = true;
    r.text += entry;
    r.text += ending.empty() ? std::string_view(crlf ? "\r\n" : "\n") : ending;
  }
  if (!r.replaced) {
    if (!r.text.empty() && r.text.back() != '\n') r.text += crlf ? "\r\n" : "\n";
    r.text += entry;
    r.text += crlf ? "\r\n" : "\n";
  }
  return r;
}

bool write_file_atomic(const std::string& path, std::string_view content, std::string* error) {
  auto fail = [&](const std::string& what, int err) {
    if (error) *error = path + ": " + what + ": " + std::strerror(err);
    return false;
  };
  std::string tmpl = path + ".tmp.XXXXXX";
  int fd = mkstemp(tmpl.data());  // mode 0600
  if (fd < 0) return fail("cannot create a temporary file next to it", errno);
  if (fchmod(fd, 0600) != 0) {
    int e = errno;
    close(fd);
    unlink(tmpl.c_str());
    return fail("cannot set mode 0600", e);
  }
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmpl.c_str());
      return fail("write failed", e);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(tmpl.c_str());
    return fail("fsync failed", e);
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmpl.c_str());
    return fail("close failed", e);
  }
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    int e = errno;
    unlink(tmpl.c_str());
    return fail("cannot replace the file", e);
  }
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);  // best effort: make the rename durable
    close(dfd);
  }
  return true;
}

SetPasswordResult set_user_password(const std::string& file, std::string_view user, std::string_view password,
                                    unsigned cost) {
  SetPasswordResult r;
  if (auto problem = username_problem(user)) {
    r.error = std::string("invalid user name: ") + *problem;
    return r;
  }
  if (password.empty()) {
    r.error = "empty password refused";
    return r;
  }
  if (password.find('\0') != std::string_view::npos || password.find('\n') != std::string_view::npos) {
    r.error = "the password must not contain NUL or newline characters";
    return r;
  }
  std::string text;
  {
    std::ifstream in(file, std::ios::binary);
    if (in) {
      std::ostringstream buf;
      buf << in.rdbuf();
      if (in.bad()) {
        r.error = file + ": cannot read: " + std::strerror(errno);
        return r;
      }
      text = buf.str();
    } else if (errno != ENOENT) {
      r.error = file + ": cannot read: " + std::strerror(errno);
      return r;
    }
  }
  for (auto& e : parse_htpasswd(text, file).errors) r.warnings.push_back(std::move(e));
  std::string hash;
  try {
    hash = hash_password_bcrypt(password, cost);
  } catch (const std::exception& e) {
    r.error = e.what();
    return r;
  }
  auto updated = upsert_htpasswd(text, user, hash);
  if (!write_file_atomic(file, updated.text, &r.error)) return r;
  r.ok = true;
  r.replaced = updated.replaced;
  return r;
}

}  // namespace airgate::access
