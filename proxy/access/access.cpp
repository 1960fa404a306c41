// The satisfy any|all policy (design §3 step 4), nginx semantics:
//
//   checks configured: allowlist when auth.allow is non-empty; basic when
//   there are users or a users_file is set (an empty users file denies
//   everyone rather than opening the proxy), unless disabled_by_env.
//
//   1. path in public_paths (exact match, path without query) -> allow "public_path"
//   2. no check configured                                     -> allow "no_checks"
//   3. client address blocked by the throttle                  -> 429 "throttled", no hash work
//   4. satisfy any: allowlist passes -> allow "allowlist"; else basic if configured
//                   (401 on failure, even when the allowlist also failed); allowlist
//                   alone configured and failing -> 403 "ip_not_allowed"
//      satisfy all: allowlist configured and failing -> 403 "ip_not_allowed";
//                   then basic if configured (401 on failure)
//   5. basic: credential from Proxy-Authorization when it holds Basic, else
//      Authorization when it holds Basic; none -> 401 "missing_credentials";
//      unparsable -> 401 "malformed_credentials" (counts as a failure);
//      cached -> allow "basic_auth" without hashing; else a PendingVerification.
//      Unknown users are verified against a real configured user's hash (the
//      first one) so they cost the same time, and are denied "unknown_user".
//      Failures feed the throttle; success clears the failure count.
//
//   Per route (routes[].access, evaluate's `route`): step 1 stays global;
//   `public: true` -> allow "public_path"; then steps 2-5 with the route's
//   allowlist and satisfy; a user who passed basic (password, cache or
//   session) but is not among the route's `users` -> 403 "forbidden_user".
#include "access/access.hpp"

#include "access/credential_cache.hpp"
#include "access/credentials.hpp"
#include "access/htpasswd.hpp"
#include "access/ip_allowlist.hpp"
#include "access/throttle.hpp"

#include <atomic>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace airgate::access {
namespace {

// bcrypt (cost 10) of a random string nobody knows; used as the stand-in hash
// for unknown users when no user is configured (users_file empty).
constexpr const char* kFallbackDummyHash = "$2y$10$h8ohs5HvtWdHX/wIvzqJO.BGXtrt7Ivnw/LeX7WtPZzOn91nUrj0y";

}  // namespace

// Who may pass: the global checks, or one route's access.
struct Policy {
  IpAllowlist allow;
  bool allow_on = false;
  config::Satisfy satisfy = config::Satisfy::any;
  bool is_public = false;
  bool users_restricted = false;
  std::unordered_set<std::string> users;  // when users_restricted

  bool user_permitted(const std::string& user) const { return !users_restricted || users.count(user) > 0; }
};

struct AccessControl::Impl {
  explicit Impl(const config::Auth& a) : auth(a), throttle(a.throttle) {}

  config::Auth auth;
  std::unordered_map<std::string, config::BasicUser> users;
  std::unordered_set<std::string> public_paths;
  Policy global;
  std::vector<std::optional<Policy>> routes;  // by route index; nullopt: the global policy
  bool basic_on = false;
  Throttle throttle;
  CredentialCache cache;
  config::BasicUser dummy{"", kFallbackDummyHash, config::HashScheme::bcrypt};
  std::atomic<std::uint64_t> verifications{0};
};

std::string www_authenticate_value(std::string_view realm) {
  std::string out = "Basic realm=\"";
  for (char c : realm) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += "\", charset=\"UTF-8\"";
  return out;
}

std::vector<std::string> check_route_users(const config::Auth& auth, const std::vector<config::Route>& routes,
                                           const std::vector<config::BasicUser>& users) {
  std::vector<std::string> out;
  std::unordered_set<std::string> known;
  for (const auto& u : users) known.insert(u.user);
  const bool basic_on = !auth.disabled_by_env && (!users.empty() || auth.users_file.has_value());
  for (const auto& r : routes) {
    if (!r.access) continue;
    // An access that checks nothing would quietly open the route (the global
    // allowlist does not apply to it): say so instead.
    if (!basic_on && !r.access->is_public && r.access->allow_networks.empty())
      out.push_back(r.at.message(
          "access checks nothing here (no allow, and basic authentication is not configured), so the route "
          "would be open to everyone: add allow, or write public: true if that is meant"));
    if (!r.access->users) continue;
    for (const auto& u : *r.access->users) {
      if (!basic_on)
        out.push_back(u.message("names a user, but basic authentication is not configured (auth.basic)"));
      else if (!known.count(u.value))
        out.push_back(
            u.message("unknown user \"" + u.value + "\" (not in auth.basic.users, the users file or the environment)"));
    }
  }
  return out;
}

std::shared_ptr<AccessControl> AccessControl::create(const config::Auth& auth, std::vector<config::BasicUser> users,
                                                     const std::vector<config::Route>& routes) {
  auto impl = std::make_unique<Impl>(auth);
  impl->global.allow = IpAllowlist(auth.allow_networks);
  impl->global.allow_on = !impl->global.allow.empty();
  impl->global.satisfy = auth.satisfy;
  for (const auto& r : routes) {
    auto& policy = impl->routes.emplace_back();
    if (!r.access) continue;
    Policy& p = policy.emplace();
    p.allow = IpAllowlist(r.access->allow_networks);
    p.allow_on = !p.allow.empty();
    p.satisfy = r.access->satisfy;
    p.is_public = r.access->is_public;
    p.users_restricted = r.access->users.has_value();
    if (r.access->users)
      for (const auto& u : *r.access->users) p.users.insert(u.value);
  }
  for (auto& u : users) {
    if (impl->users.empty()) impl->dummy = u;  // same cost class as a real user
    impl->users[u.user] = std::move(u);        // a later duplicate wins
  }
  impl->public_paths.insert(auth.public_paths.begin(), auth.public_paths.end());
  impl->basic_on = !auth.disabled_by_env && (!impl->users.empty() || auth.users_file.has_value());
  return std::make_shared<AccessControl>(std::move(impl));
}

AccessControl::AccessControl(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AccessControl::~AccessControl() = default;

bool AccessControl::basic_configured() const { return impl_->basic_on; }
bool AccessControl::allowlist_configured() const { return impl_->global.allow_on; }
std::uint64_t AccessControl::verifications() const { return impl_->verifications.load(); }
std::size_t AccessControl::cached_credentials() const { return impl_->cache.size(); }
std::size_t AccessControl::throttled_addresses() const { return impl_->throttle.size(); }
std::string AccessControl::www_authenticate() const { return www_authenticate_value(impl_->auth.realm); }

static void check_credential(AccessControl::Impl& m, const Policy& policy, BasicCredential cred, Clock::time_point now,
                             Evaluation& ev);

Evaluation AccessControl::evaluate(const AccessInput& in, int route) {
  Impl& m = *impl_;
  const bool own = route >= 0 && static_cast<std::size_t>(route) < m.routes.size() && m.routes[route].has_value();
  const Policy& policy = own ? *m.routes[route] : m.global;
  Evaluation ev;
  ev.route = own ? route : -1;
  ev.client = in.client.normalized();
  ev.allowlist_configured = policy.allow_on;
  AccessDecision& d = ev.decision;
  d.credential_in_proxy_authorization = is_basic_scheme(in.proxy_authorization);
  auto deny = [&](Outcome o, core::Reason reason) {
    d.outcome = o;
    d.reason = reason;
    return ev;
  };

  if (m.public_paths.count(std::string(in.path))) {
    d.reason = core::Reason::public_path;
    return ev;
  }
  if (policy.is_public) {
    d.reason = core::Reason::public_path;
    return ev;
  }
  if (!policy.allow_on && !m.basic_on) {
    d.reason = core::Reason::no_checks;
    return ev;
  }
  if (auto retry = m.throttle.blocked(ev.client, in.now)) {
    d.retry_after = *retry;
    return deny(Outcome::too_many_requests, core::Reason::throttled);
  }

  ev.allowlist_passed = policy.allow_on && policy.allow.contains(ev.client);
  if (policy.satisfy == config::Satisfy::any) {
    if (ev.allowlist_passed) {
      d.reason = core::Reason::allowlist;
      return ev;
    }
    if (!m.basic_on) return deny(Outcome::forbidden, core::Reason::ip_not_allowed);
  } else {
    if (policy.allow_on && !ev.allowlist_passed) return deny(Outcome::forbidden, core::Reason::ip_not_allowed);
    if (!m.basic_on) {
      d.reason = core::Reason::allowlist;
      return ev;
    }
  }

  // Basic auth: a valid session first (no hash, no header parsing), for a
  // user who is still in this snapshot's users.
  if (!in.session_user.empty() && m.users.count(std::string(in.session_user))) {
    d.reason = core::Reason::session;
    d.user = std::string(in.session_user);
    if (!policy.user_permitted(d.user)) return deny(Outcome::forbidden, core::Reason::forbidden_user);
    return ev;
  }
  BasicCredential cred;
  if (d.credential_in_proxy_authorization) {
    cred = parse_basic(in.proxy_authorization);
  } else if (is_basic_scheme(in.authorization)) {
    cred = parse_basic(in.authorization);
  }
  if (cred.status == CredentialStatus::absent) {
    return deny(Outcome::unauthorized, core::Reason::missing_credentials);
  }
  if (cred.status == CredentialStatus::malformed) {
    m.throttle.record_failure(ev.client, in.now);
    return deny(Outcome::unauthorized, core::Reason::malformed_credentials);
  }
  check_credential(m, policy, std::move(cred), in.now, ev);
  return ev;
}

Evaluation AccessControl::evaluate_login(const IpAddress& client, std::string_view user, std::string password,
                                         Clock::time_point now) {
  Impl& m = *impl_;
  Evaluation ev;
  ev.client = client.normalized();
  ev.allowlist_configured = m.global.allow_on;
  ev.allowlist_passed = m.global.allow_on && m.global.allow.contains(ev.client);
  AccessDecision& d = ev.decision;
  if (auto retry = m.throttle.blocked(ev.client, now)) {
    wipe(password);
    d.outcome = Outcome::too_many_requests;
    d.reason = core::Reason::throttled;
    d.retry_after = *retry;
    return ev;
  }
  if (m.global.satisfy == config::Satisfy::all && m.global.allow_on && !ev.allowlist_passed) {
    wipe(password);
    d.outcome = Outcome::forbidden;
    d.reason = core::Reason::ip_not_allowed;
    return ev;
  }
  // A Basic user name cannot hold ':' (the user-pass separator): no such user
  // exists, and the form gets the same answer as for any unknown name.
  BasicCredential cred;
  cred.status = CredentialStatus::ok;
  cred.user = std::string(user);
  cred.password = std::move(password);
  // A login answers who the user is; what they may reach is decided per
  // request (a route's users), so the global policy applies here.
  check_credential(m, m.global, std::move(cred), now, ev);
  return ev;
}

// A parsed credential: the cache (then the policy's users), or a verification to run.
static void check_credential(AccessControl::Impl& m, const Policy& policy, BasicCredential cred, Clock::time_point now,
                             Evaluation& ev) {
  AccessDecision& d = ev.decision;
  d.credential_present = true;
  d.user = cred.user;

  PendingVerification p;
  auto it = m.users.find(cred.user);
  p.known_user = it != m.users.end();
  if (p.known_user) {
    p.cache_key = m.cache.key(cred.user, cred.password);
    if (m.cache.contains(p.cache_key, now)) {
      wipe(cred.password);
      d.outcome = Outcome::allow;
      d.reason = core::Reason::basic_auth;
      if (!policy.user_permitted(d.user)) {
        d.outcome = Outcome::forbidden;
        d.reason = core::Reason::forbidden_user;
      }
      return;
    }
    p.hash = it->second.hash;
    p.scheme = it->second.scheme;
  } else {
    p.hash = m.dummy.hash;
    p.scheme = m.dummy.scheme;
  }
  p.user = cred.user;
  p.password = std::move(cred.password);
  wipe(cred.password);
  // Provisional decision, replaced by complete().
  d.outcome = Outcome::unauthorized;
  d.reason = p.known_user ? core::Reason::invalid_password : core::Reason::unknown_user;
  ev.pending = std::move(p);
}

bool AccessControl::verify(PendingVerification& p) const {
  impl_->verifications.fetch_add(1, std::memory_order_relaxed);
  bool ok = verify_password(p.scheme, p.hash, p.password);
  wipe(p.password);
  return ok && p.known_user;
}

AccessDecision AccessControl::complete(Evaluation ev, bool verified, Clock::time_point now) {
  Impl& m = *impl_;
  if (!ev.pending) return std::move(ev.decision);
  PendingVerification& p = *ev.pending;
  wipe(p.password);
  AccessDecision d = std::move(ev.decision);
  if (verified && p.known_user) {
    m.cache.insert(p.cache_key, now);
    m.throttle.record_success(ev.client, now);
    d.outcome = Outcome::allow;
    d.reason = core::Reason::basic_auth;
    if (ev.route >= 0 && !m.routes[ev.route]->user_permitted(p.user)) {
      d.outcome = Outcome::forbidden;
      d.reason = core::Reason::forbidden_user;
    }
    return d;
  }
  m.throttle.record_failure(ev.client, now);
  d.outcome = Outcome::unauthorized;
  d.reason = p.known_user ? core::Reason::invalid_password : core::Reason::unknown_user;
  return d;
}

}  // namespace airgate::access
