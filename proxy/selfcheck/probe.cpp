// RealSystemProbe: the host facts the self-check reads.
#include "selfcheck/selfcheck.hpp"

#include <cstdlib>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace airgate::selfcheck {

std::vector<InterfaceAddress> RealSystemProbe::interface_addresses() const {
  std::vector<InterfaceAddress> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sa = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (!::inet_ntop(AF_INET, &sa->sin_addr, buf, sizeof buf)) continue;
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sa = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (!::inet_ntop(AF_INET6, &sa->sin6_addr, buf, sizeof buf)) continue;
    } else {
      continue;
    }
    out.push_back({i->ifa_name ? i->ifa_name : "?", buf});
  }
  ::freeifaddrs(list);
  return out;
}

std::optional<unsigned> RealSystemProbe::file_mode(const std::string& path, std::string& error) const {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  return static_cast<unsigned>(st.st_mode & 07777);
}

std::optional<std::string> RealSystemProbe::read_file(const std::string& path, std::string& error) const {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = "read error";
    return std::nullopt;
  }
  return ss.str();
}

std::time_t RealSystemProbe::now() const { return std::time(nullptr); }

bool RealSystemProbe::in_kubernetes() const { return std::getenv("KUBERNETES_SERVICE_HOST") != nullptr; }

}  // namespace airgate::selfcheck
