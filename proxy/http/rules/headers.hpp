// Header rules of design §3 steps 6 and 8, as pure functions over names and
// values (no Beast types) so they are unit-tested without sockets.
#pragma once

#include <boost/container/small_vector.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::http::rules {

// RFC 9110 §7.6.1 connection-specific fields plus the de-facto ones proxies
// strip (Keep-Alive, Proxy-Connection). Case-insensitive.
bool is_hop_by_hop(std::string_view name);

// Field names listed in Connection header values: views into those values,
// compared case-insensitively. Most heads have one or two ("close",
// "keep-alive"), kept without an allocation.
using ConnectionNames = boost::container::small_vector<std::string_view, 4>;

// The field names listed in a Connection header value ("close, X-Foo"),
// trimmed, appended to `out` (views into `connection_value`).
void connection_tokens(std::string_view connection_value, ConnectionNames& out);

// True when `name` must be removed when forwarding: hop-by-hop or named in
// Connection (`named` from connection_tokens(), any case). Host and
// Content-Length are never removed because Connection names them: a sender
// cannot make airgate drop the target's host or desynchronise the framing
// that way.
bool must_strip(std::string_view name, std::span<const std::string_view> named);

// RFC 3986 §3.2.2 host with an optional port, as a Host field value:
// reg-name (unreserved, pct-encoded, sub-delims), IPv4, or an IP-literal in
// brackets; port digits only. Empty is valid (RFC 9112 §3.2). Anything else
// ("a b", "a/b", "a@b", a second colon) is refused with 400.
bool valid_host(std::string_view value);

// The HTTP-version of a request line as 10 * major + minor ("GET / HTTP/2.0"
// -> 20), or -1 when the line does not end in a well-formed
// "HTTP/DIGIT.DIGIT" (a malformed request, 400). A well-formed version other
// than 1.0 and 1.1 gets 505.
int request_line_version(std::string_view head);

// A WebSocket opening handshake (RFC 6455 §4.1): GET, "Upgrade: websocket",
// Connection naming upgrade, Sec-WebSocket-Key and Sec-WebSocket-Version
// present. No other upgrade (h2c, TLS, ...) is ever forwarded.
struct UpgradeFields {
  std::string_view method;
  std::string_view upgrade;     // all Upgrade values joined
  std::string_view connection;  // all Connection values joined
  bool has_key = false;
  bool has_version = false;
};
bool is_websocket_upgrade(const UpgradeFields& f);

// X-Forwarded-For for the upstream: the client's existing value (all its
// X-Forwarded-For headers joined with ", ") with the peer address appended.
std::string append_forwarded_for(std::string_view existing, std::string_view peer);

// An address as it appears in X-Forwarded-For / X-Real-IP: IPv6 without
// brackets, IPv4-mapped IPv6 shown as IPv4.
std::string forwarded_address(std::string_view address);

// Does a value list contain a token (case-insensitive), e.g. "Upgrade" in
// "keep-alive, Upgrade"?
bool has_token(std::string_view list, std::string_view token);

// RFC 9112 §6.1: a request's Transfer-Encoding is acceptable only when it is
// exactly "chunked" (any other coding cannot be framed safely).
bool acceptable_request_transfer_encoding(std::string_view value);

// Raw request head checks that a tolerant parser would let through and that
// enable request smuggling (RFC 9112 §2.2, §5.2): obs-fold, bare CR, bare LF,
// NUL or other control characters in the head. Returns an empty string when
// the head is clean, else a short description of the first problem.
std::string check_raw_head(std::string_view head);

}  // namespace airgate::http::rules
