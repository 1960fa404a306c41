// The client address of design §3 step 3.
//
// When the peer (TCP peer, or the source from a PROXY header accepted from a
// trusted peer) is NOT in trusted_proxies, the peer is the client and
// X-Forwarded-For is ignored. When it is trusted, X-Forwarded-For is walked
// from right to left (several X-Forwarded-For headers are concatenated in
// order, as RFC 7230 allows): trusted entries are skipped, the first
// untrusted entry is the client. When every entry is trusted, the left-most
// one is the client. An entry that is not an address ("unknown", garbage)
// stops the walk: the result is the last good address seen (a trusted one,
// possibly the peer) -- it never lets a value left of garbage through.
// Empty entries (", ,") are skipped. Entries may carry a port or brackets:
// "1.2.3.4:5678", "[2001:db8::1]:443", "[2001:db8::1]". The result is
// normalized (IPv4-mapped IPv6 -> IPv4).
#pragma once

#include "access/ip_allowlist.hpp"

#include <optional>
#include <string_view>
#include <vector>

namespace airgate::access {

// At most this many X-Forwarded-For entries are examined (from the right).
constexpr std::size_t kMaxForwardedEntries = 64;

// One X-Forwarded-For entry (already split at ',') as an address.
std::optional<IpAddress> parse_forwarded_entry(std::string_view entry);

IpAddress resolve_client_address(const IpAddress& peer, const std::vector<std::string_view>& xff_values,
                                 const IpAllowlist& trusted_proxies);

}  // namespace airgate::access
