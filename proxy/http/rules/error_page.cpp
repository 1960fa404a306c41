#include "http/rules/error_page.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace airgate::http::rules {

namespace {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

bool wants_json(std::string_view accept, std::string_view path) {
  return path.substr(0, 5) == "/api/" || accept.find("application/json") != std::string_view::npos;
}

std::string_view status_text(int status) {
  switch (status) {
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

ErrorPage render_error(int status, core::Reason reason, std::string_view message, bool json) {
  ErrorPage page;
  if (json) {
    boost::json::object o;
    o["status"] = status;
    o["error"] = core::log_word(reason);
    o["message"] = message;
    page.content_type = "application/json";
    page.body = boost::json::serialize(o);
    page.body += '\n';
    return page;
  }
  const std::string title = std::to_string(status) + " " + std::string(status_text(status));
  page.content_type = "text/html; charset=utf-8";
  page.body = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + title +
              "</title></head>\n<body><h1>" + title + "</h1>\n<p>" + html_escape(message) +
              "</p>\n<hr><p>airgate</p></body></html>\n";
  return page;
}

}  // namespace airgate::http::rules
