// The systemd readiness protocol (sd_notify(3)), the pure part: the messages
// and the address in $NOTIFY_SOCKET. The datagram itself is sent by
// server/notify.cpp. No libsystemd: the protocol is one datagram of
// "KEY=VALUE\n" lines to an AF_UNIX socket, documented as stable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::core::sd_notify {

// Where $NOTIFY_SOCKET points: a file system path ("/run/systemd/notify"), or
// an abstract socket ("@name", sent with a leading NUL byte).
struct Address {
  // The bytes for sockaddr_un.sun_path: the path, or NUL + name for an
  // abstract socket. Not NUL-terminated; the length to pass to sendto() is
  // offsetof(sockaddr_un, sun_path) + sun_path.size().
  std::string sun_path;
  bool abstract = false;
};

// The longest sun_path on Linux (sizeof(sockaddr_un::sun_path)).
constexpr std::size_t kMaxSunPath = 108;

// Parses $NOTIFY_SOCKET. nullopt and `error` set when it is neither an
// absolute path nor "@name", or too long for sockaddr_un.
std::optional<Address> parse_address(std::string_view value, std::string& error);

// STATUS= is one line: control characters (newlines above all) become spaces.
std::string status_line(std::string_view status);

// "READY=1\nSTATUS=...\n" (STATUS only when not empty).
std::string ready(std::string_view status);
// "RELOADING=1\nMONOTONIC_USEC=<usec>\nSTATUS=...\n": usec is CLOCK_MONOTONIC
// in microseconds, as systemd's notify-reload expects.
std::string reloading(std::uint64_t monotonic_usec, std::string_view status);
// "STOPPING=1\nSTATUS=...\n".
std::string stopping(std::string_view status);

}  // namespace airgate::core::sd_notify
