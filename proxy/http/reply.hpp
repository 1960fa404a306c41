// Local replies (design §3 "Error responses") and the one result type of the
// session's lifecycle steps. A step either lets the request go on (next),
// ends the exchange with a local reply (a status, a Reason, plain words for
// the client and extra fields), or ends the connection with nothing more
// to send (close).
#pragma once

#include "config/config.hpp"
#include "core/reason.hpp"
#include "upstream/pool.hpp"
#include "upstream/relay.hpp"

#include <boost/beast/http/field.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace airgate::http {

namespace bhttp = boost::beast::http;

// A failure that ends an exchange with a local reply (or a closed connection
// when the response already started).
struct Failure {
  int status = 0;
  core::Reason reason{};  // for log, metrics and the error body
  std::string message;    // plain words, shown to the client
  // A whole HTML page of airgate's own (the login form) instead of the error
  // page; sent as HTML whatever the client accepts.
  std::string page{};
};

// The reason's default status.
inline Failure fail(core::Reason reason, std::string message) {
  return Failure{core::default_status(reason), reason, std::move(message), {}};
}

// Another status than the default (client_gone once the response started).
inline Failure fail(int status, core::Reason reason, std::string message) {
  return Failure{status, reason, std::move(message), {}};
}

// Fields a local reply carries besides its own (Location, WWW-Authenticate, Retry-After).
using ExtraFields = std::vector<std::pair<bhttp::field, std::string>>;

// What one lifecycle step decided.
struct Step {
  enum class Kind { next, reply, close };
  Kind kind = Kind::next;
  Failure failure;          // reply: what to answer
  bool close_after = true;  // reply: the connection closes after it
  ExtraFields extra;        // reply: fields added to the page

  static Step next() { return {}; }
  static Step reply(Failure f, bool close_after = true, ExtraFields extra = ExtraFields()) {
    return Step{Kind::reply, std::move(f), close_after, std::move(extra)};
  }
  static Step close() { return Step{Kind::close, Failure{}, true, ExtraFields()}; }
  bool proceeds() const { return kind == Kind::next; }
};

// The words of each failure (what fired, with the configured limit).
Failure connect_failure(upstream::ConnectFailure f, const config::Upstream& up);
// A failure of the upstream exchange other than connecting or the request body.
Failure upstream_failure(core::Reason reason, const config::Upstream& up);
// A request body that did not make it (read into memory or streamed).
Failure body_failure(upstream::RelayResult result, const config::Config& cfg, const config::Upstream& up);

// How a local reply is written.
struct ReplyOptions {
  bool json = false;                  // a JSON body instead of HTML
  bool head_request = false;          // the headers of the page, no body (RFC 9110 §9.3.2)
  bool keep_alive = false;            // else Connection: close
  const std::string* hsts = nullptr;  // Strict-Transport-Security, when not null
  std::string_view request_id;        // X-Request-Id, when not empty
  // error_pages.dir's page for this status (HTML replies only), when not null.
  const std::string* operator_page = nullptr;
};

struct RenderedReply {
  std::string bytes;  // head and page
  std::size_t head_size = 0;
};

// The reply's bytes: status line, Content-Type, Cache-Control: no-store, the
// extra fields (a name may repeat: two Set-Cookie), HSTS, X-Request-Id,
// Content-Length of the page, Connection. The page: `f.page` when set, else
// the operator's page, else airgate's error page (HTML or JSON). Airgate's
// own pages carry a Content-Security-Policy that lets them load and run
// nothing; an operator's page is sent as written, without one.
RenderedReply render_reply(const Failure& f, const ExtraFields& extra, const ReplyOptions& options);

}  // namespace airgate::http
