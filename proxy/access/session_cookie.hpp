// The session cookie on the wire: finding it in `Cookie` request headers,
// removing it before the request goes upstream (every other cookie passes
// byte for byte), and the `Set-Cookie` values that issue and clear it.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::access {

// The value of cookie `name` in one `Cookie` header ("a=1; name=v; b=2"),
// nullopt when absent. Pairs are separated by ";" and optional spaces (RFC
// 6265 §5.4; browsers send "; "). The first occurrence wins, as in browsers'
// own order (most specific path first).
std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name);

// The header without any `name=...` pair; the other pairs keep their bytes
// and order, joined by "; ". Empty when nothing else is left (the caller
// drops the header). `removed` (optional) is set when a pair was removed.
std::string remove_cookie(std::string_view header, std::string_view name, bool* removed = nullptr);

// `Set-Cookie` values. `__Host-` cookies must be Secure, Path=/ and carry no
// Domain (RFC 6265bis §4.1.3.2): the browser then refuses any attempt by a
// sibling subdomain or a plain-HTTP page to set or shadow them.
// Without `max_age` the cookie ends when the browser closes (what closing the
// browser did to a Basic login); the session's own ttl and idle limit apply
// either way.
std::string session_set_cookie(std::string_view name, std::string_view value,
                               std::optional<std::chrono::seconds> max_age = std::nullopt,
                               std::string_view same_site = "Lax");
std::string session_clear_cookie(std::string_view name);

}  // namespace airgate::access
