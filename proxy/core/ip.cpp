#include "core/ip.hpp"

#include "core/text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

namespace airgate::core {
namespace {

constexpr std::array<std::uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

unsigned width(Family f) { return f == Family::v4 ? 4 : 16; }

bool prefix_match(const std::uint8_t* a, const std::uint8_t* net, unsigned prefix) {
  const unsigned full = prefix / 8, rem = prefix % 8;
  if (!std::equal(a, a + full, net)) return false;
  if (rem) {
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - rem));
    if ((a[full] & mask) != net[full]) return false;
  }
  return true;
}

void mask_bytes(std::uint8_t* b, unsigned len, unsigned prefix) {
  for (unsigned i = 0; i < len; ++i) {
    const unsigned bit = i * 8;
    if (bit >= prefix)
      b[i] = 0;
    else if (prefix - bit < 8)
      b[i] &= static_cast<std::uint8_t>(0xff << (8 - (prefix - bit)));
  }
}

std::string to_text(Family family, const std::array<std::uint8_t, 16>& bytes) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(family == Family::v4 ? AF_INET : AF_INET6, bytes.data(), buf, sizeof buf);
  return buf;
}

}  // namespace

IpAddress IpAddress::v4(const std::array<std::uint8_t, 4>& b) {
  IpAddress a;
  std::copy(b.begin(), b.end(), a.bytes.begin());
  return a;
}

IpAddress IpAddress::v6(const std::array<std::uint8_t, 16>& b) {
  IpAddress a;
  a.family = Family::v6;
  a.bytes = b;
  return a;
}

bool IpAddress::is_v4_mapped() const {
  return is_v6() && std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes.begin());
}

IpAddress IpAddress::normalized() const {
  if (!is_v4_mapped()) return *this;
  return v4({bytes[12], bytes[13], bytes[14], bytes[15]});
}

std::string IpAddress::str() const { return to_text(family, bytes); }

std::optional<IpAddress> parse_ip(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  const std::string s(text);  // inet_pton wants a NUL-terminated string
  IpAddress a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  a.family = Family::v6;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) return a;
  return std::nullopt;
}

bool Cidr::contains(const IpAddress& raw) const {
  const IpAddress a = raw.normalized();
  return a.family == family && prefix_match(a.bytes.data(), bytes.data(), prefix);
}

std::string Cidr::str() const { return to_text(family, bytes) + "/" + std::to_string(prefix); }

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<Cidr> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  text = trim(text);
  if (text.empty()) return fail("empty address");
  std::string_view addr_part = text, prefix_part;
  bool has_prefix = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_part = text.substr(0, slash);
    prefix_part = text.substr(slash + 1);
    has_prefix = true;
  }
  if (addr_part.find('%') != std::string_view::npos) return fail("zone ids (%...) are not allowed");
  auto a = parse_ip(addr_part);
  if (!a) return fail("not an IP address or CIDR");
  const unsigned max = a->is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (has_prefix) {
    if (prefix_part.empty() || prefix_part.size() > 3) return fail("bad prefix length");
    auto [p, e] = std::from_chars(prefix_part.data(), prefix_part.data() + prefix_part.size(), prefix);
    if (e != std::errc() || p != prefix_part.data() + prefix_part.size()) return fail("bad prefix length");
    if (prefix > max) return fail("prefix length over " + std::to_string(max));
  }
  if (a->is_v4_mapped() && prefix >= 96) {
    // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
    *a = a->normalized();
    prefix -= 96;
  }
  Cidr c;
  c.family = a->family;
  c.bytes = a->bytes;
  c.prefix = prefix;
  mask_bytes(c.bytes.data(), width(c.family), prefix);
  return c;
}

}  // namespace airgate::core
