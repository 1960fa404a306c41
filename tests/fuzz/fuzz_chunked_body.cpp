// Fuzz target: a chunked request body. The fixed head below, then the input,
// through Beast's request_parser<buffer_body> as the session sets it up
// (eager(false), no body limit) and as relay_decoded reads it (fixed 32 KiB
// buffer). The input is decoded twice, in one read and in 1-byte reads; the
// outcome (error or not, bytes, content) must not depend on how the bytes
// were split by the network.
#include "body_decode.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

constexpr std::string_view kHead = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";

fuzz::Decoded run(std::string_view input, std::size_t read_size) {
  namespace bhttp = boost::beast::http;
  bhttp::request_parser<bhttp::buffer_body> p;
  p.header_limit(8192);
  p.body_limit(boost::none);
  p.eager(false);
  boost::system::error_code ec;
  const std::size_t used = p.put(boost::asio::buffer(kHead.data(), kHead.size()), ec);
  if (ec || !p.is_header_done() || used != kHead.size() || !p.chunked()) __builtin_trap();
  boost::beast::flat_buffer in_buffer;
  return fuzz::decode_body(p, in_buffer, input, read_size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto whole = run(input, input.size() ? input.size() : 1);
  if (size <= 8192) {
    const auto bytewise = run(input, 1);
    if (!(whole == bytewise)) __builtin_trap();  // split-dependent decoding
  }
  return 0;
}
