#include "config/yaml_reader.hpp"

#include "config/address.hpp"
#include "config/units.hpp"
#include "core/text.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace airgate::config {

namespace fs = std::filesystem;
using core::all_digits;
using core::to_lower;

std::string quote(std::string_view s) {
  constexpr std::size_t kMax = 80;
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > kMax) out += "...";
  out += '"';
  return out;
}

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return quote(n.Scalar());
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a mapping";
    default: return "nothing";
  }
}

bool read_whole_file(const std::string& path, std::string& out, std::string& why) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    why = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    why = std::strerror(errno);
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    why = "read error";
    return false;
  }
  out = ss.str();
  return true;
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, std::size_t i) { return path + "[" + std::to_string(i) + "]"; }

}  // namespace

Reader::Reader(std::string source, std::vector<Problem>& problems) : source_(std::move(source)), problems_(problems) {
  if (!source_.empty() && source_.front() != '<') base_ = fs::path(source_).parent_path();
}

void Reader::error_at(const YAML::Node& at, const std::string& path, const std::string& msg) {
  Problem p;
  p.source = source_;
  if (at.IsDefined()) {
    const auto m = at.Mark();
    if (!m.is_null()) {
      p.line = m.line + 1;
      p.column = m.column + 1;
    }
  }
  p.message = path.empty() ? msg : path + ": " + msg;
  problems_.push_back(std::move(p));
}

void Reader::error(const Val& v, const std::string& msg) {
  const bool use_key = v.key.IsDefined() && (!v.node.IsDefined() || v.node.IsNull());
  error_at(use_key ? v.key : v.node, v.path, msg);
}

Located Reader::locate(const Val& v, std::string value) const {
  Located out;
  out.value = std::move(value);
  out.source = source_;
  out.path = v.path;
  if (v.node.IsDefined() && !v.node.Mark().is_null()) {
    out.line = v.node.Mark().line + 1;
    out.column = v.node.Mark().column + 1;
  }
  return out;
}

void Reader::type_error(const Val& v, const std::string& expected, const std::string& reason) {
  std::string msg = "expected " + expected + ", got " + describe(v.node);
  if (!reason.empty()) msg += " (" + reason + ")";
  error(v, msg);
}

Fields Reader::fields(const Val& v, const std::string& section) {
  Fields out;
  if (!v.node.IsDefined() || v.node.IsNull()) return out;
  if (!v.node.IsMap()) {
    type_error(v, "a mapping");
    return out;
  }
  const auto& allowed = known_keys().at(section);
  std::map<std::string, YAML::Node> seen;
  for (auto it = v.node.begin(); it != v.node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error_at(key, v.path, "keys must be plain strings, got " + describe(key));
      continue;
    }
    const std::string name = key.Scalar();
    const std::string path = join(v.path, name);
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      error_at(key, path, "unknown key" + suggestion(name, section));
      continue;
    }
    if (auto prev = seen.find(name); prev != seen.end()) {
      error_at(key, path, "duplicate key (first set on line " + std::to_string(prev->second.Mark().line + 1) + ")");
      continue;
    }
    seen.emplace(name, key);
    out.add(name, Val{it->second, key, path});
  }
  return out;
}

std::string Reader::suggestion(const std::string& name, const std::string& section) {
  const auto& allowed = known_keys().at(section);
  std::string best;
  std::size_t best_d = 3;
  for (const auto& k : allowed) {
    const auto d = edit_distance(to_lower(name), k);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  if (!best.empty()) return " (did you mean \"" + best + "\"?)";
  for (const auto& [sec, keys] : known_keys()) {
    if (sec == section || sec.empty()) continue;
    if (std::find(keys.begin(), keys.end(), name) != keys.end())
      return " (it belongs under " + section_paths().at(sec) + ")";
  }
  const auto& all = known_keys().at("");
  if (std::find(all.begin(), all.end(), name) != all.end()) return " (it is a top-level key)";
  return {};
}

bool Reader::scalar(const Val& v, const std::string& expected, std::string& out) {
  if (!v.node.IsScalar()) {
    type_error(v, expected);
    return false;
  }
  out = v.node.Scalar();
  return true;
}

bool Reader::read_string(const Val& v, std::string& out, bool allow_empty) {
  std::string s;
  if (!scalar(v, "a string", s)) return false;
  if (!allow_empty && s.empty()) {
    error(v, "must not be empty");
    return false;
  }
  out = std::move(s);
  return true;
}

bool Reader::read_opt_string(const Val& v, std::optional<std::string>& out) {
  if (v.node.IsNull()) {
    out.reset();
    return true;
  }
  std::string s;
  if (!scalar(v, "a string or null", s)) return false;
  if (s.empty())
    out.reset();
  else
    out = std::move(s);
  return true;
}

std::string Reader::resolve(const std::string& p) const {
  if (p.empty() || base_.empty()) return p;
  const fs::path path(p);
  if (path.is_absolute()) return p;
  return (base_ / path).string();
}

bool Reader::read_path(const Val& v, std::string& out) {
  std::string s;
  if (!read_string(v, s)) return false;
  out = resolve(s);
  return true;
}

bool Reader::read_opt_path(const Val& v, std::optional<std::string>& out) {
  std::optional<std::string> s;
  if (!read_opt_string(v, s)) return false;
  out = s ? std::optional<std::string>(resolve(*s)) : std::nullopt;
  return true;
}

bool Reader::read_bool(const Val& v, bool& out) {
  std::string s;
  if (!scalar(v, "true or false", s)) return false;
  const std::string l = to_lower(s);
  if (l == "true" || l == "yes" || l == "on") {
    out = true;
  } else if (l == "false" || l == "no" || l == "off") {
    out = false;
  } else {
    type_error(v, "true or false");
    return false;
  }
  return true;
}

bool Reader::read_uint(const Val& v, std::uint64_t min, std::uint64_t max, std::uint64_t& out) {
  std::string s;
  if (!scalar(v, "an integer", s)) return false;
  if (!all_digits(s)) {
    type_error(v, "an integer", !s.empty() && s.front() == '-' ? "negative numbers are not allowed" : "");
    return false;
  }
  if (s.size() > 19 || std::stoull(s) > max) {
    error(v, "must be at most " + std::to_string(max) + ", got " + s);
    return false;
  }
  const auto n = std::stoull(s);
  if (n < min) {
    error(v, "must be at least " + std::to_string(min) + ", got " + s);
    return false;
  }
  out = n;
  return true;
}

bool Reader::read_duration(const Val& v, bool allow_zero, Duration& out) {
  std::string s;
  if (!scalar(v, "a duration like 90s", s)) return false;
  std::string why;
  auto d = parse_duration(s, &why);
  if (!d) {
    type_error(v, "a duration like 90s", why);
    return false;
  }
  if (!allow_zero && d->count() == 0) {
    error(v, "must be greater than 0");
    return false;
  }
  out = *d;
  return true;
}

bool Reader::read_size(const Val& v, std::uint64_t min, std::uint64_t& out) {
  std::string s;
  if (!scalar(v, "a size like 200M", s)) return false;
  std::string why;
  auto n = parse_size(s, &why);
  if (!n) {
    type_error(v, "a size like 200M", why);
    return false;
  }
  if (*n < min) {
    error(v, "must be at least " + format_size(min) + ", got " + quote(s));
    return false;
  }
  out = *n;
  return true;
}

std::vector<Val> Reader::items(const Val& v, bool scalars) {
  std::vector<Val> out;
  if (v.node.IsNull()) return out;
  if (scalars && v.node.IsScalar()) {
    out.push_back(Val{v.node, v.key, index(v.path, 0)});
    return out;
  }
  if (!v.node.IsSequence()) {
    type_error(v, scalars ? "a list of strings" : "a list");
    return out;
  }
  for (std::size_t i = 0; i < v.node.size(); ++i) out.push_back(Val{v.node[i], YAML::Node(), index(v.path, i)});
  return out;
}

std::vector<std::string> Reader::read_string_list(const Val& v) {
  std::vector<std::string> out;
  for (const auto& item : items(v, true)) {
    std::string s;
    if (read_string(item, s, false)) out.push_back(std::move(s));
  }
  return out;
}

void Reader::read_network_list(const Val& v, std::vector<std::string>& text, std::vector<core::Cidr>& networks) {
  text.clear();
  networks.clear();
  for (const auto& item : items(v, true)) {
    std::string s, why;
    if (!read_string(item, s, false)) continue;
    auto network = parse_network(s, why);
    if (!network) {
      error(item, why);
      continue;
    }
    text.push_back(std::move(s));
    networks.push_back(*network);
  }
}

}  // namespace airgate::config
