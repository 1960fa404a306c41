#include "access/access.hpp"
#include "access/base64.hpp"

#include <catch2/catch.hpp>

#include <thread>

using namespace airgate::access;
using namespace std::chrono_literals;
using airgate::config::Auth;
using airgate::config::BasicUser;
using airgate::config::Satisfy;

namespace {

// htpasswd -nbB -C 5 alice 'correct horse'; htpasswd -nbm bob 'correct horse'
const BasicUser kAlice{"alice", "$2y$05$ujaVGHB6fRFwKBCSbayl.u/fK.ErxcvpkvlJd4D2J7m0tAgYSbGBu",
                       airgate::config::HashScheme::bcrypt};
const BasicUser kBob{"bob", "$apr1$iBhDyKqJ$WvFQpBnnwDT6xEyZOqQeG.", airgate::config::HashScheme::apr1};

std::string basic(const std::string& user, const std::string& pw) { return "Basic " + base64_encode(user + ":" + pw); }

AccessDecision run(AccessControl& ac, const AccessInput& in) {
  auto ev = ac.evaluate(in);
  if (ev.pending) {
    bool ok = ac.verify(*ev.pending);
    return ac.complete(std::move(ev), ok, in.now);
  }
  return ev.decision;
}

// An address literal the test knows is valid.
IpAddress make_address(std::string_view s) {
  auto a = airgate::core::parse_ip(s);
  REQUIRE(a);
  return *a;
}

// auth.allow as the loader leaves it: the text and the parsed networks.
void allow(Auth& auth, const std::vector<std::string>& entries) {
  auth.allow = entries;
  auth.allow_networks.clear();
  for (const auto& e : entries) auth.allow_networks.push_back(*airgate::core::parse_cidr(e));
}

AccessInput req(const char* client, std::string_view authorization = {}, std::string_view proxy_auth = {},
                std::string_view path = "/") {
  AccessInput in;
  in.client = make_address(client);
  in.path = path;
  in.authorization = authorization;
  in.proxy_authorization = proxy_auth;
  return in;
}

enum class Allow { none, pass, fail };
enum class Creds { valid, invalid, missing };

}  // namespace

TEST_CASE("satisfy any|all over every combination", "[access][policy]") {
  const std::string good = basic("alice", "correct horse");
  const std::string bad = basic("alice", "wrong horse");
  struct Row {
    Satisfy satisfy;
    Allow allow;
    bool basic_on;
    Creds creds;
    Outcome outcome;
    const char* reason;
  };
  using S = Satisfy;
  using A = Allow;
  using C = Creds;
  using O = Outcome;
  const Row rows[] = {
      // no allowlist
      {S::any, A::none, false, C::missing, O::allow, "no_checks"},
      {S::all, A::none, false, C::missing, O::allow, "no_checks"},
      {S::any, A::none, true, C::valid, O::allow, "basic_auth"},
      {S::any, A::none, true, C::invalid, O::unauthorized, "invalid_password"},
      {S::any, A::none, true, C::missing, O::unauthorized, "missing_credentials"},
      {S::all, A::none, true, C::valid, O::allow, "basic_auth"},
      {S::all, A::none, true, C::invalid, O::unauthorized, "invalid_password"},
      {S::all, A::none, true, C::missing, O::unauthorized, "missing_credentials"},
      // allowlist alone
      {S::any, A::pass, false, C::missing, O::allow, "allowlist"},
      {S::any, A::fail, false, C::missing, O::forbidden, "ip_not_allowed"},
      {S::any, A::fail, false, C::valid, O::forbidden, "ip_not_allowed"},
      {S::all, A::pass, false, C::missing, O::allow, "allowlist"},
      {S::all, A::fail, false, C::valid, O::forbidden, "ip_not_allowed"},
      // both, satisfy any: allowlist pass needs no credentials; else basic decides (401, not 403)
      {S::any, A::pass, true, C::valid, O::allow, "allowlist"},
      {S::any, A::pass, true, C::invalid, O::allow, "allowlist"},
      {S::any, A::pass, true, C::missing, O::allow, "allowlist"},
      {S::any, A::fail, true, C::valid, O::allow, "basic_auth"},
      {S::any, A::fail, true, C::invalid, O::unauthorized, "invalid_password"},
      {S::any, A::fail, true, C::missing, O::unauthorized, "missing_credentials"},
      // both, satisfy all: allowlist failure is 403 whatever the credentials
      {S::all, A::pass, true, C::valid, O::allow, "basic_auth"},
      {S::all, A::pass, true, C::invalid, O::unauthorized, "invalid_password"},
      {S::all, A::pass, true, C::missing, O::unauthorized, "missing_credentials"},
      {S::all, A::fail, true, C::valid, O::forbidden, "ip_not_allowed"},
      {S::all, A::fail, true, C::invalid, O::forbidden, "ip_not_allowed"},
      {S::all, A::fail, true, C::missing, O::forbidden, "ip_not_allowed"},
  };
  for (const auto& r : rows) {
    Auth auth;
    auth.satisfy = r.satisfy;
    if (r.allow != A::none) allow(auth, {"10.0.0.0/8"});
    std::vector<BasicUser> users;
    if (r.basic_on) users = {kAlice};
    auto ac = AccessControl::create(auth, users);
    const char* client = r.allow == A::fail ? "192.0.2.1" : "10.1.2.3";
    std::string header = r.creds == C::valid ? good : r.creds == C::invalid ? bad : "";
    auto d = run(*ac, req(client, header));
    INFO("satisfy=" << (r.satisfy == S::any ? "any" : "all") << " allow=" << int(r.allow) << " basic=" << r.basic_on
                    << " creds=" << int(r.creds));
    CHECK(d.outcome == r.outcome);
    CHECK(airgate::core::log_word(d.reason) == r.reason);
    CHECK(ac->basic_configured() == r.basic_on);
    CHECK(ac->allowlist_configured() == (r.allow != A::none));
  }
}

TEST_CASE("public paths skip every check, exact match only", "[access][policy]") {
  Auth auth;
  allow(auth, {"10.0.0.0/8"});
  auth.satisfy = Satisfy::all;
  auth.public_paths = {"/api/v1/health"};
  auto ac = AccessControl::create(auth, {kAlice});
  auto d = run(*ac, req("192.0.2.1", "", "", "/api/v1/health"));
  CHECK(d.outcome == Outcome::allow);
  CHECK(airgate::core::log_word(d.reason) == "public_path");
  CHECK(run(*ac, req("192.0.2.1", "", "", "/api/v1/health/")).outcome == Outcome::forbidden);
  CHECK(run(*ac, req("192.0.2.1", "", "", "/api/v1/healthz")).outcome == Outcome::forbidden);
  CHECK(run(*ac, req("192.0.2.1", "", "", "/api/v1")).outcome == Outcome::forbidden);
}

TEST_CASE("credentials: Proxy-Authorization first, Bearer is not a credential", "[access][policy]") {
  auto ac = AccessControl::create(Auth{}, {kAlice, kBob});
  const std::string good = basic("alice", "correct horse");

  SECTION("Basic in Authorization") {
    auto d = run(*ac, req("192.0.2.1", good));
    CHECK(d.outcome == Outcome::allow);
    CHECK(d.user == "alice");
    CHECK(d.credential_present);
    CHECK_FALSE(d.credential_in_proxy_authorization);
  }
  SECTION("Basic in Proxy-Authorization, Bearer in Authorization (API clients)") {
    auto d = run(*ac, req("192.0.2.1", "Bearer eyJhbGciOi.e30.sig", basic("bob", "correct horse")));
    CHECK(d.outcome == Outcome::allow);
    CHECK(d.user == "bob");
    CHECK(d.credential_in_proxy_authorization);
  }
  SECTION("Proxy-Authorization wins over Authorization") {
    auto d = run(*ac, req("192.0.2.1", good, basic("bob", "wrong")));
    CHECK(d.outcome == Outcome::unauthorized);
    CHECK(d.user == "bob");
    CHECK(d.credential_in_proxy_authorization);
  }
  SECTION("non-Basic Proxy-Authorization falls back to Authorization") {
    auto d = run(*ac, req("192.0.2.1", good, "Negotiate abc"));
    CHECK(d.outcome == Outcome::allow);
    CHECK_FALSE(d.credential_in_proxy_authorization);
  }
  SECTION("Bearer alone is missing credentials") {
    auto d = run(*ac, req("192.0.2.1", "Bearer abc"));
    CHECK(d.outcome == Outcome::unauthorized);
    CHECK(airgate::core::log_word(d.reason) == "missing_credentials");
    CHECK_FALSE(d.credential_present);
  }
  SECTION("malformed credentials are a 401, not a crash") {
    for (std::string h : {std::string("Basic"), std::string("Basic !!!"), std::string("Basic YWxpY2U="),
                          "Basic " + std::string(5000, 'A')}) {
      auto d = run(*ac, req("192.0.2.1", h));
      CHECK(d.outcome == Outcome::unauthorized);
      CHECK(airgate::core::log_word(d.reason) == "malformed_credentials");
    }
  }
  SECTION("unknown user") {
    auto d = run(*ac, req("192.0.2.1", basic("mallory", "correct horse")));
    CHECK(d.outcome == Outcome::unauthorized);
    CHECK(airgate::core::log_word(d.reason) == "unknown_user");
    CHECK(d.user == "mallory");
  }
  SECTION("401 header value") {
    CHECK(ac->www_authenticate() == "Basic realm=\"Welcome to Airbyte\", charset=\"UTF-8\"");
    CHECK(www_authenticate_value("a \"b\" \\c\r\n") == "Basic realm=\"a \\\"b\\\" \\\\c\", charset=\"UTF-8\"");
  }
}

TEST_CASE("unknown users still cost one verification with a real user's hash", "[access][policy]") {
  auto ac = AccessControl::create(Auth{}, {kAlice});
  auto ev = ac->evaluate(req("192.0.2.1", basic("mallory", "correct horse")));
  REQUIRE(ev.pending);
  CHECK_FALSE(ev.pending->known_user);
  CHECK(ev.pending->hash == kAlice.hash);
  // even when the password matches that hash, the unknown user is denied
  bool ok = ac->verify(*ev.pending);
  CHECK_FALSE(ok);
  CHECK(ac->verifications() == 1);
  auto d = ac->complete(std::move(ev), true, Clock::now());
  CHECK(d.outcome == Outcome::unauthorized);
  CHECK(airgate::core::log_word(d.reason) == "unknown_user");
}

TEST_CASE("verified-credential cache avoids repeated verification", "[access][cache]") {
  auto ac = AccessControl::create(Auth{}, {kAlice, kBob});
  const std::string good = basic("alice", "correct horse");
  for (int i = 0; i < 10; ++i) {
    auto d = run(*ac, req("192.0.2.1", good));
    CHECK(d.outcome == Outcome::allow);
    CHECK(d.user == "alice");
  }
  CHECK(ac->verifications() == 1);
  CHECK(ac->cached_credentials() == 1);

  // a wrong password is never served from the cache, and not cached
  CHECK(run(*ac, req("192.0.2.1", basic("alice", "wrong"))).outcome == Outcome::unauthorized);
  CHECK(run(*ac, req("192.0.2.1", basic("alice", "wrong"))).outcome == Outcome::unauthorized);
  CHECK(ac->verifications() == 3);

  // the same password for another user is a different entry
  CHECK(run(*ac, req("192.0.2.1", basic("bob", "correct horse"))).outcome == Outcome::allow);
  CHECK(ac->verifications() == 4);
  CHECK(run(*ac, req("192.0.2.1", basic("bob", "correct horse"))).outcome == Outcome::allow);
  CHECK(ac->verifications() == 4);

  // the evaluation of a cached credential needs no verification at all
  auto ev = ac->evaluate(req("192.0.2.1", good));
  CHECK_FALSE(ev.pending);
  CHECK(ev.decision.outcome == Outcome::allow);
  CHECK(airgate::core::log_word(ev.decision.reason) == "basic_auth");

  // entries expire after the TTL (5 minutes)
  auto later = req("192.0.2.1", good);
  later.now = Clock::now() + 6min;
  CHECK(run(*ac, later).outcome == Outcome::allow);
  CHECK(ac->verifications() == 5);

  // a new AccessControl (reload) starts with an empty cache
  auto reloaded = AccessControl::create(Auth{}, {kAlice});
  CHECK(reloaded->cached_credentials() == 0);
  CHECK(run(*reloaded, req("192.0.2.1", good)).outcome == Outcome::allow);
  CHECK(reloaded->verifications() == 1);
}

TEST_CASE("throttle: 429 without hash work after max_failures", "[access][throttle]") {
  Auth auth;
  auth.throttle.max_failures = 3;
  auth.throttle.window = 60s;
  auth.throttle.block = 300s;
  auth.public_paths = {"/api/v1/health"};
  auto ac = AccessControl::create(auth, {kAlice});
  auto t0 = Clock::now();
  auto at = [&](std::string_view hdr, std::chrono::seconds dt, const char* client = "192.0.2.1") {
    auto in = req(client, hdr);
    in.now = t0 + dt;
    return run(*ac, in);
  };
  const std::string bad = basic("alice", "nope");
  const std::string good = basic("alice", "correct horse");
  CHECK(at(bad, 0s).outcome == Outcome::unauthorized);
  CHECK(at(basic("ghost", "x"), 1s).outcome == Outcome::unauthorized);                    // unknown users count too
  CHECK(airgate::core::log_word(at("Basic !!!", 2s).reason) == "malformed_credentials");  // as do malformed ones
  CHECK(ac->verifications() == 2);

  auto d = at(good, 3s);  // even the right password: blocked, no verification
  CHECK(d.outcome == Outcome::too_many_requests);
  CHECK(airgate::core::log_word(d.reason) == "throttled");
  CHECK(d.retry_after == 299s);
  CHECK(ac->verifications() == 2);

  // missing credentials (a browser's first request) do not count
  CHECK(airgate::core::log_word(at("", 0s, "192.0.2.2").reason) == "missing_credentials");
  CHECK(airgate::core::log_word(at("", 1s, "192.0.2.2").reason) == "missing_credentials");
  CHECK(airgate::core::log_word(at("", 2s, "192.0.2.2").reason) == "missing_credentials");
  CHECK(at(good, 3s, "192.0.2.2").outcome == Outcome::allow);

  // other clients unaffected; the block ends
  CHECK(at(good, 4s, "192.0.2.3").outcome == Outcome::allow);
  CHECK(at(good, 303s).outcome == Outcome::allow);

  // public paths are served even while throttled
  auto in = req("192.0.2.9", bad);
  for (int i = 0; i < 3; ++i) run(*ac, in);
  CHECK(run(*ac, in).outcome == Outcome::too_many_requests);
  in.path = "/api/v1/health";
  CHECK(airgate::core::log_word(run(*ac, in).reason) == "public_path");
}

TEST_CASE("disabled_by_env turns basic off; an empty users file fails closed", "[access][policy]") {
  Auth auth;
  auth.disabled_by_env = true;
  auto ac = AccessControl::create(auth, {kAlice});
  CHECK_FALSE(ac->basic_configured());
  CHECK(airgate::core::log_word(run(*ac, req("192.0.2.1")).reason) == "no_checks");

  Auth file_auth;
  file_auth.users_file = "/etc/airgate/users";  // loaded, but had no users
  auto closed = AccessControl::create(file_auth, {});
  CHECK(closed->basic_configured());
  auto d = run(*closed, req("192.0.2.1", basic("alice", "correct horse")));
  CHECK(d.outcome == Outcome::unauthorized);
  CHECK(airgate::core::log_word(d.reason) == "unknown_user");
}

TEST_CASE("AccessControl is usable from several threads", "[access][policy]") {
  auto ac = AccessControl::create(Auth{}, {kBob});
  const std::string good = basic("bob", "correct horse");
  std::vector<std::thread> threads;
  std::atomic<int> allowed{0};
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i)
        if (run(*ac, req("192.0.2.1", good)).outcome == Outcome::allow) ++allowed;
    });
  for (auto& t : threads) t.join();
  CHECK(allowed == 200);
  CHECK(ac->verifications() <= 4);  // at most one per thread racing the first insert
}

TEST_CASE("the credential header is reported even when the allowlist let the request in", "[access][policy]") {
  Auth auth;
  allow(auth, {"10.0.0.0/8"});
  auto ac = AccessControl::create(auth, {kAlice});
  auto d = run(*ac, req("10.0.0.1", "Bearer tok", basic("alice", "whatever")));
  CHECK(d.outcome == Outcome::allow);
  CHECK(airgate::core::log_word(d.reason) == "allowlist");
  CHECK(d.credential_in_proxy_authorization);  // the session still strips it
  CHECK(ac->verifications() == 0);
}

TEST_CASE("evaluate_login: the login form's credential goes through the same checks as Basic", "[access][login]") {
  Auth auth;
  auth.throttle.max_failures = 2;
  auto ac = AccessControl::create(auth, {kAlice, kBob});
  const auto client = make_address("192.0.2.7");
  auto login = [&](const std::string& user, const std::string& password) {
    auto ev = ac->evaluate_login(client, user, password, Clock::now());
    if (ev.pending) {
      bool ok = ac->verify(*ev.pending);
      return ac->complete(std::move(ev), ok, Clock::now());
    }
    return ev.decision;
  };
  auto d = login("alice", "correct horse");
  CHECK(d.outcome == Outcome::allow);
  CHECK(d.reason == airgate::core::Reason::basic_auth);
  CHECK(d.user == "alice");
  const auto verified = ac->verifications();
  // The cache: a second login with the same password costs no hash.
  CHECK(login("alice", "correct horse").outcome == Outcome::allow);
  CHECK(ac->verifications() == verified);
  // A Basic request with the same credential hits the cache the form filled.
  CHECK(run(*ac, req("192.0.2.7", basic("alice", "correct horse"))).outcome == Outcome::allow);
  CHECK(ac->verifications() == verified);

  d = login("nobody", "x");
  CHECK(d.outcome == Outcome::unauthorized);
  CHECK(d.reason == airgate::core::Reason::unknown_user);
  CHECK(ac->verifications() == verified + 1);  // an unknown user costs a real verification
  // A name with ':' cannot exist as a Basic user: unknown, never split.
  d = login("alice:x", "correct horse");
  CHECK(d.reason == airgate::core::Reason::unknown_user);
  // Two failures: the throttle blocks the third attempt before any hash work.
  const auto before = ac->verifications();
  d = login("alice", "correct horse");
  CHECK(d.outcome == Outcome::too_many_requests);
  CHECK(d.retry_after.count() > 0);
  CHECK(ac->verifications() == before);
}

TEST_CASE("evaluate_login: the allowlist under satisfy all", "[access][login]") {
  Auth auth;
  allow(auth, {"10.0.0.0/8"});
  auth.satisfy = Satisfy::all;
  auto ac = AccessControl::create(auth, {kAlice});
  auto d = ac->evaluate_login(make_address("192.0.2.7"), "alice", "correct horse", Clock::now());
  CHECK_FALSE(d.pending);
  CHECK(d.decision.outcome == Outcome::forbidden);
  CHECK(d.decision.reason == airgate::core::Reason::ip_not_allowed);
  auto ok = ac->evaluate_login(make_address("10.1.2.3"), "alice", "correct horse", Clock::now());
  REQUIRE(ok.pending);
  bool verified = ac->verify(*ok.pending);
  CHECK(ac->complete(std::move(ok), verified, Clock::now()).outcome == Outcome::allow);
  // satisfy any: an address on the allowlist still has its password checked
  // (whoever submits the form wants a session for that user).
  auth.satisfy = Satisfy::any;
  auto any = AccessControl::create(auth, {kAlice});
  auto ev = any->evaluate_login(make_address("10.1.2.3"), "alice", "wrong", Clock::now());
  REQUIRE(ev.pending);
  verified = any->verify(*ev.pending);
  CHECK(any->complete(std::move(ev), verified, Clock::now()).outcome == Outcome::unauthorized);
}

// ---- routes[].access ---------------------------------------------------------

namespace {
airgate::config::Located named(const std::string& user) {
  airgate::config::Located l;
  l.value = user;
  l.source = "test.yaml";
  l.line = 3;
  l.column = 7;
  l.path = "routes[0].access.users[0]";
  return l;
}

airgate::config::Route protected_route(std::vector<std::string> users, std::vector<std::string> nets = {},
                                       Satisfy satisfy = Satisfy::any) {
  airgate::config::Route r;
  r.path_prefix = "/api/v1/sources/";
  auto& a = r.access.emplace();
  if (!users.empty()) {
    a.users.emplace();
    for (const auto& u : users) a.users->push_back(named(u));
  }
  a.allow = nets;
  for (const auto& n : nets) a.allow_networks.push_back(*airgate::core::parse_cidr(n));
  a.satisfy = satisfy;
  return r;
}

AccessDecision run_route(AccessControl& ac, const AccessInput& in, int route) {
  auto ev = ac.evaluate(in, route);
  if (ev.pending) {
    bool ok = ac.verify(*ev.pending);
    return ac.complete(std::move(ev), ok, in.now);
  }
  return ev.decision;
}
}  // namespace

TEST_CASE("route access: users restricts who passes; others get 403 forbidden_user", "[access][routes]") {
  Auth auth;
  airgate::config::Route open;  // a route without access: the global checks
  open.path_prefix = "/x/";
  auto ac = AccessControl::create(auth, {kAlice, kBob}, {protected_route({"alice"}), open});
  const auto alice = basic("alice", "correct horse");
  const auto bob = basic("bob", "correct horse");
  for (int pass = 0; pass < 2; ++pass) {  // the second pass hits the credential cache
    INFO("pass " << pass);
    auto d = run_route(*ac, req("192.0.2.1", alice), 0);
    CHECK(d.outcome == Outcome::allow);
    CHECK(d.reason == airgate::core::Reason::basic_auth);
    d = run_route(*ac, req("192.0.2.1", bob), 0);
    CHECK(d.outcome == Outcome::forbidden);
    CHECK(d.reason == airgate::core::Reason::forbidden_user);
    CHECK(d.user == "bob");
    // The same user on the global policy, and on a route without access.
    CHECK(run_route(*ac, req("192.0.2.1", bob), -1).outcome == Outcome::allow);
    CHECK(run_route(*ac, req("192.0.2.1", bob), 1).outcome == Outcome::allow);
  }
  // A wrong password is still 401, not 403.
  auto d = run_route(*ac, req("192.0.2.1", basic("bob", "nope")), 0);
  CHECK(d.outcome == Outcome::unauthorized);
  CHECK(run_route(*ac, req("192.0.2.1"), 0).reason == airgate::core::Reason::missing_credentials);
  // A session user is subject to users too.
  auto in = req("192.0.2.1");
  in.session_user = "bob";
  d = run_route(*ac, in, 0);
  CHECK(d.reason == airgate::core::Reason::forbidden_user);
  in.session_user = "alice";
  CHECK(run_route(*ac, in, 0).reason == airgate::core::Reason::session);
}

TEST_CASE("route access: its allowlist and satisfy replace the global ones", "[access][routes]") {
  Auth auth;
  allow(auth, {"192.0.2.0/24"});  // global: the office passes without a password
  auto ac = AccessControl::create(
      auth, {kAlice, kBob},
      {protected_route({"alice"}, {"10.20.0.0/16"}, Satisfy::all), protected_route({}, {"10.20.0.0/16"})});
  const auto alice = basic("alice", "correct horse");
  // Globally the office address alone passes.
  CHECK(run_route(*ac, req("192.0.2.1"), -1).reason == airgate::core::Reason::allowlist);
  // Route 0 (satisfy all): the global allowlist counts for nothing here.
  CHECK(run_route(*ac, req("192.0.2.1", alice), 0).reason == airgate::core::Reason::ip_not_allowed);
  CHECK(run_route(*ac, req("10.20.1.1"), 0).reason == airgate::core::Reason::missing_credentials);
  CHECK(run_route(*ac, req("10.20.1.1", alice), 0).outcome == Outcome::allow);
  CHECK(run_route(*ac, req("10.20.1.1", basic("bob", "correct horse")), 0).reason ==
        airgate::core::Reason::forbidden_user);
  // Route 1 (satisfy any, any user): the address alone, or any user.
  CHECK(run_route(*ac, req("10.20.1.1"), 1).reason == airgate::core::Reason::allowlist);
  CHECK(run_route(*ac, req("192.0.2.1"), 1).reason == airgate::core::Reason::missing_credentials);
  CHECK(run_route(*ac, req("192.0.2.1", basic("bob", "correct horse")), 1).outcome == Outcome::allow);
}

TEST_CASE("route access: public routes, public_paths, throttle", "[access][routes]") {
  Auth auth;
  auth.public_paths = {"/api/v1/health"};
  auth.throttle.max_failures = 1;
  airgate::config::Route pub;
  pub.path_prefix = "/pub/";
  pub.access.emplace().is_public = true;
  auto ac = AccessControl::create(auth, {kAlice}, {pub, protected_route({"alice"})});
  CHECK(run_route(*ac, req("192.0.2.1"), 0).reason == airgate::core::Reason::public_path);
  CHECK(run_route(*ac, req("192.0.2.1", {}, {}, "/api/v1/health"), 1).reason == airgate::core::Reason::public_path);
  // The throttle is global: failures on the route block the address everywhere.
  CHECK(run_route(*ac, req("192.0.2.9", basic("alice", "wrong")), 1).outcome == Outcome::unauthorized);
  CHECK(run_route(*ac, req("192.0.2.9", basic("alice", "correct horse")), 1).reason ==
        airgate::core::Reason::throttled);
  CHECK(run_route(*ac, req("192.0.2.9", basic("alice", "correct horse")), -1).reason ==
        airgate::core::Reason::throttled);
}

TEST_CASE("route access: unknown users and users without basic auth are reported", "[access][routes]") {
  Auth auth;
  const std::vector<airgate::config::Route> routes{protected_route({"mallory"})};
  auto problems = check_route_users(auth, routes, {kAlice});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0] ==
        "test.yaml:3:7: routes[0].access.users[0]: unknown user \"mallory\" (not in auth.basic.users, the users file "
        "or the environment)");
  CHECK(check_route_users(auth, {protected_route({"alice"})}, {kAlice}).empty());
  problems = check_route_users(auth, routes, {});
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("access checks nothing here") != std::string::npos);
  CHECK(problems[1].find("names a user, but basic authentication is not configured") != std::string::npos);
  // Without basic auth, an access needs an allowlist (or public: true).
  auto open_route = protected_route({});
  open_route.at.source = "test.yaml";
  open_route.at.line = 2;
  open_route.at.column = 5;
  open_route.at.path = "routes[0]";
  problems = check_route_users(auth, {open_route}, {});
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].rfind("test.yaml:2:5: routes[0]: access checks nothing here", 0) == 0);
  CHECK(check_route_users(auth, {open_route}, {kAlice}).empty());  // any authenticated user
  CHECK(check_route_users(auth, {protected_route({}, {"10.0.0.0/8"})}, {}).empty());
  open_route.access->is_public = true;
  CHECK(check_route_users(auth, {open_route}, {}).empty());
}
