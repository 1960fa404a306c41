// Workers, listeners, signals, reload, graceful shutdown (design §4, §7).
#pragma once

#include "config/config.hpp"
#include "config/load.hpp"
#include "runtime/runtime.hpp"

#include <functional>
#include <memory>

namespace airgate::server {

class Server {
 public:
  // Builds the runtime and binds every listener; throws std::runtime_error
  // with a message naming the listener or file at fault.
  // `reload_source` loads the configuration again (same file, same
  // environment) for SIGHUP and reload_watch.
  Server(config::ConfigPtr config, std::function<config::LoadResult()> reload_source);
  ~Server();
  // Runs until SIGTERM/SIGINT, then drains within shutdown_grace. Returns the
  // process exit code.
  int run();

  struct Impl;

  // Why a new configuration cannot be applied without a restart (listener
  // addresses, count, TLS on/off or PROXY protocol changed), or empty.
  static std::string listener_change(const config::Config& before, const config::Config& after);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace airgate::server
