// The shared OpenSSL helpers (proxy/tls/openssl.hpp): PEM chains and keys read
// from memory and from files, and the errors that name the file.
#include "tls/openssl.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

using namespace airgate::tls;

namespace {

PkeyPtr ec_key() { return PkeyPtr(EVP_EC_gen("P-256")); }

// A self-signed certificate whose subject CN is `cn`.
X509Ptr certificate(const std::string& cn, EVP_PKEY* key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3600);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  REQUIRE(X509_sign(x.get(), key, EVP_sha256()) > 0);
  return x;
}

// What a memory BIO written by `write` holds.
template <class Write>
std::string pem_text(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  REQUIRE(write(bio.get()) == 1);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_pem(X509* x) {
  return pem_text([x](BIO* b) { return PEM_write_bio_X509(b, x); });
}

std::string cn_of(X509* x) {
  char buf[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, buf, sizeof buf);
  return buf;
}

// A file in the temporary directory, removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text) {
    char name[] = "/tmp/airgate-openssl-test-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path, std::ios::binary) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("read_certificate_chain keeps file order, leaf first", "[tls][openssl]") {
  PkeyPtr key = ec_key();
  X509Ptr leaf = certificate("leaf.example.com", key.get());
  X509Ptr intermediate = certificate("intermediate", key.get());
  auto chain = read_certificate_chain(cert_pem(leaf.get()) + cert_pem(intermediate.get()));
  REQUIRE(chain.size() == 2);
  CHECK(cn_of(chain[0].get()) == "leaf.example.com");
  CHECK(cn_of(chain[1].get()) == "intermediate");
}

TEST_CASE("read_certificate_chain accepts a TRUSTED CERTIFICATE leaf", "[tls][openssl]") {
  PkeyPtr key = ec_key();
  X509Ptr leaf = certificate("trusted.example.com", key.get());
  std::string trusted = pem_text([&](BIO* b) { return PEM_write_bio_X509_AUX(b, leaf.get()); });
  REQUIRE(trusted.find("TRUSTED CERTIFICATE") != std::string::npos);
  auto chain = read_certificate_chain(trusted);
  REQUIRE(chain.size() == 1);
  CHECK(cn_of(chain[0].get()) == "trusted.example.com");
}

TEST_CASE("read_certificate_chain of text without a certificate is empty", "[tls][openssl]") {
  CHECK(read_certificate_chain("").empty());
  CHECK(read_certificate_chain("not PEM at all\n").empty());
  PkeyPtr key = ec_key();
  CHECK(read_certificate_chain(pem_text([&](BIO* b) {
          return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
        })).empty());
}

TEST_CASE("read_private_key reads a plain key and refuses an encrypted one", "[tls][openssl]") {
  PkeyPtr key = ec_key();
  std::string plain = pem_text(
      [&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  PkeyPtr read = read_private_key(plain);
  REQUIRE(read);
  CHECK(EVP_PKEY_eq(read.get(), key.get()) == 1);

  // An encrypted key gives null: no passphrase is supplied.
  char passphrase[] = "secret";
  std::string encrypted = pem_text([&](BIO* b) {
    return PEM_write_bio_PrivateKey(b, key.get(), EVP_aes_128_cbc(), nullptr, 0, nullptr, passphrase);
  });
  CHECK_FALSE(read_private_key(encrypted));
  CHECK_FALSE(read_private_key(""));
}

TEST_CASE("load_certificate_chain and load_private_key name the file in their errors", "[tls][openssl]") {
  PkeyPtr key = ec_key();
  X509Ptr leaf = certificate("file.example.com", key.get());
  TempFile cert(cert_pem(leaf.get()));
  TempFile garbage("no PEM here\n");
  const std::string missing = "/nonexistent/airgate/tls.crt";

  CHECK(load_certificate_chain(cert.path).size() == 1);
  CHECK_THROWS_WITH(load_certificate_chain(missing),
                    "cannot read certificate " + missing + ": No such file or directory");
  CHECK_THROWS_WITH(load_certificate_chain(garbage.path), "certificate " + garbage.path + " holds no PEM certificate");

  TempFile key_file(
      pem_text([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); }));
  CHECK(load_private_key(key_file.path));
  CHECK_THROWS_WITH(load_private_key(missing), "cannot read private key " + missing + ": No such file or directory");
  CHECK_THROWS_WITH(load_private_key(cert.path),
                    "private key " + cert.path + " holds no PEM private key (encrypted keys are not supported)");
}

TEST_CASE("openssl_error reports the oldest queued error and clears the queue", "[tls][openssl]") {
  CHECK(openssl_error() == "unknown OpenSSL error");
  BioPtr bio = memory_bio("not PEM");
  CHECK(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) == nullptr);
  CHECK(openssl_error().find("no start line") != std::string::npos);
  CHECK(openssl_error() == "unknown OpenSSL error");
}
