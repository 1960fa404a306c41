#include <catch2/catch.hpp>

#include "config/load.hpp"

#include <crypt.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

using namespace airgate::config;
using namespace std::chrono_literals;

namespace {

using Env = std::map<std::string, std::string>;

EnvLookup env_of(Env vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<Problem> apply(Config& cfg, Env vars) {
  std::vector<Problem> problems;
  apply_env(cfg, env_of(std::move(vars)), problems);
  return problems;
}

bool verifies(const std::string& password, const std::string& hash) {
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  return out != nullptr && hash == out;
}

std::string dump(const std::vector<Problem>& problems) {
  std::string out;
  for (const auto& p : problems) out += p.str() + "\n";
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/airgate-env-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
};

Config with_inline_users() {
  auto r = parse_yaml("auth:\n  basic:\n    users:\n      - { user: alice, hash: \"$2y$05$old\" }\n"
                      "      - { user: bob, hash: \"$2y$05$bob\" }\n",
                      "test.yaml");
  REQUIRE(r.ok());
  return *r.config;
}

}  // namespace

TEST_CASE("no environment leaves the config unchanged", "[config][env]") {
  Config cfg;
  CHECK(apply(cfg, {}).empty());
  CHECK(cfg.auth.users.empty());
  CHECK_FALSE(cfg.auth.disabled_by_env);
  CHECK_FALSE(cfg.auth.env_password);
  CHECK(cfg.upstream.url.str() == "http://127.0.0.1:8000");
  CHECK(cfg.upstream.read_timeout == 3600s);
}

TEST_CASE("BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD both empty disable auth", "[config][env]") {
  Config cfg = with_inline_users();
  auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", ""}, {"BASIC_AUTH_PASSWORD", ""}});
  INFO(dump(problems));
  CHECK(problems.empty());
  CHECK(cfg.auth.disabled_by_env);
  CHECK_FALSE(cfg.auth.env_password);
  CHECK(cfg.auth.users.size() == 2);  // no env user added

  // Only one of them set and empty: nothing happens.
  Config other;
  CHECK(apply(other, {{"BASIC_AUTH_USERNAME", ""}}).empty());
  CHECK_FALSE(other.auth.disabled_by_env);
  CHECK(apply(other, {{"BASIC_AUTH_PASSWORD", ""}}).empty());
  CHECK_FALSE(other.auth.disabled_by_env);
}

TEST_CASE("BASIC_AUTH_USERNAME and BASIC_AUTH_PASSWORD add a bcrypt user", "[config][env]") {
  Config cfg;
  const std::string password = "correct horse battery staple";
  auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "admin"}, {"BASIC_AUTH_PASSWORD", password}});
  INFO(dump(problems));
  REQUIRE(problems.empty());
  REQUIRE(cfg.auth.users.size() == 1);
  const auto& u = cfg.auth.users[0];
  CHECK(u.user == "admin");
  CHECK_THAT(u.hash, Catch::StartsWith("$2b$10$"));
  CHECK(u.hash.size() == 60);
  CHECK(u.hash.find(password) == std::string::npos);
  CHECK(verifies(password, u.hash));
  CHECK_FALSE(verifies("wrong password", u.hash));
  CHECK(cfg.auth.env_password == std::optional<std::string>(password));
  CHECK_FALSE(cfg.auth.disabled_by_env);

  // A fresh salt each time.
  Config again;
  REQUIRE(apply(again, {{"BASIC_AUTH_USERNAME", "admin"}, {"BASIC_AUTH_PASSWORD", password}}).empty());
  CHECK(again.auth.users[0].hash != u.hash);
}

TEST_CASE("the env user is added to inline users and replaces one of the same name", "[config][env]") {
  SECTION("same name replaces") {
    Config cfg = with_inline_users();
    REQUIRE(apply(cfg, {{"BASIC_AUTH_USERNAME", "alice"}, {"BASIC_AUTH_PASSWORD", "pw-alice-123456"}}).empty());
    REQUIRE(cfg.auth.users.size() == 2);
    int alices = 0;
    for (const auto& u : cfg.auth.users) {
      if (u.user == "alice") {
        ++alices;
        CHECK(verifies("pw-alice-123456", u.hash));
      }
    }
    CHECK(alices == 1);
  }
  SECTION("different name is added") {
    Config cfg = with_inline_users();
    REQUIRE(apply(cfg, {{"BASIC_AUTH_USERNAME", "carol"}, {"BASIC_AUTH_PASSWORD", "pw"}}).empty());
    REQUIRE(cfg.auth.users.size() == 3);
    CHECK(cfg.auth.users[0].hash == "$2y$05$old");
    CHECK(cfg.auth.users[2].user == "carol");
  }
}

TEST_CASE("BASIC_AUTH_PASSWORD_FILE", "[config][env]") {
  TempDir dir;
  SECTION("one trailing newline is stripped") {
    auto file = dir.write("pw", "s3cret-from-file\n");
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "admin"}, {"BASIC_AUTH_PASSWORD_FILE", file}});
    INFO(dump(problems));
    REQUIRE(problems.empty());
    REQUIRE(cfg.auth.users.size() == 1);
    CHECK(verifies("s3cret-from-file", cfg.auth.users[0].hash));
    CHECK(cfg.auth.env_password == std::optional<std::string>("s3cret-from-file"));
  }
  SECTION("only one newline is stripped; CRLF too") {
    Config a;
    REQUIRE(apply(a, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PASSWORD_FILE", dir.write("a", "pw\n\n")}}).empty());
    CHECK(a.auth.env_password == std::optional<std::string>("pw\n"));
    Config b;
    REQUIRE(apply(b, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PASSWORD_FILE", dir.write("b", "pw\r\n")}}).empty());
    CHECK(b.auth.env_password == std::optional<std::string>("pw"));
    Config c;
    REQUIRE(
        apply(c, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PASSWORD_FILE", dir.write("c", "no-newline")}}).empty());
    CHECK(c.auth.env_password == std::optional<std::string>("no-newline"));
  }
  SECTION("an empty BASIC_AUTH_PASSWORD does not conflict with the file") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "u"},
                                {"BASIC_AUTH_PASSWORD", ""},
                                {"BASIC_AUTH_PASSWORD_FILE", dir.write("pw", "filepw\n")}});
    CHECK(problems.empty());
    CHECK_FALSE(cfg.auth.disabled_by_env);
    CHECK(cfg.auth.env_password == std::optional<std::string>("filepw"));
  }
  SECTION("missing file") {
    Config cfg;
    auto missing = (dir.path / "nope").string();
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PASSWORD_FILE", missing}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].source == "<env>");
    CHECK(problems[0].line == 0);
    CHECK_THAT(problems[0].message, Catch::StartsWith("BASIC_AUTH_PASSWORD_FILE: cannot read \"" + missing + "\""));
    CHECK(cfg.auth.users.empty());
  }
  SECTION("empty file") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PASSWORD_FILE", dir.write("e", "\n")}});
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0].message, Catch::Contains("is empty"));
  }
  SECTION("both password and file set") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "u"},
                                {"BASIC_AUTH_PASSWORD", "hunter2hunter2"},
                                {"BASIC_AUTH_PASSWORD_FILE", dir.write("pw", "other\n")}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].message == "BASIC_AUTH_PASSWORD and BASIC_AUTH_PASSWORD_FILE are both set; use only one");
    CHECK(cfg.auth.users.empty());
  }
}

TEST_CASE("partial basic auth environment is a problem", "[config][env]") {
  SECTION("user without password") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "admin"}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].str() ==
          "<env>: BASIC_AUTH_USERNAME is set but BASIC_AUTH_PASSWORD/BASIC_AUTH_PASSWORD_FILE is not");
    CHECK(cfg.auth.users.empty());
  }
  SECTION("user with an empty password") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "admin"}, {"BASIC_AUTH_PASSWORD", ""}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].message == "BASIC_AUTH_USERNAME is set but BASIC_AUTH_PASSWORD/BASIC_AUTH_PASSWORD_FILE is not");
    CHECK_FALSE(cfg.auth.disabled_by_env);
  }
  SECTION("password without user, password never in the message") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_PASSWORD", "TopSecret!42"}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].message == "BASIC_AUTH_PASSWORD is set but BASIC_AUTH_USERNAME is not");
    CHECK(problems[0].str().find("TopSecret") == std::string::npos);
    CHECK_FALSE(cfg.auth.env_password);
  }
  SECTION("user with a colon") {
    Config cfg;
    auto problems = apply(cfg, {{"BASIC_AUTH_USERNAME", "a:b"}, {"BASIC_AUTH_PASSWORD", "TopSecret!42"}});
    REQUIRE(problems.size() == 1);
    CHECK_THAT(problems[0].message, Catch::StartsWith("BASIC_AUTH_USERNAME"));
    CHECK(problems[0].str().find("TopSecret") == std::string::npos);
  }
}

TEST_CASE("BASIC_AUTH_PROXY_TIMEOUT sets every upstream timeout", "[config][env]") {
  auto r = parse_yaml(
      "upstream: { connect_timeout: 1s }\n"
      "routes: [{ path_prefix: /a, upstream: { url: \"http://x:1\", read_timeout: 2s } }, { path_prefix: /b }]\n",
      "t.yaml");
  REQUIRE(r.ok());
  Config cfg = *r.config;
  REQUIRE(apply(cfg, {{"BASIC_AUTH_PROXY_TIMEOUT", "600"}}).empty());
  for (const Upstream* u : {&cfg.upstream, &cfg.routes[0].upstream, &cfg.routes[1].upstream}) {
    CHECK(u->connect_timeout == 600s);
    CHECK(u->read_timeout == 600s);
    CHECK(u->send_timeout == 600s);
  }
  CHECK(cfg.routes[0].upstream.url.str() == "http://x:1");

  for (auto bad : {"abc", "0", "-5", "1.5"}) {
    INFO(bad);
    Config c;
    auto problems = apply(c, {{"BASIC_AUTH_PROXY_TIMEOUT", bad}});
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].source == "<env>");
    CHECK_THAT(problems[0].message,
               Catch::StartsWith("BASIC_AUTH_PROXY_TIMEOUT: expected a positive number of seconds"));
    CHECK(c.upstream.read_timeout == 3600s);
  }
  Config empty;
  CHECK(apply(empty, {{"BASIC_AUTH_PROXY_TIMEOUT", ""}}).empty());  // empty = unset
}

TEST_CASE("PROXY_PASS_WEB sets the top-level upstream only", "[config][env]") {
  auto r = parse_yaml("routes: [{ path_prefix: /a }, { path_prefix: /b, upstream: { url: \"http://b:2\" } }]\n",
                      "t.yaml");
  REQUIRE(r.ok());
  Config cfg = *r.config;
  REQUIRE(apply(cfg, {{"PROXY_PASS_WEB", "http://airbyte-webapp:80"}}).empty());
  CHECK(cfg.upstream.url.str() == "http://airbyte-webapp:80");
  CHECK(cfg.routes[0].upstream.url.str() == "http://127.0.0.1:8000");  // inherited at parse time: unchanged
  CHECK(cfg.routes[1].upstream.url.str() == "http://b:2");

  Config https;
  REQUIRE(apply(https, {{"PROXY_PASS_WEB", "https://[::1]"}}).empty());
  CHECK(https.upstream.url.str() == "https://[::1]:443");

  Config c;
  auto problems = apply(c, {{"PROXY_PASS_WEB", "http://web:80/app"}});
  REQUIRE(problems.size() == 1);
  CHECK_THAT(problems[0].str(), Catch::StartsWith("<env>: PROXY_PASS_WEB: invalid URL \"http://web:80/app\""));
  CHECK(c.upstream.url.str() == "http://127.0.0.1:8000");

  Config s;
  problems = apply(s, {{"PROXY_PASS_WEB", "http://u:Pa55word@web"}});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].message.find("Pa55word") == std::string::npos);
}

TEST_CASE("several env problems are collected", "[config][env]") {
  Config cfg;
  auto problems = apply(
      cfg, {{"BASIC_AUTH_USERNAME", "u"}, {"BASIC_AUTH_PROXY_TIMEOUT", "x"}, {"PROXY_PASS_WEB", "ftp://x"}});
  CHECK(problems.size() == 3);
}

TEST_CASE("load: -c, then AIRGATE_CONFIG, then defaults; then the environment", "[config][env]") {
  TempDir dir;
  auto a = dir.write("a.yaml", "workers: 2\n");
  auto b = dir.write("b.yaml", "workers: 3\n");

  SECTION("defaults") {
    auto r = load(std::nullopt, env_of({}));
    REQUIRE(r.ok());
    CHECK(r.config->source == "<defaults>");
    CHECK(r.config->listen.size() == 1);
    CHECK(r.config->listen[0].tls.has_value());
    CHECK(r.config->upstream.url.str() == "http://127.0.0.1:8000");
    CHECK(r.config->admin.address == std::optional<std::string>("127.0.0.1:9901"));
  }
  SECTION("defaults with an empty AIRGATE_CONFIG") {
    auto r = load(std::nullopt, env_of({{"AIRGATE_CONFIG", ""}}));
    REQUIRE(r.ok());
    CHECK(r.config->source == "<defaults>");
  }
  SECTION("AIRGATE_CONFIG") {
    auto r = load(std::nullopt, env_of({{"AIRGATE_CONFIG", a}}));
    REQUIRE(r.ok());
    CHECK(r.config->source == a);
    CHECK(r.config->workers == 2);
  }
  SECTION("-c wins over AIRGATE_CONFIG") {
    auto r = load(b, env_of({{"AIRGATE_CONFIG", a}}));
    REQUIRE(r.ok());
    CHECK(r.config->source == b);
    CHECK(r.config->workers == 3);
  }
  SECTION("environment overlays the file") {
    auto r = load(a, env_of({{"PROXY_PASS_WEB", "http://web:81"}, {"BASIC_AUTH_PROXY_TIMEOUT", "7"}}));
    REQUIRE(r.ok());
    CHECK(r.config->upstream.url.str() == "http://web:81");
    CHECK(r.config->upstream.connect_timeout == 7s);
    CHECK(r.config->workers == 2);
  }
  SECTION("environment overlays the defaults") {
    auto r = load(std::nullopt, env_of({{"BASIC_AUTH_USERNAME", ""}, {"BASIC_AUTH_PASSWORD", ""}}));
    REQUIRE(r.ok());
    CHECK(r.config->auth.disabled_by_env);
  }
  SECTION("file and env problems together, no config") {
    auto bad = dir.write("bad.yaml", "workers: zero\n");
    auto r = load(bad, env_of({{"PROXY_PASS_WEB", "nope"}}));
    CHECK_FALSE(r.ok());
    CHECK(r.config == nullptr);
    REQUIRE(r.problems.size() == 2);
    CHECK(r.problems[0].source == bad);
    CHECK(r.problems[1].source == "<env>");
  }
  SECTION("missing file") {
    auto missing = (dir.path / "missing.yaml").string();
    auto r = load(std::nullopt, env_of({{"AIRGATE_CONFIG", missing}}));
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].source == missing);
  }
}

TEST_CASE("process_env reads the real environment", "[config][env]") {
  ::setenv("AIRGATE_TEST_CONFIG_VAR", "value-1", 1);
  ::unsetenv("AIRGATE_TEST_CONFIG_UNSET");
  auto env = process_env();
  CHECK(env("AIRGATE_TEST_CONFIG_VAR") == std::optional<std::string>("value-1"));
  CHECK_FALSE(env("AIRGATE_TEST_CONFIG_UNSET").has_value());
  ::setenv("AIRGATE_TEST_CONFIG_VAR", "", 1);
  CHECK(env("AIRGATE_TEST_CONFIG_VAR") == std::optional<std::string>(""));
  ::unsetenv("AIRGATE_TEST_CONFIG_VAR");
}
