#include "http/rules/browser.hpp"
#include "http/rules/login_page.hpp"

#include <catch2/catch.hpp>

using namespace airgate::http::rules;

TEST_CASE("navigation and browser requests", "[http][browser]") {
  CHECK(is_navigation("GET", "navigate"));
  CHECK(is_navigation("HEAD", "navigate"));
  CHECK_FALSE(is_navigation("POST", "navigate"));
  CHECK_FALSE(is_navigation("GET", "cors"));
  CHECK_FALSE(is_navigation("GET", ""));
  CHECK(is_browser_request("cors"));
  CHECK_FALSE(is_browser_request(""));
  CHECK(is_browser_script("cors"));
  CHECK(is_browser_script("no-cors"));
  CHECK_FALSE(is_browser_script("navigate"));
  CHECK_FALSE(is_browser_script(""));
}

TEST_CASE("rd never becomes an open redirect", "[http][browser]") {
  // Allowed: same-origin paths with queries and fragments.
  for (const char* ok : {"/", "/workspaces/1", "/a?b=c&d=%2F", "/connections#tab", "/%2F%2Fevil.com"})
    CHECK(safe_redirect_target(ok) == ok);
  // Refused: anything a browser could resolve to another origin, or odd bytes.
  for (const char* bad : {"", "https://evil.com", "//evil.com", "/\\evil.com", "\\\\evil.com", "/\\/evil.com",
                          "evil.com", "javascript:alert(1)", "/a\\b", "/\t/evil.com", "/\n/evil.com", "/a b", "/\x7f",
                          " /x", "/.airgate/login", "/.airgate/login?rd=/", "/.airgate/logout"})
    CHECK(safe_redirect_target(bad) == "/");
  CHECK(safe_redirect_target("/" + std::string(kMaxRedirectTarget, 'a')) == "/");
  CHECK(safe_redirect_target("/" + std::string(kMaxRedirectTarget - 1, 'a')).size() == kMaxRedirectTarget);
}

TEST_CASE("login location carries the original target, encoded", "[http][browser]") {
  CHECK(login_location("/") == "/.airgate/login");
  CHECK(login_location("/w/1?x=a+b&y=ü") == "/.airgate/login?rd=%2Fw%2F1%3Fx%3Da%2Bb%26y%3D%C3%BC");
  CHECK(login_location("//evil.com") == "/.airgate/login");
  auto rd = query_value(login_location("/w/1?x=1&y=2"), "rd");
  REQUIRE(rd);
  CHECK(*rd == "/w/1?x=1&y=2");
}

TEST_CASE("form bodies decode strictly", "[http][browser]") {
  auto f = parse_form("username=al+ice&password=p%40ss%26w%3Drd&rd=%2Fx&&empty=&flag");
  REQUIRE(f);
  CHECK(form_value(*f, "username") == "al ice");
  CHECK(form_value(*f, "password") == "p@ss&w=rd");
  CHECK(form_value(*f, "rd") == "/x");
  CHECK(form_value(*f, "empty") == "");
  CHECK(form_value(*f, "flag") == "");
  CHECK_FALSE(form_value(*f, "missing"));
  CHECK(parse_form("")->empty());
  for (const char* bad : {"a=%", "a=%4", "a=%G0", "%zz=1", "a=%0"}) CHECK_FALSE(parse_form(bad));
  CHECK_FALSE(parse_form("a=1&b=2&c=3", 2));
  CHECK(parse_form("a=%00")->front().second == std::string(1, '\0'));
}

TEST_CASE("query values", "[http][browser]") {
  CHECK(query_value("/p?a=1&rd=%2Fx", "rd") == "/x");
  CHECK_FALSE(query_value("/p", "rd"));
  CHECK_FALSE(query_value("/p?ard=1", "rd"));
  CHECK_FALSE(query_value("/p?rd=%zz", "rd"));
}

TEST_CASE("the login page escapes everything it shows and helps password managers", "[http][browser]") {
  LoginPage p;
  p.realm = "Airbyte <prod>";
  p.rd = "/x?a=\"1\"";
  p.csrf = "tok";
  p.username = "<script>";
  p.message = "Wrong username or password.";
  p.request_id = "rid-1";
  const std::string html = render_login_page(p);
  CHECK(html.find("<title>Airbyte &lt;prod&gt;</title>") != std::string::npos);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("value=\"&lt;script&gt;\"") != std::string::npos);
  CHECK(html.find("name=\"rd\" value=\"/x?a=&quot;1&quot;\"") != std::string::npos);
  CHECK(html.find("autocomplete=\"username\"") != std::string::npos);
  CHECK(html.find("autocomplete=\"current-password\"") != std::string::npos);
  CHECK(html.find("method=\"post\" action=\"/.airgate/login\"") != std::string::npos);
  CHECK(html.find("role=\"alert\"") != std::string::npos);
  CHECK(html.find("rid-1") != std::string::npos);
  CHECK(html.find("<script") == std::string::npos);  // works without JavaScript; there is none
  CHECK(html.find("http") == std::string::npos);     // no external asset
}
