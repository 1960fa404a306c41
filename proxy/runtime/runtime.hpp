// The immutable snapshot everything on the request path reads: config plus
// what is built from it (TLS contexts, access control, access log). A reload
// builds a new Runtime and swaps it in; in-flight requests keep the old one.
#pragma once

#include "access/access.hpp"
#include "access/ip_allowlist.hpp"
#include "access/sessions.hpp"
#include "config/config.hpp"
#include "observe/log.hpp"
#include "tls/context.hpp"
#include "upstream/pool.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace airgate::runtime {

struct Runtime {
  config::ConfigPtr config;
  std::shared_ptr<access::AccessControl> access;
  // Browser sessions; null when off (auth.session.enabled false, or no basic
  // users to log in as). Only TLS listeners issue or accept the cookie.
  std::shared_ptr<const access::Sessions> sessions;
  access::IpAllowlist trusted_proxies;
  std::shared_ptr<observe::AccessLog> access_log;
  std::vector<tls::ServerContext> listener_tls;  // index = listener index; ctx null for plain
  // Upstream peers: index 0 is the top-level upstream, i+1 is routes[i].
  std::vector<upstream::Peer> peers;
  std::vector<std::shared_ptr<boost::asio::ssl::context>> upstream_tls;  // owns peers[i].tls
  // error_pages.dir: the operator's `<status>.html` pages, read at start and
  // reload (a status without a file gets airgate's own page).
  std::unordered_map<int, std::string> error_pages;
  // limits.max_connections, or when unset derived from the open files limit
  // (core::effective_max_connections).
  std::size_t max_connections = 0;
};

using RuntimePtr = std::shared_ptr<const Runtime>;

// Builds a Runtime; throws std::runtime_error with a message naming the file
// or key at fault (unreadable certificate, bad users file, ...). `check_only`
// (airgate check) loads and validates everything but opens no log file.
RuntimePtr build_runtime(config::ConfigPtr config, bool check_only = false);

}  // namespace airgate::runtime
