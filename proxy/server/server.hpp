// Workers, listeners, signals, graceful shutdown (design §4, §7).
#pragma once

#include "config/config.hpp"
#include "server/runtime.hpp"

#include <memory>

namespace airgate::server {

class Server {
 public:
  // Builds the runtime and binds every listener; throws std::runtime_error
  // with a message naming the listener or file at fault.
  explicit Server(config::ConfigPtr config);
  ~Server();
  // Runs until SIGTERM/SIGINT, then drains within shutdown_grace. Returns the
  // process exit code.
  int run();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace airgate::server
