// ASCII text helpers shared by the config loader, the access checks and the
// header rules. Locale-independent: only ASCII letters change case and only
// the characters named are trimmed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace airgate::core {

// HTTP optional whitespace (RFC 9110 OWS): space and horizontal tab.
inline constexpr std::string_view kOws = " \t";
// Every ASCII whitespace character (what std::isspace accepts in the C locale).
inline constexpr std::string_view kAsciiSpace = " \t\n\v\f\r";

// `s` without leading and trailing characters from `chars`.
constexpr std::string_view trim(std::string_view s, std::string_view chars = kOws) {
  const auto first = s.find_first_not_of(chars);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(chars) - first + 1);
}

constexpr char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` with ASCII letters in lower case.
std::string to_lower(std::string_view s);

// Equal ignoring ASCII case (not constant-time: for names, not secrets).
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (to_lower(a[i]) != to_lower(b[i])) return false;
  return true;
}

// Non-empty and only the digits 0-9.
constexpr bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// The pieces of `s` between the `sep` characters, empty ones included
// ("a,,b" -> "a", "", "b"; "" -> one empty piece).
std::vector<std::string_view> split(std::string_view s, char sep);

// RFC 9110 §5.6.2 tchar: a character allowed in a token (method, field name).
constexpr bool is_tchar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Any ASCII control character (0x00-0x1f, 0x7f).
constexpr bool has_control(std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

}  // namespace airgate::core
