#include "access/ip_allowlist.hpp"

#include <charconv>

namespace airgate::access {

address normalize(const address& a) {
  if (a.is_v6()) {
    auto v6 = a.to_v6();
    if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6);
  }
  return a;
}

namespace {

bool prefix_match(const std::uint8_t* a, const std::uint8_t* net, unsigned prefix) {
  unsigned full = prefix / 8, rem = prefix % 8;
  for (unsigned i = 0; i < full; ++i)
    if (a[i] != net[i]) return false;
  if (rem) {
    std::uint8_t mask = static_cast<std::uint8_t>(0xff << (8 - rem));
    if ((a[full] & mask) != net[full]) return false;
  }
  return true;
}

void mask_bytes(std::uint8_t* b, unsigned len, unsigned prefix) {
  for (unsigned i = 0; i < len; ++i) {
    unsigned bit = i * 8;
    if (bit >= prefix)
      b[i] = 0;
    else if (prefix - bit < 8)
      b[i] &= static_cast<std::uint8_t>(0xff << (8 - (prefix - bit)));
  }
}

}  // namespace

bool Cidr::contains(const address& raw) const {
  address a = normalize(raw);
  if (v4) {
    if (!a.is_v4()) return false;
    auto b = a.to_v4().to_bytes();
    return prefix_match(b.data(), bytes.data(), prefix);
  }
  if (!a.is_v6()) return false;
  auto b = a.to_v6().to_bytes();
  return prefix_match(b.data(), bytes.data(), prefix);
}

std::string Cidr::str() const {
  if (v4) {
    boost::asio::ip::address_v4::bytes_type b{};
    std::copy_n(bytes.begin(), 4, b.begin());
    return boost::asio::ip::address_v4(b).to_string() + "/" + std::to_string(prefix);
  }
  boost::asio::ip::address_v6::bytes_type b{};
  std::copy_n(bytes.begin(), 16, b.begin());
  return boost::asio::ip::address_v6(b).to_string() + "/" + std::to_string(prefix);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<Cidr> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty()) return fail("empty address");
  std::string_view addr_part = text, prefix_part;
  bool has_prefix = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr_part = text.substr(0, slash);
    prefix_part = text.substr(slash + 1);
    has_prefix = true;
  }
  if (addr_part.find('%') != std::string_view::npos) return fail("zone ids (%...) are not allowed");
  boost::system::error_code ec;
  address a = boost::asio::ip::make_address(std::string(addr_part), ec);
  if (ec) return fail("not an IP address or CIDR");
  unsigned max = a.is_v4() ? 32 : 128;
  unsigned prefix = max;
  if (has_prefix) {
    if (prefix_part.empty() || prefix_part.size() > 3) return fail("bad prefix length");
    auto [p, e] = std::from_chars(prefix_part.data(), prefix_part.data() + prefix_part.size(), prefix);
    if (e != std::errc() || p != prefix_part.data() + prefix_part.size()) return fail("bad prefix length");
    if (prefix > max) return fail("prefix length over " + std::to_string(max));
  }
  Cidr c;
  if (a.is_v6() && a.to_v6().is_v4_mapped() && prefix >= 96) {
    // ::ffff:10.0.0.0/104 is the IPv4 network 10.0.0.0/8.
    a = normalize(a);
    prefix -= 96;
  }
  if (a.is_v4()) {
    c.v4 = true;
    auto b = a.to_v4().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes.begin());
    c.prefix = prefix;
    mask_bytes(c.bytes.data(), 4, prefix);
  } else {
    c.v4 = false;
    auto b = a.to_v6().to_bytes();
    std::copy(b.begin(), b.end(), c.bytes.begin());
    c.prefix = prefix;
    mask_bytes(c.bytes.data(), 16, prefix);
  }
  return c;
}

IpAllowlist IpAllowlist::parse(const std::vector<std::string>& entries, std::vector<std::string>& errors) {
  IpAllowlist list;
  for (const auto& e : entries) {
    std::string why;
    if (auto c = parse_cidr(e, &why))
      list.rules_.push_back(*c);
    else
      errors.push_back("'" + e + "': " + why);
  }
  return list;
}

bool IpAllowlist::contains(const address& raw) const {
  address a = normalize(raw);
  for (const auto& r : rules_)
    if (r.contains(a)) return true;
  return false;
}

}  // namespace airgate::access
