// Certificate rules: read the real certificate and key files (PEM) with
// OpenSSL and judge expiry, key match, key strength, signature and names.
#include "selfcheck/detail.hpp"
#include "tls/openssl.hpp"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>

#include <cstdio>
#include <ctime>

namespace airgate::selfcheck::detail {
namespace {

std::string subject_cn(X509* x) {
  X509_NAME* name = X509_get_subject_name(x);
  const int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (i < 0) return "";
  ASN1_STRING* s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<std::size_t>(n));
  OPENSSL_free(utf8);
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  return out;
}

std::string date(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
  return buf;
}

// Seconds from `now` to `t` (negative when `t` is in the past); false on error.
bool seconds_until(const ASN1_TIME* t, std::time_t now, long long& out) {
  tls::Asn1TimePtr n(ASN1_TIME_set(nullptr, now));
  if (!n) return false;
  int days = 0, secs = 0;
  if (ASN1_TIME_diff(&days, &secs, n.get(), t) != 1) return false;
  out = static_cast<long long>(days) * 86400 + secs;
  return true;
}

std::string describe(X509* x, std::size_t index, const std::string& path) {
  std::string cn = subject_cn(x);
  std::string who = index == 0 ? "certificate " + path
                               : "chain certificate #" + std::to_string(index + 1) + " in " + path;
  if (!cn.empty()) who += " (CN=" + cn + ")";
  return who;
}

void check_validity(X509* x, std::size_t index, const CertificateSite& site, std::time_t now, const Options& options,
                    std::vector<Finding>& out) {
  const std::string who = site.where + ": " + describe(x, index, site.certificate);
  long long left = 0;
  if (seconds_until(X509_get0_notAfter(x), now, left)) {
    const std::string when = date(X509_get0_notAfter(x));
    if (left <= 0) {
      out.push_back({"TLS_CERT_EXPIRED", Severity::critical, who + " expired on " + when,
                     "renew the certificate and replace " + site.certificate + " (airgate reloads it on change)"});
    } else if (left < static_cast<long long>(options.expiry_warning_days) * 86400) {
      const long long days = left / 86400;
      out.push_back(
          {"TLS_CERT_EXPIRING", Severity::warning,
           who + " expires in " + std::to_string(days) + (days == 1 ? " day" : " days") + " (" + when + ")",
           "renew it now; automate renewal (e.g. cert-manager, certbot) so it is replaced well before expiry"});
    }
  }
  long long until_valid = 0;
  if (seconds_until(X509_get0_notBefore(x), now, until_valid) && until_valid > 0) {
    out.push_back({"TLS_CERT_NOT_YET_VALID", Severity::warning,
                   who + " is not valid before " + date(X509_get0_notBefore(x)),
                   "check the host clock and the certificate's validity dates"});
  }
}

void check_key_strength(X509* leaf, const CertificateSite& site, std::vector<Finding>& out) {
  EVP_PKEY* pub = X509_get0_pubkey(leaf);
  if (!pub) return;
  const int id = EVP_PKEY_get_base_id(pub);
  const int bits = EVP_PKEY_get_bits(pub);
  std::string kind;
  int minimum = 0;
  if (id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) {
    kind = "RSA";
    minimum = 2048;
  } else if (id == EVP_PKEY_DSA) {
    kind = "DSA";
    minimum = 2048;
  } else if (id == EVP_PKEY_EC) {
    kind = "EC";
    minimum = 256;
  } else {
    return;  // Ed25519 / Ed448 and others: fine
  }
  if (bits < minimum)
    out.push_back({"TLS_WEAK_KEY", Severity::warning,
                   site.where + ": certificate " + site.certificate + " has a weak " + std::to_string(bits) + "-bit " +
                       kind + " key (minimum " + std::to_string(minimum) + ")",
                   "issue a new certificate with an RSA 2048+ or EC P-256+ key"});
}

void check_signature(X509* leaf, const CertificateSite& site, std::vector<Finding>& out) {
  int md = NID_undef, pk = NID_undef;
  if (OBJ_find_sigid_algs(X509_get_signature_nid(leaf), &md, &pk) != 1) return;
  if (md == NID_sha1 || md == NID_md5 || md == NID_md4 || md == NID_md2)
    out.push_back({"TLS_WEAK_SIGNATURE", Severity::warning,
                   site.where + ": certificate " + site.certificate + " is signed with " + OBJ_nid2sn(md) +
                       ", which browsers reject",
                   "reissue the certificate with a SHA-256 (or stronger) signature"});
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

void check_names(X509* leaf, const CertificateSite& site, std::vector<Finding>& out) {
  std::vector<std::string> missing;
  for (const auto& name : site.names) {
    int ok = 0;
    if (is_ip(name)) {
      ok = X509_check_ip_asc(leaf, name.c_str(), 0);
    } else {
      // A configured wildcard name is covered when a name under it matches.
      const std::string probe = name.rfind("*.", 0) == 0 ? "airgate-selfcheck." + name.substr(2) : name;
      ok = X509_check_host(leaf, probe.data(), probe.size(), 0, nullptr);
    }
    if (ok != 1) missing.push_back(name);
  }
  if (missing.empty()) return;
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  out.push_back({"TLS_CERT_NAME_MISMATCH", Severity::warning,
                 site.where + ": certificate " + site.certificate + " does not cover " + list,
                 "issue a certificate whose subjectAltName lists every configured SNI name, or fix the names"});
}

}  // namespace

void check_certificate(const CertificateSite& site, const SystemProbe& probe, const Options& options,
                       std::vector<Finding>& out) {
  std::string error;
  auto pem = probe.read_file(site.certificate, error);
  if (!pem) {
    out.push_back({"TLS_CERT_UNREADABLE", Severity::critical,
                   site.where + ": cannot read certificate " + site.certificate + ": " + error,
                   "fix the path or the permissions of " + site.certificate + " (airgate cannot start without it)"});
    return;
  }
  auto chain = tls::read_certificate_chain(*pem);
  if (chain.empty()) {
    out.push_back({"TLS_CERT_UNREADABLE", Severity::critical,
                   site.where + ": " + site.certificate + " holds no PEM certificate",
                   "put the PEM certificate (leaf first, then the chain) in " + site.certificate});
    return;
  }
  X509* leaf = chain.front().get();
  const std::time_t now = probe.now();
  for (std::size_t i = 0; i < chain.size(); ++i) check_validity(chain[i].get(), i, site, now, options, out);

  auto key_pem = probe.read_file(site.private_key, error);
  if (!key_pem) {
    out.push_back({"TLS_KEY_UNREADABLE", Severity::critical,
                   site.where + ": cannot read private key " + site.private_key + ": " + error,
                   "fix the path or the permissions of " + site.private_key + " (airgate cannot start without it)"});
  } else {
    tls::PkeyPtr key = tls::read_private_key(*key_pem);
    if (!key) {
      out.push_back({"TLS_KEY_UNREADABLE", Severity::critical,
                     site.where + ": " + site.private_key + " holds no unencrypted PEM private key",
                     "put the unencrypted PEM private key in " + site.private_key + " (mode 0600)"});
    } else if (X509_check_private_key(leaf, key.get()) != 1) {
      ERR_clear_error();
      out.push_back(
          {"TLS_KEY_MISMATCH", Severity::critical,
           site.where + ": private key " + site.private_key + " does not match certificate " + site.certificate,
           "install the key the certificate was issued for (compare `openssl x509 -pubkey` with `openssl pkey "
           "-pubout`)"});
    }
  }

  check_key_strength(leaf, site, out);
  check_signature(leaf, site, out);
  check_names(leaf, site, out);

  if (X509_check_issued(leaf, leaf) == X509_V_OK) {
    out.push_back({"TLS_CERT_SELF_SIGNED_FILE", Severity::info,
                   site.where + ": certificate " + site.certificate + " is self-signed",
                   "fine for internal use when clients trust it; otherwise use a certificate from a CA clients trust"});
  }
  ERR_clear_error();
}

}  // namespace airgate::selfcheck::detail
