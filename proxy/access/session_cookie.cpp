#include "access/session_cookie.hpp"

namespace airgate::access {
namespace {

// Visits each "name=value" pair of a Cookie header: f(pair, name, value),
// where pair is the pair's bytes without the surrounding separators.
template <typename F>
void for_each_pair(std::string_view header, F&& f) {
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    const std::string_view name = pair.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    if (!f(pair, name, value)) return;
  }
}

}  // namespace

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
  std::optional<std::string_view> found;
  for_each_pair(header, [&](std::string_view, std::string_view n, std::string_view v) {
    if (n != name) return true;
    found = v;
    return false;
  });
  return found;
}

std::string remove_cookie(std::string_view header, std::string_view name, bool* removed) {
  std::string out;
  bool any = false;
  out.reserve(header.size());
  for_each_pair(header, [&](std::string_view pair, std::string_view n, std::string_view) {
    if (n == name) {
      any = true;
      return true;
    }
    if (!out.empty()) out += "; ";
    out += pair;
    return true;
  });
  if (removed) *removed = any;
  // Nothing removed: the header goes on exactly as it came.
  return any ? out : std::string(header);
}

std::string session_set_cookie(std::string_view name, std::string_view value,
                               std::optional<std::chrono::seconds> max_age, std::string_view same_site) {
  std::string c(name);
  c += '=';
  c += value;
  c += "; Path=/; Secure; HttpOnly; SameSite=";
  c += same_site;
  if (max_age) {
    c += "; Max-Age=";
    c += std::to_string(max_age->count() > 0 ? max_age->count() : 0);
  }
  return c;
}

std::string session_clear_cookie(std::string_view name) {
  return std::string(name) + "=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0";
}

}  // namespace airgate::access
