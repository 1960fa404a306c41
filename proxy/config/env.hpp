// The environment overlay (Airbyte's variables) applied over a loaded
// configuration: BASIC_AUTH_USERNAME / BASIC_AUTH_PASSWORD(_FILE) add a bcrypt
// user, BASIC_AUTH_PROXY_TIMEOUT sets the upstream timeouts, PROXY_PASS_WEB
// the upstream URL. Problems are reported with source "<env>" and the
// variable name.
#pragma once

#include "config/config.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace airgate::config {

struct Problem;

// Reads an environment variable; nullopt when unset. Injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Apply BASIC_AUTH_*, PROXY_PASS_WEB, BASIC_AUTH_PROXY_TIMEOUT over `cfg`.
void apply_env(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems);

}  // namespace airgate::config
