// reload_watch: notices when the config file, certificates, keys, CA bundles
// or the users file change. stat() follows symlinks, so the atomic symlink
// swap of Kubernetes secrets and cert-manager shows up as a new inode.
#pragma once

#include "config/config.hpp"

#include <string>
#include <tuple>
#include <vector>

namespace airgate::server {

std::vector<std::string> watched_files(const config::Config& cfg);

class FileWatch {
 public:
  void reset(std::vector<std::string> files);
  // The first file whose identity or content stamp changed since reset(), or empty.
  std::string changed() const;

 private:
  struct Stamp {
    bool exists = false;
    unsigned long long dev = 0, ino = 0, size = 0;
    long long mtime_ns = 0;
    bool operator==(const Stamp&) const = default;
  };
  static Stamp stamp(const std::string& path);
  std::vector<std::pair<std::string, Stamp>> files_;
};

}  // namespace airgate::server
