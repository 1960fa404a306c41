// Which upstream a request goes to.
#pragma once

#include "upstream/pool.hpp"

#include <vector>

namespace airgate::upstream {

// The peer of the request's route (config::match_route: the first route whose
// prefix and methods match the normalised path), else the top-level upstream.
// `peers` as in the runtime snapshot: index 0 is the top-level upstream, i+1
// is routes[i]; `route_index` -1 for none.
const Peer& route(const std::vector<Peer>& peers, int route_index);

}  // namespace airgate::upstream
