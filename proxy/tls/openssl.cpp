#include "tls/openssl.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

namespace airgate::tls {
namespace {

// Passphrase callback that supplies none: an encrypted key fails to load
// instead of OpenSSL prompting on the terminal.
int no_passphrase(char*, int, int, void*) { return 0; }

std::string read_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw PemError("cannot read " + what + " " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void OpenSslFree::operator()(BIO* b) const { BIO_free(b); }
void OpenSslFree::operator()(X509* x) const { X509_free(x); }
void OpenSslFree::operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
void OpenSslFree::operator()(ASN1_TIME* t) const { ASN1_TIME_free(t); }

std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

BioPtr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(INT_MAX)) return nullptr;
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::vector<X509Ptr> read_certificate_chain(std::string_view pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = memory_bio(pem);
  if (!bio) return out;
  // The _AUX reader also accepts a TRUSTED CERTIFICATE leaf, as OpenSSL's own
  // chain file loader does.
  X509Ptr leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
  if (leaf) {
    out.push_back(std::move(leaf));
    while (X509* extra = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) out.emplace_back(extra);
  }
  ERR_clear_error();  // reading ends on a "no start line" error
  return out;
}

PkeyPtr read_private_key(std::string_view pem) {
  BioPtr bio = memory_bio(pem);
  PkeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  return key;
}

std::vector<X509Ptr> load_certificate_chain(const std::string& file) {
  std::vector<X509Ptr> chain = read_certificate_chain(read_file(file, "certificate"));
  if (chain.empty()) throw PemError("certificate " + file + " holds no PEM certificate");
  return chain;
}

PkeyPtr load_private_key(const std::string& file) {
  std::string pem = read_file(file, "private key");
  PkeyPtr key = read_private_key(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key) throw PemError("private key " + file + " holds no PEM private key (encrypted keys are not supported)");
  return key;
}

}  // namespace airgate::tls
