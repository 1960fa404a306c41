#include "http/rules/h2_request.hpp"

#include <catch2/catch.hpp>

#include <limits>
#include <string>
#include <vector>

using namespace airgate::http::rules;
using namespace std::literals;

namespace {

using Fields = std::vector<H2Field>;
constexpr std::size_t kLimit = 64 * 1024;

H2Translation run(const Fields& f, bool connect = false) { return translate_h2_request(f, connect, kLimit); }

// A good GET as curl sends it; the tables change one thing in it.
Fields good() {
  return {{":method", "GET"}, {":scheme", "https"}, {":path", "/api/v1/health?x=1"}, {":authority", "example.com"}};
}

Fields plus(Fields f, std::initializer_list<H2Field> more) {
  f.insert(f.end(), more);
  return f;
}

// The good request with one more field.
Fields good_with(std::string_view name, std::string_view value) { return plus(good(), {{name, value}}); }

// Each bad list is refused as malformed, and the reason names `where`.
struct Bad {
  Fields fields;
  std::string_view where;
};

void check_refused(const std::vector<Bad>& table) {
  for (const auto& b : table) {
    const auto t = run(b.fields);
    INFO("expected a refusal naming " << b.where << ", got: " << t.what);
    CHECK(t.refusal == H2Refusal::protocol_error);
    CHECK(t.what.find(b.where) != std::string::npos);
    CHECK(t.request.fields.empty());
    CHECK(t.request.method.empty());
  }
}

}  // namespace

TEST_CASE("a good h2 request is translated exactly", "[h2]") {
  const auto t = run(plus(good(), {{"user-agent", "curl/8.5.0"},
                                   {"accept", "*/*"},
                                   {"content-length", "5"},
                                   {"te", "Trailers"},
                                   {"x-empty", ""},
                                   {"x-utf8", "caf\xc3\xa9"}}));
  REQUIRE(t.ok());
  CHECK(t.what.empty());
  const auto& r = t.request;
  CHECK(r.method == "GET");
  CHECK(r.scheme == "https");
  CHECK(r.target == "/api/v1/health?x=1");
  CHECK(r.authority == "example.com");
  CHECK(r.content_length == 5u);
  CHECK(r.te_trailers);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"user-agent", "curl/8.5.0"}, {"accept", "*/*"}, {"content-length", "5"},
      {"te", "Trailers"},           {"x-empty", ""},   {"x-utf8", "caf\xc3\xa9"}};
  CHECK(r.fields == expected);
  CHECK(host_for_upstream(r) == "example.com");
}

TEST_CASE("h2 cookies are joined byte-exact at the first one's place", "[h2]") {
  auto t = run(plus(good(), {{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}, {"cookie", " c=3;"}}));
  // " c=3;" has leading whitespace: refused, so the join is checked apart.
  CHECK(t.refusal == H2Refusal::protocol_error);
  t = run(plus(good(), {{"cookie", "a=1"}, {"accept", "*/*"}, {"cookie", "b=2"}, {"cookie", "c=3;d"}}));
  REQUIRE(t.ok());
  const std::vector<std::pair<std::string, std::string>> joined = {{"cookie", "a=1; b=2; c=3;d"}, {"accept", "*/*"}};
  CHECK(t.request.fields == joined);
  t = run(plus(good(), {{"x-a", "1"}, {"cookie", "session=v1.abc; theme=dark"}}));
  REQUIRE(t.ok());
  const std::vector<std::pair<std::string, std::string>> single = {{"x-a", "1"},
                                                                   {"cookie", "session=v1.abc; theme=dark"}};
  CHECK(t.request.fields == single);
  t = run(plus(good(), {{"cookie", "a=1"}, {"cookie", "b=2"}}));
  REQUIRE(t.ok());
  REQUIRE(t.request.fields.size() == 1);
  CHECK(t.request.fields[0].second == "a=1; b=2");
  // Empty crumbs add nothing (found by fuzz_h2_request: "a=1; " would end in
  // whitespace); a single empty cookie stays as sent.
  for (const auto& [crumbs, expected] : std::vector<std::pair<Fields, std::string_view>>{
           {{{"cookie", "a=1"}, {"cookie", ""}, {"cookie", "b=2"}}, "a=1; b=2"},
           {{{"cookie", "a=1"}, {"cookie", ""}}, "a=1"},
           {{{"cookie", ""}, {"cookie", "b=2"}}, "b=2"},
           {{{"cookie", ""}, {"cookie", ""}}, ""},
           {{{"cookie", ""}}, ""},
       }) {
    Fields f = good();
    f.insert(f.end(), crumbs.begin(), crumbs.end());
    t = run(f);
    REQUIRE(t.ok());
    REQUIRE(t.request.fields.size() == 1);
    CHECK(t.request.fields[0].second == expected);
  }
}

TEST_CASE("h2 pseudo-headers: once each, before the fields, known ones only", "[h2]") {
  check_refused({
      {{{":method", "GET"}, {":scheme", "https"}, {"accept", "*/*"}, {":path", "/"}, {":authority", "a"}},
       "pseudo-header \":path\" after regular fields"},
      {good_with(":method", "POST"), "duplicate pseudo-header :method"},
      {good_with(":path", "/other"), "duplicate pseudo-header :path"},
      {{{":method", "GET"}, {":scheme", "https"}, {":scheme", "http"}, {":path", "/"}, {":authority", "a"}},
       "duplicate pseudo-header :scheme"},
      {{{":authority", "a"}, {":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", "b"}},
       "duplicate pseudo-header :authority"},
      {plus({{":status", "200"}}, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}), ":status"},
      {plus({{":protocol", "websocket"}}, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}), ":protocol"},
      {plus({{":foo", "x"}}, {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}),
       "unknown pseudo-header \":foo\""},
      {{{":scheme", "https"}, {":path", "/"}, {":authority", "a"}}, "pseudo-header :method is missing"},
      {{{":method", "GET"}, {":path", "/"}, {":authority", "a"}}, "pseudo-header :scheme is missing"},
      {{{":method", "GET"}, {":scheme", "https"}, {":authority", "a"}}, "pseudo-header :path is missing"},
      {{}, "pseudo-header :method is missing"},
  });
  // The order among the pseudo-headers does not matter.
  CHECK(run({{":path", "/"}, {":authority", "a"}, {":scheme", "https"}, {":method", "GET"}}).ok());
}

TEST_CASE("h2 :method, :scheme and CONNECT", "[h2]") {
  check_refused({
      {{{":method", "GE T"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}, ":method"},
      {{{":method", ""}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}, ":method"},
      {{{":method", "G(T"}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}}, ":method"},
      {{{":method", "CONNECT"}, {":authority", "a:443"}}, "CONNECT"},
      {{{":method", "GET"}, {":scheme", "ht tp"}, {":path", "/"}, {":authority", "a"}}, ":scheme"},
      {{{":method", "GET"}, {":scheme", "1http"}, {":path", "/"}, {":authority", "a"}}, ":scheme"},
      {{{":method", "GET"}, {":scheme", ""}, {":path", "/"}, {":authority", "a"}}, ":scheme"},
  });
  const auto t = run(good(), true);
  CHECK(t.refusal == H2Refusal::protocol_error);
  CHECK(t.what.find("CONNECT") != std::string::npos);
  for (auto m : {"POST"sv, "PUT"sv, "DELETE"sv, "PATCH"sv, "HEAD"sv, "X-CUSTOM.1~"sv}) {
    Fields f = good();
    f[0].second = m;
    const auto ok = run(f);
    REQUIRE(ok.ok());
    CHECK(ok.request.method == m);
  }
}

TEST_CASE("h2 :path is origin-form, or * with OPTIONS", "[h2]") {
  auto with_path = [](std::string_view method, std::string_view path) {
    return Fields{{":method", method}, {":scheme", "https"}, {":path", path}, {":authority", "a"}};
  };
  check_refused({
      {with_path("GET", ""), "pseudo-header :path is empty"},
      {with_path("GET", "*"), ":path: \"*\" is only allowed with OPTIONS"},
      {with_path("GET", "https://evil.example/"), ":path: \"https://evil.example/\" does not start with /"},
      {with_path("GET", "a/b"), ":path"},
      {with_path("GET", "/a b"), ":path: \"/a b\" contains a space"},
      {with_path("GET", "/a\tb"), ":path"},
      {with_path("GET", "/a\x01"), ":path"},
      {with_path("GET", "/a\x7f"), ":path"},
      {with_path("GET", "/a\r\nX-Smuggled: 1"), "pseudo-header \":path\": value contains CR, LF or NUL"},
  });
  for (auto p : {"/"sv, "/a?b=c&d"sv, "//double"sv, "/%2e%2e/x"sv}) {
    const auto t = run(with_path("GET", p));
    REQUIRE(t.ok());
    CHECK(t.request.target == p);
  }
  const auto t = run(with_path("OPTIONS", "*"));
  REQUIRE(t.ok());
  CHECK(t.request.target == "*");
}

TEST_CASE("h2 :authority and host", "[h2]") {
  auto with_authority = [](std::string_view a) {
    return Fields{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":authority", a}};
  };
  check_refused({
      {with_authority("user:pass@example.com"), ":authority: \"user:pass@example.com\" contains userinfo"},
      {with_authority("@example.com"), ":authority"},
      {with_authority(""), ":authority: \"\" is not a host[:port]"},
      {with_authority("a b"), ":authority"},
      {with_authority("a/b"), ":authority"},
      {with_authority("a:1:2"), ":authority"},
      {with_authority("a:x"), ":authority"},
      {good_with("host", "evil.example"), "field host \"evil.example\" differs from pseudo-header :authority"},
      {good_with("host", "EXAMPLE.com"), "field host"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}}, "neither pseudo-header :authority nor field host"},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", ""}}, "field host: \"\""},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "a@b"}}, "field host: \"a@b\""},
      {{{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"host", "a"}, {"host", "a"}},
       "duplicate field host"},
  });
  for (auto a : {"example.com:8443"sv, "127.0.0.1"sv, "[::1]:443"sv, "xn--caf-dma.example"sv}) {
    const auto t = run(with_authority(a));
    REQUIRE(t.ok());
    CHECK(t.request.authority == a);
    CHECK(host_for_upstream(t.request) == a);
  }
  // The same host twice is fine; it stays in the fields as received.
  auto t = run(good_with("host", "example.com"));
  REQUIRE(t.ok());
  CHECK(host_for_upstream(t.request) == "example.com");
  // Without :authority, host is the upstream's Host.
  t = run({{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"accept", "*/*"}, {"host", "h.example:8443"}});
  REQUIRE(t.ok());
  CHECK(t.request.authority.empty());
  CHECK(host_for_upstream(t.request) == "h.example:8443");
}

TEST_CASE("h2 field names: lowercase tchar, no CR LF NUL", "[h2]") {
  check_refused({
      {good_with("Accept", "*/*"), "field name \"Accept\" has uppercase letters"},
      {good_with("x-Foo", "1"), "field name \"x-Foo\" has uppercase"},
      {good_with("", "1"), "empty field name"},
      {good_with("x foo", "1"), "field name \"x foo\" has a character that is not a tchar"},
      {good_with("x:foo", "1"), "field name \"x:foo\""},
      {good_with("x\"y", "1"), "field name \"x\\x22y\""},
      {good_with("x-\xc3\xa9", "1"), "field name \"x-\\xc3\\xa9\""},
      {good_with("x\r\nfoo", "1"), "field name \"x\\x0d\\x0afoo\" contains CR, LF or NUL"},
      {good_with("x\nfoo", "1"), "contains CR, LF or NUL"},
      {good_with("x\0foo"sv, "1"), "field name \"x\\x00foo\" contains CR, LF or NUL"},
  });
}

TEST_CASE("h2 field values: no CR LF NUL, no outer whitespace", "[h2]") {
  check_refused({
      {good_with("x-a", "1\r\nx-smuggled: 1"), "field \"x-a\": value contains CR, LF or NUL"},
      {good_with("x-a", "1\r"), "field \"x-a\": value contains CR"},
      {good_with("x-a", "\n1"), "field \"x-a\""},
      {good_with("x-a", "1\0"sv), "field \"x-a\": value contains CR, LF or NUL"},
      {good_with("x-a", " 1"), "field \"x-a\": value has leading or trailing whitespace"},
      {good_with("x-a", "1 "), "field \"x-a\": value has leading"},
      {good_with("x-a", "\t1"), "field \"x-a\""},
      {good_with("x-a", "1\t"), "field \"x-a\""},
      {good_with("x-a", " "), "field \"x-a\""},
      {{{":method", "GET "}, {":scheme", "https"}, {":path", "/"}, {":authority", "a"}},
       "pseudo-header \":method\": value has leading"},
  });
  // Inner whitespace and other octets are kept byte-exact.
  const auto t = run(plus(good(), {{"x-a", "1 \t 2"}, {"x-b", "\x01\x7f\xff"}}));
  REQUIRE(t.ok());
  CHECK(t.request.fields[0].second == "1 \t 2");
  CHECK(t.request.fields[1].second == "\x01\x7f\xff");
}

TEST_CASE("h2 connection-specific fields are refused", "[h2]") {
  check_refused({
      {good_with("connection", "close"), "connection-specific field connection"},
      {good_with("keep-alive", "timeout=5"), "connection-specific field keep-alive"},
      {good_with("proxy-connection", "keep-alive"), "connection-specific field proxy-connection"},
      {good_with("transfer-encoding", "chunked"), "connection-specific field transfer-encoding"},
      {good_with("upgrade", "websocket"), "connection-specific field upgrade"},
      {good_with("http2-settings", "AAMAAABkAAQAoAAA"), "field http2-settings"},
      {good_with("te", "gzip"), "field te: only \"trailers\" is allowed, not \"gzip\""},
      {good_with("te", "trailers, gzip"), "field te"},
      {good_with("te", ""), "field te"},
  });
  for (auto v : {"trailers"sv, "TRAILERS"sv, "Trailers"sv}) {
    const auto t = run(good_with("te", v));
    REQUIRE(t.ok());
    CHECK(t.request.te_trailers);
  }
  CHECK_FALSE(run(good()).request.te_trailers);
}

TEST_CASE("h2 content-length: digits, all equal, no overflow", "[h2]") {
  check_refused({
      {good_with("content-length", ""), "field content-length: \"\" is not a number"},
      {good_with("content-length", "5, 5"), "field content-length: \"5, 5\" is not a number"},
      {good_with("content-length", "+5"), "field content-length"},
      {good_with("content-length", "-1"), "field content-length"},
      {good_with("content-length", "0x10"), "field content-length"},
      {plus(good(), {{"content-length", "5"}, {"content-length", "6"}}),
       "field content-length: \"6\" differs from the earlier \"5\""},
      {plus(good(), {{"content-length", "5"}, {"content-length", "05"}}), "field content-length"},
      {good_with("content-length", "18446744073709551616"),
       "field content-length: \"18446744073709551616\" is too large"},
      {good_with("content-length", "99999999999999999999999"), "is too large"},
  });
  auto t = run(good_with("content-length", "18446744073709551615"));
  REQUIRE(t.ok());
  CHECK(t.request.content_length == std::numeric_limits<std::uint64_t>::max());
  t = run(plus(good(), {{"content-length", "7"}, {"x-a", "1"}, {"content-length", "7"}}));
  REQUIRE(t.ok());
  CHECK(t.request.content_length == 7u);
  t = run(good_with("content-length", "0"));
  REQUIRE(t.ok());
  CHECK(t.request.content_length == 0u);
  CHECK_FALSE(run(good()).request.content_length);
}

TEST_CASE("h2 header list size is counted as RFC 7541 does", "[h2]") {
  const Fields f = good_with("x-a", "12345");
  std::size_t size = 0;
  for (const auto& [n, v] : f) size += n.size() + v.size() + 32;
  CHECK(translate_h2_request(f, false, size).ok());
  const auto t = translate_h2_request(f, false, size - 1);
  CHECK(t.refusal == H2Refusal::header_list_too_large);
  CHECK(t.what.find("at field \"x-a\"") != std::string::npos);
  // The size wins over any other problem in the list.
  const auto both = translate_h2_request(plus(f, {{"connection", "close"}}), false, size);
  CHECK(both.refusal == H2Refusal::header_list_too_large);
}

TEST_CASE("h2 DATA must add up to content-length", "[h2]") {
  ContentLengthCheck exact(10);
  CHECK(exact.on_data(4));
  CHECK(exact.on_data(0));
  CHECK_FALSE(exact.on_end());
  CHECK(exact.on_data(6));
  CHECK(exact.on_end());
  CHECK_FALSE(exact.on_data(1));
  CHECK_FALSE(exact.on_end());

  ContentLengthCheck zero(0);
  CHECK(zero.on_end());
  CHECK_FALSE(zero.on_data(1));

  ContentLengthCheck huge(std::numeric_limits<std::uint64_t>::max());
  CHECK(huge.on_data(std::numeric_limits<std::size_t>::max()));
  CHECK(huge.on_end());
  CHECK_FALSE(huge.on_data(1));
  CHECK_FALSE(huge.on_end());

  ContentLengthCheck big(5);
  CHECK_FALSE(big.on_data(std::numeric_limits<std::size_t>::max()));
  CHECK_FALSE(big.on_end());

  ContentLengthCheck none(std::nullopt);
  CHECK(none.on_data(1u << 30));
  CHECK(none.on_end());
}
