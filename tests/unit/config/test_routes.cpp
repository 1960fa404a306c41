// routes[].methods and routes[].access: parsing, errors with line:column, and
// route matching by normalised path prefix and method.
#include "config/load.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::config;

namespace {
std::string dump(const LoadResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.str() + "\n";
  return out;
}

Config ok(const std::string& yaml) {
  auto r = parse_yaml(yaml, "/etc/airgate/airgate.yaml");
  INFO("problems:\n" << dump(r));
  REQUIRE(r.ok());
  return *r.config;
}

// The only problem, as "FILE:LINE:COL: message".
std::string only_problem(const std::string& yaml) {
  auto r = parse_yaml(yaml, "/etc/airgate/airgate.yaml");
  INFO("problems:\n" << dump(r));
  REQUIRE(r.problems.size() == 1);
  return r.problems[0].str();
}
}  // namespace

TEST_CASE("routes: methods and access are parsed", "[config][routes]") {
  const auto cfg = ok(R"(routes:
  - path_prefix: /api/v1/sources/
    methods: [POST, PUT]
    access:
      users: [admin, ops]
      allow: ["10.20.0.0/16", "::1"]
      satisfy: all
  - path_prefix: /api/v1/health
    access: { public: true }
  - path_prefix: /static/
)");
  REQUIRE(cfg.routes.size() == 3);
  const auto& r0 = cfg.routes[0];
  CHECK(r0.methods == std::vector<std::string>{"POST", "PUT"});
  REQUIRE(r0.access);
  REQUIRE(r0.access->users);
  REQUIRE(r0.access->users->size() == 2);
  CHECK((*r0.access->users)[1].value == "ops");
  CHECK((*r0.access->users)[1].line == 5);
  CHECK((*r0.access->users)[1].column == 22);
  CHECK((*r0.access->users)[1].message("unknown user") ==
        "/etc/airgate/airgate.yaml:5:22: routes[0].access.users[1]: unknown user");
  CHECK(r0.access->allow_networks.size() == 2);
  CHECK(r0.access->satisfy == Satisfy::all);
  CHECK_FALSE(r0.access->is_public);
  REQUIRE(cfg.routes[1].access);
  CHECK(cfg.routes[1].access->is_public);
  CHECK_FALSE(cfg.routes[1].access->users);
  CHECK(cfg.routes[1].methods.empty());
  CHECK_FALSE(cfg.routes[2].access);
  // A route without upstream uses the top-level one.
  CHECK(cfg.routes[2].upstream.url.str() == cfg.upstream.url.str());
}

TEST_CASE("routes: bad methods and access are errors with line:column", "[config][routes]") {
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    methods: [post]\n") ==
        "/etc/airgate/airgate.yaml:3:15: routes[0].methods[0]: methods are case-sensitive: \"post\" matches no "
        "request; write \"POST\"");
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    methods: [\"GE T\"]\n") ==
        "/etc/airgate/airgate.yaml:3:15: routes[0].methods[0]: \"GE T\" is not an HTTP method (a token such as GET "
        "or POST)");
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    methods: [GET, GET]\n") ==
        "/etc/airgate/airgate.yaml:3:20: routes[0].methods[1]: \"GET\" is listed twice");
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    methods: []\n")
            .find("routes[0].methods: an empty list matches no request") != std::string::npos);
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    access: { satisfy: most }\n") ==
        "/etc/airgate/airgate.yaml:3:24: routes[0].access.satisfy: expected any | all, got \"most\"");
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    access: { allow: [\"10.0.0.300\"] }\n")
            .find("/etc/airgate/airgate.yaml:3:23: routes[0].access.allow[0]:") == 0);
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    access: { users: [] }\n")
            .find("routes[0].access.users: an empty list lets nobody in") != std::string::npos);
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    access: { public: true, users: [admin] }\n")
            .find("routes[0].access.users: has no effect with public: true") != std::string::npos);
  CHECK(only_problem("routes:\n  - path_prefix: /a/\n    access: { usres: [admin] }\n")
            .find("routes[0].access.usres: unknown key (did you mean \"users\"?)") != std::string::npos);
}

TEST_CASE("routes: a path_prefix must be in normalised form", "[config][routes]") {
  CHECK(only_problem("routes:\n  - path_prefix: /api//v1/\n") ==
        "/etc/airgate/airgate.yaml:2:18: routes[0].path_prefix: requests are matched in their normalised form, "
        "which \"/api//v1/\" is not: write \"/api/v1/\"");
  CHECK(only_problem("routes:\n  - path_prefix: \"/api/%73ources\"\n").find("write \"/api/sources\"") !=
        std::string::npos);
  CHECK(only_problem("routes:\n  - path_prefix: \"/api;x/\"\n").find("can never match") != std::string::npos);
}

TEST_CASE("routes: the first route matching prefix and method wins", "[config][routes]") {
  const auto cfg = ok(R"(routes:
  - { path_prefix: /api/v1/sources/, methods: [POST, DELETE] }
  - { path_prefix: /api/v1/ }
  - { path_prefix: /api/v1/sources/ }
)");
  CHECK(match_route(cfg.routes, "/api/v1/sources/create", "POST") == 0);
  CHECK(match_route(cfg.routes, "/api/v1/sources/create", "DELETE") == 0);
  CHECK(match_route(cfg.routes, "/api/v1/sources/create", "GET") == 1);
  CHECK(match_route(cfg.routes, "/api/v1/sources/create", "post") == 1);  // methods are case-sensitive
  CHECK(match_route(cfg.routes, "/api/v1/sources", "POST") == 1);
  CHECK(match_route(cfg.routes, "/api/v2/sources/create", "POST") == -1);
  CHECK(match_route(cfg.routes, "/API/v1/sources/create", "POST") == -1);  // paths are case-sensitive
  CHECK(match_route({}, "/", "GET") == -1);
}
