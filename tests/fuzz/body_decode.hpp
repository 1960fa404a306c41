// Shared by the body fuzz targets: drive a Beast parser<buffer_body> over
// `input` the way relay_decoded (proxy/upstream/relay.cpp) does through
// bhttp::async_read_some: the bytes arrive in reads of `read_size`, the body
// is decoded into a fixed 32 KiB buffer (RelayBuffer::kSize), need_buffer is
// not an error, end of input is put_eof.
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace fuzz {

namespace bhttp = boost::beast::http;
constexpr std::size_t kRelayBuffer = 32 * 1024;

struct Decoded {
  bool error = false;
  unsigned long long bytes = 0;
  std::uint64_t hash = 1469598103934665603ull;  // FNV-1a of the decoded bytes
  bool operator==(const Decoded&) const = default;
};

// Beast's read_some: appends the next at most `read_size` bytes of `input`
// to `in_buffer` (keeping what the parser has not used yet).
inline void read_more(boost::beast::flat_buffer& in_buffer, std::string_view& input, std::size_t read_size) {
  const std::size_t n = std::min(read_size, input.size());
  auto dst = in_buffer.prepare(n);
  std::memcpy(dst.data(), input.data(), n);
  in_buffer.commit(n);
  input.remove_prefix(n);
}

// The input is exhausted: put_eof either fails (`out` marked as an error) or
// ends the message.
template <bool isRequest>
Decoded end_of_input(bhttp::parser<isRequest, bhttp::buffer_body>& p, Decoded out) {
  boost::system::error_code ec;
  p.put_eof(ec);
  if (ec) {
    out.error = true;
    return out;
  }
  if (!p.is_done()) __builtin_trap();  // put_eof without an error ends the message
  return out;
}

template <bool isRequest>
Decoded decode_body(bhttp::parser<isRequest, bhttp::buffer_body>& p, boost::beast::flat_buffer& in_buffer,
                    std::string_view& input, std::size_t read_size) {
  static std::unique_ptr<char[]> buffer(new char[kRelayBuffer]);
  Decoded out;
  auto& body = p.get().body();
  // Bounded: every round either consumes input, fills the buffer or ends.
  for (int rounds = 0; !p.is_done(); ++rounds) {
    if (rounds > 1000000) __builtin_trap();  // the parser stopped making progress
    body.data = buffer.get();
    body.size = kRelayBuffer;
    if (in_buffer.size() == 0) {
      if (input.empty()) return end_of_input(p, out);
      read_more(in_buffer, input, read_size);
    }
    boost::system::error_code ec;
    const std::size_t used = p.put(in_buffer.data(), ec);
    if (used > in_buffer.size()) __builtin_trap();
    in_buffer.consume(used);
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec == bhttp::error::need_more) {
      if (input.empty()) return end_of_input(p, out);
      read_more(in_buffer, input, read_size);
      ec = {};
    }
    if (ec) {
      out.error = true;
      return out;
    }
    const std::size_t got = kRelayBuffer - body.size;
    if (got > kRelayBuffer) __builtin_trap();
    out.bytes += got;
    for (std::size_t i = 0; i < got; ++i)
      out.hash = (out.hash ^ static_cast<unsigned char>(buffer[i])) * 1099511628211ull;
  }
  return out;
}

}  // namespace fuzz
