#include "http/rules/browser.hpp"

namespace airgate::http::rules {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes one form component; nullopt on a bad escape.
std::optional<std::string> form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]);
      int lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

bool is_navigation(std::string_view method, std::string_view sec_fetch_mode) {
  return (method == "GET" || method == "HEAD") && sec_fetch_mode == "navigate";
}

std::string safe_redirect_target(std::string_view rd) {
  if (rd.empty() || rd.size() > kMaxRedirectTarget || rd[0] != '/') return "/";
  if (rd.size() > 1 && (rd[1] == '/' || rd[1] == '\\')) return "/";
  for (char c : rd) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '\\') return "/";
  }
  // Back to the login or logout page would loop or log the user out again.
  const std::string_view path = rd.substr(0, rd.find('?'));
  if (path == kLoginPath || path == kLogoutPath) return "/";
  return std::string(rd);
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string login_location(std::string_view original) {
  std::string loc(kLoginPath);
  const std::string rd = safe_redirect_target(original);
  if (rd != "/") {
    loc += "?rd=";
    loc += percent_encode(rd);
  }
  return loc;
}

std::optional<FormFields> parse_form(std::string_view body, std::size_t max_fields) {
  FormFields fields;
  while (!body.empty()) {
    const std::size_t amp = body.find('&');
    const std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    if (fields.size() == max_fields) return std::nullopt;
    const std::size_t eq = pair.find('=');
    auto name = form_decode(pair.substr(0, eq));
    auto value = form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    fields.emplace_back(std::move(*name), std::move(*value));
  }
  return fields;
}

std::optional<std::string_view> form_value(const FormFields& f, std::string_view name) {
  for (const auto& [k, v] : f) {
    if (k == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> query_value(std::string_view target, std::string_view name) {
  const std::size_t q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return form_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
  }
  return std::nullopt;
}

}  // namespace airgate::http::rules
