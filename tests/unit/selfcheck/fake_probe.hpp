// A SystemProbe for unit tests: interfaces, file contents and modes, and the
// clock are whatever the test sets.
#pragma once

#include "selfcheck/selfcheck.hpp"

#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace airgate::selfcheck::testing {

struct FakeProbe : SystemProbe {
  std::vector<InterfaceAddress> ifaces{{"lo", "127.0.0.1"}, {"lo", "::1"}, {"eth0", "10.1.2.3"}};
  std::map<std::string, std::string> files;
  std::map<std::string, unsigned> modes;
  std::time_t t = std::time(nullptr);
  bool kubernetes = false;

  std::vector<InterfaceAddress> interface_addresses() const override { return ifaces; }
  std::optional<unsigned> file_mode(const std::string& path, std::string& error) const override {
    auto it = modes.find(path);
    if (it == modes.end()) {
      error = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  }
  std::optional<std::string> read_file(const std::string& path, std::string& error) const override {
    auto it = files.find(path);
    if (it == files.end()) {
      error = "No such file or directory";
      return std::nullopt;
    }
    return it->second;
  }
  std::time_t now() const override { return t; }
  bool in_kubernetes() const override { return kubernetes; }
};

}  // namespace airgate::selfcheck::testing
