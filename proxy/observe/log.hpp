// Logging setup (spdlog) and the access log (design §3 step 10, §7).
// Logs never contain Authorization, Cookie, Set-Cookie or password values:
// the access log entry has no field that could carry them.
#pragma once

#include "config/config.hpp"
#include "core/reason.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace airgate::observe {

// Configure the default (error) logger: stderr, level and format from config.
// Throws std::runtime_error naming the level when it is unknown.
void setup_logging(const config::Logging& cfg);

struct AccessEntry {
  std::chrono::system_clock::time_point time;
  std::string client;  // resolved client address
  std::string user;    // authenticated user or empty
  std::string method;
  std::string target;     // request target as received
  unsigned version = 11;  // 10, 11, or 20 for a stream of an HTTP/2 connection
  int status = 0;
  std::uint64_t bytes_sent = 0;      // response body bytes to the client
  std::uint64_t bytes_received = 0;  // request body bytes from the client
  double duration_s = 0;
  std::string upstream;                // upstream authority, or "-"
  std::optional<core::Reason> reason;  // denial / failure / allow reason, or none
  std::string request_id;
  std::string user_agent;
  std::string referer;
  std::string host;
  std::string tls_client_subject;  // verified client certificate (mTLS), else empty
};

// "HTTP/1.0", "HTTP/1.1" or "HTTP/2.0" (as nginx logs HTTP/2).
inline std::string_view protocol_name(unsigned version) {
  return version == 20 ? "HTTP/2.0" : version == 10 ? "HTTP/1.0" : "HTTP/1.1";
}

class AccessLog {
 public:
  // `destination`: stdout | stderr | off | a file path (appended).
  // Throws std::runtime_error when the file cannot be opened.
  AccessLog(const std::string& destination, config::LogFormat format);
  ~AccessLog();
  bool enabled() const { return logger_ != nullptr; }
  void write(const AccessEntry& e);

  // Pure formatting, for tests.
  static std::string format_text(const AccessEntry& e);
  static std::string format_json(const AccessEntry& e);

 private:
  std::shared_ptr<spdlog::logger> logger_;
  config::LogFormat format_;
};

}  // namespace airgate::observe
