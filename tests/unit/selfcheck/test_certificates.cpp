// Certificate rules with real certificates made here with the OpenSSL API
// (expiry in the past via X509_gmtime_adj with negative offsets).
#include "selfcheck/selfcheck.hpp"

#include <catch2/catch.hpp>

#include "fake_probe.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>
#include <stdexcept>

using namespace airgate;
using namespace airgate::selfcheck;

namespace {

using testing::FakeProbe;

using PkeyPtr = std::shared_ptr<EVP_PKEY>;
using X509Ptr = std::shared_ptr<X509>;

PkeyPtr ec_key() { return PkeyPtr(EVP_EC_gen("P-256"), EVP_PKEY_free); }
PkeyPtr rsa_key(unsigned bits) { return PkeyPtr(EVP_RSA_gen(bits), EVP_PKEY_free); }

struct CertSpec {
  std::string cn = "airbyte.example.com";
  std::vector<std::string> dns{"airbyte.example.com"};
  long not_before = -3600;       // seconds from now
  long not_after = 90L * 86400;  // seconds from now
  const EVP_MD* md = EVP_sha256();
  PkeyPtr key;             // the certificate's key (default: fresh EC P-256)
  X509* issuer = nullptr;  // nullptr: self-signed
  EVP_PKEY* issuer_key = nullptr;
  bool ca = false;
};

X509Ptr make_cert(CertSpec& s) {
  if (!s.key) s.key = ec_key();
  X509Ptr x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), s.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), s.not_after);
  X509_set_pubkey(x.get(), s.key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(s.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), s.issuer ? X509_get_subject_name(s.issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, s.issuer ? s.issuer : x.get(), x.get(), nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!e) throw std::runtime_error("extension");
    X509_add_ext(x.get(), e, -1);
    X509_EXTENSION_free(e);
  };
  add(NID_basic_constraints, s.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (!s.dns.empty()) {
    std::string san;
    for (const auto& d : s.dns)
      san += (san.empty() ? "" : ",") +
             std::string(d.find_first_not_of("0123456789.") == std::string::npos ? "IP:" : "DNS:") + d;
    add(NID_subject_alt_name, san);
  }
  if (!X509_sign(x.get(), s.issuer_key ? s.issuer_key : s.key.get(), s.md)) throw std::runtime_error("sign");
  return x;
}

std::string pem(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

// A test CA shared by the tests (EC P-256, valid 10 years).
struct Ca {
  PkeyPtr key = ec_key();
  X509Ptr cert;
  Ca() {
    CertSpec s;
    s.cn = "selfcheck test CA";
    s.dns.clear();
    s.key = key;
    s.ca = true;
    s.not_after = 3650L * 86400;
    cert = make_cert(s);
  }
};
Ca& ca() {
  static Ca instance;
  return instance;
}

CertSpec ca_signed() {
  CertSpec s;
  s.issuer = ca().cert.get();
  s.issuer_key = ca().key.get();
  return s;
}

struct Setup {
  config::Config cfg;
  FakeProbe probe;
};

// One loopback TLS listener (min 1.3) with `spec`'s certificate; a strong user.
Setup with_cert(CertSpec spec, const std::string& chain_extra = "") {
  Setup s;
  auto x = make_cert(spec);
  s.probe.files["/tls/tls.crt"] = pem(x.get()) + chain_extra;
  s.probe.files["/tls/tls.key"] = pem(spec.key.get());
  s.probe.modes["/tls/tls.key"] = 0600;
  config::Listener l;
  l.host = "127.0.0.1";
  l.port = 8443;
  l.address = "127.0.0.1:8443";
  l.tls = config::Tls{};
  l.tls->certificate = "/tls/tls.crt";
  l.tls->private_key = "/tls/tls.key";
  l.tls->min_version = "1.3";
  s.cfg.listen = {l};
  s.cfg.auth.users = {
      {"alice", "$6$Qq7LwT2m$vUKOsRBDCLS1mgx/hflGwAYFQwfdaXCYVUUF6tIym.VItLC2ITOO5HlzEdvljx.saiqkNUnabfJdoj54wkgxz."}};
  return s;
}

std::vector<Finding> run(const Setup& s) { return run_selfcheck(s.cfg, s.probe); }

const Finding* find(const std::vector<Finding>& fs, const std::string& id) {
  for (const auto& f : fs)
    if (f.id == id) return &f;
  return nullptr;
}
bool has(const std::vector<Finding>& fs, const std::string& id, Severity s) {
  const Finding* f = find(fs, id);
  return f && f->severity == s;
}
bool absent(const std::vector<Finding>& fs, const std::string& id) { return find(fs, id) == nullptr; }
std::string all_text(const std::vector<Finding>& fs) {
  std::string s;
  for (const auto& f : fs) s += f.id + " " + f.finding + "\n";
  return s;
}

}  // namespace

TEST_CASE("a CA-signed, valid, matching certificate is clean", "[selfcheck]") {
  auto fs = run(with_cert(ca_signed()));
  INFO(all_text(fs));
  CHECK(fs.empty());
}

TEST_CASE("TLS_CERT_EXPIRED", "[selfcheck]") {
  auto spec = ca_signed();
  spec.not_before = -30L * 86400;
  spec.not_after = -86400;
  auto fs = run(with_cert(spec));
  REQUIRE(has(fs, "TLS_CERT_EXPIRED", Severity::critical));
  CHECK(find(fs, "TLS_CERT_EXPIRED")->finding.find("/tls/tls.crt (CN=airbyte.example.com) expired on 20") !=
        std::string::npos);
  CHECK(exit_code(fs) == 2);
  CHECK(absent(run(with_cert(ca_signed())), "TLS_CERT_EXPIRED"));
}

TEST_CASE("TLS_CERT_EXPIRING", "[selfcheck]") {
  auto spec = ca_signed();
  spec.not_after = 5L * 86400 + 3600;
  auto fs = run(with_cert(spec));
  REQUIRE(has(fs, "TLS_CERT_EXPIRING", Severity::warning));
  CHECK(find(fs, "TLS_CERT_EXPIRING")->finding.find("expires in 5 days") != std::string::npos);
  CHECK(absent(fs, "TLS_CERT_EXPIRED"));
  spec = ca_signed();
  spec.not_after = 15L * 86400;
  CHECK(absent(run(with_cert(spec)), "TLS_CERT_EXPIRING"));

  SECTION("an expiring chain certificate") {
    CertSpec inter;
    inter.cn = "intermediate";
    inter.dns.clear();
    inter.ca = true;
    inter.not_after = 3L * 86400;
    inter.issuer = ca().cert.get();
    inter.issuer_key = ca().key.get();
    auto ix = make_cert(inter);
    auto leaf = ca_signed();
    auto fs2 = run(with_cert(leaf, pem(ix.get())));
    REQUIRE(has(fs2, "TLS_CERT_EXPIRING", Severity::warning));
    CHECK(find(fs2, "TLS_CERT_EXPIRING")->finding.find("chain certificate #2") != std::string::npos);
  }
}

TEST_CASE("TLS_CERT_NOT_YET_VALID", "[selfcheck]") {
  auto spec = ca_signed();
  spec.not_before = 2L * 86400;
  CHECK(has(run(with_cert(spec)), "TLS_CERT_NOT_YET_VALID", Severity::warning));
  CHECK(absent(run(with_cert(ca_signed())), "TLS_CERT_NOT_YET_VALID"));
}

TEST_CASE("TLS_KEY_MISMATCH", "[selfcheck]") {
  auto s = with_cert(ca_signed());
  s.probe.files["/tls/tls.key"] = pem(ec_key().get());
  auto fs = run(s);
  REQUIRE(has(fs, "TLS_KEY_MISMATCH", Severity::critical));
  CHECK(find(fs, "TLS_KEY_MISMATCH")->finding.find("/tls/tls.key does not match certificate /tls/tls.crt") !=
        std::string::npos);
  CHECK(absent(run(with_cert(ca_signed())), "TLS_KEY_MISMATCH"));
}

TEST_CASE("TLS_WEAK_KEY", "[selfcheck]") {
  auto spec = ca_signed();
  spec.key = rsa_key(1024);
  auto fs = run(with_cert(spec));
  REQUIRE(has(fs, "TLS_WEAK_KEY", Severity::warning));
  CHECK(find(fs, "TLS_WEAK_KEY")->finding.find("1024-bit RSA") != std::string::npos);
  CHECK(absent(fs, "TLS_KEY_MISMATCH"));

  auto ec224 = ca_signed();
  ec224.key = PkeyPtr(EVP_EC_gen("P-224"), EVP_PKEY_free);
  CHECK(has(run(with_cert(ec224)), "TLS_WEAK_KEY", Severity::warning));

  auto strong = ca_signed();
  strong.key = rsa_key(2048);
  CHECK(absent(run(with_cert(strong)), "TLS_WEAK_KEY"));
  CHECK(absent(run(with_cert(ca_signed())), "TLS_WEAK_KEY"));  // EC P-256
}

TEST_CASE("TLS_WEAK_SIGNATURE", "[selfcheck]") {
  auto spec = ca_signed();
  spec.md = EVP_sha1();
  CHECK(has(run(with_cert(spec)), "TLS_WEAK_SIGNATURE", Severity::warning));
  CHECK(absent(run(with_cert(ca_signed())), "TLS_WEAK_SIGNATURE"));
}

TEST_CASE("TLS_CERT_SELF_SIGNED_FILE", "[selfcheck]") {
  CertSpec self;  // no issuer: self-signed
  auto fs = run(with_cert(self));
  CHECK(has(fs, "TLS_CERT_SELF_SIGNED_FILE", Severity::info));
  CHECK(exit_code(fs) == 0);
  CHECK(absent(run(with_cert(ca_signed())), "TLS_CERT_SELF_SIGNED_FILE"));
}

TEST_CASE("TLS_CERT_UNREADABLE and TLS_KEY_UNREADABLE", "[selfcheck]") {
  auto s = with_cert(ca_signed());
  SECTION("missing certificate file names the file") {
    s.probe.files.erase("/tls/tls.crt");
    auto fs = run(s);
    REQUIRE(has(fs, "TLS_CERT_UNREADABLE", Severity::critical));
    CHECK(find(fs, "TLS_CERT_UNREADABLE")->finding.find("/tls/tls.crt") != std::string::npos);
  }
  SECTION("not PEM") {
    s.probe.files["/tls/tls.crt"] = "hello";
    CHECK(has(run(s), "TLS_CERT_UNREADABLE", Severity::critical));
  }
  SECTION("missing key") {
    s.probe.files.erase("/tls/tls.key");
    auto fs = run(s);
    REQUIRE(has(fs, "TLS_KEY_UNREADABLE", Severity::critical));
    CHECK(find(fs, "TLS_KEY_UNREADABLE")->finding.find("/tls/tls.key") != std::string::npos);
  }
  SECTION("key is a certificate") {
    s.probe.files["/tls/tls.key"] = s.probe.files["/tls/tls.crt"];
    CHECK(has(run(s), "TLS_KEY_UNREADABLE", Severity::critical));
  }
  SECTION("readable") {
    auto fs = run(s);
    CHECK(absent(fs, "TLS_CERT_UNREADABLE"));
    CHECK(absent(fs, "TLS_KEY_UNREADABLE"));
  }
}

TEST_CASE("SNI certificates are checked, including TLS_CERT_NAME_MISMATCH", "[selfcheck]") {
  auto s = with_cert(ca_signed());
  auto sni = ca_signed();
  sni.cn = "other.example.com";
  sni.dns = {"other.example.com", "*.apps.example.com"};
  sni.not_before = -10L * 86400;
  sni.not_after = -86400;
  auto x = make_cert(sni);
  s.probe.files["/tls/other.crt"] = pem(x.get());
  s.probe.files["/tls/other.key"] = pem(sni.key.get());
  s.probe.modes["/tls/other.key"] = 0600;
  s.cfg.listen[0].tls->sni.push_back(
      {{"other.example.com", "x.apps.example.com", "*.apps.example.com"}, "/tls/other.crt", "/tls/other.key"});
  auto fs = run(s);
  REQUIRE(has(fs, "TLS_CERT_EXPIRED", Severity::critical));
  CHECK(find(fs, "TLS_CERT_EXPIRED")->finding.find("sni[0]") != std::string::npos);
  CHECK(absent(fs, "TLS_CERT_NAME_MISMATCH"));

  s.cfg.listen[0].tls->sni[0].names.push_back("airbyte.internal");
  fs = run(s);
  REQUIRE(has(fs, "TLS_CERT_NAME_MISMATCH", Severity::warning));
  CHECK(find(fs, "TLS_CERT_NAME_MISMATCH")->finding.find("does not cover airbyte.internal") != std::string::npos);
}
