// The edge between the socket side and the pure modules: an Asio address as
// a core::IpAddress (access/ and config/ include no Asio).
#pragma once

#include "core/ip.hpp"

#include <boost/asio/ip/address.hpp>

namespace airgate::net {

// Normalized (an IPv4-mapped IPv6 address, as a dual-stack socket reports an
// IPv4 peer, becomes the IPv4 address). The scope id of a link-local IPv6
// address is dropped: the access checks and the logs use the address bytes.
inline core::IpAddress to_ip(const boost::asio::ip::address& a) {
  if (a.is_v4()) return core::IpAddress::v4(a.to_v4().to_bytes());
  return core::IpAddress::v6(a.to_v6().to_bytes()).normalized();
}

}  // namespace airgate::net
