#include "core/fd_limit.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <fstream>

namespace airgate::core {

std::size_t connections_for_nofile(std::uint64_t nofile) {
  if (nofile <= kReservedFds + 2) return 1;
  const std::uint64_t n = (nofile - kReservedFds) / 2;
  return static_cast<std::size_t>(std::min<std::uint64_t>(n, SIZE_MAX));
}

std::size_t effective_max_connections(std::optional<std::size_t> configured, std::uint64_t nofile) {
  if (configured) return *configured;
  return std::min(kDefaultMaxConnections, connections_for_nofile(nofile));
}

std::string max_connections_warning(std::optional<std::size_t> configured, std::uint64_t nofile) {
  if (!configured) return {};
  const auto allowed = connections_for_nofile(nofile);
  if (*configured <= allowed) return {};
  return "limits.max_connections is " + std::to_string(*configured) + " but the open files limit (" +
         std::to_string(nofile) + ") allows about " + std::to_string(allowed) +
         " (each connection may need 2 descriptors, " + std::to_string(kReservedFds) +
         " kept aside): beyond that accept() fails with \"Too many open files\" and new connections wait; "
         "raise the limit (ulimit -n, systemd LimitNOFILE=, docker --ulimit nofile=) or lower max_connections";
}

std::uint64_t current_nofile() {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 4 : static_cast<std::uint64_t>(rl.rlim_cur);
}

NofileLimit raise_nofile_limit() {
  NofileLimit out;
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) {
    out.before = out.soft = out.hard = 1024;
    return out;
  }
  out.before = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX / 4 : rl.rlim_cur;
  out.hard = rl.rlim_max == RLIM_INFINITY ? UINT64_MAX / 4 : rl.rlim_max;
  rlim_t target = rl.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel refuses more than fs.nr_open.
    target = 1048576;
    std::ifstream nr("/proc/sys/fs/nr_open");
    unsigned long long v = 0;
    if (nr >> v && v > 0) target = static_cast<rlim_t>(v);
  }
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < target) {
    rlimit want = rl;
    want.rlim_cur = target;
    (void)::setrlimit(RLIMIT_NOFILE, &want);
  }
  out.soft = current_nofile();
  return out;
}

}  // namespace airgate::core
