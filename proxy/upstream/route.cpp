#include "upstream/route.hpp"

namespace airgate::upstream {

const Peer& route(const std::vector<config::Route>& routes, const std::vector<Peer>& peers, std::string_view path) {
  for (std::size_t i = 0; i < routes.size(); ++i)
    if (path.substr(0, routes[i].path_prefix.size()) == routes[i].path_prefix) return peers[i + 1];
  return peers[0];
}

}  // namespace airgate::upstream
