// Readiness and reload notifications to systemd (Type=notify): one datagram
// per message to the AF_UNIX socket named by $NOTIFY_SOCKET. The messages are
// built by core/sd_notify.hpp. Without $NOTIFY_SOCKET every call does nothing.
#pragma once

#include "core/sd_notify.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace airgate::server {

class Notifier {
 public:
  // Reads $NOTIFY_SOCKET; a value that is not a socket address is logged as
  // an error once and notifications are off.
  Notifier();
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  bool enabled() const { return address_.has_value(); }
  void ready(std::string_view status);
  void reloading(std::string_view status);
  void stopping(std::string_view status);

 private:
  void send(const std::string& message);
  std::optional<core::sd_notify::Address> address_;
  std::string name_;  // $NOTIFY_SOCKET as given, for messages
  int fd_ = -1;
};

}  // namespace airgate::server
