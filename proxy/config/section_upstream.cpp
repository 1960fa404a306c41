// The upstream section and routes[] (each route inherits the top-level upstream).
#include "config/sections.hpp"

#include "config/address.hpp"

#include <string>

namespace airgate::config {

void parse_upstream(Reader& rd, const Val& v, Upstream& out) {
  const Fields f = rd.fields(v, "upstream");
  if (auto u = f.get("url")) {
    std::string s, why;
    if (rd.read_string(*u, s, false)) {
      if (!parse_upstream_url(s, out.url, why))
        rd.error(*u, s.find('@') == std::string::npos ? "invalid URL " + quote(s) + ": " + why : "invalid URL: " + why);
    }
  }
  if (auto c = f.get("ca_file")) rd.read_opt_path(*c, out.ca_file);
  if (auto d = f.get("connect_timeout")) rd.read_duration(*d, false, out.connect_timeout);
  if (auto d = f.get("read_timeout")) rd.read_duration(*d, false, out.read_timeout);
  if (auto d = f.get("send_timeout")) rd.read_duration(*d, false, out.send_timeout);
  if (auto n = f.get("max_idle_connections")) rd.read_count(*n, 0, 1000000, out.max_idle_connections);
  if (auto b = f.get("browser_basic_challenge"))
    rd.read_enum(*b, {{"strip", BasicChallenge::strip}, {"pass", BasicChallenge::pass}}, out.browser_basic_challenge);
}

void parse_routes(Reader& rd, const Val& v, Config& cfg) {
  for (const auto& item : rd.items(v, false)) {
    if (!item.node.IsMap()) {
      rd.type_error(item, "a mapping with path_prefix and upstream");
      continue;
    }
    Route r;
    r.upstream = cfg.upstream;
    const Fields f = rd.fields(item, "routes");
    if (auto p = f.get("path_prefix")) {
      if (rd.read_string(*p, r.path_prefix, false) && r.path_prefix.front() != '/')
        rd.error(*p, "must start with \"/\", got " + quote(r.path_prefix));
    } else {
      rd.error_at(item.node, item.path, "path_prefix is required");
    }
    if (auto u = f.get("upstream")) parse_upstream(rd, *u, r.upstream);
    cfg.routes.push_back(std::move(r));
  }
}

}  // namespace airgate::config
