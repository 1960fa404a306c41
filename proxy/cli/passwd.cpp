// `airgate passwd [-f FILE] USER` (design §1): the terminal part only; the
// file logic lives in access/htpasswd (set_user_password), unit-tested there.
#include "cli/commands.hpp"

#include "access/htpasswd.hpp"

#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <iostream>
#include <istream>
#include <string>

namespace airgate::cli {
namespace {

// Turns terminal echo off on stdin for its lifetime.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      t.c_lflag |= ECHONL;
      active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
    }
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

bool read_line(std::istream& in, std::string& out) {
  if (!std::getline(in, out)) return false;
  if (!out.empty() && out.back() == '\r') out.pop_back();
  return true;
}

}  // namespace

int cmd_passwd(const std::string& file, const std::string& user, std::istream& in, bool in_is_tty) {
  if (auto problem = access::username_problem(user)) {
    std::cerr << "airgate passwd: invalid user name: " << *problem << "\n";
    return kExitUsage;
  }
  std::string password;
  if (in_is_tty) {
    std::string again;
    {
      EchoOff no_echo;
      std::cerr << "New password for " << user << ": " << std::flush;
      bool ok1 = read_line(in, password);
      std::cerr << "Retype password: " << std::flush;
      bool ok2 = ok1 && read_line(in, again);
      if (!ok2) {
        access::wipe(password);
        std::cerr << "airgate passwd: no password entered\n";
        return kExitUsage;
      }
    }
    bool same = password == again;
    access::wipe(again);
    if (!same) {
      access::wipe(password);
      std::cerr << "airgate passwd: passwords do not match; " << file << " not changed\n";
      return kExitUsage;
    }
  } else if (!read_line(in, password)) {
    std::cerr << "airgate passwd: no password on standard input; " << file << " not changed\n";
    return kExitUsage;
  }

  // The file is replaced by a new one (owned by whoever runs this): give it
  // back the owner it had, so root updating the users file of a service that
  // runs as another user (the package's /etc/airgate/htpasswd, owned by
  // airgate) does not make it unreadable to that service.
  struct stat before {};
  const bool existed = ::stat(file.c_str(), &before) == 0;
  auto result = access::set_user_password(file, user, password, 12);
  access::wipe(password);
  for (const auto& w : result.warnings) std::cerr << "airgate passwd: warning: " << w << " (line kept as is)\n";
  if (!result.ok) {
    std::cerr << "airgate passwd: " << result.error << "; " << file << " not changed\n";
    return kExitUsage;
  }
  if (existed && (before.st_uid != ::geteuid() || before.st_gid != ::getegid()) &&
      ::chown(file.c_str(), before.st_uid, before.st_gid) != 0)
    std::cerr << "airgate passwd: warning: cannot give " << file << " back its owner " << before.st_uid << ":"
              << before.st_gid << ": " << std::strerror(errno) << "\n";
  std::cerr << (result.replaced ? "updated user " : "added user ") << user << " in " << file << "\n";
  return kExitOk;
}

}  // namespace airgate::cli
