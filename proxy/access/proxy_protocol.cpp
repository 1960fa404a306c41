#include "access/proxy_protocol.hpp"

#include "core/text.hpp"

#include <array>
#include <charconv>
#include <cstring>
#include <vector>

namespace airgate::access {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr char kV2SigBytes[12] = {'\x0D', '\x0A', '\x0D', '\x0A', '\x00', '\x0D',
                                  '\x0A', '\x51', '\x55', '\x49', '\x54', '\x0A'};
constexpr std::string_view kV2Sig(kV2SigBytes, 12);

ProxyHeader fail(std::string reason) {
  ProxyHeader h;
  h.status = ProxyHeader::Status::error;
  h.reason = std::move(reason);
  return h;
}

bool is_prefix_of(std::string_view data, std::string_view sig) {
  std::size_t n = std::min(data.size(), sig.size());
  return data.substr(0, n) == sig.substr(0, n);
}

std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(v);
}

ProxyHeader parse_v1(std::string_view data) {
  auto crlf = data.find("\r\n");
  if (crlf == std::string_view::npos) {
    if (data.size() >= kProxyV1MaxLine) return fail("PROXY v1 line longer than 107 bytes");
    if (data.find('\n') != std::string_view::npos) return fail("PROXY v1 line not terminated by CRLF");
    return {};
  }
  if (crlf + 2 > kProxyV1MaxLine) return fail("PROXY v1 line longer than 107 bytes");
  const std::string_view line = data.substr(kV1Prefix.size(), crlf - kV1Prefix.size());
  const std::vector<std::string_view> parts = core::split(line, ' ');
  ProxyHeader h;
  h.version = 1;
  h.consumed = crlf + 2;
  if (parts[0] == "UNKNOWN") {  // anything may follow; the receiver uses the real peer
    h.status = ProxyHeader::Status::ok;
    h.local = true;
    return h;
  }
  bool v4 = parts[0] == "TCP4";
  if (!v4 && parts[0] != "TCP6") return fail("PROXY v1: unknown protocol (expected TCP4, TCP6 or UNKNOWN)");
  if (parts.size() != 5) return fail("PROXY v1: expected 'PROXY TCPx SRC DST SPORT DPORT'");
  for (auto p : parts)
    if (p.empty()) return fail("PROXY v1: empty field");
  const auto src = core::parse_ip(parts[1]), dst = core::parse_ip(parts[2]);
  const core::Family family = v4 ? core::Family::v4 : core::Family::v6;
  if (!src || !dst || src->family != family || dst->family != family) return fail("PROXY v1: bad address");
  auto sport = parse_port(parts[3]);
  auto dport = parse_port(parts[4]);
  if (!sport || !dport) return fail("PROXY v1: bad port");
  h.status = ProxyHeader::Status::ok;
  h.source = src->normalized();
  h.destination = dst->normalized();
  h.source_port = *sport;
  h.destination_port = *dport;
  return h;
}

std::uint16_t be16(const unsigned char* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

ProxyHeader parse_v2(std::string_view data) {
  if (data.size() < kProxyV2HeaderSize) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  unsigned ver = p[12] >> 4, cmd = p[12] & 0x0f;
  unsigned fam = p[13] >> 4, proto = p[13] & 0x0f;
  std::size_t len = be16(p + 14);
  if (ver != 2) return fail("PROXY v2: unsupported version");
  if (cmd > 1) return fail("PROXY v2: unknown command");
  std::size_t total = kProxyV2HeaderSize + len;
  if (total > kMaxProxyHeader) return fail("PROXY v2: header too long");
  if (data.size() < total) return {};
  ProxyHeader h;
  h.version = 2;
  h.consumed = total;
  if (cmd == 0) {  // LOCAL: health check from the proxy itself; addresses ignored
    h.status = ProxyHeader::Status::ok;
    h.local = true;
    return h;
  }
  if (fam == 0) {  // AF_UNSPEC: spec says use the real connection addresses
    h.status = ProxyHeader::Status::ok;
    h.local = true;
    return h;
  }
  if (proto != 1) return fail("PROXY v2: only STREAM (TCP) is supported");
  const unsigned char* a = p + kProxyV2HeaderSize;
  if (fam == 1) {
    if (len < 12) return fail("PROXY v2: address block too short for AF_INET");
    std::array<std::uint8_t, 4> s{}, d{};
    std::memcpy(s.data(), a, 4);
    std::memcpy(d.data(), a + 4, 4);
    h.source = IpAddress::v4(s);
    h.destination = IpAddress::v4(d);
    h.source_port = be16(a + 8);
    h.destination_port = be16(a + 10);
  } else if (fam == 2) {
    if (len < 36) return fail("PROXY v2: address block too short for AF_INET6");
    std::array<std::uint8_t, 16> s{}, d{};
    std::memcpy(s.data(), a, 16);
    std::memcpy(d.data(), a + 16, 16);
    h.source = IpAddress::v6(s).normalized();
    h.destination = IpAddress::v6(d).normalized();
    h.source_port = be16(a + 32);
    h.destination_port = be16(a + 34);
  } else {
    return fail("PROXY v2: unsupported address family");
  }
  // TLVs after the addresses are skipped (consumed with the header).
  h.status = ProxyHeader::Status::ok;
  return h;
}

}  // namespace

ProxyHeader parse_proxy_header(std::string_view data) {
  if (data.empty()) return {};
  if (data.size() >= kV2Sig.size() && data.substr(0, kV2Sig.size()) == kV2Sig) return parse_v2(data);
  if (data.size() >= kV1Prefix.size() && data.substr(0, kV1Prefix.size()) == kV1Prefix) return parse_v1(data);
  if (is_prefix_of(data, kV2Sig) || is_prefix_of(data, kV1Prefix)) return {};
  return fail("no PROXY protocol header");
}

}  // namespace airgate::access
