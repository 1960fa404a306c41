#include "http/head_writer.hpp"

#include "access/credentials.hpp"
#include "access/session_cookie.hpp"
#include "access/session_token.hpp"

#include "http/fields.hpp"
#include "http/rules/headers.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/status.hpp>

#include <vector>

namespace airgate::http {

namespace beast = boost::beast;

namespace {

// The field names listed in every Connection field (RFC 9110 §7.6.1).
template <bool isRequest>
std::vector<std::string> connection_named(const bhttp::header<isRequest>& h) {
  std::vector<std::string> named;
  for (auto it = h.find(bhttp::field::connection); it != h.end() && it->name() == bhttp::field::connection; ++it)
    rules::connection_tokens(it->value(), named);
  return named;
}

}  // namespace

std::string upstream_request_head(const bhttp::request_header<>& req, const RequestFraming& framing,
                                  const ForwardedBy& by) {
  const std::string_view host = field_or_empty(req, bhttp::field::host);
  const std::vector<std::string> named = connection_named(req);
  const bool replace_host = !host.empty();
  const bool replace_id = !by.request_id.empty();
  std::string xff;
  std::string out;
  out.reserve(512);
  out.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
  for (const auto& f : req) {
    const auto name = f.name_string();
    if (f.name() == bhttp::field::expect || f.name() == bhttp::field::content_length) continue;
    if (beast::iequals(name, kXForwardedFor)) {
      if (!xff.empty()) xff += ", ";
      xff.append(f.value());
      continue;
    }
    if (beast::iequals(name, kXForwardedProto) || beast::iequals(name, "X-Real-IP") ||
        (replace_host && beast::iequals(name, kXForwardedHost)) || (replace_id && beast::iequals(name, kXRequestId)) ||
        rules::must_strip(name, named))
      continue;
    if (f.name() == bhttp::field::cookie && f.value().find(access::kSessionCookie) != std::string_view::npos) {
      const std::string rest = access::remove_cookie(f.value(), access::kSessionCookie);
      if (!rest.empty()) out.append(name).append(": ").append(rest).append("\r\n");
      continue;
    }
    out.append(name).append(": ").append(f.value()).append("\r\n");
  }
  out.append(kXForwardedFor).append(": ").append(rules::append_forwarded_for(xff, by.peer)).append("\r\n");
  out.append(kXForwardedProto).append(by.tls ? ": https\r\n" : ": http\r\n");
  if (replace_host) out.append(kXForwardedHost).append(": ").append(host).append("\r\n");
  out.append("X-Real-IP: ").append(by.client).append("\r\n");
  if (replace_id) out.append(kXRequestId).append(": ").append(by.request_id).append("\r\n");
  if (framing.content_length)
    out.append("Content-Length: ").append(std::to_string(*framing.content_length)).append("\r\n");
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (framing.upgrade)
    out.append("Connection: upgrade\r\nUpgrade: ").append(field_or_empty(req, bhttp::field::upgrade)).append("\r\n");
  out.append("\r\n");
  return out;
}

std::string client_response_head(const bhttp::response_header<>& res, const ResponseFraming& framing,
                                 const std::string* hsts, std::string_view request_id, std::string_view set_cookie,
                                 bool strip_basic_challenge) {
  const bool replace_id = !request_id.empty();
  const std::vector<std::string> named = connection_named(res);
  std::string out;
  out.reserve(512);
  auto reason = res.reason();
  if (reason.empty()) reason = bhttp::obsolete_reason(res.result());
  out.append("HTTP/1.1 ").append(std::to_string(res.result_int())).append(" ").append(reason).append("\r\n");
  for (const auto& f : res) {
    if (hsts && f.name() == bhttp::field::strict_transport_security) continue;
    const auto name = f.name_string();
    if ((replace_id && beast::iequals(name, kXRequestId)) || rules::must_strip(name, named)) continue;
    if (strip_basic_challenge && f.name() == bhttp::field::www_authenticate && access::is_basic_scheme(f.value()))
      continue;
    out.append(name).append(": ").append(f.value()).append("\r\n");
  }
  if (!set_cookie.empty()) out.append("Set-Cookie: ").append(set_cookie).append("\r\n");
  if (hsts) out.append("Strict-Transport-Security: ").append(*hsts).append("\r\n");
  if (replace_id) out.append(kXRequestId).append(": ").append(request_id).append("\r\n");
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (framing.tunnel)
    out.append("Connection: upgrade\r\nUpgrade: ").append(field_or_empty(res, bhttp::field::upgrade)).append("\r\n");
  else if (!framing.keep_alive)
    out.append("Connection: close\r\n");
  out.append("\r\n");
  return out;
}

}  // namespace airgate::http
