#include <catch2/catch.hpp>

#include "config/load.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace airgate::config;
using namespace std::chrono_literals;

namespace {

const std::string kSrc = "/etc/airgate/airgate.yaml";

LoadResult parse(const std::string& yaml, const std::string& source = kSrc) { return parse_yaml(yaml, source); }

std::string dump(const LoadResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.str() + "\n";
  return out;
}

// The one problem whose message contains `part` (fails the test otherwise).
Problem problem_with(const LoadResult& r, const std::string& part) {
  INFO("problems:\n" << dump(r));
  std::vector<Problem> found;
  for (const auto& p : r.problems)
    if (p.message.find(part) != std::string::npos) found.push_back(p);
  REQUIRE(found.size() == 1);
  return found.front();
}

// Parses a config that must be valid and returns it.
Config ok(const std::string& yaml, const std::string& source = kSrc) {
  auto r = parse(yaml, source);
  INFO("yaml:\n" << yaml << "\nproblems:\n" << dump(r));
  REQUIRE(r.ok());
  REQUIRE(r.config);
  return *r.config;
}

// Parses a config that must be invalid; returns the problems.
LoadResult bad(const std::string& yaml) {
  auto r = parse(yaml);
  INFO("yaml:\n" << yaml);
  REQUIRE_FALSE(r.ok());
  REQUIRE_FALSE(r.problems.empty());
  REQUIRE(r.config == nullptr);
  return r;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    char tmpl[] = "/tmp/airgate-config-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

void check_design_defaults(const Config& c) {
  REQUIRE(c.listen.size() == 1);
  CHECK(c.listen[0].address == "0.0.0.0:8443");
  CHECK(c.listen[0].host == "0.0.0.0");
  CHECK(c.listen[0].port == 8443);
  REQUIRE(c.listen[0].tls.has_value());
  CHECK(c.listen[0].tls->certificate.empty());  // self-signed at start
  CHECK(c.listen[0].tls->private_key.empty());
  CHECK(c.listen[0].tls->min_version == "1.2");
  CHECK(c.listen[0].tls->sni.empty());
  CHECK_FALSE(c.listen[0].tls->client_ca.has_value());
  CHECK_FALSE(c.listen[0].proxy_protocol);
  CHECK_FALSE(c.listen[0].redirect_to_https.has_value());

  CHECK(c.upstream.url.str() == "http://127.0.0.1:8000");
  CHECK_FALSE(c.upstream.ca_file.has_value());
  CHECK(c.upstream.connect_timeout == 10s);
  CHECK(c.upstream.read_timeout == 3600s);
  CHECK(c.upstream.send_timeout == 3600s);
  CHECK(c.upstream.max_idle_connections == 64);
  CHECK(c.routes.empty());

  CHECK(c.limits.client_body_buffer_size == 64 * 1024);
  CHECK(c.limits.client_body_min_rate == 1024);
  CHECK(c.limits.max_uploads_per_client == 16);
  CHECK(c.limits.max_body_size == 200ull * 1024 * 1024);
  CHECK(c.limits.max_header_size == 64ull * 1024);
  CHECK(c.limits.handshake_timeout == 10s);
  CHECK(c.limits.client_header_timeout == 60s);
  CHECK(c.limits.client_body_timeout == 60s);
  CHECK(c.limits.keepalive_timeout == 75s);
  CHECK_FALSE(c.limits.max_connections.has_value());  // derived from RLIMIT_NOFILE at start

  CHECK(c.auth.realm == "Welcome to Airbyte");
  CHECK_FALSE(c.auth.users_file.has_value());
  CHECK(c.auth.users.empty());
  CHECK(c.auth.allow.empty());
  CHECK(c.auth.satisfy == Satisfy::any);
  CHECK_FALSE(c.auth.forward_authorization);
  CHECK(c.auth.public_paths.empty());
  CHECK(c.auth.throttle.max_failures == 10);
  CHECK(c.auth.throttle.window == 60s);
  CHECK(c.auth.throttle.block == 300s);
  CHECK_FALSE(c.auth.disabled_by_env);
  CHECK_FALSE(c.auth.env_password.has_value());

  CHECK(c.trusted_proxies.empty());
  CHECK_FALSE(c.headers.hsts.has_value());
  CHECK(c.headers.request_id);
  CHECK(c.admin.address == std::optional<std::string>("127.0.0.1:9901"));
  CHECK(c.logging.level == "info");
  CHECK(c.logging.format == LogFormat::text);
  CHECK(c.logging.access_log == "stdout");
  CHECK(c.workers == 0);
  CHECK(c.shutdown_grace == 30s);
  CHECK(c.reload_watch == 10s);
  CHECK(c.security.selfcheck == SelfcheckMode::warn);
}

}  // namespace

TEST_CASE("empty inputs give the design defaults", "[config][load]") {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "--- \n...\n", "{}", "~"}) {
    INFO("text: " << text);
    auto c = ok(text);
    CHECK(c.source == kSrc);
    check_design_defaults(c);
  }
}

TEST_CASE("empty sections keep their defaults", "[config][load]") {
  auto c = ok("limits:\nauth: {}\nheaders:\nlogging: {}\nsecurity:\nroutes:\ntrusted_proxies:\n");
  check_design_defaults(c);
}

TEST_CASE("every key is parsed", "[config][load]") {
  const std::string yaml = R"(
listen:
  - address: "0.0.0.0:8443"
    tls:
      certificate: /etc/airgate/tls/tls.crt
      private_key: /etc/airgate/tls/tls.key
      min_version: "1.3"
      sni:
        - { names: ["Airbyte.Example.com", "b.example.com"], certificate: /c/b.crt, private_key: /c/b.key }
      client_ca: /etc/airgate/ca.pem
    proxy_protocol: true
  - address: "[::]:8080"
    redirect_to_https: "https://airbyte.example.com/"
upstream:
  url: "https://backend.internal:9443"
  ca_file: /etc/ssl/backend.pem
  connect_timeout: 5s
  read_timeout: 1h
  send_timeout: 1500ms
  max_idle_connections: 8
routes:
  - { path_prefix: "/api/", upstream: { url: "http://127.0.0.1:8001" } }
limits:
  client_body_buffer_size: 8k
  client_body_min_rate: 0
  max_uploads_per_client: 0
  max_body_size: 0
  max_header_size: 128KiB
  handshake_timeout: 3s
  client_header_timeout: 20s
  client_body_timeout: 2m
  keepalive_timeout: 30
  max_connections: 500
auth:
  realm: "Private"
  basic:
    users_file: /etc/airgate/htpasswd
    users:
      - { user: alice, hash: "$2y$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa" }
      - { user: bob, hash: "$apr1$salt$hash" }
  allow: ["10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8"]
  satisfy: all
  forward_authorization: true
  public_paths: ["/api/v1/health"]
  throttle: { max_failures: 3, window: 2m, block: 1h }
trusted_proxies: ["172.16.0.0/12"]
headers:
  hsts: "max-age=31536000; includeSubDomains"
  request_id: false
admin:
  address: "[::1]:9901"
logging:
  level: debug
  format: json
  access_log: /var/log/airgate/access.log
workers: 4
shutdown_grace: 5s
reload_watch: 0
security:
  selfcheck: enforce
)";
  auto c = ok(yaml);
  REQUIRE(c.listen.size() == 2);
  const auto& l0 = c.listen[0];
  CHECK(l0.address == "0.0.0.0:8443");
  CHECK(l0.host == "0.0.0.0");
  CHECK(l0.port == 8443);
  REQUIRE(l0.tls);
  CHECK(l0.tls->certificate == "/etc/airgate/tls/tls.crt");
  CHECK(l0.tls->private_key == "/etc/airgate/tls/tls.key");
  CHECK(l0.tls->min_version == "1.3");
  REQUIRE(l0.tls->sni.size() == 1);
  CHECK(l0.tls->sni[0].names == std::vector<std::string>{"airbyte.example.com", "b.example.com"});
  CHECK(l0.tls->sni[0].certificate == "/c/b.crt");
  CHECK(l0.tls->sni[0].private_key == "/c/b.key");
  CHECK(l0.tls->client_ca == std::optional<std::string>("/etc/airgate/ca.pem"));
  CHECK(l0.proxy_protocol);
  CHECK_FALSE(l0.redirect_to_https);
  const auto& l1 = c.listen[1];
  CHECK(l1.host == "::");
  CHECK(l1.port == 8080);
  CHECK_FALSE(l1.tls.has_value());
  CHECK(l1.redirect_to_https == std::optional<std::string>("https://airbyte.example.com"));

  CHECK(c.upstream.url.scheme == "https");
  CHECK(c.upstream.url.host == "backend.internal");
  CHECK(c.upstream.url.port == 9443);
  CHECK(c.upstream.url.tls());
  CHECK(c.upstream.ca_file == std::optional<std::string>("/etc/ssl/backend.pem"));
  CHECK(c.upstream.connect_timeout == 5s);
  CHECK(c.upstream.read_timeout == 1h);
  CHECK(c.upstream.send_timeout == 1500ms);
  CHECK(c.upstream.max_idle_connections == 8);

  REQUIRE(c.routes.size() == 1);
  CHECK(c.routes[0].path_prefix == "/api/");
  CHECK(c.routes[0].upstream.url.str() == "http://127.0.0.1:8001");

  CHECK(c.limits.client_body_buffer_size == 8 * 1024);
  CHECK(c.limits.client_body_min_rate == 0);
  CHECK(c.limits.max_uploads_per_client == 0);
  CHECK(c.limits.max_body_size == 0);
  CHECK(c.limits.max_header_size == 128 * 1024);
  CHECK(c.limits.handshake_timeout == 3s);
  CHECK(c.limits.client_header_timeout == 20s);
  CHECK(c.limits.client_body_timeout == 2min);
  CHECK(c.limits.keepalive_timeout == 30s);
  CHECK(c.limits.max_connections == std::optional<std::size_t>(500));

  CHECK(c.auth.realm == "Private");
  CHECK(c.auth.users_file == std::optional<std::string>("/etc/airgate/htpasswd"));
  REQUIRE(c.auth.users.size() == 2);
  CHECK(c.auth.users[0].user == "alice");
  CHECK(c.auth.users[0].hash == "$2y$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZa");
  CHECK(c.auth.users[0].scheme == HashScheme::bcrypt);
  CHECK(c.auth.users[1].user == "bob");
  CHECK(c.auth.allow == std::vector<std::string>{"10.0.0.0/8", "192.168.1.7", "::1", "fd00::/8"});
  REQUIRE(c.auth.allow_networks.size() == 4);
  CHECK(c.auth.allow_networks[1].str() == "192.168.1.7/32");
  CHECK(c.auth.allow_networks[3].str() == "fd00::/8");
  CHECK(c.auth.satisfy == Satisfy::all);
  CHECK(c.auth.forward_authorization);
  CHECK(c.auth.public_paths == std::vector<std::string>{"/api/v1/health"});
  CHECK(c.auth.throttle.max_failures == 3);
  CHECK(c.auth.throttle.window == 2min);
  CHECK(c.auth.throttle.block == 1h);
  CHECK(c.trusted_proxies == std::vector<std::string>{"172.16.0.0/12"});
  REQUIRE(c.trusted_proxy_networks.size() == 1);
  CHECK(c.trusted_proxy_networks[0].str() == "172.16.0.0/12");
  CHECK(c.headers.hsts == std::optional<std::string>("max-age=31536000; includeSubDomains"));
  CHECK_FALSE(c.headers.request_id);
  CHECK(c.admin.address == std::optional<std::string>("[::1]:9901"));
  CHECK(c.logging.level == "debug");
  CHECK(c.logging.format == LogFormat::json);
  CHECK(c.logging.access_log == "/var/log/airgate/access.log");
  CHECK(c.workers == 4);
  CHECK(c.shutdown_grace == 5s);
  CHECK(c.reload_watch == Duration(0));
  CHECK(c.security.selfcheck == SelfcheckMode::enforce);
}

TEST_CASE("scalar variants", "[config][load]") {
  SECTION("workers auto and bounds") {
    CHECK(ok("workers: auto").workers == 0);
    CHECK(ok("workers: 1").workers == 1);
    CHECK(ok("workers: 1024").workers == 1024);
    for (auto w : {"0", "1025", "-1", "many", "1.5"}) {
      auto r = bad(std::string("workers: ") + w);
      CHECK(problem_with(r, "workers: expected \"auto\" or an integer 1..1024").line == 1);
    }
  }
  SECTION("booleans") {
    CHECK(ok("headers: { request_id: no }").headers.request_id == false);
    CHECK(ok("headers: { request_id: True }").headers.request_id == true);
    auto r = bad("headers:\n  request_id: maybe\n");
    auto p = problem_with(r, "headers.request_id");
    CHECK(p.message == "headers.request_id: expected true or false, got \"maybe\"");
    CHECK(p.line == 2);
    CHECK(p.column == 15);
  }
  SECTION("min_version accepts YAML floats") {
    CHECK(ok("listen: [{ address: \"0.0.0.0:1\", tls: { min_version: 1.3 } }]").listen[0].tls->min_version == "1.3");
    CHECK(ok("listen: [{ address: \"0.0.0.0:1\", tls: { min_version: 1.2 } }]").listen[0].tls->min_version == "1.2");
    auto r = bad("listen: [{ address: \"0.0.0.0:1\", tls: { min_version: \"1.1\" } }]");
    CHECK(problem_with(r, "listen[0].tls.min_version").message ==
          "listen[0].tls.min_version: expected \"1.2\" or \"1.3\", got \"1.1\"");
  }
  SECTION("tls: {} is TLS with a self-signed certificate, no tls is plain HTTP") {
    auto c = ok("listen:\n  - address: 127.0.0.1:0\n    tls: {}\n  - address: 127.0.0.1:8080\n");
    REQUIRE(c.listen[0].tls.has_value());
    CHECK(c.listen[0].tls->certificate.empty());
    CHECK(c.listen[0].port == 0);
    CHECK_FALSE(c.listen[1].tls.has_value());
  }
  SECTION("admin null disables it") {
    CHECK_FALSE(ok("admin: null").admin.address.has_value());
    CHECK_FALSE(ok("admin:\n").admin.address.has_value());
    CHECK_FALSE(ok("admin: { address: null }").admin.address.has_value());
    CHECK(ok("admin: { address: \"127.0.0.1:0\" }").admin.address == std::optional<std::string>("127.0.0.1:0"));
  }
  SECTION("single string is accepted where a list of strings is expected") {
    auto c = ok("auth: { allow: 10.0.0.0/8, public_paths: /health }");
    CHECK(c.auth.allow == std::vector<std::string>{"10.0.0.0/8"});
    CHECK(c.auth.public_paths == std::vector<std::string>{"/health"});
  }
  SECTION("access_log keywords") {
    CHECK(ok("logging: { access_log: off }").logging.access_log == "off");
    CHECK(ok("logging: { access_log: stderr }").logging.access_log == "stderr");
    CHECK(ok("logging: { access_log: null }").logging.access_log == "off");
  }
}

TEST_CASE("unknown keys are reported with their exact line and column", "[config][load]") {
  SECTION("nested key") {
    auto r = bad("limits:\n  max_body_size: 1M\n  max_bodysize: 2M\n");
    REQUIRE(r.problems.size() == 1);
    const auto& p = r.problems[0];
    CHECK(p.source == kSrc);
    CHECK(p.line == 3);
    CHECK(p.column == 3);
    CHECK(p.message == "limits.max_bodysize: unknown key (did you mean \"max_body_size\"?)");
    CHECK(p.str() == kSrc + ":3:3: limits.max_bodysize: unknown key (did you mean \"max_body_size\"?)");
  }
  SECTION("top-level key") {
    auto r = bad("# comment\n\nupstreams:\n  url: http://x\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 3);
    CHECK(r.problems[0].column == 1);
    CHECK(r.problems[0].message == "upstreams: unknown key (did you mean \"upstream\"?)");
  }
  SECTION("key in a list item, flow style") {
    auto r = bad("listen:\n  - address: \"0.0.0.0:1\"\n  - { address: \"0.0.0.0:2\", tsl: {} }\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 3);
    CHECK(r.problems[0].column == 29);
    CHECK(r.problems[0].message == "listen[1].tsl: unknown key (did you mean \"tls\"?)");
  }
  SECTION("key in the wrong section") {
    auto r = bad("max_body_size: 10M\n");
    CHECK(r.problems[0].message == "max_body_size: unknown key (it belongs under limits)");
  }
  SECTION("no suggestion for something unrelated") {
    auto r = bad("auth:\n  basic:\n    users:\n      - user: a\n        hash: \"$2y$x\"\n        colour: red\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].message == "auth.basic.users[0].colour: unknown key");
    CHECK(r.problems[0].line == 6);
    CHECK(r.problems[0].column == 9);
  }
  SECTION("duplicate key") {
    auto r = bad("workers: 2\nworkers: 3\n");
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].line == 2);
    CHECK(r.problems[0].message == "workers: duplicate key (first set on line 1)");
  }
}

TEST_CASE("all problems are collected, in document order", "[config][load]") {
  const std::string yaml = "listen:\n"                   // 1
                           "  - address: \"nowhere\"\n"  // 2
                           "upstream:\n"                 // 3
                           "  url: ftp://x\n"            // 4
                           "  read_timeout: soon\n"      // 5
                           "limits:\n"                   // 6
                           "  max_body_size: abc\n"      // 7
                           "  bogus: 1\n"                // 8
                           "logging:\n"                  // 9
                           "  level: verbose\n"          // 10
                           "workers: 0\n";               // 11
  auto r = bad(yaml);
  INFO(dump(r));
  REQUIRE(r.problems.size() == 7);
  std::vector<int> lines;
  for (const auto& p : r.problems) lines.push_back(p.line);
  CHECK(lines == std::vector<int>{2, 4, 5, 7, 8, 10, 11});
  CHECK(r.problems[3].message ==
        "limits.max_body_size: expected a size like 200M, got \"abc\" (does not start with a number)");
  CHECK(r.problems[3].column == 18);
  CHECK(r.problems[5].message == "logging.level: expected trace | debug | info | warn | error, got \"verbose\"");
}

TEST_CASE("type errors name the dotted key path", "[config][load]") {
  auto msg = [](const std::string& yaml) {
    auto r = bad(yaml);
    INFO(dump(r));
    REQUIRE(r.problems.size() == 1);
    return r.problems[0].message;
  };
  CHECK(msg("limits: { max_body_size: -5 }") ==
        "limits.max_body_size: expected a size like 200M, got \"-5\" (negative sizes are not allowed)");
  CHECK(msg("limits: { max_body_size: { a: 1 } }") == "limits.max_body_size: expected a size like 200M, got a mapping");
  CHECK(msg("limits: { max_header_size: 100 }") == "limits.max_header_size: must be at least 1 KiB, got \"100\"");
  CHECK(msg("limits: { handshake_timeout: 1d }") ==
        "limits.handshake_timeout: expected a duration like 90s, got \"1d\" (unknown unit \"d\"; use ms, s, m or h)");
  CHECK(msg("limits: { keepalive_timeout: 0 }") == "limits.keepalive_timeout: must be greater than 0");
  CHECK(msg("limits: { client_body_buffer_size: 64M }") ==
        "limits.client_body_buffer_size: must be at most 16 MiB (it is held in memory for every request that uploads), "
        "got 64 MiB");
  CHECK(msg("limits: { client_body_min_rate: fast }") ==
        "limits.client_body_min_rate: expected a size like 200M, got \"fast\" (does not start with a number)");
  CHECK(msg("limits: { max_connections: 0 }") == "limits.max_connections: must be at least 1, got 0");
  CHECK(msg("limits: { max_connections: lots }") == "limits.max_connections: expected an integer, got \"lots\"");
  CHECK(msg("limits: [1, 2]") == "limits: expected a mapping, got a list");
  CHECK(msg("listen: { address: x }") == "listen: expected a list of listeners, got a mapping");
  CHECK(msg("listen: []") == "listen: at least one listener is required");
  CHECK(msg("upstream: { connect_timeout: [] }") ==
        "upstream.connect_timeout: expected a duration like 90s, got a list");
  CHECK(msg("auth: { satisfy: both }") == "auth.satisfy: expected any | all, got \"both\"");
  CHECK(msg("auth: { realm: 'a\"b' }") == "auth.realm: must not contain quotes, backslashes or control characters");
  CHECK(msg("auth: { throttle: { max_failures: -1 } }").find("auth.throttle.max_failures") != std::string::npos);
  CHECK(airgate::config::parse_yaml("auth: { throttle: { max_failures: 0 } }", "t.yaml")
            .ok());  // 0 disables the throttle
  CHECK(msg("auth: { public_paths: [health] }") == "auth.public_paths[0]: must start with \"/\", got \"health\"");
  CHECK(msg("logging: { format: xml }") == "logging.format: expected text | json, got \"xml\"");
  CHECK(msg("security: { selfcheck: strict }") == "security.selfcheck: expected warn | enforce, got \"strict\"");
  CHECK(msg("shutdown_grace: -1") ==
        "shutdown_grace: expected a duration like 90s, got \"-1\" (negative durations are not allowed)");
  CHECK(msg("reload_watch: {}") == "reload_watch: expected a duration like 90s, got a mapping");
  CHECK(msg("headers: { hsts: [a] }") == "headers.hsts: expected a string or null, got a list");
}

TEST_CASE("a null value is reported at its key", "[config][load]") {
  auto r = bad("auth:\n  realm:\n  satisfy: any\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].message == "auth.realm: expected a string, got null");
  CHECK(r.problems[0].line == 2);
  CHECK(r.problems[0].column == 3);
}

TEST_CASE("YAML syntax errors are one problem with a position", "[config][load]") {
  auto r = bad("listen:\n  - address: [1, 2\nworkers: 2\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(r.problems[0].line > 0);
  CHECK(r.problems[0].column > 0);
  CHECK_THAT(r.problems[0].message, Catch::StartsWith("YAML syntax error: "));

  auto tabs = bad("limits:\n\tmax_body_size: 1M\n");
  CHECK(tabs.problems.size() == 1);
}

TEST_CASE("non-mapping documents and several documents are rejected", "[config][load]") {
  CHECK(bad("just text").problems[0].message ==
        "the configuration must be a mapping of keys (listen:, upstream:, ...), got \"just text\"");
  CHECK(bad("- a\n- b\n").problems.size() == 1);
  auto r = bad("workers: 2\n---\nworkers: 3\n");
  CHECK_THAT(r.problems[0].message, Catch::Contains("more than one YAML document"));
}

// Found by tests/fuzz/fuzz_config: yaml-cpp 0.7's LoadAll never returned for
// a lone "," (empty documents forever); parse_yaml must answer, with a position.
TEST_CASE("parse_yaml terminates on a stray top-level comma", "[config][load]") {
  for (const std::string text : {",", ",\n", " ,", "# c\n,"}) {
    INFO("yaml: " << text);
    auto r = bad(text);
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::Contains("YAML syntax error"));
    CHECK(r.problems[0].line >= 1);
  }
  auto two = bad("workers: 2\n---\nworkers: 3\n");
  REQUIRE(two.problems.size() == 1);
  CHECK_THAT(two.problems[0].message, Catch::Contains("more than one YAML document"));
  CHECK(two.problems[0].line == 3);
  CHECK(ok("---\nworkers: 2\n...\n").workers == 2);
}

TEST_CASE("parse_yaml never throws", "[config][load]") {
  const std::vector<std::string> inputs = {std::string("\0\1\2\xff\xfe", 5),
                                           "[[[[[[[[[[",
                                           "{{{{",
                                           "? [a, b]\n: c\n",
                                           "a: &x 1\nb: *x\n",
                                           "*undefined",
                                           "listen: [{address: *a}]",
                                           std::string(2000, '[') + std::string(2000, ']'),
                                           "!!binary xyz",
                                           "<<: {a: 1}\n",
                                           "listen: [1, null, [], {}]",
                                           "routes: [1, {}, {path_prefix: {}}]",
                                           "auth: {basic: {users: [1, {}]}}",
                                           "listen:\n  - address: \"[::1\"\n",
                                           "upstream: { url: \"http://[zz]:80\" }"};
  for (const auto& in : inputs) {
    INFO(in.substr(0, 60));
    LoadResult r;
    CHECK_NOTHROW(r = parse_yaml(in, "x.yaml"));
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("listen address validation", "[config][load]") {
  struct Good {
    const char* address;
    const char* host;
    std::uint16_t port;
  };
  for (auto g :
       {Good{"0.0.0.0:8443", "0.0.0.0", 8443}, Good{"127.0.0.1:0", "127.0.0.1", 0}, Good{"[::]:8443", "::", 8443},
        Good{"[::1]:65535", "::1", 65535}, Good{"[fe80::1%lo]:80", "fe80::1%lo", 80}}) {
    INFO(g.address);
    auto c = ok(std::string("listen: [{ address: \"") + g.address + "\" }]");
    CHECK(c.listen[0].address == g.address);
    CHECK(c.listen[0].host == g.host);
    CHECK(c.listen[0].port == g.port);
  }
  struct Bad {
    const char* address;
    const char* reason;
  };
  for (auto b :
       {Bad{"8443", "expected \"host:port\""}, Bad{":8443", "missing host"}, Bad{"0.0.0.0:65536", "out of range"},
        Bad{"0.0.0.0:", "missing port"}, Bad{"0.0.0.0:http", "not a number"},
        Bad{"localhost:8443", "not an IP address"}, Bad{"::1:8443", "brackets"}, Bad{"[::1]8443", "[address]:port"},
        Bad{"[::1:8443", "missing ']'"}, Bad{"[1.2.3.4]:80", "not an IPv6 address"},
        Bad{"300.1.1.1:80", "not an IP address"}, Bad{"0.0.0.0:-1", "not a number"}}) {
    INFO(b.address);
    auto r = bad(std::string("listen: [{ address: \"") + b.address + "\" }]");
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("listen[0].address: invalid address"));
    CHECK_THAT(r.problems[0].message, Catch::Contains(b.reason));
  }
  SECTION("address is required") {
    auto r = bad("listen:\n  - proxy_protocol: true\n");
    CHECK(r.problems[0].message == "listen[0]: address is required (e.g. address: \"0.0.0.0:8443\")");
    CHECK(r.problems[0].line == 2);
  }
  SECTION("duplicate addresses (except port 0)") {
    auto r = bad("listen:\n  - address: 0.0.0.0:80\n  - address: 0.0.0.0:80\n");
    CHECK(problem_with(r, "already used").line == 3);
    ok("listen:\n  - address: 127.0.0.1:0\n  - address: 127.0.0.1:0\n");
    auto a = bad("listen: [{address: \"127.0.0.1:9901\"}]\nadmin: {address: \"127.0.0.1:9901\"}\n");
    CHECK(problem_with(a, "admin.address").message ==
          "admin.address: address \"127.0.0.1:9901\" is already used by listen[0]");
  }
  SECTION("admin address validated the same way") {
    auto r = bad("admin: { address: \"localhost:9901\" }");
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("admin.address: invalid address"));
  }
}

TEST_CASE("TLS listener validation", "[config][load]") {
  auto r = bad("listen:\n  - address: 0.0.0.0:1\n    tls:\n      certificate: a.crt\n");
  REQUIRE(r.problems.size() == 1);
  CHECK(
      r.problems[0].message ==
      "listen[0].tls: certificate is set but private_key is not (set both, or neither for a self-signed certificate)");
  CHECK(r.problems[0].line == 4);
  auto r2 = bad("listen:\n  - address: 0.0.0.0:1\n    tls: { private_key: a.key }\n");
  CHECK_THAT(r2.problems[0].message, Catch::Contains("private_key is set but certificate is not"));
  auto r3 = bad("listen: [{ address: 0.0.0.0:1, tls: { sni: [{ names: [a.example] }] } }]");
  CHECK(r3.problems.size() == 2);  // certificate and private_key required
  auto r4 = bad("listen: [{ address: 0.0.0.0:1, tls: { sni: [{ certificate: a, private_key: b }] } }]");
  CHECK_THAT(r4.problems[0].message, Catch::Contains("names is required"));
  // An empty tls: (its keys commented out) is an error, never plain HTTP.
  auto r5 = bad("listen:\n  - address: 0.0.0.0:443\n    tls:\n    #  certificate: a.crt\n");
  REQUIRE(r5.problems.size() == 1);
  CHECK(r5.problems[0].message ==
        "listen[0].tls: is empty: write tls: {} for TLS with a self-signed certificate, or remove tls for plain HTTP");
  CHECK(r5.problems[0].line == 3);
  CHECK_THAT(bad("listen: [{ address: 0.0.0.0:1, tls: ~ }]").problems[0].message, Catch::Contains("is empty"));
  CHECK(ok("listen: [{ address: 0.0.0.0:1, tls: {} }]").listen[0].tls.has_value());
}

TEST_CASE("redirect_to_https validation", "[config][load]") {
  auto c = ok("listen: [{ address: \"0.0.0.0:80\", redirect_to_https: \"https://a.example:8443/\" }]");
  CHECK(c.listen[0].redirect_to_https == std::optional<std::string>("https://a.example:8443"));
  CHECK_FALSE(c.listen[0].tls.has_value());
  // A redirect listener may also terminate TLS.
  auto t = ok("listen: [{ address: \"0.0.0.0:80\", tls: {}, redirect_to_https: \"https://a.example\" }]");
  CHECK(t.listen[0].tls.has_value());
  auto mtls = bad(
      "listen: [{ address: \"0.0.0.0:80\", tls: { client_ca: ca.pem }, redirect_to_https: \"https://a\" }]");
  CHECK_THAT(mtls.problems[0].message,
             Catch::StartsWith("listen[0]: tls.client_ca cannot be combined with redirect_to_https"));
  for (auto b : {"https://a.example/path", "ftp://a.example", "a.example", "https://", "https://u:p@a.example",
                 "https://a.example?x=1"}) {
    INFO(b);
    auto r = bad(std::string("listen: [{ address: \"0.0.0.0:80\", redirect_to_https: \"") + b + "\" }]");
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("listen[0].redirect_to_https: invalid redirect origin"));
  }
}

TEST_CASE("upstream URL validation", "[config][load]") {
  struct Good {
    const char* url;
    const char* scheme;
    const char* host;
    std::uint16_t port;
    const char* str;
  };
  for (auto g : {Good{"http://127.0.0.1:8000", "http", "127.0.0.1", 8000, "http://127.0.0.1:8000"},
                 Good{"http://airbyte-webapp", "http", "airbyte-webapp", 80, "http://airbyte-webapp:80"},
                 Good{"https://backend.example/", "https", "backend.example", 443, "https://backend.example:443"},
                 Good{"HTTP://Web:80", "http", "web", 80, "http://web:80"},
                 Good{"http://[::1]:8000", "http", "::1", 8000, "http://[::1]:8000"},
                 Good{"https://[2001:db8::1]", "https", "2001:db8::1", 443, "https://[2001:db8::1]:443"}}) {
    INFO(g.url);
    auto c = ok(std::string("upstream: { url: \"") + g.url + "\" }");
    CHECK(c.upstream.url.scheme == g.scheme);
    CHECK(c.upstream.url.host == g.host);
    CHECK(c.upstream.url.port == g.port);
    CHECK(c.upstream.url.str() == g.str);
  }
  struct Bad {
    const char* url;
    const char* reason;
  };
  for (auto b : {Bad{"ftp://x", "scheme must be http or https"}, Bad{"127.0.0.1:8000", "expected a URL"},
                 Bad{"http://x/api", "a path in the upstream URL is not supported"},
                 Bad{"http://user:secret@x", "user:password@ is not allowed"}, Bad{"http://:80", "missing host"},
                 Bad{"http://x:0", "port 0 is not allowed"}, Bad{"http://x:99999", "out of range"},
                 Bad{"http://::1:80", "brackets"}, Bad{"http://x?a=b", "query"}, Bad{"http://x y", "invalid host"},
                 Bad{"http://[::1", "missing ']'"}}) {
    INFO(b.url);
    auto r = bad(std::string("upstream: { url: \"") + b.url + "\" }");
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("upstream.url: invalid URL"));
    CHECK_THAT(r.problems[0].message, Catch::Contains(b.reason));
  }
  SECTION("a URL with a password is never echoed") {
    auto r = bad("upstream: { url: \"http://user:s3cr3t@x\" }");
    CHECK_THAT(r.problems[0].message, !Catch::Contains("s3cr3t"));
  }
}

TEST_CASE("UpstreamUrl helpers", "[config]") {
  UpstreamUrl u;
  CHECK(u.str() == "http://127.0.0.1:8000");
  CHECK(u.authority() == "127.0.0.1:8000");
  CHECK_FALSE(u.tls());
  u = UpstreamUrl{"https", "::1", 443};
  CHECK(u.authority() == "[::1]:443");
  CHECK(u.str() == "https://[::1]:443");
  CHECK(u.tls());
}

TEST_CASE("allow and trusted_proxies accept addresses and CIDRs only", "[config][load]") {
  auto c = ok("auth: { allow: [\"10.0.0.0/8\", \"1.2.3.4\", \"::1\", \"2001:db8::/32\", \"0.0.0.0/0\", \"::/0\"] }\n"
              "trusted_proxies: [\"127.0.0.1/32\", \"fd00::/8\"]\n");
  CHECK(c.auth.allow.size() == 6);
  REQUIRE(c.auth.allow_networks.size() == 6);
  CHECK(c.auth.allow_networks[4].prefix == 0);
  CHECK(c.trusted_proxies.size() == 2);
  CHECK(c.trusted_proxy_networks.size() == 2);
  // Everything the access checks would refuse is refused here, at load.
  for (auto b : {"10.0.0.0/33", "10.0.0.0/", "1.2.3", "example.com", "::/129", "10.0.0.0/8/8", "[::1]", "1.2.3.4/x",
                 "all", "fe80::1%eth0", "10.0.0.0/0008"}) {
    INFO(b);
    auto r = bad(std::string("auth:\n  allow:\n    - \"") + b + "\"\n");
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::StartsWith("auth.allow[0]: expected an IP address or CIDR"));
    CHECK(r.problems[0].line == 3);
    CHECK(r.problems[0].column == 7);
    auto t = bad(std::string("trusted_proxies: [\"10.0.0.1\", \"") + b + "\"]");
    CHECK_THAT(t.problems[0].message, Catch::StartsWith("trusted_proxies[1]: expected an IP address or CIDR"));
  }
}

TEST_CASE("routes inherit unset upstream fields regardless of key order", "[config][load]") {
  const std::string routes = "routes:\n"
                             "  - path_prefix: /api/\n"
                             "    upstream: { url: \"http://127.0.0.1:8001\", read_timeout: 5s }\n"
                             "  - path_prefix: /static/\n";
  const std::string upstream = "upstream:\n"
                               "  url: \"https://main.internal\"\n"
                               "  ca_file: /ca.pem\n"
                               "  connect_timeout: 3s\n"
                               "  read_timeout: 99s\n"
                               "  max_idle_connections: 7\n";
  for (const auto& yaml : {routes + upstream, upstream + routes}) {
    auto c = ok(yaml);
    REQUIRE(c.routes.size() == 2);
    const auto& api = c.routes[0];
    CHECK(api.path_prefix == "/api/");
    CHECK(api.upstream.url.str() == "http://127.0.0.1:8001");
    CHECK(api.upstream.read_timeout == 5s);
    CHECK(api.upstream.connect_timeout == 3s);  // inherited
    CHECK(api.upstream.ca_file == std::optional<std::string>("/ca.pem"));
    CHECK(api.upstream.send_timeout == 3600s);  // built-in default via top-level
    CHECK(api.upstream.max_idle_connections == 7);
    const auto& st = c.routes[1];
    CHECK(st.upstream.url.str() == "https://main.internal:443");
    CHECK(st.upstream.read_timeout == 99s);
  }
  auto r = bad("routes:\n  - { path_prefix: api }\n  - upstream: {}\n");
  CHECK(r.problems.size() == 2);
  CHECK(r.problems[0].message == "routes[0].path_prefix: must start with \"/\", got \"api\"");
  CHECK(r.problems[1].message == "routes[1]: path_prefix is required");
  auto u = bad("routes: [{ path_prefix: /a, upstream: { url: \"http://x/a\" } }]");
  CHECK_THAT(u.problems[0].message, Catch::StartsWith("routes[0].upstream.url: invalid URL"));
}

TEST_CASE("inline basic users", "[config][load]") {
  auto r = bad("auth:\n  basic:\n    users:\n      - { user: \"a:b\", hash: \"$2y$x\" }\n      - { user: c }\n"
               "      - { hash: \"$2y$x\" }\n      - { user: d, hash: \"plaintextpassword\" }\n"
               "      - { user: e, hash: \"$2y$x\" }\n      - { user: e, hash: \"$2y$x\" }\n");
  INFO(dump(r));
  REQUIRE(r.problems.size() == 5);
  CHECK(r.problems[0].message == "auth.basic.users[0].user: must not contain ':' or control characters");
  CHECK(r.problems[1].message == "auth.basic.users[1]: hash is required");
  CHECK(r.problems[2].message == "auth.basic.users[2]: user is required");
  CHECK_THAT(r.problems[3].message, Catch::StartsWith("auth.basic.users[3].hash: unsupported hash format"));
  CHECK_THAT(r.problems[3].message, !Catch::Contains("plaintextpassword"));
  CHECK(r.problems[4].message == "auth.basic.users[5].user: user \"e\" is listed twice");
  for (auto h : {"$2y$10$x", "$2b$x", "$2a$x", "$5$x", "$6$x", "$y$x", "$apr1$x", "{SHA}x"}) {
    INFO(h);
    ok(std::string("auth: { basic: { users: [{ user: u, hash: \"") + h + "\" }] } }");
  }
}

TEST_CASE("relative paths are resolved against the config file directory", "[config][load]") {
  const std::string yaml = "listen:\n"
                           "  - address: 0.0.0.0:1\n"
                           "    tls:\n"
                           "      certificate: tls/tls.crt\n"
                           "      private_key: /abs/tls.key\n"
                           "      client_ca: ../ca.pem\n"
                           "      sni: [{ names: [a], certificate: a.crt, private_key: a.key }]\n"
                           "upstream: { ca_file: up.pem }\n"
                           "routes: [{ path_prefix: /x, upstream: { ca_file: r.pem } }]\n"
                           "auth: { basic: { users_file: htpasswd } }\n"
                           "logging: { access_log: logs/access.log }\n";
  auto c = ok(yaml, "/etc/airgate/airgate.yaml");
  const auto& tls = *c.listen[0].tls;
  CHECK(tls.certificate == "/etc/airgate/tls/tls.crt");
  CHECK(tls.private_key == "/abs/tls.key");
  CHECK(tls.client_ca == std::optional<std::string>("/etc/airgate/../ca.pem"));
  CHECK(tls.sni[0].certificate == "/etc/airgate/a.crt");
  CHECK(tls.sni[0].private_key == "/etc/airgate/a.key");
  CHECK(c.upstream.ca_file == std::optional<std::string>("/etc/airgate/up.pem"));
  CHECK(c.routes[0].upstream.ca_file == std::optional<std::string>("/etc/airgate/r.pem"));
  CHECK(c.auth.users_file == std::optional<std::string>("/etc/airgate/htpasswd"));
  CHECK(c.logging.access_log == "/etc/airgate/logs/access.log");

  // A source without a directory or a pseudo source leaves paths unchanged.
  CHECK(ok(yaml, "airgate.yaml").listen[0].tls->certificate == "tls/tls.crt");
  CHECK(ok(yaml, "<string>").listen[0].tls->certificate == "tls/tls.crt");
  CHECK(ok(yaml, "conf/airgate.yaml").listen[0].tls->certificate == "conf/tls/tls.crt");
}

TEST_CASE("Problem::str formats", "[config]") {
  CHECK(Problem{"a.yaml", 3, 7, "bad"}.str() == "a.yaml:3:7: bad");
  CHECK(Problem{"<env>", 0, 0, "PROXY_PASS_WEB: bad"}.str() == "<env>: PROXY_PASS_WEB: bad");
}

TEST_CASE("load_file reads files and reports unreadable ones", "[config][load]") {
  TempDir dir;
  SECTION("missing file") {
    auto r = load_file((dir.path / "missing.yaml").string());
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].source == (dir.path / "missing.yaml").string());
    CHECK(r.problems[0].line == 0);
    CHECK_THAT(r.problems[0].message, Catch::Contains("cannot read the configuration file"));
    CHECK_FALSE(r.ok());
  }
  SECTION("a directory") {
    auto r = load_file(dir.path.string());
    REQUIRE(r.problems.size() == 1);
    CHECK_THAT(r.problems[0].message, Catch::Contains("is a directory"));
  }
  SECTION("valid file: source and relative paths") {
    auto path = dir.write("airgate.yaml", "upstream:\n  ca_file: ca.pem\n");
    auto r = load_file(path);
    REQUIRE(r.ok());
    CHECK(r.config->source == path);
    CHECK(r.config->upstream.ca_file == std::optional<std::string>((dir.path / "ca.pem").string()));
  }
  SECTION("invalid file names the file in problems") {
    auto path = dir.write("airgate.yaml", "\nworkers: none\n");
    auto r = load_file(path);
    REQUIRE(r.problems.size() == 1);
    CHECK(r.problems[0].str() == path + ":2:10: workers: expected \"auto\" or an integer 1..1024, got \"none\"");
  }
}
