// The one look of every page airgate writes itself (the login page and the
// error pages): a self-contained HTML document with inline CSS, no script,
// no external asset, readable on a phone, light and dark.
#pragma once

#include <string>
#include <string_view>

namespace airgate::http::rules {

// Escapes & < > " ' for text and attribute values.
std::string html_escape(std::string_view s);

// A complete document: <title> is `title` (escaped); `body_html` is inserted
// as it is (the caller escapes what it puts in).
std::string html_page(std::string_view title, std::string_view body_html);

// Headers every airgate page goes out with: no caching, no framing
// (clickjacking), nothing loaded or run but the inline style.
constexpr std::string_view kPageCsp =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

}  // namespace airgate::http::rules
