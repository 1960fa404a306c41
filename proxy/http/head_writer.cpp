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
rules::ConnectionNames connection_named(const HeadFields& fields) {
  rules::ConnectionNames named;
  for (const auto f : fields)
    if (f.name() == bhttp::field::connection) rules::connection_tokens(f.value(), named);
  return named;
}

// rules::must_strip for a field of a parsed head, decided by the field's
// enum where Beast knows the name (a switch instead of a dozen
// case-insensitive compares per field): every hop-by-hop name is one Beast
// knows; a known field is otherwise stripped only when Connection names it.
template <class Field>
bool strip(const Field& f, const rules::ConnectionNames& named) {
  switch (f.name()) {
    case bhttp::field::connection:
    case bhttp::field::keep_alive:
    case bhttp::field::proxy_connection:
    case bhttp::field::te:
    case bhttp::field::trailer:
    case bhttp::field::transfer_encoding:
    case bhttp::field::upgrade:
    case bhttp::field::proxy_authenticate:
    case bhttp::field::http2_settings: return true;
    case bhttp::field::host:
    case bhttp::field::content_length: return false;
    case bhttp::field::unknown: return rules::must_strip(f.name_string(), named);
    default: return !named.empty() && rules::must_strip(f.name_string(), named);
  }
}

// The request fields airgate sets itself; none is a name Beast knows.
enum class Own { none, forwarded_for, forwarded_proto, real_ip, forwarded_host, request_id };
Own own_field(bhttp::field known, std::string_view name) {
  if (known != bhttp::field::unknown) return Own::none;
  if (beast::iequals(name, kXForwardedFor)) return Own::forwarded_for;
  if (beast::iequals(name, kXForwardedProto)) return Own::forwarded_proto;
  if (beast::iequals(name, "X-Real-IP")) return Own::real_ip;
  if (beast::iequals(name, kXForwardedHost)) return Own::forwarded_host;
  if (beast::iequals(name, kXRequestId)) return Own::request_id;
  return Own::none;
}

}  // namespace

std::string upstream_request_head(const RequestParser& req, const RequestFraming& framing, const ForwardedBy& by) {
  const HeadFields& fields = req.fields();
  const std::string_view host = fields.first(bhttp::field::host);
  const rules::ConnectionNames named = connection_named(fields);
  const bool replace_host = !host.empty();
  const bool replace_id = !by.request_id.empty();
  std::string xff;
  std::string out;
  out.reserve(512);
  out.append(req.method_string()).append(" ").append(req.target()).append(" HTTP/1.1\r\n");
  for (const auto f : fields) {
    const auto name = f.name_string();
    if (f.name() == bhttp::field::expect || f.name() == bhttp::field::content_length) continue;
    const Own own = own_field(f.name(), name);
    if (own == Own::forwarded_for) {
      if (!xff.empty()) xff += ", ";
      xff.append(f.value());
      continue;
    }
    if (own == Own::forwarded_proto || own == Own::real_ip || (replace_host && own == Own::forwarded_host) ||
        (replace_id && own == Own::request_id) || strip(f, named))
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
    out.append("Connection: upgrade\r\nUpgrade: ").append(fields.first(bhttp::field::upgrade)).append("\r\n");
  out.append("\r\n");
  return out;
}

std::string client_response_head(const ResponseParser& res, const ResponseFraming& framing, const std::string* hsts,
                                 std::string_view request_id, std::string_view set_cookie, bool strip_basic_challenge) {
  const HeadFields& fields = res.fields();
  const bool replace_id = !request_id.empty();
  const rules::ConnectionNames named = connection_named(fields);
  std::string out;
  out.reserve(512);
  out.append("HTTP/1.1 ").append(std::to_string(res.status())).append(" ").append(res.reason()).append("\r\n");
  for (const auto f : fields) {
    if (hsts && f.name() == bhttp::field::strict_transport_security) continue;
    const auto name = f.name_string();
    if ((replace_id && f.name() == bhttp::field::unknown && beast::iequals(name, kXRequestId)) || strip(f, named))
      continue;
    if (strip_basic_challenge && f.name() == bhttp::field::www_authenticate && access::is_basic_scheme(f.value()))
      continue;
    out.append(name).append(": ").append(f.value()).append("\r\n");
  }
  if (!set_cookie.empty()) out.append("Set-Cookie: ").append(set_cookie).append("\r\n");
  if (hsts) out.append("Strict-Transport-Security: ").append(*hsts).append("\r\n");
  if (replace_id) out.append(kXRequestId).append(": ").append(request_id).append("\r\n");
  if (framing.chunked) out.append("Transfer-Encoding: chunked\r\n");
  if (framing.tunnel)
    out.append("Connection: upgrade\r\nUpgrade: ").append(fields.first(bhttp::field::upgrade)).append("\r\n");
  else if (!framing.keep_alive)
    out.append("Connection: close\r\n");
  out.append("\r\n");
  return out;
}

}  // namespace airgate::http
