// The two heads airgate writes itself (design §3 steps 6 and 8): the request
// head for the upstream and the response head for the client, each written
// directly from the parsed message (no field is inserted into or erased from
// it). Free functions of their inputs, so they are tested without a session.
#pragma once

#include "http/head_fields.hpp"
#include "http/request_head.hpp"
#include "http/response_parser.hpp"

#include <boost/beast/http/message.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::http {

namespace bhttp = boost::beast::http;

// Who sent the request and how: what the upstream head says about it.
struct ForwardedBy {
  std::string_view peer;        // the connecting peer: appended to X-Forwarded-For
  std::string_view client;      // the resolved client address: X-Real-IP
  std::string_view request_id;  // replaces X-Request-Id; empty: the client's passes as it is
  bool tls = false;             // X-Forwarded-Proto: https or http
};

// The request body's framing as the parser found it.
struct RequestFraming {
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool upgrade = false;  // a WebSocket handshake: Connection/Upgrade passed on
};

// The upstream request head: hop-by-hop fields, the fields named in Connection
// and Expect (answered by airgate) dropped; X-Forwarded-For appended to,
// X-Forwarded-Proto/-Host, X-Real-IP and X-Request-Id replaced; one
// Content-Length (identical duplicates, accepted by RFC 9110 §8.6, leave as
// one), or chunked framing, or the Upgrade handshake. airgate's own session
// cookie is removed from Cookie fields (a field left empty is dropped); Host
// and every other field (every other cookie included) pass byte for byte, in
// their order.
std::string upstream_request_head(const RequestParser& req, const RequestFraming& framing, const ForwardedBy& by);

// How the response reaches the client.
struct ResponseFraming {
  bool keep_alive = true;
  bool tunnel = false;   // 101 to a WebSocket handshake: Connection/Upgrade passed on
  bool chunked = false;  // a body without Content-Length, re-framed chunked
};

// The client response head: hop-by-hop fields and those named in Connection
// dropped, Strict-Transport-Security (`hsts`, when not null) and X-Request-Id
// (`request_id`, when not empty) replaced; the body framed as the upstream
// framed it (Content-Length), chunked (re-framed), or by the end of the
// connection (Connection: close); or the Upgrade handshake of a tunnel.
// Set-Cookie and every other field pass byte for byte. `set_cookie`, when
// not empty, is one more Set-Cookie of airgate's own (the session cookie);
// `strip_basic_challenge` drops `WWW-Authenticate: Basic ...` fields (a
// browser's script must not raise the native sign-in dialog).
std::string client_response_head(const ResponseParser& res, const ResponseFraming& framing, const std::string* hsts,
                                 std::string_view request_id, std::string_view set_cookie = {},
                                 bool strip_basic_challenge = false);

}  // namespace airgate::http
