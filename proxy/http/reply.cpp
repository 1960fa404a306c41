#include "http/reply.hpp"

#include "config/units.hpp"
#include "http/fields.hpp"
#include "http/rules/error_page.hpp"
#include "http/rules/html.hpp"

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>

#include <ctime>

namespace airgate::http {

using core::Reason;
using upstream::RelayResult;

namespace {

std::string seconds_text(config::Duration d) { return config::format_duration(d); }

// "2026-12-02 17:40:12 UTC": when the page was made, for a user to quote.
std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return std::string(buf, n);
}

}  // namespace

Failure connect_failure(upstream::ConnectFailure f, const config::Upstream& up) {
  using F = upstream::ConnectFailure;
  switch (f) {
    case F::refused:
      return fail(Reason::upstream_refused, "the upstream refused the connection (is Airbyte running and listening?)");
    case F::timeout:
      return fail(Reason::upstream_connect_timeout,
                  "upstream connect timeout (" + seconds_text(up.connect_timeout) + ") exceeded");
    case F::resolve: return fail(Reason::upstream_resolve, "the upstream host name could not be resolved");
    case F::tls_handshake:
      return fail(Reason::upstream_tls,
                  "the TLS handshake with the upstream failed (certificate not trusted or not matching?)");
    default: return fail(Reason::upstream_unreachable, "the upstream could not be reached");
  }
}

Failure upstream_failure(Reason reason, const config::Upstream& up) {
  switch (reason) {
    case Reason::upstream_send_timeout:
      return fail(reason, "upstream send timeout (" + seconds_text(up.send_timeout) + ") exceeded");
    case Reason::upstream_write_failed:
      return fail(reason, "the upstream closed the connection while the request was sent");
    case Reason::upstream_read_timeout:
      return fail(reason, "upstream read timeout (" + seconds_text(up.read_timeout) + ") exceeded");
    case Reason::upstream_closed: return fail(reason, "the upstream closed the connection without sending a response");
    default: return fail(Reason::upstream_bad_response, "the upstream sent an invalid response");
  }
}

Failure body_failure(RelayResult result, const config::Config& cfg, const config::Upstream& up) {
  switch (result) {
    case RelayResult::too_large:
      return fail(Reason::body_too_large, "request body larger than " + config::format_size(cfg.limits.max_body_size));
    case RelayResult::client_timeout:
      return fail(Reason::client_body_timeout, "request body not received within client_body_timeout (" +
                                                   seconds_text(cfg.limits.client_body_timeout) + ")");
    case RelayResult::client_too_slow:
      return fail(Reason::client_body_too_slow, "request body arrived slower than client_body_min_rate (" +
                                                    config::format_size(cfg.limits.client_body_min_rate) +
                                                    " per second)");
    case RelayResult::client_error:
      return fail(Reason::client_body_error,
                  "the request body could not be read (malformed chunked encoding or connection closed)");
    case RelayResult::peer_timeout:
      return fail(Reason::upstream_send_timeout,
                  "upstream send timeout (" + seconds_text(up.send_timeout) + ") exceeded");
    default:
      return fail(Reason::upstream_write_failed, "the upstream closed the connection while the request body was sent");
  }
}

RenderedReply render_reply(const Failure& f, const ExtraFields& extra, const ReplyOptions& options) {
  rules::ErrorPage page;
  bool ours = true;
  if (!f.page.empty()) {
    page.content_type = "text/html; charset=utf-8";
    page.body = f.page;
  } else if (options.operator_page && !options.json) {
    page.content_type = "text/html; charset=utf-8";
    page.body = *options.operator_page;
    ours = false;
  } else {
    page = rules::render_error(f.status, f.reason, f.message, options.json, options.request_id, utc_now());
  }
  bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(f.status), 11};
  res.set(bhttp::field::content_type, page.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  // An HTML page of ours loads and runs nothing and is never framed.
  if (ours && page.content_type.starts_with("text/html")) res.set("Content-Security-Policy", rules::kPageCsp);
  for (auto& [name, value] : extra) res.insert(name, value);
  if (options.hsts) res.set(bhttp::field::strict_transport_security, *options.hsts);
  if (!options.request_id.empty()) res.set(kXRequestId, options.request_id);
  res.content_length(page.body.size());
  res.keep_alive(options.keep_alive);
  RenderedReply out;
  out.bytes.reserve(256 + page.body.size());
  out.bytes.append("HTTP/1.1 ").append(std::to_string(f.status)).append(" ").append(rules::status_text(f.status));
  out.bytes.append("\r\n");
  for (const auto& field : res) out.bytes.append(field.name_string()).append(": ").append(field.value()).append("\r\n");
  out.bytes.append("\r\n");
  out.head_size = out.bytes.size();
  if (!options.head_request) out.bytes.append(page.body);
  return out;
}

}  // namespace airgate::http
