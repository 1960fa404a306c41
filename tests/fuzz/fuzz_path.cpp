// Fuzz target: the request path normaliser (core/path.hpp). Input: a
// path as a client could send it. Invariants: a canonical result starts with
// "/", never contains "//", "/./" or "/../" nor ends in "/." or "/..", is
// judged canonical by the fast check and normalises to itself; the fast check
// never calls a path canonical that normalises to something else.
#include "core/path.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace core = airgate::core;

namespace {
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const bool canonical = core::path_is_canonical(in);
  const auto r = core::normalize_path(in);
  if (canonical && (!r.ok || r.path != in)) __builtin_trap();
  if (!r.ok) {
    if (r.why.empty()) __builtin_trap();
    return 0;
  }
  const std::string_view p = r.path;
  if (p.empty() || p[0] != '/') __builtin_trap();
  if (p.find("//") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
      p.find("/../") != std::string_view::npos || ends_with(p, "/.") || ends_with(p, "/.."))
    __builtin_trap();
  if (p.find('\\') != std::string_view::npos || p.find(';') != std::string_view::npos ||
      p.find('\0') != std::string_view::npos)
    __builtin_trap();
  if (!core::path_is_canonical(p)) __builtin_trap();
  const auto again = core::normalize_path(p);
  if (!again.ok || again.path != p) __builtin_trap();
  return 0;
}
