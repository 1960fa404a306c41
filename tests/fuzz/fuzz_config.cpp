// Fuzz target: the YAML configuration (config::parse_yaml, in memory: the same
// path as a file read by load_file), then the environment overlay with a fixed
// environment (without a password, which would be bcrypt-hashed). Loading never throws for bad input: an exception
// escaping is a bug (libFuzzer reports it as a crash). Every problem has a message.
#include "config/load.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

using namespace airgate::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = parse_yaml(text, "/etc/airgate/fuzz.yaml");
  for (const auto& p : r.problems) {
    if (p.message.empty()) __builtin_trap();
    (void)p.str();
  }
  if (!r.ok()) return 0;
  const EnvLookup env = [](const std::string& name) -> std::optional<std::string> {
    // No BASIC_AUTH_PASSWORD: the overlay would bcrypt it (slow by design).
    if (name == "PROXY_PASS_WEB") return std::string("http://fuzz-upstream:8000");
    if (name == "BASIC_AUTH_PROXY_TIMEOUT") return std::string("30");
    return std::nullopt;
  };
  std::vector<Problem> problems;
  apply_env(*r.config, env, problems);
  return 0;
}
