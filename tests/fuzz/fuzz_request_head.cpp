// Fuzz target: a client's request head, checked and parsed by the code the
// session runs (proxy/http/request_head.hpp): leading empty lines skipped,
// scan_request_head (head = up to the first CRLFCRLF, a bare LF refused, the
// size limit), then parse_request_head (rules::check_raw_head, the raw version,
// Beast's request_parser, the RFC 9112 checks). What the later steps read from
// an accepted head is read here too.
#include "access/credentials.hpp"
#include "core/ids.hpp"
#include "http/request_head.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace http = airgate::http;
namespace rules = airgate::http::rules;
using airgate::http::bhttp::field;

namespace {

constexpr std::size_t kMaxHeaderSize = 64 * 1024;  // config default limits.max_header_size

// What the access and forwarding steps read from an accepted head.
void read_accepted(const http::RequestParser& p) {
  const auto& req = p.fields();
  (void)p.keep_alive();
  (void)airgate::core::acceptable_request_id(req.first(http::kXRequestId));
  (void)airgate::access::parse_basic(req.first(field::authorization));
  (void)airgate::access::parse_basic(req.first(field::proxy_authorization));
  rules::ConnectionNames named;
  for (const auto f : req)
    if (f.name() == field::connection) rules::connection_tokens(f.value(), named);
  for (const auto f : req) (void)rules::must_strip(f.name_string(), named);
  (void)rules::has_token(req.join(field::connection), "upgrade");
  (void)p.chunked();
  (void)p.content_length();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  in.remove_prefix(http::leading_empty_lines(in));
  // The whole input arrived in one read: a complete head goes to
  // parse_request_head; a bare LF or too many bytes is refused; an incomplete
  // head waits for more (the raw-head rules alone are run on it).
  const http::HeadScan scan = http::scan_request_head(in, 0, kMaxHeaderSize);
  if (scan.kind == http::HeadScan::Kind::incomplete) (void)rules::check_raw_head(in);
  if (scan.kind != http::HeadScan::Kind::complete) return 0;
  if (scan.length > in.size()) __builtin_trap();
  (void)http::raw_request_method(in);
  (void)http::raw_request_path(in);
  http::RequestParser parser;
  const auto check = http::parse_request_head(in.substr(0, scan.length), parser);
  if (check.parsed && check.used > scan.length) __builtin_trap();
  if (check.parsed != parser.is_header_done()) __builtin_trap();
  if (!check.failure) read_accepted(parser);
  return 0;
}
