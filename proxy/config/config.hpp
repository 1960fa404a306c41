// The validated, immutable configuration snapshot (design §2).
// Pure data: no Asio, no YAML types. Values are parsed once, here: networks
// as core::Cidr, each inline user's hash scheme. Built by config/load.cpp, shared as
// std::shared_ptr<const Config>; a reload builds a new one.
#pragma once

#include "config/password_hash.hpp"
#include "core/ip.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::config {

using Duration = std::chrono::milliseconds;

// A parsed upstream URL: http:// or https://, host, port. A path in the URL is
// rejected at load time (nginx would rewrite; we keep the target unchanged).
struct UpstreamUrl {
  std::string scheme = "http";     // "http" | "https"
  std::string host = "127.0.0.1";  // without brackets for IPv6
  std::uint16_t port = 8000;
  bool tls() const { return scheme == "https"; }
  // "http://127.0.0.1:8000", IPv6 hosts in brackets.
  std::string str() const;
  // host:port as used in logs and as the pool key (with brackets for IPv6).
  std::string authority() const;
};

struct SniCertificate {
  std::vector<std::string> names;
  std::string certificate;
  std::string private_key;
};

inline constexpr std::string_view kDefaultCiphersuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
inline constexpr std::string_view kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";

struct Tls {
  // Empty certificate and private_key: a self-signed certificate is generated
  // in memory at start (design §2).
  std::string certificate;
  std::string private_key;
  std::string min_version = "1.2";  // "1.2" | "1.3"
  // OpenSSL cipher strings, in the server's order of preference (Mozilla's
  // "intermediate" by default: AES-128-GCM first, the fastest where AES-NI
  // exists, all AEAD with forward secrecy). Checked when the context is built.
  std::string ciphersuites = std::string(kDefaultCiphersuites);  // TLS 1.3
  std::string ciphers = std::string(kDefaultCiphers);            // TLS 1.2
  std::vector<SniCertificate> sni;
  std::optional<std::string> client_ca;
  // ALPN offers h2 before http/1.1 (false: http/1.1 only).
  bool http2 = true;
};

struct Listener {
  std::string address = "0.0.0.0:8443";  // as written
  std::string host = "0.0.0.0";          // without brackets
  std::uint16_t port = 8443;
  std::optional<Tls> tls;  // nullopt: plain HTTP
  bool proxy_protocol = false;
  std::optional<std::string> redirect_to_https;  // origin, no trailing slash
};

// An upstream 401 with `WWW-Authenticate: Basic` answered to a browser's
// script (a fetch, not a navigation) would make the browser show its native
// sign-in dialog over the app: strip removes that header, pass keeps it.
enum class BasicChallenge { strip, pass };

struct Upstream {
  UpstreamUrl url;
  BasicChallenge browser_basic_challenge = BasicChallenge::strip;
  std::optional<std::string> ca_file;
  Duration connect_timeout = std::chrono::seconds(10);
  Duration read_timeout = std::chrono::seconds(3600);
  Duration send_timeout = std::chrono::seconds(3600);
  std::size_t max_idle_connections = 64;
};

enum class Satisfy { any, all };

// Where a value was written, for messages about it made after the parse
// (an unknown user in routes[].access.users is found when the users file is
// read): "FILE:LINE:COL: path" as a Problem with `message` = the dotted path.
struct Located {
  std::string value;
  std::string source;
  int line = 0;
  int column = 0;
  std::string path;
  // "FILE:LINE:COL: path: <what>".
  std::string message(const std::string& what) const;
};

// routes[].access: evaluated instead of the global checks for the route's
// requests. Authentication (who the user is: basic, session, throttle) stays
// global; this says who may pass.
struct RouteAccess {
  bool is_public = false;  // served without any check
  // Users (of the global users) who may pass the basic check; unset: any
  // authenticated user. An authenticated user not in it gets 403.
  std::optional<std::vector<Located>> users;
  std::vector<std::string> allow;          // CIDRs / addresses as written
  std::vector<core::Cidr> allow_networks;  // the same, parsed at load
  Satisfy satisfy = Satisfy::any;
};

struct Route {
  std::string path_prefix;
  // Request methods the route applies to (case-sensitive tokens); empty: every method.
  std::vector<std::string> methods;
  std::optional<RouteAccess> access;  // unset: the global checks
  Upstream upstream;                  // unset fields inherit from the top-level upstream
  Located at;                         // where the route was written (value = path_prefix)
  bool matches(std::string_view path, std::string_view method) const;
};

// The index of the first route matching `path` (canonical, without the
// query) and `method`, or -1: the top-level upstream and the global checks.
int match_route(const std::vector<Route>& routes, std::string_view path, std::string_view method);

// Routes that can never match: an earlier route's prefix is a prefix of theirs
// and its methods include all of theirs. One "FILE:LINE:COL: routes[j]: ..."
// message each, naming the earlier route.
std::vector<std::string> shadowed_routes(const std::vector<Route>& routes);

struct Limits {
  std::uint64_t max_body_size = 200ull * 1024 * 1024;  // 0 = unlimited
  std::uint64_t max_header_size = 64ull * 1024;
  Duration handshake_timeout = std::chrono::seconds(10);
  Duration client_header_timeout = std::chrono::seconds(60);
  Duration client_body_timeout = std::chrono::seconds(60);
  Duration keepalive_timeout = std::chrono::seconds(75);
  // Unset: derived from the open files limit (core/fd_limit.hpp), at most 10000.
  std::optional<std::size_t> max_connections;
  // Slow uploads (a body trickled in holds an upstream connection):
  // a Content-Length body up to this size is read completely before an
  // upstream connection is taken (0: always stream).
  std::uint64_t client_body_buffer_size = 64 * 1024;
  // After the first client_body_timeout, a request body must have arrived at
  // an average of at least this many bytes per second (0: no floor).
  std::uint64_t client_body_min_rate = 1024;
  // Request bodies one client address streams upstream at once (0: no cap).
  std::size_t max_uploads_per_client = 16;
  // HTTP/2: streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS).
  std::size_t http2_max_concurrent_streams = 100;
};

struct BasicUser {
  std::string user;
  std::string hash;  // htpasswd hash string
  // hash_scheme(hash), set by whoever parsed the hash (the loader, the users
  // file parser, the environment overlay).
  HashScheme scheme = HashScheme::unknown;
};

struct Throttle {
  std::size_t max_failures = 10;
  Duration window = std::chrono::seconds(60);
  Duration block = std::chrono::seconds(300);
};

// What a browser navigation without credentials gets: the login page (303 to
// /.airgate/login; needs sessions and a TLS listener, else basic applies) or
// the Basic challenge (the browser's own dialog).
enum class Login { form, basic };

// Browser sessions: a cookie issued after a successful login on a TLS
// listener, standing in for the Basic credential afterwards.
struct Session {
  bool enabled = true;
  // At least 32 bytes; unset: a random secret per process start (sessions end
  // on restart, not on reload).
  std::optional<std::string> secret_file;
  Duration ttl = std::chrono::hours(12);          // absolute lifetime
  Duration idle_timeout = std::chrono::hours(1);  // sliding; 0 = none
};

struct Auth {
  std::string realm = "Welcome to Airbyte";
  std::optional<std::string> users_file;
  std::vector<BasicUser> users;
  std::vector<std::string> allow;          // CIDRs / addresses as written (for messages)
  std::vector<core::Cidr> allow_networks;  // the same, parsed at load
  Satisfy satisfy = Satisfy::any;
  Login login = Login::form;
  bool forward_authorization = false;
  std::vector<std::string> public_paths;
  Throttle throttle;
  Session session;
  // Set by the environment overlay when BASIC_AUTH_USERNAME and
  // BASIC_AUTH_PASSWORD are both present and empty: auth explicitly disabled.
  bool disabled_by_env = false;
  // The plain-text password from the environment, kept only so the self-check
  // can judge its strength; never logged.
  std::optional<std::string> env_password;
  std::string env_user;  // the user env_password belongs to
};

// Local replies: an operator's own pages (`<status>.html` in `dir`) instead
// of airgate's, like nginx's error_page.
struct ErrorPages {
  std::optional<std::string> dir;
};

struct Headers {
  std::optional<std::string> hsts;
  bool request_id = true;
};

struct Admin {
  std::optional<std::string> address = std::string("127.0.0.1:9901");
};

enum class LogFormat { text, json };

struct Logging {
  std::string level = "info";  // trace|debug|info|warn|error
  LogFormat format = LogFormat::text;
  std::string access_log = "stdout";  // stdout | stderr | off | path
};

enum class SelfcheckMode { warn, enforce };

struct Security {
  SelfcheckMode selfcheck = SelfcheckMode::warn;
};

struct Config {
  std::vector<Listener> listen{Listener{"0.0.0.0:8443", "0.0.0.0", 8443, Tls{}, false, std::nullopt}};
  Upstream upstream;
  std::vector<Route> routes;
  Limits limits;
  Auth auth;
  std::vector<std::string> trusted_proxies;        // CIDRs / addresses as written (for messages)
  std::vector<core::Cidr> trusted_proxy_networks;  // the same, parsed at load
  Headers headers;
  ErrorPages error_pages;
  Admin admin;
  Logging logging;
  unsigned workers = 0;  // 0 = auto (number of CPUs)
  Duration shutdown_grace = std::chrono::seconds(30);
  Duration reload_watch = std::chrono::seconds(10);
  Security security;

  std::string source = "<defaults>";  // file the snapshot came from
};

using ConfigPtr = std::shared_ptr<const Config>;

}  // namespace airgate::config
