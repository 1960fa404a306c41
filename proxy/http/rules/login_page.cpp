#include "http/rules/login_page.hpp"

#include "http/rules/browser.hpp"
#include "http/rules/html.hpp"

namespace airgate::http::rules {

std::string render_login_page(const LoginPage& p) {
  std::string b;
  b.reserve(1024);
  b += "<h1>";
  b += html_escape(p.realm);
  b += "</h1>\n<p>Sign in to continue.</p>\n";
  if (!p.message.empty()) {
    b += "<p class=\"error\" role=\"alert\">";
    b += html_escape(p.message);
    b += "</p>\n";
  }
  b += "<form method=\"post\" action=\"";
  b += kLoginPath;
  b += "\">\n<label for=\"username\">Username</label>\n";
  b += "<input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" autocapitalize=\"none\" "
       "spellcheck=\"false\" required";
  b += p.username.empty() ? " autofocus" : "";
  b += " value=\"";
  b += html_escape(p.username);
  b += "\">\n<label for=\"password\">Password</label>\n";
  b += "<input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required";
  b += p.username.empty() ? "" : " autofocus";
  b += ">\n<input type=\"hidden\" name=\"rd\" value=\"";
  b += html_escape(p.rd);
  b += "\">\n<input type=\"hidden\" name=\"csrf\" value=\"";
  b += html_escape(p.csrf);
  b += "\">\n<button type=\"submit\">Sign in</button>\n</form>\n";
  if (!p.request_id.empty()) {
    b += "<p class=\"meta\">Request <code>";
    b += html_escape(p.request_id);
    b += "</code></p>\n";
  }
  return html_page(std::string(p.realm), b);
}

}  // namespace airgate::http::rules
