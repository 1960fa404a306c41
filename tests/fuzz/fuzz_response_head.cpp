// Fuzz target: an upstream's response head (and body). airgate's
// ResponseParser (Beast's response_parser<buffer_body> with the fields kept
// flat in HeadFields) set up as the session's step 8 does
// (header_limit max(max_header_size, 64 KiB), no body limit, skip() for a
// HEAD request), interim 1xx responses other than 101 skipped, then the
// body decoded as relay_decoded does (fixed 32 KiB buffer).
// Input: the first byte chooses the variant (bit 0: HEAD request; bits 1-3:
// read size), the rest is what the upstream sent.
#include "body_decode.hpp"
#include "http/response_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool is_head = data[0] & 1;
  static constexpr std::size_t kReadSizes[8] = {1, 2, 7, 64, 512, 4096, 16384, 1 << 20};
  const std::size_t read_size = kReadSizes[(data[0] >> 1) & 7];
  std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  boost::beast::flat_buffer in_buffer;
  std::optional<airgate::http::ResponseParser> rp;
  for (int interim = 0;; ++interim) {
    if (interim > 100000) __builtin_trap();
    rp.emplace();
    rp->header_limit(64 * 1024);
    rp->body_limit(boost::none);
    if (is_head) rp->skip(true);
    // async_read_header: put until the header is done.
    for (;;) {
      boost::system::error_code ec;
      if (in_buffer.size() > 0) {
        const std::size_t used = rp->put(in_buffer.data(), ec);
        if (used > in_buffer.size()) __builtin_trap();
        in_buffer.consume(used);
        if (!ec && rp->is_header_done()) break;
        if (ec && ec != bhttp::error::need_more) return 0;  // 502 upstream_bad_response
      }
      if (input.empty()) {
        rp->put_eof(ec);
        if (ec || !rp->is_header_done()) return 0;  // 502 upstream_closed / bad response
        break;
      }
      fuzz::read_more(in_buffer, input, read_size);
    }
    const unsigned status = rp->status();
    if (status >= 200 || status == 101) break;
  }

  const int status = static_cast<int>(rp->status());
  (void)rp->reason();
  const bool response_has_body = !(is_head || status == 204 || status == 304 || status == 101);
  const bool close_delimited = response_has_body && !rp->chunked() && !rp->content_length();
  (void)close_delimited;
  (void)rp->keep_alive();
  // What the head writer and the WebSocket check read.
  const auto& fields = rp->fields();
  for (const auto f : fields) {
    if (f.name_string().empty()) __builtin_trap();  // Beast refuses an empty name
    (void)f.value();
  }
  (void)fields.join(bhttp::field::connection);
  (void)fields.first(bhttp::field::upgrade);
  if (!response_has_body) return 0;
  if (auto len = rp->content_length(); len && !rp->chunked()) return 0;  // relay_exact: bytes as they are
  (void)fuzz::decode_body(*rp, in_buffer, input, read_size);
  return 0;
}
