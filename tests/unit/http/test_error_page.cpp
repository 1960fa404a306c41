#include "http/rules/error_page.hpp"

#include <catch2/catch.hpp>

using namespace airgate::http::rules;
using airgate::core::Reason;

TEST_CASE("HTML error pages say what happened, what to do, and the request id", "[http][error_page]") {
  auto p = render_error(502, Reason::upstream_refused, "the upstream refused the connection", false, "rid-<42>");
  CHECK(p.content_type == "text/html; charset=utf-8");
  CHECK(p.body.find("<title>502 Bad Gateway</title>") != std::string::npos);
  CHECK(p.body.find("<h1>502 Bad Gateway</h1>") != std::string::npos);
  CHECK(p.body.find("<p>The upstream refused the connection.</p>") != std::string::npos);
  CHECK(p.body.find(std::string(what_to_do(502))) != std::string::npos);
  CHECK(p.body.find("rid-&lt;42&gt;") != std::string::npos);  // escaped: the id may come from the client
  CHECK(p.body.find("<script") == std::string::npos);
  // Without an id, no empty "request" line.
  CHECK(render_error(413, Reason::body_too_large, "too big", false).body.find("request <code>") == std::string::npos);
  CHECK(render_error(413, Reason::body_too_large, "too big", false).body.find("smaller file") != std::string::npos);
}

TEST_CASE("JSON error bodies carry the request id", "[http][error_page]") {
  auto p = render_error(401, Reason::missing_credentials, "credentials needed", true, "abc");
  CHECK(p.content_type == "application/json");
  CHECK(
      p.body ==
      "{\"status\":401,\"error\":\"missing_credentials\",\"message\":\"credentials needed\",\"request_id\":\"abc\"}\n");
  CHECK(render_error(401, Reason::missing_credentials, "m", true).body.find("request_id") == std::string::npos);
}
