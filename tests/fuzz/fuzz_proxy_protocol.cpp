// Fuzz target: PROXY protocol v1/v2 headers (access::parse_proxy_header), on
// the bytes a trusted peer sent before TLS. Invariants: `consumed` stays
// within the input and the header cap; an `ok` header parses the same with
// trailing bytes appended (they belong to TLS).
#include "access/proxy_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace airgate::access;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto h = parse_proxy_header(in);
  if (!h.ok()) return 0;
  if (h.consumed == 0 || h.consumed > in.size() || h.consumed > kMaxProxyHeader) __builtin_trap();
  if (h.version != 1 && h.version != 2) __builtin_trap();
  if (h.source) (void)h.source->str();
  if (h.destination) (void)h.destination->str();
  // The same header followed by a TLS ClientHello's first bytes.
  std::string more(in.substr(0, h.consumed));
  more += "\x16\x03\x01\x02\x00\x01";
  const auto again = parse_proxy_header(more);
  if (!again.ok() || again.consumed != h.consumed || again.source != h.source || again.source_port != h.source_port ||
      again.local != h.local)
    __builtin_trap();
  return 0;
}
