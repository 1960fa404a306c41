// airgate selfcheck [-c FILE] [--json] (design §6).
#include "cli/commands.hpp"

#include "config/load.hpp"
#include "selfcheck/report.hpp"
#include "selfcheck/selfcheck.hpp"

#include <unistd.h>
#include <iostream>

namespace airgate::cli {

int cmd_selfcheck(const std::optional<std::string>& config_path, bool json) {
  auto result = config::load(config_path, config::process_env());
  for (const auto& p : result.problems) std::cerr << p.str() << "\n";
  if (!result.ok()) return kExitUsage;

  const selfcheck::RealSystemProbe probe;
  const auto findings = selfcheck::run_selfcheck(*result.config, probe);
  if (json) {
    std::cout << selfcheck::format_json(findings);
  } else {
    std::cout << "airgate security self-check of " << result.config->source << "\n\n"
              << selfcheck::format_table(findings, ::isatty(STDOUT_FILENO) == 1);
  }
  std::cout.flush();
  return selfcheck::exit_code(findings);
}

}  // namespace airgate::cli
