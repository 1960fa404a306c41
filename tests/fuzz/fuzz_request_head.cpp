// Fuzz target: a client's request head, checked and parsed exactly as
// Session::read_head + Session::parse_head (proxy/http/session.cpp) do:
// leading empty lines skipped, head = up to the first CRLFCRLF, a bare LF
// refused, the size limit, rules::check_raw_head, Beast's request_parser
// (header_limit, no body limit, eager(false)) and the RFC 9112 checks
// (version, Host count, origin-form target, Transfer-Encoding).
// Keep in step with session.cpp by hand (nothing is shared on purpose).
#include "access/client_address.hpp"
#include "access/credentials.hpp"
#include "core/ids.hpp"
#include "http/rules/headers.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bhttp = boost::beast::http;
namespace rules = airgate::http::rules;

namespace {

constexpr std::size_t kMaxHeaderSize = 64 * 1024;  // config default limits.max_header_size

template <class Req>
std::string_view field_or_empty(const Req& req, bhttp::field f) {
  auto it = req.find(f);
  return it == req.end() ? std::string_view{} : std::string_view(it->value());
}
template <class Req>
std::string_view field_or_empty(const Req& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string_view{} : std::string_view(it->value());
}

// Mirrors Session::parse_head; returns false where it returns a Failure.
bool parse_head(std::string_view head, std::size_t head_len) {
  if (!rules::check_raw_head(head).empty()) return false;
  bhttp::request_parser<bhttp::buffer_body> p;
  p.header_limit(static_cast<std::uint32_t>(std::max<std::size_t>(head_len + 1, 8192)));
  p.body_limit(boost::none);
  p.eager(false);
  boost::system::error_code ec;
  const std::size_t used = p.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec == bhttp::error::need_more) ec = {};
  if (ec) return false;
  if (!p.is_header_done()) return false;
  if (used > head.size()) __builtin_trap();

  auto& req = p.get();
  std::string method(req.method_string());
  std::string target(req.target());
  (void)field_or_empty(req, bhttp::field::host);
  (void)field_or_empty(req, bhttp::field::user_agent);
  (void)req.keep_alive();
  if (req.version() != 10 && req.version() != 11) return false;
  if (req.version() == 11 && req.count(bhttp::field::host) != 1) return false;
  auto t = req.target();
  if (t.empty() || (t.front() != '/' && !(t == "*" && req.method() == bhttp::verb::options))) return false;
  if (req.count(bhttp::field::transfer_encoding)) {
    if (req.count(bhttp::field::transfer_encoding) > 1 ||
        !rules::acceptable_request_transfer_encoding(field_or_empty(req, bhttp::field::transfer_encoding)))
      return false;
    if (req.version() == 10) return false;
  }
  (void)airgate::core::acceptable_request_id(field_or_empty(req, "X-Request-Id"));

  // What begin_access / the forwarding step read from an accepted head.
  (void)airgate::access::parse_basic(field_or_empty(req, bhttp::field::authorization));
  (void)airgate::access::parse_basic(field_or_empty(req, bhttp::field::proxy_authorization));
  std::vector<std::string> named;
  rules::connection_tokens(field_or_empty(req, bhttp::field::connection), named);
  for (const auto& f : req) (void)rules::must_strip(f.name_string(), named);
  (void)rules::has_token(field_or_empty(req, bhttp::field::connection), "upgrade");
  (void)p.chunked();
  (void)p.content_length();
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // RFC 9112 §2.2: empty lines before the request line are ignored.
  for (;;) {
    if (in.substr(0, 2) == "\r\n")
      in.remove_prefix(2);
    else if (in.substr(0, 1) == "\n")
      in.remove_prefix(1);
    else
      break;
  }
  // The whole input arrived in one read: a complete head goes to parse_head
  // (a bare LF inside it is check_raw_head's to refuse); without CRLFCRLF the
  // session refuses a bare LF or waits for more, neither parses anything.
  const auto end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    (void)rules::check_raw_head(in);  // the raw-head rules alone, on any bytes
    return 0;
  }
  const std::size_t head_len = end + 4;
  if (head_len > kMaxHeaderSize) return 0;  // 431
  parse_head(in.substr(0, head_len), head_len);
  return 0;
}
