// The upstream section and routes[] (each route inherits the top-level upstream).
#include "config/sections.hpp"

#include "config/address.hpp"
#include "core/path.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>

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

namespace {

void parse_methods(Reader& rd, const Val& v, Route& r) {
  for (const auto& item : rd.items(v, true)) {
    std::string m;
    if (!rd.read_string(item, m, false)) continue;
    if (!std::all_of(m.begin(), m.end(), core::is_tchar)) {
      rd.error(item, quote(m) + " is not an HTTP method (a token such as GET or POST)");
      continue;
    }
    if (std::any_of(m.begin(), m.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
      std::string upper = m;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      rd.error(item,
               std::string("methods are case-sensitive: ") + quote(m) + " matches no request; write " + quote(upper));
      continue;
    }
    if (std::find(r.methods.begin(), r.methods.end(), m) != r.methods.end()) {
      rd.error(item, quote(m) + " is listed twice");
      continue;
    }
    r.methods.push_back(std::move(m));
  }
  if (r.methods.empty() && v.node.IsSequence() && v.node.size() == 0)
    rd.error(v, "an empty list matches no request; leave methods out for every method");
}

void parse_access(Reader& rd, const Val& v, RouteAccess& a) {
  const Fields f = rd.fields(v, "access");
  if (auto p = f.get("public")) rd.read_bool(*p, a.is_public);
  if (auto u = f.get("users")) {
    std::vector<Located> users;
    for (const auto& item : rd.items(*u, true)) {
      std::string name;
      if (rd.read_string(item, name, false)) users.push_back(rd.locate(item, std::move(name)));
    }
    if (users.empty() && u->node.IsSequence())
      rd.error(*u, "an empty list lets nobody in; leave users out for any authenticated user");
    a.users = std::move(users);
  }
  if (auto al = f.get("allow")) rd.read_network_list(*al, a.allow, a.allow_networks);
  if (auto s = f.get("satisfy")) rd.read_enum(*s, {{"any", Satisfy::any}, {"all", Satisfy::all}}, a.satisfy);
  if (a.is_public) {
    for (const char* key : {"users", "allow", "satisfy"})
      if (auto k = f.get(key))
        rd.error(*k, std::string("has no effect with public: true (the route is served without any check)"));
  }
}

}  // namespace

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
      if (rd.read_string(*p, r.path_prefix, false)) {
        r.at = rd.locate(item, r.path_prefix);
        const auto canonical = core::normalize_path(r.path_prefix);
        if (r.path_prefix.front() != '/')
          rd.error(*p, "must start with \"/\", got " + quote(r.path_prefix));
        else if (!canonical.ok)
          rd.error(*p, quote(r.path_prefix) + " can never match: " + std::string(canonical.why));
        else if (canonical.path != r.path_prefix)
          rd.error(*p, std::string("requests are matched in their normalised form, which ") + quote(r.path_prefix) +
                           " is not: write " + quote(canonical.path));
      }
    } else {
      rd.error_at(item.node, item.path, "path_prefix is required");
    }
    if (auto m = f.get("methods")) parse_methods(rd, *m, r);
    if (auto a = f.get("access")) parse_access(rd, *a, r.access.emplace());
    if (auto u = f.get("upstream")) parse_upstream(rd, *u, r.upstream);
    cfg.routes.push_back(std::move(r));
  }
}

}  // namespace airgate::config
