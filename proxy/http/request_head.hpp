// A client's request head, from raw bytes to a checked parse (design §3 step
// 2): where the head ends in what was read so far, airgate's own RFC 9112
// smuggling defences, Beast's parse and the checks on its result. Nothing here
// touches a socket or a session.
//
// Header-only on purpose: the fuzz target tests/fuzz/fuzz_request_head.cpp
// links only the pure library and runs this very code.
#pragma once

#include "core/reason.hpp"
#include "http/fields.hpp"
#include "http/flat_parser.hpp"
#include "http/rules/headers.hpp"

#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::http {

// The client's request: a FlatParser (flat_parser.hpp) with the request
// line's parts.
class RequestParser : public FlatParser<true> {
 public:
  bhttp::verb method() const { return message().method(); }
  std::string_view method_string() const { return message().method_string(); }
  std::string_view target() const { return message().target(); }
  void target(std::string_view t) { message().target(boost::beast::string_view(t.data(), t.size())); }
  unsigned version() const { return message().version(); }
};

// RFC 9112 §2.2: empty lines before the request line are ignored. The number
// of leading bytes to drop.
inline std::size_t leading_empty_lines(std::string_view data) {
  std::size_t n = 0;
  for (;;) {
    if (data.substr(n, 2) == "\r\n")
      n += 2;
    else if (data.substr(n, 1) == "\n")
      n += 1;
    else
      return n;
  }
}

// Where the head ends in the bytes read so far (empty lines already dropped).
struct HeadScan {
  enum class Kind { complete, incomplete, too_large, bare_lf };
  Kind kind = Kind::incomplete;
  std::size_t length = 0;  // complete: the head with its CRLFCRLF
};

// `scan_from`: bytes known to hold no CRLFCRLF and no bare LF (earlier scans);
// `max`: limits.max_header_size.
inline HeadScan scan_request_head(std::string_view data, std::size_t scan_from, std::size_t max) {
  using Kind = HeadScan::Kind;
  const auto end = data.find("\r\n\r\n", scan_from);
  if (end != std::string_view::npos) {
    const std::size_t length = end + 4;
    return {length > max ? Kind::too_large : Kind::complete, length};
  }
  // A bare LF ends lines only for lenient parsers; refuse early instead of
  // waiting for a CRLFCRLF that never comes.
  for (auto lf = data.find('\n', scan_from); lf != std::string_view::npos; lf = data.find('\n', lf + 1))
    if (lf == 0 || data[lf - 1] != '\r') return {Kind::bare_lf, 0};
  return {data.size() > max ? Kind::too_large : Kind::incomplete, 0};
}

// The method of a request line that is still only raw bytes.
inline std::string_view raw_request_method(std::string_view data) {
  return data.substr(0, std::min(data.find(' '), data.find("\r\n")));
}

// The path of a request line that is still only raw bytes (for a 431 page in
// the right format when the head never parsed).
inline std::string_view raw_request_path(std::string_view data) {
  data = data.substr(0, data.find("\r\n"));
  auto sp = data.find(' ');
  if (sp == std::string_view::npos) return {};
  auto target = data.substr(sp + 1);
  return target.substr(0, std::min(target.find(' '), target.find('?')));
}

// What parse_request_head found, and how far it got.
struct RequestHeadCheck {
  std::optional<core::Reason> failure;  // malformed_request or http_version_not_supported
  std::string message;                  // for the client: what was wrong
  bool line_trusted = false;            // the raw head is clean: its request line can be read (raw_request_method)
  bool parsed = false;                  // the parser holds the head, which took `used` bytes
  std::size_t used = 0;
};

namespace detail {

inline RequestHeadCheck head_failure(RequestHeadCheck r, core::Reason reason, std::string message) {
  r.failure = reason;
  r.message = std::move(message);
  return r;
}

inline RequestHeadCheck malformed(RequestHeadCheck r, std::string_view why) {
  return head_failure(std::move(r), core::Reason::malformed_request, "malformed request: " + std::string(why));
}

// RFC 9112 checks on what the parser accepted: version, Host, origin-form
// target, Transfer-Encoding.
inline RequestHeadCheck check_parsed_head(RequestHeadCheck r, const RequestParser& req) {
  const HeadFields& fields = req.fields();
  if (req.version() != 10 && req.version() != 11)
    return head_failure(std::move(r), core::Reason::http_version_not_supported,
                        "only HTTP/1.0 and HTTP/1.1 are supported");
  const std::size_t hosts = fields.count(bhttp::field::host);
  if (req.version() == 11 && hosts != 1)
    return malformed(std::move(r), hosts ? "more than one Host header" : "missing Host header");
  if (hosts > 1) return malformed(std::move(r), "more than one Host header");
  if (!rules::valid_host(fields.first(bhttp::field::host)))
    return malformed(std::move(r), "the Host header is not a valid host name or address");
  auto target = req.target();
  if (target.empty() || (target.front() != '/' && !(target == "*" && req.method() == bhttp::verb::options)))
    return malformed(std::move(r), "request target must be an absolute path (origin-form)");
  if (const std::size_t codings = fields.count(bhttp::field::transfer_encoding)) {
    if (codings > 1 || !rules::acceptable_request_transfer_encoding(fields.first(bhttp::field::transfer_encoding)))
      return malformed(std::move(r), "unsupported Transfer-Encoding (only \"chunked\" is accepted)");
    if (req.version() == 10) return malformed(std::move(r), "Transfer-Encoding in an HTTP/1.0 request");
  }
  return r;
}

}  // namespace detail

// Checks and parses `head` (a complete head from scan_request_head, CRLFCRLF
// included) into a fresh `parser`: the raw-head rules, a well-formed version
// other than 1.0/1.1 (505, RFC 9110 §15.6.6), Beast's parse (header limit
// just above the head, no body limit, no eager body), then the RFC 9112 checks.
inline RequestHeadCheck parse_request_head(std::string_view head, RequestParser& parser) {
  RequestHeadCheck r;
  if (auto why = rules::check_raw_head(head); !why.empty()) return detail::malformed(std::move(r), why);
  r.line_trusted = true;
  if (const int version = rules::request_line_version(head); version >= 0 && version != 10 && version != 11)
    return detail::head_failure(std::move(r), core::Reason::http_version_not_supported,
                                "only HTTP/1.0 and HTTP/1.1 are supported");
  parser.header_limit(static_cast<std::uint32_t>(std::max<std::size_t>(head.size() + 1, 8192)));
  parser.body_limit(boost::none);
  parser.eager(false);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (ec == bhttp::error::need_more) ec = {};
  if (ec) {
    if (ec == bhttp::error::bad_transfer_encoding || ec == bhttp::error::bad_content_length ||
        ec == bhttp::error::multiple_content_length)
      return detail::malformed(std::move(r), "ambiguous message length (" + ec.message() + ")");
    return detail::malformed(std::move(r), ec.message());
  }
  if (!parser.is_header_done()) return detail::malformed(std::move(r), "incomplete request head");
  r.parsed = true;
  r.used = used;
  return detail::check_parsed_head(std::move(r), parser);
}

}  // namespace airgate::http
