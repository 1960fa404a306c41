// Loading a configuration: YAML text -> validated Config, then the
// environment overlay (design §2). Every problem is reported with its
// source, line and column; loading never throws for bad input.
#pragma once

#include "config/config.hpp"
#include "config/env.hpp"

#include <optional>
#include <string>
#include <vector>

namespace airgate::config {

struct Problem {
  std::string source;  // file path, "<env>" or "<defaults>"
  int line = 0;        // 1-based; 0 when not tied to a position
  int column = 0;      // 1-based
  std::string message;
  // "FILE:LINE:COL: message" (or "FILE: message" without a position).
  std::string str() const;
};

struct LoadResult {
  std::shared_ptr<Config> config;  // set only when problems is empty
  std::vector<Problem> problems;
  bool ok() const { return problems.empty() && config != nullptr; }
};

// Parse YAML text. `source` names it in problems (usually the file path).
LoadResult parse_yaml(const std::string& text, const std::string& source);

// Read and parse a file. An unreadable file is one problem naming it.
LoadResult load_file(const std::string& path);

// The whole start-up path: -c FILE, else $AIRGATE_CONFIG, else defaults;
// then the environment overlay.
LoadResult load(const std::optional<std::string>& cli_path, const EnvLookup& env);

}  // namespace airgate::config
