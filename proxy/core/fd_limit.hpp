// Open-file limit (RLIMIT_NOFILE) and what it allows for limits.max_connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace airgate::core {

// File descriptors kept aside for everything that is not a client
// connection: listeners, the admin endpoint, log files, the users file and
// certificates being (re)read, eventfd/epoll of each worker, stdio.
constexpr std::uint64_t kReservedFds = 64;
// Without limits.max_connections in the config: at most this many.
constexpr std::size_t kDefaultMaxConnections = 10000;

// How many client connections `nofile` descriptors can carry: each client
// connection may hold one upstream connection too, so
// (nofile - kReservedFds) / 2, at least 1.
std::size_t connections_for_nofile(std::uint64_t nofile);

// The effective cap: the configured value when set, else
// min(kDefaultMaxConnections, connections_for_nofile(nofile)).
std::size_t effective_max_connections(std::optional<std::size_t> configured, std::uint64_t nofile);

// A warning when the configured value exceeds what `nofile` allows, else "".
std::string max_connections_warning(std::optional<std::size_t> configured, std::uint64_t nofile);

struct NofileLimit {
  std::uint64_t before = 0;  // soft limit found at start
  std::uint64_t soft = 0;    // soft limit now
  std::uint64_t hard = 0;
};

// Raises the soft RLIMIT_NOFILE to the hard limit (an unlimited hard limit:
// to fs.nr_open, else 1048576). Never fails: on error the limit stays.
NofileLimit raise_nofile_limit();

// The current soft RLIMIT_NOFILE (a huge value when unlimited).
std::uint64_t current_nofile();

}  // namespace airgate::core
