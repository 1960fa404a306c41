// airgate's own pages under /.airgate/ (never forwarded upstream): the login
// form, its submission and the logout. The form login is on when
// auth.login is `form`, sessions are on, basic auth is configured and the
// listener speaks TLS (the session cookie is `__Host-`: Secure only);
// otherwise a browser gets the Basic challenge as before.
//
//   GET  /.airgate/login?rd=/path   the form; sets the login nonce cookie
//                                   (`__Host-airgate_login`, SameSite=Strict)
//                                   whose HMAC is the form's hidden `csrf` field
//   POST /.airgate/login            username, password, rd, csrf: the nonce
//                                   and the field must match (login-CSRF), then
//                                   the same throttle, cache and verifiers as
//                                   Basic; success: 303 to rd with the session
//                                   cookie; failure: the form again, 401
//   GET|POST /.airgate/logout       the session ends (its id is refused from
//                                   now on), the cookie is cleared, 303 to the form
#include "http/session_impl.hpp"

#include "access/htpasswd.hpp"
#include "access/session_cookie.hpp"
#include "http/fields.hpp"
#include "http/rules/browser.hpp"
#include "http/rules/login_page.hpp"

#include <boost/beast/core/string.hpp>

namespace airgate::http {

using core::Reason;
using Login = observe::Metrics::Login;

namespace {

constexpr std::size_t kMaxLoginForm = 8 * 1024;

// A form posted from another site (Sec-Fetch-Site is sent by every current
// browser; a request without it is not a browser's and the nonce check
// stands alone).
bool cross_site(const HeadFields& fields) {
  const auto site = fields.first(kSecFetchSite);
  return !site.empty() && site != "same-origin" && site != "none";
}

}  // namespace

bool Session::login_form_on(const runtime::Runtime& rt) const {
  return rt.config->auth.login == config::Login::form && rt.sessions && listener_.tls && rt.access->basic_configured();
}

// Step 3b: a request under /.airgate/ is answered here, before access control
// (the login page must be reachable without credentials).
asio::awaitable<Step> Session::own_page(Exchange& ex) {
  const auto& req = *parser_;
  const std::string_view target = req.target();
  const std::string_view path = target.substr(0, target.find('?'));
  const auto method = req.method();
  const bool has_body = parser_->chunked() || parser_->content_length().value_or(0) > 0;
  ex.json_errors = false;  // a browser's page, whatever it accepts
  if (path == rules::kLoginPath && login_form_on(*ex.rt)) {
    if (method == bhttp::verb::post) co_return co_await login_submit(ex);
    if (method == bhttp::verb::get || method == bhttp::verb::head) {
      const auto rd = rules::query_value(target, "rd");
      const std::string back = rules::safe_redirect_target(rd.value_or("/"));
      // Already signed in: straight on.
      check_session(ex);
      if (!ex.session_user.empty()) {
        ExtraFields extra;
        extra.emplace_back(bhttp::field::location, back);
        co_return Step::reply(fail(Reason::login, "you are signed in"), has_body, std::move(extra));
      }
      co_return login_form(ex, 200, Reason::login_page, back, {}, {}, has_body);
    }
  } else if (path == rules::kLogoutPath && ex.rt->sessions && listener_.tls) {
    co_return logout(ex, has_body);
  } else {
    co_return Step::reply(fail(Reason::not_found, "there is no page at this address"), has_body);
  }
  ExtraFields extra;
  extra.emplace_back(bhttp::field::allow, "GET, HEAD, POST");
  co_return Step::reply(fail(405, Reason::not_found, "the sign-in page takes GET and POST only"), has_body,
                        std::move(extra));
}

// The form, with the login nonce cookie: the browser's own when it has a
// well-formed one (several tabs share it), else a new one.
Step Session::login_form(Exchange& ex, int status, Reason reason, std::string_view rd, std::string_view username,
                         std::string_view message, bool close_after, ExtraFields extra) {
  const auto& rt = *ex.rt;
  const auto existing = request_cookie(parser_->fields(), access::kLoginCookie);
  const std::string nonce = existing && access::is_login_nonce(*existing) && status != 403 ? std::string(*existing)
                                                                                           : access::new_login_nonce();
  const std::string csrf = rt.sessions->keys().csrf_token(nonce);
  extra.emplace_back(bhttp::field::set_cookie,
                     access::session_set_cookie(access::kLoginCookie, nonce, access::kLoginNonceLifetime, "Strict"));
  rules::LoginPage page{rt.config->auth.realm, rd, csrf, username, message, ex.request_id};
  Failure f = fail(status, reason, std::string(message));
  f.page = rules::render_login_page(page);
  return Step::reply(std::move(f), close_after, std::move(extra));
}

// POST /.airgate/login.
asio::awaitable<Step> Session::login_submit(Exchange& ex) {
  auto& p = *parser_;
  const HeadFields& req = p.fields();
  const auto& rt = *ex.rt;
  const auto length = p.content_length();
  if (p.chunked() || !length)
    co_return Step::reply(fail(411, Reason::malformed_request, "the sign-in form must be sent with its length"));
  if (*length > kMaxLoginForm)
    co_return Step::reply(fail(Reason::body_too_large, "the sign-in form is larger than 8 KiB"));
  std::string body;
  const auto r = co_await upstream::read_request_body(client_, buffer_, *length, body, rt.config->limits);
  ex.log.bytes_received = r.bytes;
  request_body_read_ = r.complete;
  if (r.result != upstream::RelayResult::ok) {
    access::wipe(body);
    co_return Step::reply(body_failure(r.result, *rt.config, rt.config->upstream));
  }
  auto form = rules::parse_form(body);
  access::wipe(body);
  const std::string_view content_type = req.first(bhttp::field::content_type);
  if (!form || !beast::iequals(content_type.substr(0, content_type.find(';')), "application/x-www-form-urlencoded")) {
    co_return login_form(ex, 400, Reason::malformed_request, "/", {}, "The sign-in form could not be read. Try again.",
                         false);
  }
  auto take = [&form](std::string_view name) {
    auto v = rules::form_value(*form, name);
    return v ? std::string(*v) : std::string();
  };
  const std::string rd = rules::safe_redirect_target(take("rd"));
  const std::string user = take("username");
  std::string password = take("password");
  const std::string csrf = take("csrf");
  for (auto& [name, value] : *form) access::wipe(value);

  const auto nonce = request_cookie(req, access::kLoginCookie);
  if (cross_site(req) || !nonce || !access::is_login_nonce(*nonce) || !rt.sessions->keys().csrf_valid(*nonce, csrf)) {
    access::wipe(password);
    worker_.metrics->login(Login::expired);
    co_return login_form(ex, 403, Reason::login_expired, rd, user,
                         "The sign-in form had expired or came from another site. Please sign in again.", false);
  }

  auto& ac = *rt.access;
  auto ev = ac.evaluate_login(ex.client_ip, user, std::move(password), Clock::now());
  access::AccessDecision d;
  if (ev.pending) {
    auto& pending = *ev.pending;
    const bool ok = co_await run_blocking([&ac, &pending] { return ac.verify(pending); });
    d = ac.complete(std::move(ev), ok, Clock::now());
  } else {
    d = std::move(ev.decision);
  }
  ExtraFields extra;
  using access::Outcome;
  switch (d.outcome) {
    case Outcome::allow:
      // Only a user name that was accepted is logged: a failed one may be a
      // password typed into the wrong field.
      ex.log.user = d.user;
      worker_.metrics->login(Login::success);
      worker_.metrics->session_issued();
      extra.emplace_back(bhttp::field::location, rd);
      extra.emplace_back(bhttp::field::set_cookie,
                         access::session_set_cookie(access::kSessionCookie, rt.sessions->issue(d.user, unix_now())));
      extra.emplace_back(bhttp::field::set_cookie, access::session_clear_cookie(access::kLoginCookie));
      co_return Step::reply(fail(Reason::login, "you are signed in"), false, std::move(extra));
    case Outcome::unauthorized:
      worker_.metrics->failure(d.reason);
      worker_.metrics->login(Login::failure);
      co_return login_form(ex, 401, d.reason, rd, user, "Wrong username or password.", false);
    case Outcome::too_many_requests: {
      worker_.metrics->failure(d.reason);
      worker_.metrics->login(Login::throttled);
      const std::string wait = std::to_string(d.retry_after.count());
      extra.emplace_back(bhttp::field::retry_after, wait);
      co_return login_form(ex, 429, d.reason, rd, user,
                           "Too many failed sign-ins from your address. Try again in " + wait + " seconds.", false,
                           std::move(extra));
    }
    case Outcome::forbidden: break;
  }
  worker_.metrics->failure(d.reason);
  worker_.metrics->login(Login::forbidden);
  co_return Step::reply(fail(403, d.reason, "access from your address is not allowed"), false);
}

// /.airgate/logout: the presented session ends for good (its id is revoked
// until its expiry, so a copy of the cookie no longer works), the cookie is
// cleared and the browser goes to the login page. A logout requested by
// another site's page is not honoured (no forced sign-out).
Step Session::logout(Exchange& ex, bool has_body) {
  const HeadFields& req = parser_->fields();
  const auto& sessions = *ex.rt->sessions;
  ExtraFields extra;
  const bool login_on = login_form_on(*ex.rt);
  if (!cross_site(req)) {
    if (auto token = request_cookie(req, access::kSessionCookie)) {
      if (auto claims = sessions.keys().decode(*token)) {
        sessions.end(*claims, unix_now());
        ex.log.user = claims->user;
      }
    }
    extra.emplace_back(bhttp::field::set_cookie, access::session_clear_cookie(access::kSessionCookie));
  }
  extra.emplace_back(bhttp::field::location, login_on ? std::string(rules::kLoginPath) : std::string("/"));
  return Step::reply(fail(Reason::logout, "you are signed out"), has_body, std::move(extra));
}

}  // namespace airgate::http
