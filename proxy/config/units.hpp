// Durations and sizes as written in the config (design §2).
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::config {

// "90" (seconds), "1500ms", "90s", "5m", "1h". nullopt on bad input; `error`
// then says why.
std::optional<Duration> parse_duration(std::string_view text, std::string* error = nullptr);

// "1024", "64k", "64K", "64KiB", "200m", "200M", "200MiB", "1g", "1G", "1GiB".
std::optional<std::uint64_t> parse_size(std::string_view text, std::string* error = nullptr);

// Human forms for messages: "200 MiB", "64 KiB", "3600 s", "1500 ms".
std::string format_size(std::uint64_t bytes);
std::string format_duration(Duration d);

}  // namespace airgate::config
