// Fuzz target: the decoded header list of one HTTP/2 request stream, as
// libnghttp2 would hand it over, through http::rules::translate_h2_request.
// Input: 1 flag byte, then fields separated by 0xff, each name and value
// separated by the first 0xfe (no 0xfe: an empty value). Flag bit 0: the
// stream is a CONNECT; bit 7: a small header list limit ((flags & 0x7e) * 8
// bytes) instead of 64 KiB.
// Invariants of an accepted request: no CR, LF or NUL in method, target,
// scheme, authority or any field; field names non-empty, lowercase and not
// pseudo; no connection-specific field, te only "trailers"; at most one cookie
// field; every content-length equal to the parsed length; the target starts
// with '/' or is "*" with OPTIONS; not a CONNECT; a Host for the upstream; and
// translating the accepted request again gives the same request. A refusal
// says why and carries no half-translated request.
#include "http/rules/h2_request.hpp"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace airgate::http::rules;

namespace {

constexpr std::size_t kDefaultLimit = 64 * 1024;

std::vector<H2Field> decode(std::string_view in) {
  std::vector<H2Field> fields;
  while (!in.empty()) {
    const std::size_t end = in.find('\xff');
    const std::string_view f = in.substr(0, end);
    in = end == std::string_view::npos ? std::string_view{} : in.substr(end + 1);
    const std::size_t sep = f.find('\xfe');
    if (sep == std::string_view::npos) {
      fields.emplace_back(f, std::string_view{});
    } else {
      fields.emplace_back(f.substr(0, sep), f.substr(sep + 1));
    }
  }
  return fields;
}

bool clean(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

void check_fields(const H2Request& r) {
  std::size_t cookies = 0;
  for (const auto& [name, value] : r.fields) {
    if (name.empty() || name[0] == ':' || !clean(name) || !clean(value)) __builtin_trap();
    for (char c : name) {
      if (c >= 'A' && c <= 'Z') __builtin_trap();
    }
    for (std::string_view bad :
         {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "http2-settings"}) {
      if (name == bad) __builtin_trap();
    }
    if (name == "te" && !r.te_trailers) __builtin_trap();
    // Digits only (so stoull cannot see a sign or a space) and the parsed
    // number; leading zeros are kept as sent.
    if (name == "content-length" && (!r.content_length || value.find_first_not_of("0123456789") != std::string::npos ||
                                     std::stoull(value) != *r.content_length))
      __builtin_trap();
    if (name == "cookie") ++cookies;
  }
  if (cookies > 1) __builtin_trap();
}

void check_accepted(const H2Request& r, bool connect) {
  if (connect || r.method == "CONNECT") __builtin_trap();
  for (const std::string* s : {&r.method, &r.target, &r.scheme, &r.authority}) {
    if (!clean(*s)) __builtin_trap();
  }
  if (r.method.empty() || r.scheme.empty() || r.target.empty()) __builtin_trap();
  if (r.target[0] != '/' && !(r.target == "*" && r.method == "OPTIONS")) __builtin_trap();
  if (r.authority.find('@') != std::string::npos) __builtin_trap();
  if (host_for_upstream(r).empty()) __builtin_trap();
  check_fields(r);
}

// The accepted request as a header list again: it must translate to itself.
void check_again(const H2Request& r) {
  std::vector<H2Field> list = {{":method", r.method}, {":scheme", r.scheme}, {":path", r.target}};
  if (!r.authority.empty()) list.emplace_back(":authority", r.authority);
  for (const auto& [name, value] : r.fields) list.emplace_back(name, value);
  const auto again = translate_h2_request(list, false, std::numeric_limits<std::size_t>::max());
  if (!again.ok()) __builtin_trap();
  const H2Request& a = again.request;
  if (a.method != r.method || a.target != r.target || a.scheme != r.scheme || a.authority != r.authority ||
      a.fields != r.fields || a.content_length != r.content_length || a.te_trailers != r.te_trailers)
    __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const bool connect = (flags & 1) != 0;
  const std::size_t limit = (flags & 0x80) != 0 ? static_cast<std::size_t>(flags & 0x7e) * 8 : kDefaultLimit;
  const auto fields = decode(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  const auto t = translate_h2_request(fields, connect, limit);
  if (!t.ok()) {
    if (t.what.empty() || !t.request.fields.empty() || !t.request.method.empty()) __builtin_trap();
    return 0;
  }
  check_accepted(t.request, connect);
  check_again(t.request);
  return 0;
}
