#include "server/watch.hpp"

#include <sys/stat.h>

namespace airgate::server {

std::vector<std::string> watched_files(const config::Config& cfg) {
  std::vector<std::string> files;
  auto add = [&](const std::string& f) {
    if (!f.empty() && f.front() != '<') files.push_back(f);
  };
  add(cfg.source);
  for (const auto& l : cfg.listen) {
    if (!l.tls) continue;
    add(l.tls->certificate);
    add(l.tls->private_key);
    if (l.tls->client_ca) add(*l.tls->client_ca);
    for (const auto& s : l.tls->sni) {
      add(s.certificate);
      add(s.private_key);
    }
  }
  if (cfg.auth.users_file) add(*cfg.auth.users_file);
  if (cfg.upstream.ca_file) add(*cfg.upstream.ca_file);
  for (const auto& r : cfg.routes)
    if (r.upstream.ca_file) add(*r.upstream.ca_file);
  return files;
}

FileWatch::Stamp FileWatch::stamp(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {true, static_cast<unsigned long long>(st.st_dev), static_cast<unsigned long long>(st.st_ino),
          static_cast<unsigned long long>(st.st_size),
          static_cast<long long>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec};
}

void FileWatch::reset(std::vector<std::string> files) {
  files_.clear();
  for (auto& f : files) files_.emplace_back(f, stamp(f));
}

std::string FileWatch::changed() const {
  for (const auto& [path, before] : files_)
    if (!(stamp(path) == before)) return path;
  return {};
}

}  // namespace airgate::server
