// Server and upstream-client TLS contexts built from the config.
#pragma once

#include "config/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::tls {

// A start-up error that names the file and what was wrong with it.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One served certificate, for logs and the expiry metric.
struct CertificateInfo {
  std::string file;                // path, or "self-signed"
  std::int64_t not_after = 0;      // unix seconds
  std::string fingerprint_sha256;  // "AB:CD:..."
};

// SNI: an extra certificate and the names it is chosen for.
struct SniEntry {
  std::vector<std::string> names;  // lower-case; "*.example.com" matches one label
  std::shared_ptr<boost::asio::ssl::context> ctx;
};

struct ServerContext {
  std::shared_ptr<boost::asio::ssl::context> ctx;  // default certificate
  bool self_signed = false;
  std::vector<CertificateInfo> certificates;  // default first, then SNI ones
  // Owned here; the servername callback of `ctx` points into it.
  std::shared_ptr<std::vector<SniEntry>> sni;
  bool client_certificates = false;  // mTLS: client_ca configured
};

// True when `name` (lower-case) matches a configured SNI name.
bool sni_name_matches(std::string_view pattern, std::string_view name);

// Mozilla "intermediate": TLS 1.2+ with AEAD ciphers only, ALPN h2 (tls.http2) and http/1.1,
// server-side session cache and tickets. Throws TlsError.
ServerContext make_server_context(const config::Tls& tls, const std::string& listener);

// Verifying client context for https:// upstreams (system CAs or ca_file).
std::shared_ptr<boost::asio::ssl::context> make_upstream_context(const config::Upstream& up);

}  // namespace airgate::tls
