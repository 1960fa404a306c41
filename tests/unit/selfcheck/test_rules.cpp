// Self-check rules without certificates: each rule triggered once and not
// triggered once, through a fake SystemProbe.
#include "selfcheck/report.hpp"
#include "selfcheck/selfcheck.hpp"

#include "access/htpasswd.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include "fake_probe.hpp"

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

using namespace airgate;
using namespace airgate::selfcheck;

namespace {

// sha512-crypt of "correct horse" (openssl passwd -6): strong scheme, cheap to verify.
const std::string kStrongHash =
    "$6$Qq7LwT2m$vUKOsRBDCLS1mgx/hflGwAYFQwfdaXCYVUUF6tIym.VItLC2ITOO5HlzEdvljx.saiqkNUnabfJdoj54wkgxz.";

using testing::FakeProbe;

config::Listener listener(const std::string& host, std::uint16_t port, bool tls = false) {
  config::Listener l;
  l.host = host;
  l.port = port;
  l.address = (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  if (!tls)
    l.tls.reset();
  else
    l.tls = config::Tls{};
  return l;
}

// Clean apart from certificates: a plain loopback listener and one strong user.
config::Config clean() {
  config::Config c;
  c.listen = {listener("127.0.0.1", 8080)};
  c.auth.users = {{"alice", kStrongHash}};
  return c;
}

std::vector<Finding> run(const config::Config& c, const FakeProbe& p = FakeProbe{}, Options o = {}) {
  return run_selfcheck(c, p, o);
}

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
  for (const auto& f : fs) s += f.id + " " + f.finding + " " + f.fix + "\n";
  return s;
}

}  // namespace

TEST_CASE("clean configuration has no findings above info", "[selfcheck]") {
  auto fs = run(clean());
  INFO(all_text(fs));
  CHECK(exit_code(fs) == 0);
  CHECK(summarize(fs).critical == 0);
  CHECK(summarize(fs).warning == 0);
}

TEST_CASE("every emitted id is in the catalog and every finding has a fix", "[selfcheck]") {
  config::Config c;  // defaults: 0.0.0.0:8443 self-signed, no auth
  c.auth.allow = {"0.0.0.0/0"};
  c.trusted_proxies = {"::/0"};
  c.admin.address = "0.0.0.0:9901";
  FakeProbe p;
  p.ifaces.push_back({"eth1", "93.184.216.34"});
  auto fs = run(c, p);
  std::set<std::string> ids;
  for (const auto& r : rule_catalog()) ids.insert(std::string(r.id));
  REQUIRE(!fs.empty());
  for (const auto& f : fs) {
    CHECK(ids.count(f.id) == 1);
    CHECK(!f.finding.empty());
    CHECK(!f.fix.empty());
    CHECK(f.finding.find('\n') == std::string::npos);
    CHECK(f.fix.find('\n') == std::string::npos);
  }
  // ordered critical, warning, info
  CHECK(
      std::is_sorted(fs.begin(), fs.end(), [](const Finding& a, const Finding& b) { return a.severity > b.severity; }));
}

TEST_CASE("AUTH_NONE", "[selfcheck]") {
  auto c = clean();
  c.auth.users.clear();
  SECTION("critical on a non-loopback listener") {
    c.listen = {listener("10.0.0.5", 8443, true)};
    auto fs = run(c);
    CHECK(has(fs, "AUTH_NONE", Severity::critical));
    CHECK(exit_code(fs) == 2);
  }
  SECTION("info on loopback-only listeners") {
    auto fs = run(c);
    CHECK(has(fs, "AUTH_NONE", Severity::info));
  }
  SECTION("a redirect listener needs no auth") {
    auto r = listener("0.0.0.0", 8080);
    r.redirect_to_https = "https://airbyte.example.com";
    c.listen.push_back(r);
    CHECK(has(run(c), "AUTH_NONE", Severity::info));
  }
  SECTION("not raised with users or an allowlist") {
    c.listen = {listener("10.0.0.5", 8443, true)};
    auto with_allow = c;
    with_allow.auth.allow = {"10.0.0.0/8"};
    CHECK(absent(run(with_allow), "AUTH_NONE"));
    auto with_file = c;
    with_file.auth.users_file = "/etc/airgate/htpasswd";
    FakeProbe p;
    p.files["/etc/airgate/htpasswd"] = "alice:" + kStrongHash + "\n";
    CHECK(absent(run(with_file, p), "AUTH_NONE"));
  }
}

TEST_CASE("AUTH_DISABLED_BY_ENV", "[selfcheck]") {
  auto c = clean();
  c.auth.users.clear();
  c.auth.disabled_by_env = true;
  c.listen = {listener("0.0.0.0", 8443, true)};
  SECTION("critical when exposed without allowlist") {
    auto fs = run(c);
    CHECK(has(fs, "AUTH_DISABLED_BY_ENV", Severity::critical));
    CHECK(absent(fs, "AUTH_NONE"));
  }
  SECTION("warning when an allowlist still applies") {
    c.auth.allow = {"10.0.0.0/8"};
    CHECK(has(run(c), "AUTH_DISABLED_BY_ENV", Severity::warning));
  }
  SECTION("even with file users, basic is off") {
    c.auth.users = {{"alice", kStrongHash}};
    CHECK(has(run(c), "AUTH_DISABLED_BY_ENV", Severity::critical));
  }
  SECTION("info on loopback") {
    c.listen = {listener("127.0.0.1", 8443, true)};
    CHECK(has(run(c), "AUTH_DISABLED_BY_ENV", Severity::info));
  }
  SECTION("absent when not disabled") { CHECK(absent(run(clean()), "AUTH_DISABLED_BY_ENV")); }
}

TEST_CASE("AUTH_DEFAULT_CREDENTIALS from the environment", "[selfcheck]") {
  auto c = clean();
  c.auth.users.push_back({"airbyte", kStrongHash});  // what the env overlay appends (hash not used)
  c.auth.env_password = "password";
  auto fs = run(c);
  REQUIRE(has(fs, "AUTH_DEFAULT_CREDENTIALS", Severity::critical));
  CHECK(find(fs, "AUTH_DEFAULT_CREDENTIALS")->finding.find("'airbyte'") != std::string::npos);
  CHECK(absent(fs, "AUTH_PASSWORD_SHORT"));  // the stronger finding only

  c.auth.env_password = "a-long-random-passphrase";
  CHECK(absent(run(c), "AUTH_DEFAULT_CREDENTIALS"));
}

TEST_CASE("AUTH_DEFAULT_CREDENTIALS from hashes (what an attacker tries first)", "[selfcheck]") {
  auto c = clean();
  SECTION("apr1 and {SHA}") {
    c.auth.users = {{"airbyte", access::apr1_crypt("password", "Zx9Rb3Ks")},
                    {"bob", access::sha1_htpasswd("password")},
                    {"alice", kStrongHash}};
    auto fs = run(c);
    REQUIRE(has(fs, "AUTH_DEFAULT_CREDENTIALS", Severity::critical));
    const auto& text = find(fs, "AUTH_DEFAULT_CREDENTIALS")->finding;
    CHECK(text.find("'airbyte'") != std::string::npos);
    CHECK(text.find("'bob'") != std::string::npos);
    CHECK(text.find("'alice'") == std::string::npos);
    // never a hash or the password itself in the output
    for (const auto& f : fs) {
      CHECK(f.finding.find("$apr1$") == std::string::npos);
      CHECK(f.finding.find("{SHA}") == std::string::npos);
    }
  }
  SECTION("bcrypt") {
    c.auth.users = {{"airbyte", access::hash_password_bcrypt("password", 10)}};
    CHECK(has(run(c), "AUTH_DEFAULT_CREDENTIALS", Severity::critical));
  }
  SECTION("in the users file") {
    c.auth.users.clear();
    c.auth.users_file = "/etc/htpasswd";
    FakeProbe p;
    p.files["/etc/htpasswd"] = "airbyte:" + access::apr1_crypt("password", "abcdefgh") + "\n";
    CHECK(has(run(c, p), "AUTH_DEFAULT_CREDENTIALS", Severity::critical));
  }
  SECTION("not for a strong password") { CHECK(absent(run(c), "AUTH_DEFAULT_CREDENTIALS")); }
}

TEST_CASE("AUTH_PASSWORD_EQUALS_USER", "[selfcheck]") {
  auto c = clean();
  SECTION("environment") {
    c.auth.users.push_back({"operator", kStrongHash});
    c.auth.env_password = "operator";
    CHECK(has(run(c), "AUTH_PASSWORD_EQUALS_USER", Severity::critical));
  }
  SECTION("hash") {
    c.auth.users.push_back({"carol", access::apr1_crypt("carol", "saltsalt")});
    auto fs = run(c);
    REQUIRE(has(fs, "AUTH_PASSWORD_EQUALS_USER", Severity::critical));
    CHECK(find(fs, "AUTH_PASSWORD_EQUALS_USER")->finding.find("'carol'") != std::string::npos);
  }
  SECTION("not raised otherwise") {
    c.auth.users.push_back({"carol", access::apr1_crypt("something else entirely", "saltsalt")});
    CHECK(absent(run(c), "AUTH_PASSWORD_EQUALS_USER"));
  }
}

TEST_CASE("AUTH_PASSWORD_SHORT", "[selfcheck]") {
  auto c = clean();
  c.auth.users.push_back({"ops", kStrongHash});
  c.auth.env_password = "s3cr3t!";
  auto fs = run(c);
  REQUIRE(has(fs, "AUTH_PASSWORD_SHORT", Severity::warning));
  CHECK(find(fs, "AUTH_PASSWORD_SHORT")->finding.find("s3cr3t") == std::string::npos);
  CHECK(exit_code(fs) == 1);
  c.auth.env_password = "twelve chars";  // exactly 12
  CHECK(absent(run(c), "AUTH_PASSWORD_SHORT"));
  c.auth.env_password = "p\xC3\xA4ssw\xC3\xB6rd\xC3\xA4\xC3\xB6";  // 11 characters, 15 bytes
  CHECK(has(run(c), "AUTH_PASSWORD_SHORT", Severity::warning));
}

TEST_CASE("AUTH_PASSWORD_CHECK_PARTIAL", "[selfcheck]") {
  auto c = clean();
  c.auth.users.push_back({"bob", access::apr1_crypt("password", "saltsalt")});
  Options o;
  o.max_hash_checks = 1;
  auto fs = run(c, FakeProbe{}, o);
  CHECK(has(fs, "AUTH_PASSWORD_CHECK_PARTIAL", Severity::info));
  CHECK(absent(fs, "AUTH_DEFAULT_CREDENTIALS"));  // bob was beyond the bound
  auto full = run(c);
  CHECK(absent(full, "AUTH_PASSWORD_CHECK_PARTIAL"));
  CHECK(has(full, "AUTH_DEFAULT_CREDENTIALS", Severity::critical));
}

TEST_CASE("AUTH_WEAK_HASH", "[selfcheck]") {
  auto c = clean();
  c.auth.users.push_back({"dave", access::apr1_crypt("a long strong passphrase", "saltsalt")});
  c.auth.users.push_back({"erin", access::sha1_htpasswd("another long passphrase")});
  auto fs = run(c);
  REQUIRE(has(fs, "AUTH_WEAK_HASH", Severity::warning));
  const auto& f = *find(fs, "AUTH_WEAK_HASH");
  CHECK(f.finding.find("'dave' (apr1-md5)") != std::string::npos);
  CHECK(f.finding.find("'erin' (sha1)") != std::string::npos);
  CHECK(f.finding.find("'alice'") == std::string::npos);
  CHECK(f.fix.find("airgate passwd") != std::string::npos);
  CHECK(absent(run(clean()), "AUTH_WEAK_HASH"));
}

TEST_CASE("AUTH_USERS_FILE_UNREADABLE and AUTH_USERS_FILE_INVALID", "[selfcheck]") {
  auto c = clean();
  c.auth.users_file = "/etc/airgate/htpasswd";
  FakeProbe p;
  auto fs = run(c, p);
  REQUIRE(has(fs, "AUTH_USERS_FILE_UNREADABLE", Severity::critical));
  CHECK(find(fs, "AUTH_USERS_FILE_UNREADABLE")->finding.find("/etc/airgate/htpasswd") != std::string::npos);

  p.files["/etc/airgate/htpasswd"] = "bob:plaintext-password\n";
  fs = run(c, p);
  REQUIRE(has(fs, "AUTH_USERS_FILE_INVALID", Severity::critical));
  CHECK(find(fs, "AUTH_USERS_FILE_INVALID")->finding.find("plaintext-password") == std::string::npos);

  p.files["/etc/airgate/htpasswd"] = "bob:" + kStrongHash + "\n";
  fs = run(c, p);
  CHECK(absent(fs, "AUTH_USERS_FILE_UNREADABLE"));
  CHECK(absent(fs, "AUTH_USERS_FILE_INVALID"));
}

TEST_CASE("AUTH_BASIC_OVER_PLAIN_HTTP", "[selfcheck]") {
  auto c = clean();
  c.listen = {listener("10.0.0.5", 8080)};
  auto fs = run(c);
  REQUIRE(has(fs, "AUTH_BASIC_OVER_PLAIN_HTTP", Severity::critical));
  CHECK(find(fs, "AUTH_BASIC_OVER_PLAIN_HTTP")->finding.find("10.0.0.5:8080") != std::string::npos);

  CHECK(absent(run(clean()), "AUTH_BASIC_OVER_PLAIN_HTTP"));  // loopback
  auto redirect = c;
  redirect.listen[0].redirect_to_https = "https://airbyte.example.com";
  CHECK(absent(run(redirect), "AUTH_BASIC_OVER_PLAIN_HTTP"));
  auto allow_only = c;
  allow_only.auth.users.clear();
  allow_only.auth.allow = {"10.0.0.0/8"};
  CHECK(absent(run(allow_only), "AUTH_BASIC_OVER_PLAIN_HTTP"));
}

TEST_CASE("LISTEN_PUBLIC_ADDRESS", "[selfcheck]") {
  auto c = clean();
  c.listen = {listener("93.184.216.34", 8443, true)};
  CHECK(has(run(c), "LISTEN_PUBLIC_ADDRESS", Severity::warning));
  c.listen = {listener("2a00:1450:4001::1", 8443, true)};
  CHECK(has(run(c), "LISTEN_PUBLIC_ADDRESS", Severity::warning));
  c.listen = {listener("192.168.1.10", 8443, true)};
  CHECK(absent(run(c), "LISTEN_PUBLIC_ADDRESS"));
}

TEST_CASE("HOST_PUBLIC_INTERFACE and LISTEN_ALL_INTERFACES", "[selfcheck]") {
  auto c = clean();
  c.listen = {listener("0.0.0.0", 8443, true)};
  FakeProbe p;
  SECTION("public IPv4 interface") {
    p.ifaces.push_back({"eth1", "93.184.216.34"});
    auto fs = run(c, p);
    REQUIRE(has(fs, "HOST_PUBLIC_INTERFACE", Severity::warning));
    CHECK(find(fs, "HOST_PUBLIC_INTERFACE")->finding.find("93.184.216.34 (eth1)") != std::string::npos);
    CHECK(absent(fs, "LISTEN_ALL_INTERFACES"));
  }
  SECTION("only private, CGNAT, link-local, ULA interfaces") {
    p.ifaces = {{"lo", "127.0.0.1"}, {"e0", "10.0.0.2"}, {"e1", "100.64.3.4"}, {"e2", "169.254.1.1"},
                {"e3", "fd00::2"},   {"e4", "fe80::1"},  {"e5", "172.20.0.1"}, {"e6", "192.168.0.3"}};
    auto fs = run(c, p);
    CHECK(absent(fs, "HOST_PUBLIC_INTERFACE"));
    CHECK(has(fs, "LISTEN_ALL_INTERFACES", Severity::info));
  }
  SECTION("0.0.0.0 ignores a public IPv6 address; :: does not") {
    p.ifaces.push_back({"eth1", "2a00:1450:4001::1"});
    CHECK(absent(run(c, p), "HOST_PUBLIC_INTERFACE"));
    c.listen = {listener("::", 8443, true)};
    CHECK(has(run(c, p), "HOST_PUBLIC_INTERFACE", Severity::warning));
  }
  SECTION("a loopback listener is not exposed by a public interface") {
    p.ifaces.push_back({"eth1", "93.184.216.34"});
    c.listen = {listener("127.0.0.1", 8443, true)};
    auto fs = run(c, p);
    CHECK(absent(fs, "HOST_PUBLIC_INTERFACE"));
    CHECK(absent(fs, "LISTEN_ALL_INTERFACES"));
  }
}

TEST_CASE("TLS_SELF_SIGNED and TLS_MIN_VERSION", "[selfcheck]") {
  config::Config c = clean();
  c.listen = {listener("127.0.0.1", 8443, true)};  // TLS without certificate
  auto fs = run(c);
  CHECK(has(fs, "TLS_SELF_SIGNED", Severity::warning));
  CHECK(has(fs, "TLS_MIN_VERSION", Severity::info));
  c.listen[0].tls->min_version = "1.3";
  fs = run(c);
  CHECK(absent(fs, "TLS_MIN_VERSION"));
  CHECK(absent(run(clean()), "TLS_SELF_SIGNED"));  // plain listener: no certificate involved
}

TEST_CASE("FILE_SESSION_SECRET_PERMISSIONS and SESSION_SECRET_PER_PROCESS", "[selfcheck]") {
  auto c = clean();  // basic auth with a user, sessions on by default
  FakeProbe p;
  CHECK(absent(run(c, p), "SESSION_SECRET_PER_PROCESS"));  // not under Kubernetes
  p.kubernetes = true;
  auto fs = run(c, p);
  REQUIRE(has(fs, "SESSION_SECRET_PER_PROCESS", Severity::warning));
  CHECK(find(fs, "SESSION_SECRET_PER_PROCESS")->fix.find("auth.session.secret_file") != std::string::npos);
  c.auth.session.enabled = false;
  CHECK(absent(run(c, p), "SESSION_SECRET_PER_PROCESS"));
  c.auth.session.enabled = true;
  c.auth.session.secret_file = "/secrets/session.key";
  p.modes["/secrets/session.key"] = 0644;
  fs = run(c, p);
  CHECK(absent(fs, "SESSION_SECRET_PER_PROCESS"));
  REQUIRE(has(fs, "FILE_SESSION_SECRET_PERMISSIONS", Severity::warning));
  CHECK(find(fs, "FILE_SESSION_SECRET_PERMISSIONS")->finding.find("/secrets/session.key has mode 0644") !=
        std::string::npos);
  p.modes["/secrets/session.key"] = 0400;
  CHECK(absent(run(c, p), "FILE_SESSION_SECRET_PERMISSIONS"));
}

TEST_CASE("FILE_KEY_PERMISSIONS and FILE_USERS_PERMISSIONS", "[selfcheck]") {
  auto c = clean();
  c.listen = {listener("127.0.0.1", 8443, true)};
  c.listen[0].tls->certificate = "/tls/tls.crt";
  c.listen[0].tls->private_key = "/tls/tls.key";
  c.auth.users.clear();
  c.auth.users_file = "/etc/htpasswd";
  FakeProbe p;
  p.files["/etc/htpasswd"] = "alice:" + kStrongHash + "\n";
  p.modes["/tls/tls.key"] = 0644;
  p.modes["/etc/htpasswd"] = 0640;
  auto fs = run(c, p);
  REQUIRE(has(fs, "FILE_KEY_PERMISSIONS", Severity::warning));
  CHECK(find(fs, "FILE_KEY_PERMISSIONS")->finding.find("/tls/tls.key has mode 0644 (accessible by group/others)") !=
        std::string::npos);
  REQUIRE(has(fs, "FILE_USERS_PERMISSIONS", Severity::warning));
  CHECK(find(fs, "FILE_USERS_PERMISSIONS")->finding.find("0640 (accessible by group)") != std::string::npos);

  p.modes["/tls/tls.key"] = 0600;
  p.modes["/etc/htpasswd"] = 0400;
  fs = run(c, p);
  CHECK(absent(fs, "FILE_KEY_PERMISSIONS"));
  CHECK(absent(fs, "FILE_USERS_PERMISSIONS"));

  SECTION("SNI keys too") {
    c.listen[0].tls->sni.push_back({{"b.example"}, "/tls/b.crt", "/tls/b.key"});
    p.modes["/tls/b.key"] = 0604;
    fs = run(c, p);
    REQUIRE(has(fs, "FILE_KEY_PERMISSIONS", Severity::warning));
    CHECK(find(fs, "FILE_KEY_PERMISSIONS")->finding.find("/tls/b.key") != std::string::npos);
  }
}

TEST_CASE("ALLOW_ANY", "[selfcheck]") {
  auto c = clean();
  for (const char* any : {"0.0.0.0/0", "::/0", "1.2.3.4/0"}) {
    c.auth.allow = {"10.0.0.0/8", any};
    auto fs = run(c);
    REQUIRE(has(fs, "ALLOW_ANY", Severity::critical));
    CHECK(find(fs, "ALLOW_ANY")->finding.find(any) != std::string::npos);
  }
  c.auth.allow = {"10.0.0.0/8", "::1", "192.168.0.0/16"};
  CHECK(absent(run(c), "ALLOW_ANY"));
}

TEST_CASE("TRUSTED_PROXIES_ANY", "[selfcheck]") {
  auto c = clean();
  c.trusted_proxies = {"0.0.0.0/0"};
  CHECK(has(run(c), "TRUSTED_PROXIES_ANY", Severity::critical));
  c.trusted_proxies = {"::/0"};
  CHECK(has(run(c), "TRUSTED_PROXIES_ANY", Severity::critical));
  c.trusted_proxies = {"10.0.0.0/8"};
  CHECK(absent(run(c), "TRUSTED_PROXIES_ANY"));
}

TEST_CASE("ADMIN_NOT_LOOPBACK", "[selfcheck]") {
  auto c = clean();
  c.admin.address = "0.0.0.0:9901";
  CHECK(has(run(c), "ADMIN_NOT_LOOPBACK", Severity::warning));
  c.admin.address = "[::]:9901";
  CHECK(has(run(c), "ADMIN_NOT_LOOPBACK", Severity::warning));
  c.admin.address = "127.0.0.1:9901";
  CHECK(absent(run(c), "ADMIN_NOT_LOOPBACK"));
  c.admin.address = "[::1]:9901";
  CHECK(absent(run(c), "ADMIN_NOT_LOOPBACK"));
  c.admin.address.reset();
  CHECK(absent(run(c), "ADMIN_NOT_LOOPBACK"));
}

TEST_CASE("UPSTREAM_PLAIN_REMOTE", "[selfcheck]") {
  auto c = clean();
  c.upstream.url.host = "airbyte-webapp";
  c.upstream.url.port = 80;
  auto fs = run(c);
  CHECK(has(fs, "UPSTREAM_PLAIN_REMOTE", Severity::info));
  CHECK(exit_code(fs) == 0);  // info only
  c.upstream.url.scheme = "https";
  CHECK(absent(run(c), "UPSTREAM_PLAIN_REMOTE"));
  c.upstream.url.scheme = "http";
  c.upstream.url.host = "localhost";
  CHECK(absent(run(c), "UPSTREAM_PLAIN_REMOTE"));
  config::Route r;
  r.path_prefix = "/api/";
  r.upstream.url.host = "10.0.0.9";
  c.routes.push_back(r);
  fs = run(c);
  REQUIRE(has(fs, "UPSTREAM_PLAIN_REMOTE", Severity::info));
  CHECK(find(fs, "UPSTREAM_PLAIN_REMOTE")->finding.find("routes[0]") != std::string::npos);
}

TEST_CASE("address classification", "[selfcheck]") {
  for (const char* a : {"8.8.8.8", "93.184.216.34", "2a00:1450:4001::1", "2606:4700::1111", "::ffff:8.8.8.8"})
    CHECK(is_public(a));
  for (const char* a : {"10.1.1.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "127.0.0.1",
                        "169.254.0.1",
                        "100.64.0.1",
                        "100.127.255.255",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "192.0.2.2",
                        "198.51.100.7",
                        "203.0.113.9",
                        "198.18.0.1",
                        "::",
                        "::1",
                        "fe80::1",
                        "fd00::2",
                        "fc00::1",
                        "ff02::1",
                        "2001:db8::1",
                        "::ffff:10.0.0.1",
                        "not-an-ip",
                        ""})
    CHECK_FALSE(is_public(a));
  CHECK(is_public("172.32.0.1"));
  CHECK(is_public("100.128.0.1"));
  CHECK(is_loopback("127.0.0.1"));
  CHECK(is_loopback("127.1.2.3"));
  CHECK(is_loopback("::1"));
  CHECK(is_loopback("[::1]"));
  CHECK(is_loopback("::ffff:127.0.0.1"));
  CHECK_FALSE(is_loopback("0.0.0.0"));
  CHECK_FALSE(is_loopback("10.0.0.1"));
  CHECK(is_unspecified("0.0.0.0"));
  CHECK(is_unspecified("::"));
  CHECK_FALSE(is_unspecified("::1"));
}

TEST_CASE("exit codes and summary", "[selfcheck]") {
  std::vector<Finding> fs;
  CHECK(exit_code(fs) == 0);
  fs.push_back({"X_INFO", Severity::info, "f", "x"});
  CHECK(exit_code(fs) == 0);
  fs.push_back({"X_WARN", Severity::warning, "f", "x"});
  CHECK(exit_code(fs) == 1);
  fs.push_back({"X_CRIT", Severity::critical, "f", "x"});
  fs.push_back({"X_CRIT2", Severity::critical, "f", "x"});
  CHECK(exit_code(fs) == 2);
  CHECK(summary_line(fs) == "2 critical, 1 warning, 1 info");
}

TEST_CASE("JSON report is stable", "[selfcheck]") {
  std::vector<Finding> fs = {{"ALLOW_ANY", Severity::critical, "auth.allow contains '0.0.0.0/0'", "remove it"},
                             {"TLS_MIN_VERSION", Severity::info, "accepts TLS 1.2", "set 1.3"}};
  auto doc = boost::json::parse(format_json(fs)).as_object();
  CHECK(doc.at("exit_code").as_int64() == 2);
  CHECK(doc.at("summary").as_object().at("critical").to_number<int>() == 1);
  CHECK(doc.at("summary").as_object().at("warning").to_number<int>() == 0);
  CHECK(doc.at("summary").as_object().at("info").to_number<int>() == 1);
  const auto& list = doc.at("findings").as_array();
  REQUIRE(list.size() == 2);
  const auto& first = list[0].as_object();
  CHECK(first.at("id").as_string() == "ALLOW_ANY");
  CHECK(first.at("severity").as_string() == "critical");
  CHECK(first.at("finding").as_string() == "auth.allow contains '0.0.0.0/0'");
  CHECK(first.at("fix").as_string() == "remove it");
  CHECK(first.size() == 4);
  auto empty = boost::json::parse(format_json({})).as_object();
  CHECK(empty.at("findings").as_array().empty());
  CHECK(empty.at("exit_code").as_int64() == 0);
}

TEST_CASE("table report", "[selfcheck]") {
  std::vector<Finding> fs = {{"AUTH_NONE", Severity::critical, "no authentication", "add users"},
                             {"TLS_MIN_VERSION", Severity::info, "accepts TLS 1.2", "set 1.3"}};
  auto plain = format_table(fs, false);
  CHECK(plain.find("CRITICAL  AUTH_NONE") != std::string::npos);
  CHECK(plain.find("fix: add users") != std::string::npos);
  CHECK(plain.find("1 critical, 0 warning, 1 info") != std::string::npos);
  CHECK(plain.find('\033') == std::string::npos);
  auto coloured = format_table(fs, true);
  CHECK(coloured.find("\033[1;31m") != std::string::npos);
  CHECK(format_table({}, false).find("No findings.") != std::string::npos);
}

TEST_CASE("RealSystemProbe reads modes, files and interfaces", "[selfcheck]") {
  char path[] = "/tmp/airgate-selfcheck-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, "hello", 5) == 5);
  ::close(fd);
  RealSystemProbe probe;
  std::string error;
  ::chmod(path, 0640);
  CHECK(probe.file_mode(path, error) == std::optional<unsigned>(0640));
  CHECK(probe.read_file(path, error) == std::optional<std::string>("hello"));
  std::remove(path);
  CHECK_FALSE(probe.file_mode(path, error));
  CHECK(!error.empty());
  CHECK_FALSE(probe.read_file(path, error));
  bool loopback = false;
  for (const auto& a : probe.interface_addresses()) loopback = loopback || a.address == "127.0.0.1";
  CHECK(loopback);
  CHECK(probe.now() > 1600000000);
}

namespace {
config::Route admin_route(const std::string& prefix, std::vector<std::string> methods = {}) {
  config::Route r;
  r.path_prefix = prefix;
  r.methods = std::move(methods);
  r.at.source = "airgate.yaml";
  r.at.line = 7;
  r.at.column = 5;
  r.at.path = "routes[?]";
  auto& a = r.access.emplace();
  a.users.emplace();
  config::Located admin;
  admin.value = "admin";
  a.users->push_back(admin);
  return r;
}
}  // namespace

TEST_CASE("ROUTES_CONFIG_API_OPEN", "[selfcheck][routes]") {
  auto c = clean();
  CHECK_FALSE(find(run(c), "ROUTES_CONFIG_API_OPEN"));  // one user: nobody to keep out
  c.auth.users.push_back({"bob", kStrongHash});
  auto fs = run(c);  // the findings outlive `f`
  const auto* f = find(fs, "ROUTES_CONFIG_API_OPEN");
  REQUIRE(f);
  INFO(f->finding);
  CHECK(f->severity == Severity::warning);
  CHECK(f->finding.find("2 users can log in") != std::string::npos);
  CHECK(f->finding.find("'POST /api/v1/sources/create'") != std::string::npos);
  const std::vector<std::string> write = {"POST", "PUT", "PATCH", "DELETE"};
  c.routes = {admin_route("/api/v1/sources/"), admin_route("/api/v1/destinations/"),
              admin_route("/api/v1/connections/")};
  fs = run(c);
  f = find(fs, "ROUTES_CONFIG_API_OPEN");
  REQUIRE(f);  // the public API is still open
  CHECK(f->finding.find("'POST /api/public/v1/sources'") != std::string::npos);
  CHECK(f->finding.find("/api/v1/") == std::string::npos);
  for (const char* p : {"/api/public/v1/sources", "/api/public/v1/destinations", "/api/public/v1/connections"})
    c.routes.push_back(admin_route(p, write));
  CHECK_FALSE(find(run(c), "ROUTES_CONFIG_API_OPEN"));
  // A route that is public, or has no users, restricts nothing.
  c.routes[0].access->users.reset();
  CHECK(find(run(c), "ROUTES_CONFIG_API_OPEN"));
  c.routes[0].access->is_public = true;
  CHECK(find(run(c), "ROUTES_CONFIG_API_OPEN"));
  // A GET-only route in front does not hide a POST.
  c.routes[0] = admin_route("/api/v1/sources/");
  c.routes.insert(c.routes.begin(), config::Route{});
  c.routes[0].path_prefix = "/api/";
  c.routes[0].methods = {"GET"};
  CHECK_FALSE(find(run(c), "ROUTES_CONFIG_API_OPEN"));
}

TEST_CASE("ROUTES_SHADOWED", "[selfcheck][routes]") {
  auto c = clean();
  c.routes = {admin_route("/api/"), admin_route("/api/v1/sources/", {"POST"})};
  c.routes[1].at.path = "routes[1]";
  const auto fs = run(c);
  const auto* f = find(fs, "ROUTES_SHADOWED");
  REQUIRE(f);
  CHECK(f->finding ==
        "airgate.yaml:7:5: routes[1]: path_prefix \"/api/v1/sources/\" can never match: routes[0] (line 7, "
        "path_prefix \"/api/\", every method) comes first and takes all its requests; put the longer prefix first");
  c.routes[0].methods = {"GET"};  // now POST gets past it
  CHECK_FALSE(find(run(c), "ROUTES_SHADOWED"));
  c.routes[0].methods = {"GET", "POST"};
  CHECK(find(run(c), "ROUTES_SHADOWED"));
  std::swap(c.routes[0], c.routes[1]);
  CHECK_FALSE(find(run(c), "ROUTES_SHADOWED"));
}
