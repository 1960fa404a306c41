// Server and upstream-client TLS contexts built from the config.
#pragma once

#include "config/config.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace airgate::tls {

// A start-up error that names the file and what was wrong with it.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ServerContext {
  std::shared_ptr<boost::asio::ssl::context> ctx;
  bool self_signed = false;
  std::string fingerprint_sha256;  // of the leaf certificate, "AB:CD:..."
};

// Mozilla "intermediate": TLS 1.2+ with AEAD ciphers only, ALPN http/1.1,
// server-side session cache and tickets. Throws TlsError.
ServerContext make_server_context(const config::Tls& tls, const std::string& listener);

// Verifying client context for https:// upstreams (system CAs or ca_file).
std::shared_ptr<boost::asio::ssl::context> make_upstream_context(const config::Upstream& up);

}  // namespace airgate::tls
