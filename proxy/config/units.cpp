// Durations and sizes as written in the config (design §2).
#include "config/units.hpp"

#include "core/text.hpp"

#include <cctype>
#include <limits>

namespace airgate::config {
namespace {

void set_error(std::string* error, std::string why) {
  if (error) *error = std::move(why);
}

// Splits "<digits>[ ]<unit>" and parses the digits. `what` is "duration" or
// "size" for messages. Returns nullopt (with error) on bad input.
std::optional<std::uint64_t> split_number(std::string_view text, std::string_view what, std::string_view* unit,
                                          std::string* error) {
  text = core::trim(text, core::kAsciiSpace);
  if (text.empty()) {
    set_error(error, "empty value");
    return std::nullopt;
  }
  if (text.front() == '-') {
    set_error(error, "negative " + std::string(what) + "s are not allowed");
    return std::nullopt;
  }
  std::size_t i = 0;
  std::uint64_t value = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    const std::uint64_t digit = static_cast<std::uint64_t>(text[i] - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      set_error(error, "number too large");
      return std::nullopt;
    }
    value = value * 10 + digit;
    ++i;
  }
  if (i == 0) {
    set_error(error, "does not start with a number");
    return std::nullopt;
  }
  if (i < text.size() && (text[i] == '.' || text[i] == ',')) {
    set_error(error, "fractions are not allowed; use a smaller unit");
    return std::nullopt;
  }
  std::string_view rest = text.substr(i);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);  // "64 KiB"
  *unit = rest;
  return value;
}

std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t max) {
  if (a != 0 && b > max / a) return std::nullopt;
  return a * b;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* error) {
  std::string_view unit;
  auto value = split_number(text, "duration", &unit, error);
  if (!value) return std::nullopt;
  std::uint64_t factor = 0;
  if (unit.empty() || unit == "s")
    factor = 1000;
  else if (unit == "ms")
    factor = 1;
  else if (unit == "m")
    factor = 60ull * 1000;
  else if (unit == "h")
    factor = 3600ull * 1000;
  else {
    set_error(error, "unknown unit \"" + std::string(unit) + "\"; use ms, s, m or h");
    return std::nullopt;
  }
  const auto max = static_cast<std::uint64_t>(std::numeric_limits<Duration::rep>::max());
  auto ms = checked_mul(*value, factor, max);
  if (!ms) {
    set_error(error, "number too large");
    return std::nullopt;
  }
  return Duration(static_cast<Duration::rep>(*ms));
}

std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error) {
  std::string_view unit;
  auto value = split_number(text, "size", &unit, error);
  if (!value) return std::nullopt;
  std::uint64_t factor = 0;
  if (unit.empty())
    factor = 1;
  else if (unit == "k" || unit == "K" || unit == "KiB")
    factor = 1ull << 10;
  else if (unit == "m" || unit == "M" || unit == "MiB")
    factor = 1ull << 20;
  else if (unit == "g" || unit == "G" || unit == "GiB")
    factor = 1ull << 30;
  else {
    set_error(error,
              "unknown unit \"" + std::string(unit) + "\"; use k, K, KiB, m, M, MiB, g, G or GiB (binary: 1K = 1024)");
    return std::nullopt;
  }
  auto bytes = checked_mul(*value, factor, std::numeric_limits<std::uint64_t>::max());
  if (!bytes) {
    set_error(error, "number too large");
    return std::nullopt;
  }
  return *bytes;
}

std::string format_size(std::uint64_t bytes) {
  constexpr std::uint64_t KiB = 1ull << 10, MiB = 1ull << 20, GiB = 1ull << 30;
  if (bytes != 0) {
    if (bytes % GiB == 0) return std::to_string(bytes / GiB) + " GiB";
    if (bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
    if (bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  }
  return std::to_string(bytes) + " B";
}

std::string format_duration(Duration d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  return std::to_string(ms) + " ms";
}

}  // namespace airgate::config
