#include "server/notify.hpp"

#include <spdlog/spdlog.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace airgate::server {

Notifier::Notifier() {
  const char* value = std::getenv("NOTIFY_SOCKET");
  if (!value || !*value) return;
  std::string error;
  name_ = value;
  address_ = core::sd_notify::parse_address(value, error);
  if (!address_) {
    spdlog::error("systemd notifications off: {}", error);
    return;
  }
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    spdlog::error("systemd notifications off: socket(AF_UNIX): {}", std::strerror(errno));
    address_.reset();
  }
}

Notifier::~Notifier() {
  if (fd_ >= 0) ::close(fd_);
}

void Notifier::send(const std::string& message) {
  if (!address_) return;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, address_->sun_path.data(), address_->sun_path.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address_->sun_path.size() +
                                          (address_->abstract ? 0 : 1));
  if (::sendto(fd_, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<const sockaddr*>(&sa), len) < 0)
    spdlog::warn("systemd notification to {} failed: {}", name_, std::strerror(errno));
}

void Notifier::ready(std::string_view status) { send(core::sd_notify::ready(status)); }

void Notifier::reloading(std::string_view status) {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  const auto usec = static_cast<std::uint64_t>(ts.tv_sec) * 1000000u + static_cast<std::uint64_t>(ts.tv_nsec) / 1000u;
  send(core::sd_notify::reloading(usec, status));
}

void Notifier::stopping(std::string_view status) { send(core::sd_notify::stopping(status)); }

}  // namespace airgate::server
