#include "runtime/runtime.hpp"

#include "access/htpasswd.hpp"
#include "core/fd_limit.hpp"

#include <spdlog/spdlog.h>

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
  if (!errors.empty()) {
    std::string all;
    for (const auto& e : errors) all += (all.empty() ? "" : "\n") + e;
    throw std::runtime_error(all);
  }
  rt->trusted_proxies = access::IpAllowlist(cfg->trusted_proxy_networks);
  rt->access = access::AccessControl::create(cfg->auth, std::move(users));
  if (!check_only) rt->access_log = std::make_shared<observe::AccessLog>(cfg->logging.access_log, cfg->logging.format);
  return rt;
}

}  // namespace airgate::runtime
