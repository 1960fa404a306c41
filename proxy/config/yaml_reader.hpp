// Reading the YAML tree of a configuration: typed scalar readers, lists,
// the unknown- and duplicate-key check with suggestions, and every problem
// reported with the dotted key path and the 1-based line:column of the key
// (or of the offending value). The section parsers (config/sections.hpp) are
// written on top of it; nothing here knows what a section means beyond its
// list of keys.
#pragma once

#include "config/config.hpp"
#include "config/load.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airgate::config {

// `s` in double quotes for messages: '"' and '\\' escaped, control characters
// as \xNN, cut after 80 characters ("...").
std::string quote(std::string_view s);

// "null", a quoted scalar, "a list", "a mapping": what a value is, for messages.
std::string describe(const YAML::Node& n);

// Reads a whole file; false with `why` (strerror, "is a directory") otherwise.
bool read_whole_file(const std::string& path, std::string& out, std::string& why);

// The schema of the file (load.cpp): the known keys of each section (the
// top level is ""), and each section's dotted path for suggestions.
const std::map<std::string, std::vector<std::string>>& known_keys();
const std::map<std::string, std::string>& section_paths();

// A value with its location: the node, the key it was written under (if any)
// and its dotted path.
struct Val {
  YAML::Node node;
  YAML::Node key;
  std::string path;
};

// The known keys of one mapping, by name (see Reader::fields).
class Fields {
 public:
  void add(const std::string& name, Val v) { entries_.emplace(name, std::move(v)); }
  std::optional<Val> get(const std::string& name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, Val> entries_;
};

// Reports problems into a list owned by the caller; a reader returns false
// (after reporting) on a bad value and leaves its output untouched.
class Reader {
 public:
  // `source` names the file in problems; relative paths in values are
  // resolved against its directory.
  Reader(std::string source, std::vector<Problem>& problems);

  void error_at(const YAML::Node& at, const std::string& path, const std::string& msg);

  // Position: the value, unless it is null (yaml-cpp then marks the next
  // token), in which case the key.
  void error(const Val& v, const std::string& msg);

  void type_error(const Val& v, const std::string& expected, const std::string& reason = {});

  // `value` with the position of `v`, for a message made after the parse.
  Located locate(const Val& v, std::string value) const;

  // Checks that `v` is a mapping (null counts as empty) whose keys are all
  // in `section`; reports unknown and duplicate keys.
  Fields fields(const Val& v, const std::string& section);

  bool scalar(const Val& v, const std::string& expected, std::string& out);

  bool read_string(const Val& v, std::string& out, bool allow_empty = true);

  // null or "" -> nullopt.
  bool read_opt_string(const Val& v, std::optional<std::string>& out);

  std::string resolve(const std::string& p) const;

  bool read_path(const Val& v, std::string& out);

  bool read_opt_path(const Val& v, std::optional<std::string>& out);

  bool read_bool(const Val& v, bool& out);

  bool read_uint(const Val& v, std::uint64_t min, std::uint64_t max, std::uint64_t& out);

  template <class T>
  bool read_count(const Val& v, std::uint64_t min, std::uint64_t max, T& out) {
    std::uint64_t n = 0;
    if (!read_uint(v, min, max, n)) return false;
    out = static_cast<T>(n);
    return true;
  }

  bool read_duration(const Val& v, bool allow_zero, Duration& out);

  bool read_size(const Val& v, std::uint64_t min, std::uint64_t& out);

  template <class E>
  bool read_enum(const Val& v, std::initializer_list<std::pair<const char*, E>> choices, E& out) {
    std::string expected;
    for (const auto& c : choices) expected += (expected.empty() ? "" : " | ") + std::string(c.first);
    std::string s;
    if (!scalar(v, expected, s)) return false;
    for (const auto& c : choices) {
      if (s == c.first) {
        out = c.second;
        return true;
      }
    }
    type_error(v, expected);
    return false;
  }

  // A list of scalars (a single scalar counts as a one-element list).
  std::vector<Val> items(const Val& v, bool scalars);

  std::vector<std::string> read_string_list(const Val& v);

  // Addresses and CIDRs: each as written (`text`) and parsed (`networks`).
  void read_network_list(const Val& v, std::vector<std::string>& text, std::vector<core::Cidr>& networks);

 private:
  std::string suggestion(const std::string& name, const std::string& section);

  std::string source_;
  std::filesystem::path base_;
  std::vector<Problem>& problems_;
};

}  // namespace airgate::config
