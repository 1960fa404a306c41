// A list of IPv4/IPv6 networks (auth.allow, trusted_proxies), parsed by the
// config loader (core::parse_cidr, see core/ip.hpp for the accepted forms);
// lookups treat an IPv4-mapped IPv6 address as the IPv4 address.
#pragma once

#include "core/ip.hpp"

#include <utility>
#include <vector>

namespace airgate::access {

// The address types of the access checks (and of the self-check's rules,
// which name them access::).
using core::Cidr;
using core::IpAddress;
using core::parse_cidr;

class IpAllowlist {
 public:
  IpAllowlist() = default;
  explicit IpAllowlist(std::vector<Cidr> rules) : rules_(std::move(rules)) {}
  bool contains(const IpAddress& a) const;
  bool empty() const { return rules_.empty(); }
  const std::vector<Cidr>& rules() const { return rules_; }

 private:
  std::vector<Cidr> rules_;
};

}  // namespace airgate::access
