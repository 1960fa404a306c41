#include "runtime/runtime.hpp"

#include <algorithm>

#include "access/htpasswd.hpp"
#include "core/fd_limit.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <stdexcept>

namespace airgate::runtime {

namespace {
upstream::Peer make_peer(const config::Upstream& up, Runtime& rt) {
  upstream::Peer peer;
  peer.cfg = &up;
  peer.key = up.url.str() + (up.ca_file ? "|" + *up.ca_file : "");
  if (up.url.tls()) {
    rt.upstream_tls.push_back(tls::make_upstream_context(up));
    peer.tls = rt.upstream_tls.back().get();
  }
  return peer;
}
// error_pages.dir: `<status>.html` for every status airgate answers itself.
// A missing file means airgate's own page; a directory that cannot be read,
// a file that cannot be read or one over 1 MiB is a configuration error.
std::unordered_map<int, std::string> load_error_pages(const std::string& dir) {
  constexpr std::size_t kMaxPage = 1024 * 1024;
  static constexpr int kStatuses[] = {400, 401, 403, 404, 408, 411, 413, 417, 429, 431, 500, 502, 503, 504, 505};
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec))
    throw std::runtime_error("error_pages.dir " + dir + ": not a readable directory" +
                             (ec ? " (" + ec.message() + ")" : ""));
  std::unordered_map<int, std::string> pages;
  for (int status : kStatuses) {
    const auto path = std::filesystem::path(dir) / (std::to_string(status) + ".html");
    if (!std::filesystem::exists(path, ec)) continue;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("error_pages.dir: " + path.string() + ": cannot be read");
    std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) throw std::runtime_error("error_pages.dir: " + path.string() + ": cannot be read");
    if (page.size() > kMaxPage)
      throw std::runtime_error("error_pages.dir: " + path.string() + ": " + std::to_string(page.size()) +
                               " bytes; at most 1 MiB");
    pages.emplace(status, std::move(page));
  }
  return pages;
}

// The session keys. With secret_file: read on every start and reload (a new
// file ends every session, as it should). Without: one random secret for the
// life of the process, so a reload keeps everyone logged in.
std::shared_ptr<const access::SessionKeys> session_keys(const config::Session& cfg) {
  if (cfg.secret_file) {
    std::ifstream in(*cfg.secret_file, std::ios::binary);
    if (!in) throw std::runtime_error("auth.session.secret_file " + *cfg.secret_file + ": cannot be read");
    std::string secret((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (secret.size() < access::kSessionSecretMinBytes)
      throw std::runtime_error("auth.session.secret_file " + *cfg.secret_file + ": " + std::to_string(secret.size()) +
                               " bytes; at least " + std::to_string(access::kSessionSecretMinBytes) +
                               " random bytes are needed (head -c 32 /dev/urandom > FILE)");
    return std::make_shared<const access::SessionKeys>(secret);
  }
  static const auto per_process = std::make_shared<const access::SessionKeys>(access::SessionKeys::random_secret());
  return per_process;
}

// Ended sessions, shared by every snapshot: a logout survives a reload.
std::shared_ptr<access::SessionRevocations> session_revocations() {
  static const auto revocations = std::make_shared<access::SessionRevocations>();
  return revocations;
}

std::shared_ptr<const access::Sessions> make_sessions(const config::Config& cfg,
                                                      const std::vector<config::BasicUser>& users) {
  const bool tls = std::any_of(cfg.listen.begin(), cfg.listen.end(), [](const auto& l) { return l.tls.has_value(); });
  if (!cfg.auth.session.enabled || users.empty() || !tls) return nullptr;
  access::SessionSettings settings;
  settings.ttl = std::chrono::duration_cast<std::chrono::seconds>(cfg.auth.session.ttl);
  settings.idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(cfg.auth.session.idle_timeout);
  auto sessions = std::make_shared<access::Sessions>(session_keys(cfg.auth.session), settings, session_revocations());
  // A session is bound to the user's credential entry. The environment user's
  // bcrypt hash gets a new salt at every load, so its entry is the password
  // itself (only ever MACed, in memory): a reload alone keeps its sessions.
  for (const auto& u : users) {
    if (cfg.auth.env_password && u.user == cfg.auth.env_user)
      sessions->add_user(u.user, "environment password:" + *cfg.auth.env_password);
    else
      sessions->add_user(u.user, u.hash);
  }
  return sessions;
}

}  // namespace

RuntimePtr build_runtime(config::ConfigPtr cfg, bool check_only) {
  auto rt = std::make_shared<Runtime>();
  rt->config = cfg;
  const auto nofile = core::current_nofile();
  rt->max_connections = core::effective_max_connections(cfg->limits.max_connections, nofile);
  if (auto warning = core::max_connections_warning(cfg->limits.max_connections, nofile);
      !warning.empty() && !check_only)
    spdlog::warn("{}", warning);
  for (const auto& l : cfg->listen) {
    if (l.tls) {
      auto ctx = tls::make_server_context(*l.tls, "listener " + l.address);
      if (ctx.self_signed && !check_only)
        spdlog::warn("listener {}: no certificate configured; using an in-memory self-signed certificate, "
                     "SHA-256 fingerprint {}",
                     l.address, ctx.certificates.front().fingerprint_sha256);
      rt->listener_tls.push_back(std::move(ctx));
    } else {
      rt->listener_tls.push_back({});
    }
  }
  rt->upstream_tls.reserve(cfg->routes.size() + 1);
  rt->peers.push_back(make_peer(cfg->upstream, *rt));
  for (const auto& r : cfg->routes) rt->peers.push_back(make_peer(r.upstream, *rt));
  std::vector<std::string> errors;
  auto users = access::effective_users(cfg->auth, errors);
  if (errors.empty()) errors = access::check_route_users(cfg->auth, cfg->routes, users);
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    throw std::runtime_error(all);
  }
  if (!check_only)
    for (const auto& m : config::shadowed_routes(cfg->routes)) spdlog::warn("{}", m);
  rt->trusted_proxies = access::IpAllowlist(cfg->trusted_proxy_networks);
  if (cfg->error_pages.dir) rt->error_pages = load_error_pages(*cfg->error_pages.dir);
  rt->sessions = make_sessions(*cfg, users);
  rt->access = access::AccessControl::create(cfg->auth, std::move(users), cfg->routes);
  if (!check_only) rt->access_log = std::make_shared<observe::AccessLog>(cfg->logging.access_log, cfg->logging.format);
  return rt;
}

}  // namespace airgate::runtime
