// The rule table of the security self-check (design §6). Each rule is a small
// function over a Context (the config plus facts computed once: effective
// users, which checks are on, which listeners are exposed).
#include "selfcheck/detail.hpp"
#include "selfcheck/selfcheck.hpp"

#include "access/htpasswd.hpp"
#include "access/ip_allowlist.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <set>
#include <thread>

namespace airgate::selfcheck {

// ---------------------------------------------------------------------------
// Addresses

namespace {

struct Ip {
  bool v4 = true;
  std::array<unsigned char, 16> b{};  // v4: first 4 bytes
};

std::optional<Ip> parse_ip(std::string_view text) {
  std::string s(text);
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') s = s.substr(1, s.size() - 2);
  if (auto pct = s.find('%'); pct != std::string::npos) s.resize(pct);
  Ip ip;
  if (::inet_pton(AF_INET, s.c_str(), ip.b.data()) == 1) return ip;
  if (::inet_pton(AF_INET6, s.c_str(), ip.b.data()) != 1) return std::nullopt;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(std::begin(kMapped), std::end(kMapped), ip.b.begin())) {
    std::array<unsigned char, 16> v4{};
    std::copy(ip.b.begin() + 12, ip.b.end(), v4.begin());
    ip.b = v4;
    return ip;
  }
  ip.v4 = false;
  return ip;
}

bool public_v4(const std::array<unsigned char, 16>& b) {
  const unsigned a = b[0], c = b[1];
  if (a == 0 || a == 10 || a == 127 || a >= 224) return false;       // this-net, private, loopback, multicast, reserved
  if (a == 100 && (c & 0xC0) == 64) return false;                    // 100.64.0.0/10 CGNAT
  if (a == 169 && c == 254) return false;                            // link-local
  if (a == 172 && (c & 0xF0) == 16) return false;                    // 172.16.0.0/12
  if (a == 192 && c == 168) return false;                            // 192.168.0.0/16
  if (a == 192 && c == 0 && (b[2] == 0 || b[2] == 2)) return false;  // 192.0.0.0/24, TEST-NET-1
  if (a == 198 && (c == 18 || c == 19)) return false;                // benchmarking
  if (a == 198 && c == 51 && b[2] == 100) return false;              // TEST-NET-2
  if (a == 203 && c == 0 && b[2] == 113) return false;               // TEST-NET-3
  return true;
}

bool public_v6(const std::array<unsigned char, 16>& b) {
  if ((b[0] & 0xE0) != 0x20) return false;                                         // only 2000::/3 is global unicast
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32 documentation
  return true;
}

}  // namespace

bool is_loopback(std::string_view address) {
  auto ip = parse_ip(address);
  if (!ip) return false;
  if (ip->v4) return ip->b[0] == 127;
  static constexpr std::array<unsigned char, 16> kOne{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return ip->b == kOne;
}

bool is_unspecified(std::string_view address) {
  auto ip = parse_ip(address);
  if (!ip) return false;
  const std::size_t n = ip->v4 ? 4 : 16;
  return std::all_of(ip->b.begin(), ip->b.begin() + static_cast<long>(n), [](unsigned char c) { return c == 0; });
}

bool is_public(std::string_view address) {
  auto ip = parse_ip(address);
  if (!ip) return false;
  return ip->v4 ? public_v4(ip->b) : public_v6(ip->b);
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::critical: return "critical";
    case Severity::warning: return "warning";
    case Severity::info: break;
  }
  return "info";
}

// ---------------------------------------------------------------------------
// Rules

namespace {

struct Context {
  const config::Config& cfg;
  const SystemProbe& probe;
  const Options& options;
  std::vector<config::BasicUser> users;  // effective users (file + inline)
  bool users_file_ok = true;
  bool basic_on = false;
  bool allow_on = false;
  std::vector<std::size_t> exposed;  // serving (non-redirect) listeners on a non-loopback address
};

std::string listener_label(const config::Config& cfg, std::size_t i) {
  return "listen[" + std::to_string(i) + "] (" + cfg.listen[i].address + ")";
}

std::string quoted_list(const std::vector<std::string>& names, std::size_t max = 5) {
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > max) out += " and " + std::to_string(names.size() - max) + " more";
  return out;
}

std::string mode_text(unsigned mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", mode & 07777);
  return buf;
}

// Host part of "host:port" / "[v6]:port".
std::string host_of(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    return close == std::string::npos ? address : address.substr(1, close - 1);
  }
  auto colon = address.rfind(':');
  return colon == std::string::npos ? address : address.substr(0, colon);
}

std::size_t utf8_length(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

using Out = std::vector<Finding>;

// AUTH_USERS_FILE_UNREADABLE, AUTH_USERS_FILE_INVALID (computed in prepare()).

// AUTH_NONE, AUTH_DISABLED_BY_ENV
void rule_no_auth(const Context& c, Out& out) {
  const bool loopback_only = c.exposed.empty();
  std::string where;
  for (auto i : c.exposed) where += (where.empty() ? "" : ", ") + c.cfg.listen[i].address;
  if (c.cfg.auth.disabled_by_env) {
    if (loopback_only)
      out.push_back(
          {"AUTH_DISABLED_BY_ENV", Severity::info,
           "basic auth is disabled by empty BASIC_AUTH_USERNAME/BASIC_AUTH_PASSWORD; listeners are loopback-only",
           "set BASIC_AUTH_USERNAME and a strong BASIC_AUTH_PASSWORD before exposing a listener"});
    else if (c.allow_on)
      out.push_back(
          {"AUTH_DISABLED_BY_ENV", Severity::warning,
           "basic auth is disabled by empty BASIC_AUTH_USERNAME/BASIC_AUTH_PASSWORD; only auth.allow protects " + where,
           "set BASIC_AUTH_USERNAME and a strong BASIC_AUTH_PASSWORD (or configure auth.basic)"});
    else
      out.push_back({"AUTH_DISABLED_BY_ENV", Severity::critical,
                     "authentication is disabled by empty BASIC_AUTH_USERNAME/BASIC_AUTH_PASSWORD: anyone reaching " +
                         where + " controls Airbyte",
                     "set BASIC_AUTH_USERNAME and a strong BASIC_AUTH_PASSWORD, or configure auth.basic / auth.allow"});
    return;
  }
  if (c.basic_on || c.allow_on) return;
  if (loopback_only)
    out.push_back({"AUTH_NONE", Severity::info, "no authentication is configured; listeners are loopback-only",
                   "configure auth.basic (airgate passwd) or auth.allow before exposing a listener"});
  else
    out.push_back({"AUTH_NONE", Severity::critical,
                   "no authentication is configured: anyone reaching " + where + " controls Airbyte",
                   "add users with `airgate passwd -f FILE USER` and set auth.basic.users_file, or set auth.allow"});
}

// AUTH_DEFAULT_CREDENTIALS, AUTH_PASSWORD_EQUALS_USER, AUTH_PASSWORD_SHORT,
// AUTH_PASSWORD_CHECK_PARTIAL
void rule_passwords(const Context& c, Out& out) {
  if (!c.basic_on) return;
  std::vector<std::string> default_pw, equals_user;
  std::optional<std::string> env_user;
  const auto& env_pw = c.cfg.auth.env_password;
  if (env_pw && !c.cfg.auth.users.empty()) {
    // The environment overlay appends its user last to the inline users.
    env_user = c.cfg.auth.users.back().user;
    if (*env_pw == "password") {
      default_pw.push_back(*env_user);
    } else if (*env_pw == *env_user) {
      equals_user.push_back(*env_user);
    } else if (utf8_length(*env_pw) < 12) {
      out.push_back({"AUTH_PASSWORD_SHORT", Severity::warning,
                     "BASIC_AUTH_PASSWORD of user '" + *env_user + "' has only " +
                         std::to_string(utf8_length(*env_pw)) + " characters (minimum 12)",
                     "use a random password of at least 12 characters (e.g. `openssl rand -base64 18`)"});
    }
  }

  // Hashed users: try what an attacker tries first, for a bounded number of users.
  std::vector<const config::BasicUser*> todo;
  std::size_t hashed = 0;
  for (const auto& u : c.users) {
    if (env_user && u.user == *env_user) continue;
    ++hashed;
    if (todo.size() < c.options.max_hash_checks) todo.push_back(&u);
  }
  std::vector<std::array<bool, 2>> result(todo.size(), {false, false});
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < todo.size();) {
      result[i][0] = access::verify_password(todo[i]->hash, "password");
      result[i][1] = !result[i][0] && access::verify_password(todo[i]->hash, todo[i]->user);
    }
  };
  const std::size_t threads = std::min<std::size_t>(
      {todo.size(), std::max(1u, std::thread::hardware_concurrency()), 8});
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  for (std::size_t i = 0; i < todo.size(); ++i) {
    if (result[i][0]) default_pw.push_back(todo[i]->user);
    if (result[i][1]) equals_user.push_back(todo[i]->user);
  }

  if (!default_pw.empty()) {
    const bool airbyte = std::find(default_pw.begin(), default_pw.end(), "airbyte") != default_pw.end();
    out.push_back({"AUTH_DEFAULT_CREDENTIALS", Severity::critical,
                   std::string(default_pw.size() == 1 ? "user " : "users ") + quoted_list(default_pw) +
                       (default_pw.size() == 1 ? " has" : " have") + " Airbyte's default password" +
                       (airbyte ? " (the first login anyone tries)" : ""),
                   "set a strong password: `airgate passwd -f FILE USER`, or change BASIC_AUTH_PASSWORD"});
  }
  if (!equals_user.empty()) {
    out.push_back({"AUTH_PASSWORD_EQUALS_USER", Severity::critical,
                   std::string(equals_user.size() == 1 ? "user " : "users ") + quoted_list(equals_user) +
                       (equals_user.size() == 1 ? " has" : " have") + " the user name as password",
                   "set a strong password: `airgate passwd -f FILE USER`, or change BASIC_AUTH_PASSWORD"});
  }
  if (hashed > todo.size()) {
    out.push_back({"AUTH_PASSWORD_CHECK_PARTIAL", Severity::info,
                   "only the first " + std::to_string(todo.size()) + " of " + std::to_string(hashed) +
                       " hashed users were tried for default or user-name passwords",
                   "audit the remaining users' passwords yourself"});
  }
}

// AUTH_WEAK_HASH
void rule_weak_hash(const Context& c, Out& out) {
  if (!c.basic_on) return;
  std::vector<std::string> weak;
  for (const auto& u : c.users) {
    const auto s = access::hash_scheme(u.hash);
    if (access::is_weak(s)) weak.push_back(u.user + "' (" + std::string(access::scheme_name(s)) + ")");
  }
  if (weak.empty()) return;
  std::string list;
  for (std::size_t i = 0; i < weak.size() && i < 5; ++i) list += (i ? ", '" : "'") + weak[i];
  if (weak.size() > 5) list += " and " + std::to_string(weak.size() - 5) + " more";
  out.push_back({"AUTH_WEAK_HASH", Severity::warning,
                 std::string(weak.size() == 1 ? "user " : "users ") + list + (weak.size() == 1 ? " has a" : " have") +
                     " weak password hash" + (weak.size() == 1 ? "" : "es") +
                     " (fast to brute-force if the file leaks)",
                 "re-hash with bcrypt: `airgate passwd -f FILE USER` (or `htpasswd -B`)"});
}

// AUTH_BASIC_OVER_PLAIN_HTTP
void rule_basic_plain_http(const Context& c, Out& out) {
  if (!c.basic_on) return;
  for (auto i : c.exposed) {
    if (c.cfg.listen[i].tls) continue;
    out.push_back({"AUTH_BASIC_OVER_PLAIN_HTTP", Severity::critical,
                   listener_label(c.cfg, i) + " accepts basic-auth passwords over plain HTTP on a non-loopback address",
                   "add tls to this listener, or bind it to 127.0.0.1 behind a TLS-terminating proxy"});
  }
}

// LISTEN_PUBLIC_ADDRESS, HOST_PUBLIC_INTERFACE, LISTEN_ALL_INTERFACES
void rule_exposure(const Context& c, Out& out) {
  std::optional<std::vector<InterfaceAddress>> ifaces;
  for (std::size_t i = 0; i < c.cfg.listen.size(); ++i) {
    const auto& l = c.cfg.listen[i];
    if (is_unspecified(l.host)) {
      if (!ifaces) ifaces = c.probe.interface_addresses();
      const bool any_family = l.host.find(':') != std::string::npos;  // "::" also takes IPv4 (dual stack)
      std::vector<std::string> pub;
      for (const auto& a : *ifaces) {
        if (!any_family && a.address.find(':') != std::string::npos) continue;
        if (is_public(a.address)) pub.push_back(a.address + " (" + a.interface + ")");
      }
      if (!pub.empty()) {
        std::string list;
        for (std::size_t k = 0; k < pub.size() && k < 4; ++k) list += (k ? ", " : "") + pub[k];
        if (pub.size() > 4) list += " and " + std::to_string(pub.size() - 4) + " more";
        out.push_back({"HOST_PUBLIC_INTERFACE", Severity::warning,
                       listener_label(c.cfg, i) + " listens on all interfaces and the host has public address " + list +
                           ": reachable from the internet",
                       "bind to a private or loopback address, or firewall the port to trusted networks"});
      } else {
        out.push_back({"LISTEN_ALL_INTERFACES", Severity::info,
                       listener_label(c.cfg, i) + " listens on all interfaces (no public interface address now; NAT or "
                                                  "a load balancer may still forward to it)",
                       "bind to the one address clients use if the other networks should not reach it"});
      }
    } else if (is_public(l.host)) {
      out.push_back({"LISTEN_PUBLIC_ADDRESS", Severity::warning,
                     listener_label(c.cfg, i) + " is bound to a public address: reachable from the internet",
                     "bind to a private or loopback address, or restrict access with a firewall and auth.allow"});
    }
  }
}

// TLS_SELF_SIGNED, TLS_MIN_VERSION and the certificate rules (certificates.cpp)
void rule_tls(const Context& c, Out& out) {
  for (std::size_t i = 0; i < c.cfg.listen.size(); ++i) {
    const auto& l = c.cfg.listen[i];
    if (!l.tls) continue;
    const std::string label = listener_label(c.cfg, i);
    if (l.tls->certificate.empty()) {
      out.push_back({"TLS_SELF_SIGNED", Severity::warning,
                     label + " has no certificate: an in-memory self-signed one is used that clients cannot verify",
                     "set tls.certificate and tls.private_key (e.g. from cert-manager or Let's Encrypt)"});
    } else {
      detail::check_certificate({label, l.tls->certificate, l.tls->private_key, {}}, c.probe, c.options, out);
    }
    for (std::size_t k = 0; k < l.tls->sni.size(); ++k) {
      const auto& s = l.tls->sni[k];
      detail::check_certificate({label + " sni[" + std::to_string(k) + "]", s.certificate, s.private_key, s.names},
                                c.probe, c.options, out);
    }
    if (l.tls->min_version == "1.2")
      out.push_back({"TLS_MIN_VERSION", Severity::info, label + " accepts TLS 1.2 (and 1.3)",
                     "set tls.min_version: \"1.3\" when every client supports TLS 1.3"});
  }
}

void check_mode(const Context& c, const std::string& path, const char* id, const std::string& what, Out& out) {
  std::string error;
  auto mode = c.probe.file_mode(path, error);
  if (!mode || (*mode & 0066) == 0) return;
  std::string who;
  if (*mode & 0060) who = "group";
  if (*mode & 0006) who += who.empty() ? "others" : "/others";
  out.push_back({id, Severity::warning,
                 what + " " + path + " has mode " + mode_text(*mode) + " (accessible by " + who + ")",
                 "chmod 600 " + path + " (Kubernetes: defaultMode: 0400 on the secret volume)"});
}

// FILE_KEY_PERMISSIONS
void rule_key_permissions(const Context& c, Out& out) {
  std::set<std::string> seen;
  for (const auto& l : c.cfg.listen) {
    if (!l.tls) continue;
    std::vector<std::string> keys{l.tls->private_key};
    for (const auto& s : l.tls->sni) keys.push_back(s.private_key);
    for (const auto& k : keys)
      if (!k.empty() && seen.insert(k).second) check_mode(c, k, "FILE_KEY_PERMISSIONS", "private key", out);
  }
}

// FILE_USERS_PERMISSIONS
void rule_users_permissions(const Context& c, Out& out) {
  if (c.cfg.auth.users_file) check_mode(c, *c.cfg.auth.users_file, "FILE_USERS_PERMISSIONS", "users file", out);
}

// FILE_SESSION_SECRET_PERMISSIONS
void rule_session_secret_permissions(const Context& c, Out& out) {
  const auto& session = c.cfg.auth.session;
  if (session.enabled && session.secret_file)
    check_mode(c, *session.secret_file, "FILE_SESSION_SECRET_PERMISSIONS", "session secret file", out);
}

// SESSION_SECRET_PER_PROCESS: under Kubernetes, several replicas behind one
// Service each with their own random key: a session cookie works on one pod
// only, and every restart or rollout logs everyone out.
void rule_session_secret_replicas(const Context& c, Out& out) {
  const auto& auth = c.cfg.auth;
  if (!auth.session.enabled || auth.session.secret_file || !c.probe.in_kubernetes()) return;
  if (auth.disabled_by_env || (auth.users.empty() && !auth.users_file)) return;
  out.push_back({"SESSION_SECRET_PER_PROCESS", Severity::warning,
                 "auth.session.secret_file is not set while running under Kubernetes: each replica signs sessions "
                 "with its own random key, so a browser's session works on one pod only and ends at every restart",
                 "mount a Secret holding 32 random bytes and set auth.session.secret_file to it "
                 "(kubectl create secret generic airgate-session --from-file=session.key=<(head -c 32 /dev/urandom))"});
}

void any_network(const std::vector<std::string>& entries, const char* id, const std::string& key,
                 const std::string& why, const std::string& fix, Out& out) {
  for (const auto& e : entries) {
    auto cidr = access::parse_cidr(e);
    if (cidr && cidr->prefix == 0)
      out.push_back({id, Severity::critical, key + " contains '" + e + "', which matches every address: " + why, fix});
  }
}

// ALLOW_ANY
void rule_allow_any(const Context& c, Out& out) {
  any_network(c.cfg.auth.allow, "ALLOW_ANY", "auth.allow",
              c.cfg.auth.satisfy == config::Satisfy::any ? "with satisfy: any nobody needs a password"
                                                         : "the allowlist restricts nothing",
              "list only the networks that need access (e.g. 10.0.0.0/8), or remove auth.allow", out);
}

// TRUSTED_PROXIES_ANY
void rule_trusted_any(const Context& c, Out& out) {
  any_network(c.cfg.trusted_proxies, "TRUSTED_PROXIES_ANY", "trusted_proxies",
              "any client can forge X-Forwarded-For / PROXY headers to pass auth.allow and dodge the throttle",
              "list only your load balancers' addresses in trusted_proxies", out);
}

// ADMIN_NOT_LOOPBACK
void rule_admin(const Context& c, Out& out) {
  if (!c.cfg.admin.address) return;
  const std::string host = host_of(*c.cfg.admin.address);
  if (is_loopback(host)) return;
  out.push_back({"ADMIN_NOT_LOOPBACK", Severity::warning,
                 "admin endpoint " + *c.cfg.admin.address +
                     " is not on loopback: /metrics and health are served without authentication" +
                     (is_public(host) || is_unspecified(host) ? " and may be reachable from the internet" : ""),
                 "set admin.address to 127.0.0.1:9901 (or a pod-internal address behind a NetworkPolicy)"});
}

// UPSTREAM_PLAIN_REMOTE
void rule_upstream(const Context& c, Out& out) {
  std::set<std::string> seen;
  auto check = [&](const config::Upstream& u, const std::string& key) {
    if (u.url.tls() || u.url.host == "localhost" || is_loopback(u.url.host)) return;
    if (!seen.insert(u.url.authority()).second) return;
    out.push_back({"UPSTREAM_PLAIN_REMOTE", Severity::info,
                   key + " " + u.url.str() +
                       " is plain HTTP to a non-loopback host: passwords and cookies cross the network unencrypted",
                   "keep that network private (same pod / compose network), or use an https:// upstream"});
  };
  check(c.cfg.upstream, "upstream");
  for (std::size_t i = 0; i < c.cfg.routes.size(); ++i)
    check(c.cfg.routes[i].upstream, "routes[" + std::to_string(i) + "] upstream");
}

// ROUTES_SHADOWED, ROUTES_CONFIG_API_OPEN
void rule_routes(const Context& c, Out& out) {
  for (const auto& m : config::shadowed_routes(c.cfg.routes))
    out.push_back({"ROUTES_SHADOWED", Severity::warning, m,
                   "order routes from the longest prefix to the shortest, or remove the one that never matches"});
  // Several users, and nothing keeps any of them from changing connectors
  // (Airbyte's configuration API stores the connectors' credentials).
  if (!c.basic_on || c.users.size() < 2) return;
  static constexpr const char* kConfigApi[] = {"/api/v1/sources/create",      "/api/v1/destinations/create",
                                               "/api/v1/connections/create",  "/api/public/v1/sources",
                                               "/api/public/v1/destinations", "/api/public/v1/connections"};
  std::vector<std::string> open;
  for (const char* path : kConfigApi) {
    const int r = config::match_route(c.cfg.routes, path, "POST");
    const auto& access = r >= 0 ? c.cfg.routes[static_cast<std::size_t>(r)].access : std::nullopt;
    if (!access || access->is_public || !access->users) open.push_back(std::string("POST ") + path);
  }
  if (open.empty()) return;
  out.push_back({"ROUTES_CONFIG_API_OPEN", Severity::warning,
                 std::to_string(c.users.size()) +
                     " users can log in and every one of them may change connectors and their credentials (" +
                     quoted_list(open, 3) + " are not restricted by a route's access.users)",
                 "add routes with methods [POST, PUT, PATCH, DELETE] and access.users for the configuration API "
                 "(/api/v1/sources/, /api/v1/destinations/, /api/v1/connections/, /api/public/v1/...)"});
}

using RuleFn = void (*)(const Context&, Out&);
constexpr RuleFn kRules[] = {
    rule_no_auth,
    rule_passwords,
    rule_weak_hash,
    rule_basic_plain_http,
    rule_exposure,
    rule_tls,
    rule_key_permissions,
    rule_users_permissions,
    rule_allow_any,
    rule_trusted_any,
    rule_admin,
    rule_upstream,
    rule_session_secret_permissions,
    rule_session_secret_replicas,
    rule_routes,
};

// Effective users: the users file read through the probe, merged with the
// inline users (same semantics as access::effective_users).
void prepare(Context& c, Out& out) {
  const auto& auth = c.cfg.auth;
  std::vector<config::BasicUser> users;
  if (auth.users_file) {
    const std::string& path = *auth.users_file;
    std::string error;
    auto text = c.probe.read_file(path, error);
    if (!text) {
      c.users_file_ok = false;
      out.push_back({"AUTH_USERS_FILE_UNREADABLE", Severity::critical, "cannot read users file " + path + ": " + error,
                     "fix auth.basic.users_file or the file's permissions (airgate cannot start without it)"});
    } else {
      auto parsed = access::parse_htpasswd(*text, path);
      if (!parsed.ok()) {
        c.users_file_ok = false;
        out.push_back(
            {"AUTH_USERS_FILE_INVALID", Severity::critical,
             parsed.errors.front() +
                 (parsed.errors.size() > 1 ? " (and " + std::to_string(parsed.errors.size() - 1) + " more)" : ""),
             "fix the listed lines (recreate entries with `airgate passwd -f FILE USER`)"});
      }
      for (auto& e : parsed.entries) users.push_back({e.user, e.hash});
    }
  }
  config::Auth inline_only = auth;
  inline_only.users_file.reset();
  std::vector<std::string> errors;
  for (auto& u : access::effective_users(inline_only, errors)) {
    auto it = std::find_if(users.begin(), users.end(), [&](const config::BasicUser& x) { return x.user == u.user; });
    if (it != users.end())
      it->hash = u.hash;
    else
      users.push_back(u);
  }
  c.users = std::move(users);
  c.allow_on = !auth.allow.empty();
  c.basic_on = !auth.disabled_by_env && (!c.users.empty() || auth.users_file.has_value());
  for (std::size_t i = 0; i < c.cfg.listen.size(); ++i) {
    const auto& l = c.cfg.listen[i];
    if (!l.redirect_to_https && !is_loopback(l.host)) c.exposed.push_back(i);
  }
}

}  // namespace

std::vector<Finding> run_selfcheck(const config::Config& cfg, const SystemProbe& probe, const Options& options) {
  Context c{cfg, probe, options, {}, true, false, false, {}};
  std::vector<Finding> out;
  prepare(c, out);
  for (RuleFn rule : kRules) rule(c, out);
  std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return out;
}

Summary summarize(const std::vector<Finding>& findings) {
  Summary s;
  for (const auto& f : findings) {
    if (f.severity == Severity::critical)
      ++s.critical;
    else if (f.severity == Severity::warning)
      ++s.warning;
    else
      ++s.info;
  }
  return s;
}

int exit_code(const std::vector<Finding>& findings) {
  const Summary s = summarize(findings);
  return s.critical ? 2 : s.warning ? 1 : 0;
}

const std::vector<RuleInfo>& rule_catalog() {
  static const std::vector<RuleInfo> kCatalog = {
      {"AUTH_NONE", Severity::critical},
      {"AUTH_DISABLED_BY_ENV", Severity::critical},
      {"AUTH_USERS_FILE_UNREADABLE", Severity::critical},
      {"AUTH_USERS_FILE_INVALID", Severity::critical},
      {"AUTH_DEFAULT_CREDENTIALS", Severity::critical},
      {"AUTH_PASSWORD_EQUALS_USER", Severity::critical},
      {"AUTH_PASSWORD_SHORT", Severity::warning},
      {"AUTH_PASSWORD_CHECK_PARTIAL", Severity::info},
      {"AUTH_WEAK_HASH", Severity::warning},
      {"AUTH_BASIC_OVER_PLAIN_HTTP", Severity::critical},
      {"LISTEN_PUBLIC_ADDRESS", Severity::warning},
      {"HOST_PUBLIC_INTERFACE", Severity::warning},
      {"LISTEN_ALL_INTERFACES", Severity::info},
      {"TLS_SELF_SIGNED", Severity::warning},
      {"TLS_CERT_UNREADABLE", Severity::critical},
      {"TLS_KEY_UNREADABLE", Severity::critical},
      {"TLS_CERT_EXPIRED", Severity::critical},
      {"TLS_CERT_EXPIRING", Severity::warning},
      {"TLS_CERT_NOT_YET_VALID", Severity::warning},
      {"TLS_KEY_MISMATCH", Severity::critical},
      {"TLS_WEAK_KEY", Severity::warning},
      {"TLS_WEAK_SIGNATURE", Severity::warning},
      {"TLS_CERT_NAME_MISMATCH", Severity::warning},
      {"TLS_CERT_SELF_SIGNED_FILE", Severity::info},
      {"TLS_MIN_VERSION", Severity::info},
      {"FILE_KEY_PERMISSIONS", Severity::warning},
      {"FILE_USERS_PERMISSIONS", Severity::warning},
      {"ALLOW_ANY", Severity::critical},
      {"TRUSTED_PROXIES_ANY", Severity::critical},
      {"ADMIN_NOT_LOOPBACK", Severity::warning},
      {"UPSTREAM_PLAIN_REMOTE", Severity::info},
      {"FILE_SESSION_SECRET_PERMISSIONS", Severity::warning},
      {"SESSION_SECRET_PER_PROCESS", Severity::warning},
      {"ROUTES_SHADOWED", Severity::warning},
      {"ROUTES_CONFIG_API_OPEN", Severity::warning},
  };
  return kCatalog;
}

}  // namespace airgate::selfcheck
