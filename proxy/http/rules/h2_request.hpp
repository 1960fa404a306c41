// HTTP/2 request streams become HTTP/1.1 requests for the upstream (design
// §9). These are the rules that decide whether the header list of one stream,
// as libnghttp2 hands it over after HPACK decoding, may be forwarded, and the
// translation itself. HTTP/2 carries names and values as length-prefixed bytes,
// so a CR, LF, an uppercase name or a second Content-Length that HTTP/2 never
// interprets would become a different request once written as HTTP/1.1 text
// (h2 -> h1 downgrade smuggling). Everything doubtful is refused: RFC 9113
// §8.1.1 calls such a request malformed, a stream error PROTOCOL_ERROR.
// http/h2_streams.cpp calls these for every request stream.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airgate::http::rules {

// One decoded field (name, value) of a header block, in the order received.
using H2Field = std::pair<std::string_view, std::string_view>;

// RFC 7541 §4.1: every field counts its name, its value and 32 bytes.
constexpr std::size_t kH2FieldOverhead = 32;

enum class H2Refusal {
  none,
  // Malformed request (RFC 9113 §8.1.1): RST_STREAM with PROTOCOL_ERROR.
  protocol_error,
  // The decoded header list is larger than the limit: answered with 431, as
  // HTTP/1.1 answers a head above max_header_size.
  header_list_too_large,
};

// A request that passed every rule, ready for the upstream head writer.
struct H2Request {
  std::string method;
  std::string target;     // :path, origin-form or "*" (OPTIONS only)
  std::string authority;  // :authority, empty when the client sent Host instead
  std::string scheme;
  // The regular fields in the order received, names as received (lowercase).
  // The cookie fields are joined into one, at the position of the first.
  // Content-Length, Host and TE stay in the list: the head writer strips what
  // is hop-by-hop, as it does for HTTP/1.1.
  std::vector<std::pair<std::string, std::string>> fields;
  std::optional<std::uint64_t> content_length;
  bool te_trailers = false;  // `te: trailers` was sent
};

struct H2Translation {
  H2Refusal refusal = H2Refusal::none;
  std::string what;   // the refusal in plain words, naming the field
  H2Request request;  // meaningful only when ok()
  bool ok() const { return refusal == H2Refusal::none; }
};

// Checks the header list of one request stream and translates it. `connect`:
// the stream is a CONNECT (a tunnel airgate does not offer: refused).
// `max_header_list_size`: the limit for the RFC 7541 size of the whole list.
H2Translation translate_h2_request(std::span<const H2Field> fields, bool connect, std::size_t max_header_list_size);

// The same rules without copying (the connection's path, once per stream):
// the request as views into `fields` (the joined cookie into `cookie`), valid
// while `fields` and `out` are. `out` is reused stream after stream, so its
// vector and string keep their capacity.
struct H2RequestView {
  std::string_view method, target, authority, scheme;
  std::vector<H2Field> fields;  // as in H2Request
  std::string cookie;           // the cookie fields joined, when there were several
  std::optional<std::uint64_t> content_length;
  bool te_trailers = false;
};
struct H2Check {
  H2Refusal refusal = H2Refusal::none;
  std::string what;
  bool ok() const { return refusal == H2Refusal::none; }
};
H2Check check_h2_request(std::span<const H2Field> fields, bool connect, std::size_t max_header_list_size,
                         H2RequestView& out);

// The Host value for the upstream: :authority when present (RFC 9113 §8.3.1
// has it replace Host), else the host field.
std::string host_for_upstream(const H2Request& r);
std::string_view host_for_upstream(const H2RequestView& r);

// RFC 9113 §8.1.1: the DATA of a request with a Content-Length must add up to
// exactly that length, or the request is malformed (stream error). Without a
// declared length every amount is fine.
class ContentLengthCheck {
 public:
  explicit ContentLengthCheck(std::optional<std::uint64_t> declared) : declared_(declared) {}
  // Counts one DATA frame's payload; false once the total exceeds the length.
  bool on_data(std::size_t n);
  // END_STREAM arrived; false when fewer bytes came than were declared.
  bool on_end() const;

 private:
  std::optional<std::uint64_t> declared_;
  std::uint64_t received_ = 0;
  bool exceeded_ = false;
};

}  // namespace airgate::http::rules
