// airgate run / check / version.
#include "cli/commands.hpp"

#include "config/load.hpp"
#include "core/fd_limit.hpp"
#include "observe/log.hpp"
#include "runtime/runtime.hpp"
#include "selfcheck/selfcheck.hpp"
#include "server/server.hpp"

#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <spdlog/spdlog.h>
#include <boost/version.hpp>

#include <csignal>
#include <iostream>

namespace airgate::cli {

namespace {

// Loads the config for run/check; prints every problem as FILE:LINE:COL: message.
std::shared_ptr<config::Config> load_or_report(const std::optional<std::string>& path) {
  auto result = config::load(path, config::process_env());
  for (const auto& p : result.problems) std::cerr << p.str() << "\n";
  if (!result.ok()) return nullptr;
  return result.config;
}

}  // namespace

int cmd_run(const std::optional<std::string>& config_path) {
  auto cfg = load_or_report(config_path);
  if (!cfg) {
    std::cerr << "airgate: cannot start: the configuration has errors (see above)\n";
    return kExitConfig;
  }
  try {
    observe::setup_logging(cfg->logging);
  } catch (const std::exception& e) {
    std::cerr << "airgate: cannot start: " << e.what() << "\n";
    return kExitConfig;
  }
  spdlog::info("airgate {} starting with configuration {}", AIRGATE_VERSION, cfg->source);
  {
    const auto findings = selfcheck::run_selfcheck(*cfg, selfcheck::RealSystemProbe{});
    for (const auto& f : findings) {
      const auto level = f.severity == selfcheck::Severity::critical  ? spdlog::level::err
                         : f.severity == selfcheck::Severity::warning ? spdlog::level::warn
                                                                      : spdlog::level::info;
      spdlog::log(level, "selfcheck {} {}: {} (fix: {})", selfcheck::severity_name(f.severity), f.id, f.finding, f.fix);
    }
    if (cfg->security.selfcheck == config::SelfcheckMode::enforce && selfcheck::exit_code(findings) == 2) {
      spdlog::critical(
          "cannot start: the security self-check found critical problems and security.selfcheck is enforce");
      return kExitConfig;
    }
  }
  {
    // Each connection costs one or two descriptors: use the whole hard limit.
    const auto nofile = core::raise_nofile_limit();
    const auto cap = core::effective_max_connections(cfg->limits.max_connections, nofile.soft);
    spdlog::info("open files limit {}{}; max_connections {}{}", nofile.soft,
                 nofile.soft != nofile.before ? " (raised from " + std::to_string(nofile.before) + ")" : std::string(),
                 cap, cfg->limits.max_connections ? "" : " (derived from the open files limit)");
  }
  // Until the server installs its handlers, a SIGHUP must not kill the process.
  std::signal(SIGHUP, SIG_IGN);
  try {
    server::Server server(cfg, [config_path] { return config::load(config_path, config::process_env()); });
    return server.run();
  } catch (const std::exception& e) {
    spdlog::critical("cannot start: {}", e.what());
    return kExitConfig;
  }
}

int cmd_check(const std::optional<std::string>& config_path) {
  auto cfg = load_or_report(config_path);
  if (!cfg) return kExitUsage;
  // Beyond the YAML: the users file, certificates and keys load as at start.
  try {
    runtime::build_runtime(cfg, /*check_only=*/true);
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return kExitUsage;
  }
  // Not an error (the limit at run time may differ), but worth knowing.
  if (auto warning = core::max_connections_warning(cfg->limits.max_connections, core::raise_nofile_limit().soft);
      !warning.empty())
    std::cerr << "warning: " << warning << "\n";
  for (const auto& m : config::shadowed_routes(cfg->routes)) std::cerr << "warning: " << m << "\n";
  std::cout << cfg->source << ": ok\n";
  return kExitOk;
}

int cmd_version() {
  std::cout << "airgate " << AIRGATE_VERSION << "\n"
            << OpenSSL_version(OPENSSL_VERSION) << " (built with " << OPENSSL_VERSION_TEXT << ")\n"
            << "Boost " << BOOST_VERSION / 100000 << "." << BOOST_VERSION / 100 % 1000 << "." << BOOST_VERSION % 100
            << "\n";
  return kExitOk;
}

}  // namespace airgate::cli
