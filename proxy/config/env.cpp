#include "config/env.hpp"

#include "config/address.hpp"
#include "config/load.hpp"
#include "config/password_hash.hpp"
#include "config/units.hpp"
#include "config/yaml_reader.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cstdlib>
#include <stdexcept>

namespace airgate::config {
namespace {

const char* const kEnv = "<env>";

// The bcrypt cost and prefix of the environment user (docs/configuration.md).
constexpr unsigned kEnvBcryptCost = 10;
constexpr std::string_view kEnvBcryptPrefix = "$2b$";

void env_problem(std::vector<Problem>& problems, const std::string& message) {
  problems.push_back(Problem{kEnv, 0, 0, message});
}

// The password from BASIC_AUTH_PASSWORD_FILE (one trailing newline removed)
// into `pw`; false after reporting when it cannot be used.
bool read_password_file(const std::string& path, std::string& pw, std::vector<Problem>& problems) {
  if (!pw.empty()) {
    env_problem(problems, "BASIC_AUTH_PASSWORD and BASIC_AUTH_PASSWORD_FILE are both set; use only one");
    return false;
  }
  std::string text, why;
  if (!read_whole_file(path, text, why)) {
    env_problem(problems, "BASIC_AUTH_PASSWORD_FILE: cannot read " + quote(path) + ": " + why);
    return false;
  }
  if (!text.empty() && text.back() == '\n') {
    text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
  }
  pw = std::move(text);
  if (pw.empty()) {
    env_problem(problems, "BASIC_AUTH_PASSWORD_FILE: " + quote(path) + " is empty");
    return false;
  }
  return true;
}

// Adds (or replaces) the user `name` with a bcrypt hash of `pw`.
void add_env_user(Config& cfg, const std::string& name, const std::string& pw, std::vector<Problem>& problems) {
  if (name.find(':') != std::string::npos || core::has_control(name)) {
    env_problem(problems, "BASIC_AUTH_USERNAME must not contain ':' or control characters");
    return;
  }
  std::string hash;
  try {
    hash = hash_password_bcrypt(pw, kEnvBcryptCost, kEnvBcryptPrefix);
  } catch (const std::runtime_error&) {
    env_problem(problems, "BASIC_AUTH_PASSWORD: cannot compute a bcrypt hash (libxcrypt failed)");
    return;
  }
  auto& users = cfg.auth.users;
  users.erase(std::remove_if(users.begin(), users.end(), [&](const BasicUser& u) { return u.user == name; }),
              users.end());
  users.push_back(BasicUser{name, hash, HashScheme::bcrypt});
  cfg.auth.env_password = pw;
  cfg.auth.env_user = name;
}

// BASIC_AUTH_USERNAME with BASIC_AUTH_PASSWORD or BASIC_AUTH_PASSWORD_FILE.
void apply_env_user(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems) {
  const auto user = env("BASIC_AUTH_USERNAME");
  const auto password = env("BASIC_AUTH_PASSWORD");
  const auto password_file = env("BASIC_AUTH_PASSWORD_FILE");
  const bool from_file = password_file && !password_file->empty();

  std::string pw = password.value_or("");
  const bool pw_ok = !from_file || read_password_file(*password_file, pw, problems);
  const std::string name = user.value_or("");
  if (pw_ok) {
    if (user && password && name.empty() && password->empty() && !from_file) {
      // Both set and empty: auth explicitly disabled (as Airbyte documents).
      cfg.auth.disabled_by_env = true;
      cfg.auth.env_password.reset();
    } else if (!name.empty() && pw.empty()) {
      env_problem(problems, "BASIC_AUTH_USERNAME is set but BASIC_AUTH_PASSWORD/BASIC_AUTH_PASSWORD_FILE is not");
    } else if (name.empty() && !pw.empty()) {
      env_problem(problems, std::string(from_file ? "BASIC_AUTH_PASSWORD_FILE" : "BASIC_AUTH_PASSWORD") +
                                " is set but BASIC_AUTH_USERNAME is not");
    } else if (!name.empty()) {
      add_env_user(cfg, name, pw, problems);
    }
  }
  std::fill(pw.begin(), pw.end(), '\0');
}

void apply_env_timeout(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems) {
  auto t = env("BASIC_AUTH_PROXY_TIMEOUT");
  if (!t || t->empty()) return;
  std::string why;
  auto d = parse_duration(*t, &why);
  if (!d || d->count() == 0) {
    env_problem(problems, "BASIC_AUTH_PROXY_TIMEOUT: expected a positive number of seconds, got " + quote(*t) +
                              (why.empty() ? "" : " (" + why + ")"));
    return;
  }
  auto set = [&](Upstream& u) { u.connect_timeout = u.read_timeout = u.send_timeout = *d; };
  set(cfg.upstream);
  for (auto& r : cfg.routes) set(r.upstream);
}

void apply_env_url(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems) {
  auto u = env("PROXY_PASS_WEB");
  if (!u || u->empty()) return;
  std::string why;
  UpstreamUrl url;
  if (parse_upstream_url(*u, url, why))
    cfg.upstream.url = url;
  else  // a URL with userinfo is never echoed
    env_problem(problems, u->find('@') == std::string::npos ? "PROXY_PASS_WEB: invalid URL " + quote(*u) + ": " + why
                                                            : "PROXY_PASS_WEB: invalid URL: " + why);
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

void apply_env(Config& cfg, const EnvLookup& env, std::vector<Problem>& problems) {
  apply_env_user(cfg, env, problems);
  apply_env_timeout(cfg, env, problems);
  apply_env_url(cfg, env, problems);
}

}  // namespace airgate::config
