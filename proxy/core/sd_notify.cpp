#include "core/sd_notify.hpp"

namespace airgate::core::sd_notify {

std::optional<Address> parse_address(std::string_view value, std::string& error) {
  Address a;
  if (value.size() >= 2 && value.front() == '@') {
    a.abstract = true;
    a.sun_path.assign(1, '\0');
    a.sun_path.append(value.substr(1));
  } else if (!value.empty() && value.front() == '/') {
    a.sun_path.assign(value);
  } else {
    error = "NOTIFY_SOCKET=\"" + std::string(value) +
            "\": not an absolute socket path or an abstract socket name (@name)";
    return std::nullopt;
  }
  if (a.sun_path.find('\0', a.abstract ? 1 : 0) != std::string::npos) {
    error = "NOTIFY_SOCKET contains a NUL byte";
    return std::nullopt;
  }
  // A path needs room for its terminating NUL; an abstract name does not.
  if (a.sun_path.size() + (a.abstract ? 0 : 1) > kMaxSunPath) {
    error = "NOTIFY_SOCKET=\"" + std::string(value) + "\": longer than a unix socket address (" +
            std::to_string(kMaxSunPath) + " bytes)";
    return std::nullopt;
  }
  return a;
}

std::string status_line(std::string_view status) {
  std::string out(status);
  for (auto& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return out;
}

namespace {

std::string with_status(std::string head, std::string_view status) {
  if (!status.empty()) head += "STATUS=" + status_line(status) + "\n";
  return head;
}

}  // namespace

std::string ready(std::string_view status) { return with_status("READY=1\n", status); }

std::string reloading(std::uint64_t monotonic_usec, std::string_view status) {
  return with_status("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec) + "\n", status);
}

std::string stopping(std::string_view status) { return with_status("STOPPING=1\n", status); }

}  // namespace airgate::core::sd_notify
