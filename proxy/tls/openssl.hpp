// OpenSSL helpers shared by the TLS contexts (tls/context.cpp) and the
// certificate self-check (selfcheck/certificates.cpp): owning pointers and
// PEM loading. No Asio here: the self-check is a pure module and links this
// file's target (airgate_tls_openssl) without the socket code.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::tls {

// Frees whichever OpenSSL object it is given, for std::unique_ptr.
struct OpenSslFree {
  void operator()(BIO* b) const;
  void operator()(X509* x) const;
  void operator()(EVP_PKEY* k) const;
  void operator()(ASN1_TIME* t) const;
};
using BioPtr = std::unique_ptr<BIO, OpenSslFree>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, OpenSslFree>;

// A PEM file that cannot be read or holds nothing usable; the message names
// the file and what was wrong with it.
struct PemError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// The oldest queued OpenSSL error as text ("unknown OpenSSL error" when none
// is queued); clears the queue.
std::string openssl_error();

// A read-only memory BIO over `text` (which must outlive it); null on failure.
BioPtr memory_bio(std::string_view text);

// Every PEM certificate in `pem`, in file order (leaf first, then the chain;
// the leaf may also be a TRUSTED CERTIFICATE block). Reading stops at the
// first block that is not a certificate. Empty when there is none.
std::vector<X509Ptr> read_certificate_chain(std::string_view pem);

// The first PEM private key in `pem`, or null. Encrypted keys give null: there
// is no passphrase prompt.
PkeyPtr read_private_key(std::string_view pem);

// The same from files. Throws PemError: "cannot read certificate FILE: why",
// "certificate FILE holds no PEM certificate", "cannot read private key FILE:
// why", "private key FILE holds no PEM private key (encrypted keys are not
// supported)". The key file's text is wiped from memory after parsing.
std::vector<X509Ptr> load_certificate_chain(const std::string& file);
PkeyPtr load_private_key(const std::string& file);

}  // namespace airgate::tls
