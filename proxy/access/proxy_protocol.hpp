// PROXY protocol v1 and v2 header parser (haproxy proxy-protocol.txt), pure:
// feed it the bytes received so far, it says whether more are needed, the
// header is invalid, or how many bytes it used and what source it carried.
//
// The session reads at most kMaxProxyHeader bytes before the TLS handshake,
// calls parse_proxy_header on what it has, and on `ok` keeps the bytes after
// `consumed` for TLS. A header is believed only from a trusted peer (the
// session checks the peer against trusted_proxies before parsing).
//
// Accepted: v1 "PROXY TCP4 ...", "PROXY TCP6 ...", "PROXY UNKNOWN ..." (at
// most 107 bytes including CRLF); v2 with command LOCAL (no address: use the
// peer) or PROXY with AF_INET/AF_INET6 over STREAM, or AF_UNSPEC (no
// address); TLVs are skipped. Rejected: v2 DGRAM or AF_UNIX, versions other
// than 2, commands other than LOCAL/PROXY, address blocks shorter than the
// family needs, headers over kMaxProxyHeader bytes.
#pragma once

#include "access/ip_allowlist.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::access {

constexpr std::size_t kProxyV1MaxLine = 107;
constexpr std::size_t kProxyV2HeaderSize = 16;
// Upper bound on a v2 header we accept (16-byte header + addresses + TLVs).
constexpr std::size_t kMaxProxyHeader = 4096;

struct ProxyHeader {
  enum class Status { need_more, error, ok };
  Status status = Status::need_more;
  std::string reason;               // for error: short, plain words
  int version = 0;                  // 1 or 2 when ok
  bool local = false;               // v2 LOCAL / v1 UNKNOWN / v2 AF_UNSPEC: no address, use the peer
  std::optional<IpAddress> source;  // client address when carried (normalized)
  std::uint16_t source_port = 0;
  std::optional<IpAddress> destination;
  std::uint16_t destination_port = 0;
  std::size_t consumed = 0;  // bytes of the header, when ok

  bool ok() const { return status == Status::ok; }
  bool need_more() const { return status == Status::need_more; }
  bool error() const { return status == Status::error; }
};

ProxyHeader parse_proxy_header(std::string_view data);

}  // namespace airgate::access
