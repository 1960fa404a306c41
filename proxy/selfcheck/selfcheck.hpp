// Security self-check (design §6): a table of small rules over the validated
// config and a few facts about the host (interface addresses, file modes,
// file contents), each finding with a stable id, a severity, a one-line
// finding and a one-line fix. Pure logic: no Asio I/O, no Beast; OpenSSL is
// used to read certificates and keys. The host is reached only through
// `SystemProbe`, so unit tests substitute a fake.
//
// Findings never contain a password or a password hash.
#pragma once

#include "config/config.hpp"

#include <cstddef>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace airgate::selfcheck {

enum class Severity { info = 0, warning = 1, critical = 2 };

// "info" | "warning" | "critical"
std::string_view severity_name(Severity s);

struct Finding {
  std::string id;  // stable, e.g. "AUTH_DEFAULT_CREDENTIALS"
  Severity severity = Severity::info;
  std::string finding;  // one line: what is wrong and where
  std::string fix;      // one line: what to do about it
};

struct InterfaceAddress {
  std::string interface;  // "eth0"
  std::string address;    // "192.0.2.7", "2001:db8::1" (no scope id)
};

// What the self-check needs from the host.
class SystemProbe {
 public:
  virtual ~SystemProbe() = default;
  // Addresses of the interfaces that are up (getifaddrs).
  virtual std::vector<InterfaceAddress> interface_addresses() const = 0;
  // Permission bits (st_mode & 07777) of `path`, following symlinks;
  // nullopt with `error` set when stat fails.
  virtual std::optional<unsigned> file_mode(const std::string& path, std::string& error) const = 0;
  // The whole file; nullopt with `error` set when it cannot be read.
  virtual std::optional<std::string> read_file(const std::string& path, std::string& error) const = 0;
  // Current time (certificate expiry is judged against it).
  virtual std::time_t now() const = 0;
  // Running in a Kubernetes pod (KUBERNETES_SERVICE_HOST is set), where
  // several replicas behind one Service are likely.
  virtual bool in_kubernetes() const { return false; }
};

// The real host: getifaddrs, stat, std::ifstream, std::time.
class RealSystemProbe final : public SystemProbe {
 public:
  std::vector<InterfaceAddress> interface_addresses() const override;
  std::optional<unsigned> file_mode(const std::string& path, std::string& error) const override;
  std::optional<std::string> read_file(const std::string& path, std::string& error) const override;
  std::time_t now() const override;
  bool in_kubernetes() const override;
};

struct Options {
  // Hashed users checked for the default / user-name password (bcrypt costs
  // tens to hundreds of milliseconds per try).
  std::size_t max_hash_checks = 20;
  // Days before expiry that raise TLS_CERT_EXPIRING.
  int expiry_warning_days = 14;
};

// Runs every rule. Findings are ordered critical, warning, info; within one
// severity in rule order.
std::vector<Finding> run_selfcheck(const config::Config& cfg, const SystemProbe& probe, const Options& options = {});

struct Summary {
  std::size_t critical = 0;
  std::size_t warning = 0;
  std::size_t info = 0;
};
Summary summarize(const std::vector<Finding>& findings);

// 0 clean (info only counts as clean), 1 warnings, 2 critical.
int exit_code(const std::vector<Finding>& findings);

// Every rule id with the highest severity it reports (for docs and tests).
struct RuleInfo {
  std::string_view id;
  Severity severity;
};
const std::vector<RuleInfo>& rule_catalog();

// Address classification used by the exposure rules. Text is an IPv4 or
// IPv6 address without brackets; unparsable text is none of these.
bool is_loopback(std::string_view address);
bool is_unspecified(std::string_view address);  // 0.0.0.0, ::
// Globally routable: not private (RFC 1918), loopback, link-local, CGNAT
// (100.64/10), ULA (fc00::/7), documentation, benchmarking, multicast,
// reserved or unspecified. IPv4-mapped IPv6 is judged as IPv4.
bool is_public(std::string_view address);

}  // namespace airgate::selfcheck
