// The path normaliser: every spelling named in issue 16, each with its
// canonical form or its refusal; and the fast canonical check agrees.
#include "core/path.hpp"

#include <catch2/catch.hpp>

#include <string>

using airgate::core::normalize_path;
using airgate::core::path_is_canonical;

namespace {
struct Case {
  const char* in;
  const char* out;  // nullptr: refused
};

const Case kCases[] = {
    // already canonical
    {"/", "/"},
    {"/api/v1/sources/create", "/api/v1/sources/create"},
    {"/api/v1/sources/", "/api/v1/sources/"},
    {"/a/%20b", "/a/%20b"},
    {"/a/%25", "/a/%25"},
    {"/a/b.c/...", "/a/b.c/..."},
    {"/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="},
    // repeated slashes
    {"//api/v1/sources/create", "/api/v1/sources/create"},
    {"/api//v1///sources/create", "/api/v1/sources/create"},
    {"/api/v1/sources//", "/api/v1/sources/"},
    {"//", "/"},
    // dot segments
    {"/api/v1/./sources/create", "/api/v1/sources/create"},
    {"/api/v1/x/../sources/create", "/api/v1/sources/create"},
    {"/api/v1/sources/.", "/api/v1/sources/"},
    {"/api/v1/sources/x/..", "/api/v1/sources/"},
    {"/.", "/"},
    {"/a/..", "/"},
    {"/./.././a", nullptr},
    // unreserved escapes decoded, including spelled dot segments
    {"/api/v1/%73ources/create", "/api/v1/sources/create"},
    {"/api/v1/%53ources/create", "/api/v1/Sources/create"},
    {"/api/v1/sources/%63reate", "/api/v1/sources/create"},
    {"/api/%2e%2e/api/v1/sources/create", "/api/v1/sources/create"},
    {"/api/x/%2e%2e/v1/sources/create", "/api/v1/sources/create"},
    {"/api/v1/%2E/sources/create", "/api/v1/sources/create"},
    {"/api/v1/.%2e/v1/sources/create", "/api/v1/sources/create"},
    {"/%7euser/%2D%5F", "/~user/-_"},
    // other escapes kept, hex upper-cased
    {"/a/%3f", "/a/%3F"},
    {"/a/%c3%a9", "/a/%C3%A9"},
    {"/a/%2B", "/a/%2B"},
    {"/a/%e2%82%ac/%F0%9F%98%80", "/a/%E2%82%AC/%F0%9F%98%80"},  // UTF-8 escapes kept
    {"/a/%C3%A9%25", "/a/%C3%A9%25"},
    // case is kept: a case variant is a different path
    {"/API/V1/SOURCES/create", "/API/V1/SOURCES/create"},
    // refused
    {"", nullptr},
    {"*", nullptr},
    {"api/v1/sources", nullptr},
    {"http://example.com/api", nullptr},
    {"/api/v1%2fsources/create", nullptr},
    {"/api/v1%2Fsources/create", nullptr},
    {"/api/v1%5csources/create", nullptr},
    {"/api/v1%5Csources/create", nullptr},
    {"/api/v1\\sources/create", nullptr},
    {"/api/v1/sources%00/create", nullptr},
    {"/api/v1/sources;x/create", nullptr},
    {"/api/v1/sources;/create", nullptr},
    {"/api/v1/sources%3bx/create", nullptr},
    {"/api/v1/sources%3B/create", nullptr},
    {"/..", nullptr},
    {"/../api", nullptr},
    {"/a/../../b", nullptr},
    {"/%2e%2e/a", nullptr},
    {"/a%", nullptr},
    {"/a%4", nullptr},
    {"/a%zz", nullptr},
    {"/a%g1", nullptr},
    {"/a%%41", nullptr},
    {"/a%u0041", nullptr},
    // escaped bytes that are not UTF-8: overlong ("%C0%AE" is an old spelling of "."), cut short, out of range
    {"/api/%c0%ae%c0%ae/api/v1/sources/create", nullptr},
    {"/a/%C0%AF", nullptr},
    {"/a/%E0%80%AE", nullptr},
    {"/a/%F0%80%80%AE", nullptr},
    {"/a/%ED%A0%80", nullptr},
    {"/a/%F4%90%80%80", nullptr},
    {"/a/%80", nullptr},
    {"/a/%FF", nullptr},
    {"/a/%C3", nullptr},
    {"/a/%C3/b", nullptr},
    {"/a/%C3x", nullptr},
    {"/a/%E2%82", nullptr},
    {"/a/%C3%41", nullptr},
    {"/a b", nullptr},
    {"/a\tb", nullptr},
    {"/a\x7f", nullptr},
    {"/caf\xc3\xa9", nullptr},
};
}  // namespace

TEST_CASE("path normaliser: the table of spellings", "[path]") {
  for (const auto& c : kCases) {
    INFO("input: " << c.in);
    const auto r = normalize_path(c.in);
    if (!c.out) {
      CHECK_FALSE(r.ok);
      CHECK_FALSE(r.why.empty());
      CHECK_FALSE(path_is_canonical(c.in));
      continue;
    }
    REQUIRE(r.ok);
    CHECK(r.path == c.out);
    CHECK(path_is_canonical(r.path));
    CHECK(path_is_canonical(c.in) == (r.path == c.in));
    const auto again = normalize_path(r.path);
    REQUIRE(again.ok);
    CHECK(again.path == r.path);
  }
}

TEST_CASE("path normaliser: NUL inside the string is refused", "[path]") {
  const std::string with_nul("/a\0b", 4);
  CHECK_FALSE(normalize_path(with_nul).ok);
  CHECK_FALSE(path_is_canonical(with_nul));
}

TEST_CASE("path normaliser: refusals say why", "[path]") {
  CHECK(normalize_path("/a%2fb").why == "encoded \"/\" (%2F) in path");
  CHECK(normalize_path("/a%5Cb").why == "encoded \"\\\" (%5C) in path");
  CHECK(normalize_path("/a;b").why == "\";\" (path parameters) in path");
  CHECK(normalize_path("/../a").why == "\"..\" above the root of the path");
  CHECK(normalize_path("/a%4").why == "truncated percent-escape in path");
  CHECK(normalize_path("/a%4x").why == "invalid percent-escape in path");
  CHECK(normalize_path("/a%C0%AE").why ==
        "percent-escapes that are not UTF-8 (overlong, cut short or out of range) in path");
}
