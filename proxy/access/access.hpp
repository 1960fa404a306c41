// Access control (design §3 step 4, §5): the one place that owns the
// satisfy any|all policy over the configured checks (IP allowlist, basic
// auth), the throttle and the verified-credential cache.
//
// No Asio here: addresses are core::IpAddress values (the session converts
// the socket's address at the edge), everything else is plain C++. The expensive part,
// verifying a password hash (bcrypt ~50-100 ms), is split out so the session
// can run it off the event loop:
//
//   auto ev = access.evaluate(input);          // cheap, never hashes
//   if (ev.pending) {                           // a hash must be checked
//     bool ok = access.verify(*ev.pending);     // expensive, thread-safe, run on a blocking pool
//     decision = access.complete(std::move(ev), ok, now);
//   } else decision = ev.decision;
//
// Building one (start and every reload; a new instance has a fresh
// credential cache and throttle):
//
//   std::vector<std::string> errors;
//   auto users = access::effective_users(cfg.auth, errors);   // htpasswd.hpp
//   if (!errors.empty()) -> reject the config ("FILE:LINE: message" each)
//   auto ac = access::AccessControl::create(cfg.auth, std::move(users));
//
// The allowlist is cfg.auth.allow_networks, parsed by the config loader.
//
// The client address for AccessInput comes from client_address.hpp
// (resolve_client_address over the peer, the X-Forwarded-For values and an
// IpAllowlist built from trusted_proxies); on proxy_protocol listeners the
// session parses the header with proxy_protocol.hpp first, from trusted peers
// only, and uses its source (when it carries one) as the peer.
//
// Forwarding (design §3 step 6): Proxy-Authorization holding Basic is always
// removed (`credential_in_proxy_authorization`); a Basic Authorization header
// is removed unless auth.forward_authorization; a non-Basic Authorization
// (Bearer) is forwarded untouched. is_basic_scheme() in credentials.hpp tells
// which is which.
#pragma once

#include "config/config.hpp"
#include "core/ip.hpp"
#include "core/reason.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::access {

using Clock = std::chrono::steady_clock;
using core::IpAddress;

struct AccessInput {
  IpAddress client;                      // resolved client address (design §3 step 3)
  std::string_view path;                 // request path without query
  std::string_view authorization;        // value of Authorization, empty when absent
  std::string_view proxy_authorization;  // value of Proxy-Authorization, empty when absent
  Clock::time_point now = Clock::now();
  // The user of a valid browser session cookie (access/sessions.hpp), empty
  // when none: it passes the basic check like a verified credential.
  std::string_view session_user;
};

enum class Outcome {
  allow,
  unauthorized,      // 401 + WWW-Authenticate
  forbidden,         // 403 (allowlist alone denied, or a user not among a route's users)
  too_many_requests  // 429 + Retry-After
};

struct AccessDecision {
  Outcome outcome = Outcome::allow;
  // For the access log and metrics labels; set on every final decision:
  // public_path, no_checks, allowlist, basic_auth, session (allow reasons);
  // missing_credentials, malformed_credentials, unknown_user,
  // invalid_password, ip_not_allowed, forbidden_user, throttled (deny reasons).
  core::Reason reason = core::Reason::no_checks;
  std::string user;                     // authenticated (or attempted) user name, may be empty
  std::chrono::seconds retry_after{0};  // for too_many_requests
  // Where the basic credential is (or would be) taken from, so the session
  // strips the right header: true = Proxy-Authorization holds a Basic
  // credential (set for every outcome, even when no credential was needed).
  bool credential_in_proxy_authorization = false;
  bool credential_present = false;  // a Basic credential was found and parsed
};

// A credential that needs a hash check. Opaque to the session.
struct PendingVerification {
  std::string user;
  std::string password;  // cleared after verification
  std::string hash;
  config::HashScheme scheme = config::HashScheme::unknown;  // of `hash`
  std::string cache_key;
  // false: the user does not exist; `hash` is then a stand-in of the same cost
  // so an unknown user takes as long as a wrong password. complete() denies it
  // whatever verify() returned.
  bool known_user = true;
};

struct Evaluation {
  AccessDecision decision;  // final unless `pending` is set
  std::optional<PendingVerification> pending;
  // internal: which checks passed so far, needed by complete()
  bool allowlist_configured = false;
  bool allowlist_passed = false;
  IpAddress client;  // for the throttle in complete()
  int route = -1;    // whose policy decided (evaluate's `route`), for complete()
};

class AccessControl {
 public:
  // Build from the config. `users` are the effective users (effective_users():
  // inline users, users_file entries and the environment user, every hash
  // already checked); the allowlist is auth.allow_networks. Cannot fail.
  // `routes`: the routes whose `access` replaces the global checks, by index
  // (config::match_route); check_route_users() must have passed.
  static std::shared_ptr<AccessControl> create(const config::Auth& auth, std::vector<config::BasicUser> users,
                                               const std::vector<config::Route>& routes = {});

  // `route`: the index of the request's route (config::match_route), -1 for
  // none. A route with `access` is evaluated with its own allowlist, satisfy,
  // users and public flag instead of the global ones; public_paths, the
  // throttle and the verifiers (basic, session) are the same for all.
  Evaluation evaluate(const AccessInput& in, int route = -1);
  // The login form's credential (user and password as typed), checked like a
  // Basic credential: the same throttle, cache, verifiers and unknown-user
  // cost. The allowlist applies as for any request under satisfy: all (an
  // address outside it gets 403); public paths and satisfy: any's allowlist
  // pass do not skip the check: whoever submits the form wants a session.
  Evaluation evaluate_login(const IpAddress& client, std::string_view user, std::string password,
                            Clock::time_point now);
  bool verify(PendingVerification& p) const;  // thread-safe, no shared state touched
  AccessDecision complete(Evaluation ev, bool verified, Clock::time_point now);

  // Header value for a 401: Basic realm="<realm>", charset="UTF-8".
  std::string www_authenticate() const;

  bool basic_configured() const;
  bool allowlist_configured() const;
  std::uint64_t verifications() const;      // how many hash verifications ran (for tests/metrics)
  std::size_t cached_credentials() const;   // entries in the verified-credential cache
  std::size_t throttled_addresses() const;  // entries in the throttle table

  struct Impl;
  explicit AccessControl(std::unique_ptr<Impl> impl);
  ~AccessControl();

 private:
  std::unique_ptr<Impl> impl_;
};

// Problems with routes[].access against the effective users, one
// "FILE:LINE:COL: routes[i]...: ..." each: a user in access.users the users
// lack, users named while basic auth is not configured, or an access that
// checks nothing (no allow, no basic auth, not public).
std::vector<std::string> check_route_users(const config::Auth& auth, const std::vector<config::Route>& routes,
                                           const std::vector<config::BasicUser>& users);

// `Basic realm="..." , charset="UTF-8"` with '"' and '\\' in the realm escaped.
std::string www_authenticate_value(std::string_view realm);

}  // namespace airgate::access
