#include "upstream/route.hpp"

namespace airgate::upstream {

const Peer& route(const std::vector<Peer>& peers, int route_index) {
  return route_index >= 0 ? peers.at(static_cast<std::size_t>(route_index) + 1) : peers[0];
}

}  // namespace airgate::upstream
