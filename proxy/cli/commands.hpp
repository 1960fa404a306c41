// Subcommands (design §1). main.cpp only dispatches to these.
#pragma once

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace airgate::cli {

// Exit codes of design §1.
constexpr int kExitOk = 0;
constexpr int kExitUsage = 1;
constexpr int kExitConfig = 78;  // EX_CONFIG

int cmd_run(const std::optional<std::string>& config_path);
int cmd_check(const std::optional<std::string>& config_path);
int cmd_selfcheck(const std::optional<std::string>& config_path, bool json);
// Adds or replaces USER in FILE with a bcrypt hash; the password comes from
// `in` (one line; no echo when it is a TTY). Writes atomically, mode 0600.
int cmd_passwd(const std::string& file, const std::string& user, std::istream& in, bool in_is_tty);
int cmd_version();

}  // namespace airgate::cli
