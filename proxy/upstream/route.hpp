// Which upstream a request goes to.
#pragma once

#include "config/config.hpp"
#include "upstream/pool.hpp"

#include <string_view>
#include <vector>

namespace airgate::upstream {

// First route whose prefix matches `path`, else the top-level upstream.
// `peers` as in the runtime snapshot: index 0 is the top-level upstream, i+1
// is routes[i].
const Peer& route(const std::vector<config::Route>& routes, const std::vector<Peer>& peers, std::string_view path);

}  // namespace airgate::upstream
