// Hash vectors below were produced by real tools, not by airgate:
//   openssl passwd -apr1 / -5 / -6 (OpenSSL 3), htpasswd -nbB / -nbm / -nbs
//   (apache2-utils), mkpasswd -m yescrypt / bcrypt / sha-512 (whois), and
//   python3 crypt.crypt (libxcrypt) for $2a$ / $2b$ / $2y$ with a fixed salt.
#include "access/htpasswd.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <fstream>
#include <string>

using namespace airgate::access;

namespace {

struct Vector {
  const char* tool;
  const char* password;
  const char* hash;
  HashScheme scheme;
};

const Vector kVectors[] = {
    {"openssl passwd -apr1 -salt Zx9Rb3Ks", "correct horse", "$apr1$Zx9Rb3Ks$10Gq4h8rhR.vGwfXzzKnD1", HashScheme::apr1},
    {"openssl passwd -apr1 -salt a", "x", "$apr1$a$CwOs8ZUV1Vmp.iAwImfTn1", HashScheme::apr1},
    {"openssl passwd -apr1 -salt 12345678 (long)",
     "a much longer password that exceeds sixteen bytes, more than 64 even: 0123456789abcdef0123456789",
     "$apr1$12345678$YGOV1CXkM29ACUC1z/4zX/", HashScheme::apr1},
    {"openssl passwd -apr1 (16 bytes)", "exactly16bytes!!", "$apr1$ab.d/Z9x$9LIf7vep.0uxCAsIGb35J.", HashScheme::apr1},
    {"openssl passwd -apr1 (UTF-8)", "p\xC3\xA4ssw\xC3\xB6rd", "$apr1$Q$0LwYGElRSuE45zoduzEwr/", HashScheme::apr1},
    {"htpasswd -nbm", "correct horse", "$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.", HashScheme::apr1},
    {"htpasswd -nbm (empty)", "", "$apr1$Lq4NtZ8/$xsGI2JcXEN2GF8sDjvXrz0", HashScheme::apr1},
    {"htpasswd -nbs", "correct horse", "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=", HashScheme::sha1},
    {"openssl passwd -6", "correct horse",
     "$6$Qq7LwT2m$vUKOsRBDCLS1mgx/hflGwAYFQwfdaXCYVUUF6tIym.VItLC2ITOO5HlzEdvljx.saiqkNUnabfJdoj54wkgxz.",
     HashScheme::sha512_crypt},
    {"mkpasswd -m sha-512 -R 5000", "correct horse",
     "$6$rounds=5000$saltsaltsalt12$mjSM2626qhMaW5u0XY9B."
     "eUowxBTHFGFmKItlYUDfrGSpWAfFkyi1eX8eITV4yDhwtaw4HR80iGPmEyidcGRT/",
     HashScheme::sha512_crypt},
    {"mkpasswd -m sha-512 (empty)", "",
     "$6$6mSy8LQN/xn13n6l$YKknw7DQaajPOW3bnHZ3KMRyTIb7LoAz/3c.cYcVmFY8MZK8GKcOhxNdMYD086kobATfsTUQRW3FZXT1Sa8KP/",
     HashScheme::sha512_crypt},
    {"openssl passwd -5", "correct horse", "$5$Qq7LwT2m$2zwKZMp.skueqb9A4rah4pKRaCdIlvY2xGmDCnJpzlC",
     HashScheme::sha256_crypt},
    {"mkpasswd -m sha-256 -R 1000", "correct horse",
     "$5$rounds=1000$saltsaltsalt12$j0IyViOzrdR4Vc/k8mLwbsLqhb36iRBzZJ6pJ2pcQy9", HashScheme::sha256_crypt},
    {"mkpasswd -m yescrypt", "correct horse",
     "$y$j9T$scMC7HAzSFPViNNZRlQqj/$EdqpibE8iYvjqntOjzVn0587gm6YU7H1YH1BeE535F2", HashScheme::yescrypt},
    {"mkpasswd -m yescrypt", "other", "$y$j9T$37UgxMO/QeOr.k4BlkzrM.$OYMzifCl9u43qQkpybfXJD0qwSoYtFoEDx4P74N7Br7",
     HashScheme::yescrypt},
    {"python3 crypt (yescrypt j75)", "correct horse",
     "$y$j75$abcdefghijklmnop$1kKL1r02wT4HlcktLfzeoOHd1GFgv7Ay4JeEbqGj80B", HashScheme::yescrypt},
    {"mkpasswd -m bcrypt -R 5", "correct horse", "$2b$05$em9u507XApZClPW3RBsQ9OPC5Mjg8bw1NwKxsfiUlApNXIg41i.Fa",
     HashScheme::bcrypt},
    {"htpasswd -nbB -C 5", "correct horse", "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu",
     HashScheme::bcrypt},
    {"htpasswd -nbB -C 4 (colons)", "pw:with:colons", "$2y$04$sNmnuy.lmwphnadpmcvaTuIypdBThjOMl4nd7BX2w.WHAkWqWZHsu",
     HashScheme::bcrypt},
    {"python3 crypt $2a$", "correct horse", "$2a$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
     HashScheme::bcrypt},
    {"python3 crypt $2y$", "correct horse", "$2y$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
     HashScheme::bcrypt},
    {"python3 crypt $2b$", "correct horse", "$2b$05$abcdefghijklmnopqrstuuHNbAKRhpaujgo33bRWs.NLUTJO3lOy2",
     HashScheme::bcrypt},
    {"python3 crypt $2b$ (empty)", "", "$2b$04$abcdefghijklmnopqrstuubyCG3zY1GIXMyxfivm.ClDiInHzxjiq",
     HashScheme::bcrypt},
};

std::string temp_path(const char* tag) {
  char buf[] = "/tmp/airgate-access-test-XXXXXX";
  int fd = mkstemp(buf);
  REQUIRE(fd >= 0);
  close(fd);
  return std::string(buf) + tag;
}

}  // namespace

TEST_CASE("real-tool hash vectors verify with the right password only", "[access][htpasswd]") {
  for (const auto& v : kVectors) {
    INFO(v.tool << " " << v.hash);
    CHECK(hash_scheme(v.hash) == v.scheme);
    std::string why;
    CHECK(valid_hash(v.hash, &why));
    CHECK(why.empty());
    CHECK(verify_password(v.hash, v.password));
    CHECK_FALSE(verify_password(v.hash, std::string(v.password) + "x"));
    CHECK_FALSE(verify_password(v.hash, "wrong"));
    if (*v.password) {
      std::string truncated(v.password);
      truncated.pop_back();
      CHECK_FALSE(verify_password(v.hash, truncated));
    }
  }
}

TEST_CASE("apr1 and {SHA} are computed exactly like the real tools", "[access][htpasswd]") {
  CHECK(apr1_crypt("correct horse", "Zx9Rb3Ks") == "$apr1$Zx9Rb3Ks$10Gq4h8rhR.vGwfXzzKnD1");
  CHECK(apr1_crypt("correct horse", "$apr1$Zx9Rb3Ks$ignored") == "$apr1$Zx9Rb3Ks$10Gq4h8rhR.vGwfXzzKnD1");
  CHECK(apr1_crypt("x", "a") == "$apr1$a$CwOs8ZUV1Vmp.iAwImfTn1");
  CHECK(apr1_crypt("", "Lq4NtZ8/") == "$apr1$Lq4NtZ8/$xsGI2JcXEN2GF8sDjvXrz0");
  // salt longer than 8 characters is truncated, as openssl does
  CHECK(apr1_crypt("correct horse", "Zx9Rb3KsEXTRA") == "$apr1$Zx9Rb3Ks$10Gq4h8rhR.vGwfXzzKnD1");
  CHECK(sha1_htpasswd("correct horse") == "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=");
}

TEST_CASE("passwords with NUL bytes and malformed hashes never verify", "[access][htpasswd]") {
  CHECK_FALSE(verify_password("$apr1$Lq4NtZ8/$xsGI2JcXEN2GF8sDjvXrz0", std::string_view("\0", 1)));
  CHECK_FALSE(verify_password("$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu",
                              std::string_view("correct horse\0junk", 18)));
  CHECK_FALSE(verify_password("correct horse", "correct horse"));  // plain text is not a hash
  CHECK_FALSE(verify_password("", ""));
  CHECK_FALSE(verify_password("$2y$05$ujaVGHB6fRFwKBCSbayl.u", "correct horse"));
}

TEST_CASE("valid_hash rejects unknown and malformed formats with a reason", "[access][htpasswd]") {
  const char* bad[] = {
      "",
      "plaintext",
      "abJnggxhB/yWI",                       // DES crypt
      "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",  // md5-crypt
      "{SSHA}abcdef",
      "$2x$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu",
      "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGB",   // short
      "$2y$99$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu",  // cost
      "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbG!u",  // char
      "$apr1$$10Gq4h8rhR.vGwfXzzKnD1",
      "$apr1$Zx9Rb3Ks$10Gq4h8rhR.vGwfXzzKnD",
      "$apr1$Zx9Rb3Ks",
      "$apr1$123456789$10Gq4h8rhR.vGwfXzzKnD1",
      "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A",
      "{SHA}AAAA",
      "$6$Qq7LwT2m$short",
      "$5$rounds=abc$salt$2zwKZMp.skueqb9A4rah4pKRaCdIlvY2xGmDCnJpzlC",
      "$y$j9T$scMC7HAzSFPViNNZRlQqj/",
      "$sha1$whatever",
  };
  for (const char* h : bad) {
    INFO(h);
    std::string why;
    CHECK_FALSE(valid_hash(h, &why));
    CHECK_FALSE(why.empty());
  }
  std::string why;
  valid_hash("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", &why);
  CHECK_THAT(why, Catch::Contains("$1$"));
  valid_hash("hunter2", &why);
  CHECK_THAT(why, Catch::Contains("plain-text"));
  CHECK_THAT(why, !Catch::Contains("hunter2"));  // never echo the secret
}

TEST_CASE("weak schemes are flagged", "[access][htpasswd]") {
  CHECK(is_weak(HashScheme::apr1));
  CHECK(is_weak(HashScheme::sha1));
  CHECK_FALSE(is_weak(HashScheme::bcrypt));
  CHECK_FALSE(is_weak(HashScheme::yescrypt));
  CHECK(scheme_name(hash_scheme("$2b$...")) == "bcrypt");
  CHECK(scheme_name(hash_scheme("$apr1$...")) == "apr1-md5");
}

TEST_CASE("parse_htpasswd: comments, blank lines, CRLF, nginx comment field", "[access][htpasswd]") {
  std::string text =
      "# users for airbyte\r\n"
      "\r\n"
      "alice:$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu\r\n"
      "   # indented comment\n"
      "bob:$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.:Bob from accounting\n"
      "carol:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=  \n"
      "   \t\n"
      "dave:$y$j9T$scMC7HAzSFPViNNZRlQqj/$EdqpibE8iYvjqntOjzVn0587gm6YU7H1YH1BeE535F2";  // no final newline
  auto r = parse_htpasswd(text, "users.htpasswd");
  REQUIRE(r.errors.empty());
  REQUIRE(r.entries.size() == 4);
  CHECK(r.entries[0].user == "alice");
  CHECK(r.entries[0].line == 3);
  CHECK(r.entries[1].user == "bob");
  CHECK(r.entries[1].hash == "$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.");
  CHECK(r.entries[2].hash == "{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=");
  CHECK(r.entries[3].user == "dave");
  CHECK(r.entries[3].line == 8);
  CHECK(r.entries[0].scheme == HashScheme::bcrypt);
  CHECK(r.entries[1].scheme == HashScheme::apr1);
  CHECK(r.entries[2].scheme == HashScheme::sha1);
  CHECK(r.entries[3].scheme == HashScheme::yescrypt);
  CHECK(verify_password(r.entries[1].hash, "correct horse"));
  // With the scheme known (as the access checks call it): the same answers.
  CHECK(verify_password(r.entries[1].scheme, r.entries[1].hash, "correct horse"));
  CHECK_FALSE(verify_password(r.entries[1].scheme, r.entries[1].hash, "correct horsE"));
  CHECK(verify_password(r.entries[2].scheme, r.entries[2].hash, "correct horse"));
  CHECK_FALSE(verify_password(HashScheme::unknown, r.entries[2].hash, "correct horse"));
}

TEST_CASE("parse_htpasswd: malformed lines are FILE:LINE errors", "[access][htpasswd]") {
  std::string text = "alice:$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu\n"
                     "no colon here\n"
                     ":$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.\n"
                     "eve:hunter2\n"
                     "frank:\n"
                     "alice:$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.\n"
                     "gina:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n";
  auto r = parse_htpasswd(text, "/etc/airgate/users");
  REQUIRE(r.errors.size() == 6);
  CHECK_THAT(r.errors[0], Catch::StartsWith("/etc/airgate/users:2: ") && Catch::Contains("missing ':'"));
  CHECK_THAT(r.errors[1], Catch::StartsWith("/etc/airgate/users:3: ") && Catch::Contains("empty user"));
  CHECK_THAT(r.errors[2], Catch::StartsWith("/etc/airgate/users:4: ") && Catch::Contains("eve"));
  CHECK_THAT(r.errors[2], !Catch::Contains("hunter2"));
  CHECK_THAT(r.errors[3], Catch::StartsWith("/etc/airgate/users:5: ") && Catch::Contains("empty password hash"));
  CHECK_THAT(r.errors[4], Catch::StartsWith("/etc/airgate/users:6: ") && Catch::Contains("duplicate user 'alice'") &&
                              Catch::Contains("line 1"));
  CHECK_THAT(r.errors[5], Catch::StartsWith("/etc/airgate/users:7: "));
  CHECK_FALSE(r.ok());
  REQUIRE(r.entries.size() == 1);  // alice from line 1
}

TEST_CASE("load_htpasswd_file and effective_users", "[access][htpasswd]") {
  std::string path = temp_path(".htpasswd");
  {
    std::ofstream f(path);
    f << "alice:$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.\n"
         "bob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n";
  }
  airgate::config::Auth auth;
  auth.users_file = path;
  auth.users.push_back({"alice", "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu"});  // overrides
  auth.users.push_back({"zoe", "$5$Qq7LwT2m$2zwKZMp.skueqb9A4rah4pKRaCdIlvY2xGmDCnJpzlC"});

  SECTION("inline users override file users and are appended") {
    std::vector<std::string> errors;
    auto users = effective_users(auth, errors);
    REQUIRE(errors.empty());
    REQUIRE(users.size() == 3);
    CHECK(users[0].user == "alice");
    CHECK(hash_scheme(users[0].hash) == HashScheme::bcrypt);
    CHECK(users[1].user == "bob");
    CHECK(users[1].scheme == HashScheme::sha1);  // from the file parser
    CHECK(users[2].user == "zoe");
  }
  SECTION("bad inline hash is an error naming the entry") {
    auth.users.push_back({"mallory", "secret"});
    std::vector<std::string> errors;
    auto users = effective_users(auth, errors);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith("auth.basic.users[2] (mallory): "));
    CHECK(users.size() == 3);
  }
  SECTION("a bad file line is reported with the file path and line") {
    {
      std::ofstream f(path, std::ios::app);
      f << "broken line\n";
    }
    std::vector<std::string> errors;
    effective_users(auth, errors);
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].rfind(path + ":3: ", 0) == 0);
  }
  SECTION("an unreadable file is an error naming it") {
    auth.users_file = path + ".missing";
    std::vector<std::string> errors;
    effective_users(auth, errors);
    REQUIRE(errors.size() == 1);
    CHECK_THAT(errors[0], Catch::StartsWith(path + ".missing: cannot read"));
  }
  std::remove(path.c_str());
}

TEST_CASE("hash_password_bcrypt produces a verifiable $2y$ hash with a random salt", "[access][htpasswd]") {
  std::string h1 = hash_password_bcrypt("s3cret-passw0rd", 10);
  std::string h2 = hash_password_bcrypt("s3cret-passw0rd", 10);
  CHECK_THAT(h1, Catch::StartsWith("$2y$10$"));
  CHECK(h1.size() == 60);
  CHECK(h1 != h2);
  CHECK(verify_password(h1, "s3cret-passw0rd"));
  CHECK_FALSE(verify_password(h1, "s3cret-passw0rD"));
  CHECK_THROWS(hash_password_bcrypt("x", 4));
  // The environment user's form: libxcrypt's $2b$ prefix.
  std::string b = hash_password_bcrypt("s3cret-passw0rd", 10, "$2b$");
  CHECK_THAT(b, Catch::StartsWith("$2b$10$"));
  CHECK(verify_password(b, "s3cret-passw0rd"));
  CHECK_THROWS(hash_password_bcrypt("x", 10, "$2a$"));
  CHECK_THROWS(hash_password_bcrypt(std::string_view("a\0b", 3), 10));
}

TEST_CASE("username_problem", "[access][htpasswd]") {
  CHECK_FALSE(username_problem("alice"));
  CHECK_FALSE(username_problem("alice@example.com"));
  CHECK(username_problem(""));
  CHECK(username_problem("a:b"));
  CHECK(username_problem("#admin"));
  CHECK(username_problem(" alice"));
  CHECK(username_problem("alice\n"));
  CHECK(username_problem(std::string(256, 'a')));
}

TEST_CASE("upsert_htpasswd: add, replace, keep comments and other lines", "[access][htpasswd]") {
  const std::string h = "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu";
  SECTION("empty file") {
    auto r = upsert_htpasswd("", "alice", h);
    CHECK_FALSE(r.replaced);
    CHECK(r.text == "alice:" + h + "\n");
  }
  SECTION("append keeps everything and adds a missing final newline") {
    auto r = upsert_htpasswd("# team\nbob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=", "alice", h);
    CHECK_FALSE(r.replaced);
    CHECK(r.text == "# team\nbob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\nalice:" + h + "\n");
  }
  SECTION("replace in place, comments and order kept, later duplicates dropped") {
    std::string text = "# team\n"
                       "alice:$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.\n"
                       "# alice:commented-out\n"
                       "alicex:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n"
                       "bob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n"
                       "alice:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n";
    auto r = upsert_htpasswd(text, "alice", h);
    CHECK(r.replaced);
    CHECK(r.text == "# team\n"
                    "alice:" +
                        h +
                        "\n"
                        "# alice:commented-out\n"
                        "alicex:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n"
                        "bob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\n");
    auto parsed = parse_htpasswd(r.text, "x");
    CHECK(parsed.ok());
  }
  SECTION("CRLF files stay CRLF") {
    auto r = upsert_htpasswd("bob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\r\n", "alice", h);
    CHECK(r.text == "bob:{SHA}L55TUjtiq8FBorTWAZ0jy6g129A=\r\nalice:" + h + "\r\n");
    auto r2 = upsert_htpasswd(r.text, "bob", h);
    CHECK(r2.replaced);
    CHECK(r2.text == "bob:" + h + "\r\nalice:" + h + "\r\n");
  }
}

TEST_CASE("set_user_password creates and updates the file atomically with mode 0600", "[access][htpasswd]") {
  std::string path = temp_path(".users");
  std::remove(path.c_str());

  auto r = set_user_password(path, "alice", "first password", 10);
  REQUIRE(r.ok);
  CHECK_FALSE(r.replaced);
  struct stat st {};
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto parsed = load_htpasswd_file(path);
  REQUIRE(parsed.ok());
  REQUIRE(parsed.entries.size() == 1);
  CHECK(verify_password(parsed.entries[0].hash, "first password"));

  {
    std::ofstream f(path, std::ios::app);
    f << "# a comment\nbob:$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.\n";
  }
  chmod(path.c_str(), 0644);
  r = set_user_password(path, "alice", "second password", 10);
  REQUIRE(r.ok);
  CHECK(r.replaced);
  REQUIRE(stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  parsed = load_htpasswd_file(path);
  REQUIRE(parsed.ok());
  REQUIRE(parsed.entries.size() == 2);
  CHECK(parsed.entries[0].user == "alice");
  CHECK(verify_password(parsed.entries[0].hash, "second password"));
  CHECK_FALSE(verify_password(parsed.entries[0].hash, "first password"));
  CHECK(parsed.entries[1].user == "bob");
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  CHECK_THAT(all, Catch::Contains("# a comment\n"));

  CHECK_FALSE(set_user_password(path, "a:b", "pw", 10).ok);
  auto empty = set_user_password(path, "carol", "", 10);
  CHECK_FALSE(empty.ok);
  CHECK_THAT(empty.error, Catch::Contains("empty password"));
  auto nodir = set_user_password("/nonexistent-dir/users", "carol", "pw", 10);
  CHECK_FALSE(nodir.ok);
  CHECK_THAT(nodir.error, Catch::StartsWith("/nonexistent-dir/users"));
  std::remove(path.c_str());
}
