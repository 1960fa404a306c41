#include "tls/context.hpp"

#include "tls/openssl.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>

namespace airgate::tls {
namespace ssl = boost::asio::ssl;

namespace {

constexpr long kSessionCacheSize = 1024;
constexpr long kSessionTimeoutSeconds = 300;

std::string fingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  std::string out;
  char hex[4];
  for (unsigned i = 0; i < n; ++i) {
    std::snprintf(hex, sizeof hex, i ? ":%02X" : "%02X", md[i]);
    out += hex;
  }
  return out;
}

// ALPN: the first protocol of ours the client offers, h2 before http/1.1
// when the listener speaks HTTP/2 (`arg` non-null). A client offering ALPN
// without either gets none and speaks HTTP/1.1 (as clients without ALPN do).
int alpn_select(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen,
                void* arg) {
  const bool h2 = arg != nullptr;
  const unsigned char* http11 = nullptr;
  for (unsigned i = 0; i < inlen;) {
    unsigned len = in[i];
    if (i + 1 + len > inlen) break;
    const unsigned char* name = in + i + 1;
    if (h2 && len == 2 && std::memcmp(name, "h2", 2) == 0) {
      *out = name;
      *outlen = 2;
      return SSL_TLSEXT_ERR_OK;
    }
    if (len == 8 && std::memcmp(name, "http/1.1", 8) == 0 && !http11) http11 = name;
    i += 1 + len;
  }
  if (!http11) return SSL_TLSEXT_ERR_NOACK;
  *out = http11;
  *outlen = 8;
  return SSL_TLSEXT_ERR_OK;
}

// The protocol floor and the cipher order (tls.ciphersuites for TLS 1.3,
// tls.ciphers for 1.2; the server's order wins). A string OpenSSL makes
// nothing of fails the listener's start or reload with the key named.
void apply_server_policy(SSL_CTX* c, const config::Tls& tls, const std::string& listener) {
  SSL_CTX_set_min_proto_version(c, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
  // OpenSSL skips TLS 1.3 suite names it does not know: each is tried alone
  // first, so a typo is an error instead of a silently shorter list.
  std::string_view rest = tls.ciphersuites;
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    const std::string one(rest.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : rest.substr(colon + 1);
    if (SSL_CTX_set_ciphersuites(c, one.c_str()) != 1)
      throw std::runtime_error(listener + ": tls.ciphersuites: OpenSSL does not know the TLS 1.3 suite \"" + one +
                               "\" (known: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, "
                               "TLS_CHACHA20_POLY1305_SHA256)");
  }
  if (SSL_CTX_set_ciphersuites(c, tls.ciphersuites.c_str()) != 1)
    throw std::runtime_error(listener + ": tls.ciphersuites \"" + tls.ciphersuites + "\" is not a list of suites");
  if (SSL_CTX_set_cipher_list(c, tls.ciphers.c_str()) != 1)
    throw std::runtime_error(listener + ": tls.ciphers \"" + tls.ciphers +
                             "\": OpenSSL selects no TLS 1.2 cipher from it (e.g. ECDHE-RSA-AES128-GCM-SHA256)");
  ERR_clear_error();
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  // The server-side session cache only serves TLS 1.2 clients that resume by
  // session id (no ticket support): TLS 1.3 and TLS 1.2 with tickets resume
  // from stateless tickets and store nothing here. OpenSSL's default (20480
  // sessions kept up to 2 h) lets a stream of full handshakes from such
  // clients grow memory by ~1-6 KB each, up to tens of MB per context, so the
  // cache is bounded (oldest evicted first) and sessions last 5 minutes, as
  // nginx's ssl_session_timeout default. The timeout also bounds tickets.
  SSL_CTX_sess_set_cache_size(c, kSessionCacheSize);
  SSL_CTX_set_timeout(c, kSessionTimeoutSeconds);
  static const unsigned char sid[] = "airgate";
  SSL_CTX_set_session_id_context(c, sid, sizeof sid - 1);
  static int h2_marker = 0;
  SSL_CTX_set_alpn_select_cb(c, alpn_select, tls.http2 ? &h2_marker : nullptr);
}

// An in-memory self-signed ECDSA P-256 certificate for localhost, valid one year.
std::pair<X509Ptr, PkeyPtr> self_signed() {
  PkeyPtr key(EVP_EC_gen("P-256"));
  if (!key) throw TlsError("cannot generate a key for the self-signed certificate: " + openssl_error());
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 365L * 24 * 3600);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("airgate self-signed"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert.get(), cert.get(), nullptr, nullptr, 0);
  for (auto [nid, value] :
       {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"},
        std::pair{NID_basic_constraints, "critical,CA:FALSE"}, std::pair{NID_ext_key_usage, "serverAuth"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    if (ext) {
      X509_add_ext(cert.get(), ext, -1);
      X509_EXTENSION_free(ext);
    }
  }
  if (!X509_sign(cert.get(), key.get(), EVP_sha256()))
    throw TlsError("cannot sign the self-signed certificate: " + openssl_error());
  return {std::move(cert), std::move(key)};
}

std::int64_t not_after(X509* cert) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

// Loads a PEM chain (leaf first) and its key into `c`; errors name the listener and the files.
CertificateInfo load_certificate(SSL_CTX* c, const std::string& cert_file, const std::string& key_file,
                                 const std::string& listener) {
  try {
    std::vector<X509Ptr> chain = load_certificate_chain(cert_file);
    X509* leaf = chain.front().get();
    if (SSL_CTX_use_certificate(c, leaf) != 1)
      throw TlsError(listener + ": certificate " + cert_file + " rejected: " + openssl_error());
    SSL_CTX_clear_chain_certs(c);
    for (std::size_t i = 1; i < chain.size(); ++i) {
      if (SSL_CTX_add0_chain_cert(c, chain[i].get()) != 1)
        throw TlsError(listener + ": certificate chain in " + cert_file + " rejected: " + openssl_error());
      chain[i].release();  // owned by the context now
    }

    PkeyPtr key = load_private_key(key_file);
    if (SSL_CTX_use_PrivateKey(c, key.get()) != 1 || SSL_CTX_check_private_key(c) != 1) {
      ERR_clear_error();
      throw TlsError(listener + ": private key " + key_file + " does not match certificate " + cert_file);
    }
    return {cert_file, not_after(leaf), fingerprint(leaf)};
  } catch (const PemError& e) {
    throw TlsError(listener + ": " + e.what());
  }
}

// mTLS: require a client certificate issued by one of the CAs in `ca_file`.
void require_client_certificates(SSL_CTX* c, const std::string& ca_file, const std::string& listener) {
  if (SSL_CTX_load_verify_locations(c, ca_file.c_str(), nullptr) != 1)
    throw TlsError(listener + ": cannot load client_ca " + ca_file + ": " + openssl_error());
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca_file.c_str());
  if (!names) throw TlsError(listener + ": client_ca " + ca_file + " holds no PEM certificate");
  SSL_CTX_set_client_CA_list(c, names);
  SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  SSL_CTX_set_verify_depth(c, 4);
}

int servername_callback(SSL* ssl, int*, void* arg) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!name) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  std::string lower(name);
  for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& entry : *static_cast<std::vector<SniEntry>*>(arg)) {
    for (const auto& pattern : entry.names) {
      if (sni_name_matches(pattern, lower)) {
        SSL_set_SSL_CTX(ssl, entry.ctx->native_handle());
        // SSL_set_SSL_CTX does not carry the verify settings over.
        SSL_set_verify(ssl, SSL_CTX_get_verify_mode(entry.ctx->native_handle()), nullptr);
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_OK;  // unknown name: the default certificate
}

}  // namespace

bool sni_name_matches(std::string_view pattern, std::string_view name) {
  if (pattern.size() > 2 && pattern.substr(0, 2) == "*.") {
    auto dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 && name.substr(dot) == pattern.substr(1);
  }
  return pattern == name;
}

ServerContext make_server_context(const config::Tls& tls, const std::string& listener) {
  ServerContext out;
  out.ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = out.ctx->native_handle();
  apply_server_policy(c, tls, listener);

  out.sni = std::make_shared<std::vector<SniEntry>>();
  if (tls.certificate.empty()) {
    auto [cert, key] = self_signed();
    SSL_CTX_use_certificate(c, cert.get());
    SSL_CTX_use_PrivateKey(c, key.get());
    out.self_signed = true;
    out.certificates.push_back({"self-signed", not_after(cert.get()), fingerprint(cert.get())});
    if (tls.client_ca) {
      require_client_certificates(c, *tls.client_ca, listener);
      out.client_certificates = true;
    }
    return out;
  }

  out.certificates.push_back(load_certificate(c, tls.certificate, tls.private_key, listener));

  for (const auto& entry : tls.sni) {
    SniEntry sni;
    sni.ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    apply_server_policy(sni.ctx->native_handle(), tls, listener);
    out.certificates.push_back(
        load_certificate(sni.ctx->native_handle(), entry.certificate, entry.private_key, listener));
    if (tls.client_ca) require_client_certificates(sni.ctx->native_handle(), *tls.client_ca, listener);
    for (const auto& n : entry.names) {
      std::string lower(n);
      for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      sni.names.push_back(lower);
    }
    out.sni->push_back(std::move(sni));
  }
  if (!out.sni->empty()) {
    SSL_CTX_set_tlsext_servername_callback(c, servername_callback);
    SSL_CTX_set_tlsext_servername_arg(c, out.sni.get());
  }
  if (tls.client_ca) {
    require_client_certificates(c, *tls.client_ca, listener);
    out.client_certificates = true;
  }
  return out;
}

std::shared_ptr<ssl::context> make_upstream_context(const config::Upstream& up) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  ctx->set_verify_mode(ssl::verify_peer);
  if (up.ca_file) {
    if (SSL_CTX_load_verify_locations(c, up.ca_file->c_str(), nullptr) != 1)
      throw TlsError("upstream " + up.url.str() + ": cannot load ca_file " + *up.ca_file + ": " + openssl_error());
  } else {
    ctx->set_default_verify_paths();
  }
  return ctx;
}

}  // namespace airgate::tls
