// Local replies' bytes (http/reply.hpp) and the failure words.
#include "http/reply.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace airgate::http;
using airgate::core::Reason;

TEST_CASE("local reply: status line, fields, page; HEAD gets the headers only", "[reply]") {
  const Failure f = fail(Reason::body_too_large, "request body larger than 1 KiB");
  ExtraFields extra;
  extra.emplace_back(bhttp::field::retry_after, "1");
  const std::string hsts = "max-age=60";
  ReplyOptions options;
  options.keep_alive = false;
  options.hsts = &hsts;
  options.request_id = "rid";
  const auto full = render_reply(f, extra, options);
  CHECK(full.bytes.rfind("HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/html", 0) == 0);
  const std::string head = full.bytes.substr(0, full.head_size);
  CHECK(head.find("\r\nCache-Control: no-store\r\n") != std::string::npos);
  CHECK(head.find("\r\nRetry-After: 1\r\n") != std::string::npos);
  CHECK(head.find("\r\nStrict-Transport-Security: max-age=60\r\n") != std::string::npos);
  CHECK(head.find("\r\nX-Request-Id: rid\r\n") != std::string::npos);
  CHECK(head.find("\r\nConnection: close\r\n") != std::string::npos);
  const std::string page = full.bytes.substr(full.head_size);
  CHECK(head.find("\r\nContent-Length: " + std::to_string(page.size()) + "\r\n") != std::string::npos);
  CHECK(page.find("Request body larger than 1 KiB.") != std::string::npos);
  CHECK(page.find("<code>rid</code>") != std::string::npos);
  CHECK(head.find("\r\nContent-Security-Policy: default-src 'none'; ") != std::string::npos);

  options.head_request = true;
  options.keep_alive = true;
  options.json = true;
  const auto headers_only = render_reply(f, extra, options);
  CHECK(headers_only.bytes.size() == headers_only.head_size);
  CHECK(headers_only.bytes.find("Content-Type: application/json") != std::string::npos);
  CHECK(headers_only.bytes.find("Connection: close") == std::string::npos);
  CHECK(headers_only.bytes.find("Content-Security-Policy") == std::string::npos);
}

TEST_CASE("failure words name the limit that fired", "[reply]") {
  airgate::config::Upstream up;
  up.connect_timeout = std::chrono::seconds(7);
  const auto refused = connect_failure(airgate::upstream::ConnectFailure::refused, up);
  CHECK(refused.reason == Reason::upstream_refused);
  CHECK(refused.status == 502);
  const auto timeout = connect_failure(airgate::upstream::ConnectFailure::timeout, up);
  CHECK(timeout.reason == Reason::upstream_connect_timeout);
  CHECK(timeout.status == 504);
  CHECK(timeout.message == "upstream connect timeout (7 s) exceeded");
  airgate::config::Config cfg;
  const auto too_large = body_failure(airgate::upstream::RelayResult::too_large, cfg, up);
  CHECK(too_large.reason == Reason::body_too_large);
  CHECK(too_large.status == 413);
  CHECK(upstream_failure(Reason::upstream_closed, up).reason == Reason::upstream_closed);
  CHECK(upstream_failure(Reason::body_too_large, up).reason == Reason::upstream_bad_response);
}
