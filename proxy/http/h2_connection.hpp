// HTTP/2 to clients (design §9): a TLS connection whose ALPN chose h2 is
// served here, framing, HPACK and flow control by libnghttp2.
#pragma once

#include <memory>

namespace airgate::http {

class Session;

// Takes over `session` after its TLS handshake negotiated h2 and serves the
// connection until it ends, then calls the worker's session_ended (once, as
// an HTTP/1.1 connection does). Each stream becomes one exchange of a
// Session of its own, with the same lifecycle steps as an HTTP/1.1 request.
void start_h2(std::unique_ptr<Session> session);

}  // namespace airgate::http
