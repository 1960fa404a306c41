// Internals shared by the self-check sources (not a public interface).
#pragma once

#include "selfcheck/selfcheck.hpp"

#include <string>
#include <vector>

namespace airgate::selfcheck::detail {

struct CertificateSite {
  std::string where;  // "listen[0] (0.0.0.0:8443)" or "listen[0] (...) sni[1]"
  std::string certificate;
  std::string private_key;
  std::vector<std::string> names;  // SNI names the certificate must cover (may be empty)
};

// TLS_CERT_UNREADABLE, TLS_KEY_UNREADABLE, TLS_CERT_EXPIRED, TLS_CERT_EXPIRING,
// TLS_CERT_NOT_YET_VALID, TLS_KEY_MISMATCH, TLS_WEAK_KEY, TLS_WEAK_SIGNATURE,
// TLS_CERT_NAME_MISMATCH, TLS_CERT_SELF_SIGNED_FILE.
void check_certificate(const CertificateSite& site, const SystemProbe& probe, const Options& options,
                       std::vector<Finding>& out);

}  // namespace airgate::selfcheck::detail
