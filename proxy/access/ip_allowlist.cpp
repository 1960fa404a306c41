#include "access/ip_allowlist.hpp"

#include <algorithm>

namespace airgate::access {

bool IpAllowlist::contains(const IpAddress& raw) const {
  const IpAddress a = raw.normalized();
  return std::any_of(rules_.begin(), rules_.end(), [&](const Cidr& r) { return r.contains(a); });
}

}  // namespace airgate::access
