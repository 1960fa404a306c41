#include "http/rules/error_page.hpp"

#include "http/rules/html.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace airgate::http::rules {

bool wants_json(std::string_view accept, std::string_view path) {
  return path.substr(0, 5) == "/api/" || accept.find("application/json") != std::string_view::npos;
}

std::string_view status_text(int status) {
  switch (status) {
    case 200: return "OK";
    case 303: return "See Other";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 417: return "Expectation Failed";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Error";
  }
}

std::string_view what_to_do(int status) {
  switch (status) {
    case 400: return "Check the address, or the request your program sends.";
    case 401: return "Sign in with the username and password your administrator gave you.";
    case 403: return "Your address or account is not allowed here. Ask your administrator for access.";
    case 404: return "Check the address.";
    case 408: return "The connection was too slow. Try again.";
    case 411: return "The program sending this request must give its length.";
    case 413: return "Try a smaller file, or ask your administrator to raise the upload limit.";
    case 417: return "Try again without the Expect header.";
    case 429: return "Wait a little, then try again.";
    case 431: return "Clear this site's cookies in your browser, then try again.";
    case 502:
    case 503:
    case 504:
      return "Airbyte is not answering right now. Try again in a minute; if it goes on, tell your administrator.";
    default: return "Try again. If it goes on, tell your administrator and quote the request id below.";
  }
}

ErrorPage render_error(int status, core::Reason reason, std::string_view message, bool json,
                       std::string_view request_id, std::string_view time) {
  ErrorPage page;
  if (json) {
    boost::json::object o;
    o["status"] = status;
    o["error"] = core::log_word(reason);
    o["message"] = message;
    if (!request_id.empty()) o["request_id"] = request_id;
    page.content_type = "application/json";
    page.body = boost::json::serialize(o);
    page.body += '\n';
    return page;
  }
  const std::string title = std::to_string(status) + " " + std::string(status_text(status));
  // The plain words as a sentence on the page (the JSON body and the log keep them as they are).
  std::string sentence(message);
  if (!sentence.empty() && sentence[0] >= 'a' && sentence[0] <= 'z') sentence[0] = static_cast<char>(sentence[0] - 32);
  if (!sentence.empty() && sentence.back() != '.' && sentence.back() != '?' && sentence.back() != ')') sentence += '.';
  std::string b = "<h1>" + title + "</h1>\n<p>" + html_escape(sentence) + "</p>\n<p>" +
                  html_escape(what_to_do(status)) + "</p>\n<p class=\"meta\">airgate";
  if (!request_id.empty()) b += " &middot; request <code>" + html_escape(request_id) + "</code>";
  if (!time.empty()) b += " &middot; " + html_escape(time);
  b += "</p>\n";
  page.content_type = "text/html; charset=utf-8";
  page.body = html_page(title, b);
  return page;
}

}  // namespace airgate::http::rules
