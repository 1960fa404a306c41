// Small readers of Beast's field containers shared by the session, the head
// writers and the request head parser.
#pragma once

#include <boost/beast/http/fields.hpp>

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

// The first field of that name, or empty.
template <class Name>
std::string_view field_or_empty(const bhttp::fields& f, Name name) {
  auto it = f.find(name);
  return it == f.end() ? std::string_view{} : std::string_view(it->value());
}

// All fields of one name joined with ", " (RFC 9110 §5.3).
template <class Name>
std::string join_fields(const bhttp::fields& f, Name name) {
  std::string out;
  auto [first, last] = f.equal_range(name);
  for (auto it = first; it != last; ++it) {
    if (!out.empty()) out += ", ";
    out.append(it->value());
  }
  return out;
}

// The value of cookie `name` in the first Cookie field that has it (a
// browser may split cookies over several fields), or nullopt.
std::optional<std::string_view> request_cookie(const bhttp::fields& f, std::string_view name);

}  // namespace airgate::http
