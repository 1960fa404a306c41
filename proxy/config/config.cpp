// Small helpers declared in config/config.hpp.
#include "config/config.hpp"

#include <algorithm>

namespace airgate::config {

std::string UpstreamUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string UpstreamUrl::str() const { return scheme + "://" + authority(); }

}  // namespace airgate::config

namespace airgate::config {

std::string Located::message(const std::string& what) const {
  std::string out = source;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
    out += ':';
    out += std::to_string(column);
  }
  out += ": ";
  if (!path.empty()) {
    out += path;
    out += ": ";
  }
  out += what;
  return out;
}

bool Route::matches(std::string_view path, std::string_view method) const {
  if (path.substr(0, path_prefix.size()) != path_prefix) return false;
  if (methods.empty()) return true;
  for (const auto& m : methods)
    if (m == method) return true;
  return false;
}

int match_route(const std::vector<Route>& routes, std::string_view path, std::string_view method) {
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (routes[i].matches(path, method)) return static_cast<int>(i);
  return -1;
}

std::vector<std::string> shadowed_routes(const std::vector<Route>& routes) {
  std::vector<std::string> out;
  auto covers = [](const Route& earlier, const Route& later) {
    if (later.path_prefix.compare(0, earlier.path_prefix.size(), earlier.path_prefix) != 0) return false;
    if (earlier.methods.empty()) return true;
    if (later.methods.empty()) return false;
    for (const auto& m : later.methods)
      if (std::find(earlier.methods.begin(), earlier.methods.end(), m) == earlier.methods.end()) return false;
    return true;
  };
  for (std::size_t j = 0; j < routes.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (!covers(routes[i], routes[j])) continue;
      const auto& e = routes[i];
      out.push_back(routes[j].at.message("path_prefix \"" + routes[j].path_prefix + "\" can never match: routes[" +
                                         std::to_string(i) + "] (line " + std::to_string(e.at.line) +
                                         ", path_prefix \"" + e.path_prefix + "\"" +
                                         (e.methods.empty() ? ", every method" : "") +
                                         ") comes first and takes all its requests; put the longer prefix first"));
      break;
    }
  }
  return out;
}

}  // namespace airgate::config
