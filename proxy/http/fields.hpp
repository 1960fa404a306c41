// Field names airgate sets or reads, and the cookie reader of a parsed
// head's fields (HeadFields: first(), join() and count() are its own).
#pragma once

#include "http/head_fields.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace airgate::http {

namespace bhttp = boost::beast::http;

constexpr std::string_view kXRequestId = "X-Request-Id";
constexpr std::string_view kXForwardedFor = "X-Forwarded-For";
constexpr std::string_view kXForwardedProto = "X-Forwarded-Proto";
constexpr std::string_view kXForwardedHost = "X-Forwarded-Host";
constexpr std::string_view kSecFetchMode = "Sec-Fetch-Mode";
constexpr std::string_view kSecFetchSite = "Sec-Fetch-Site";

// The value of cookie `name` in the first Cookie field that has it (a
// browser may split cookies over several fields), or nullopt.
std::optional<std::string_view> request_cookie(const HeadFields& f, std::string_view name);

}  // namespace airgate::http
