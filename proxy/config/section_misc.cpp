// The small sections: headers, error_pages, admin, logging, workers, security.
#include "config/sections.hpp"

#include "config/address.hpp"
#include "core/text.hpp"

#include <string>

namespace airgate::config {

using core::all_digits;
using core::has_control;

void parse_headers(Reader& rd, const Val& v, Headers& out) {
  const Fields f = rd.fields(v, "headers");
  if (auto h = f.get("hsts")) {
    std::optional<std::string> s;
    if (rd.read_opt_string(*h, s)) {
      if (s && has_control(*s))
        rd.error(*h, "must not contain control characters");
      else
        out.hsts = s;
    }
  }
  if (auto r = f.get("request_id")) rd.read_bool(*r, out.request_id);
}

void parse_error_pages(Reader& rd, const Val& v, ErrorPages& out) {
  if (v.node.IsNull()) return;
  const Fields f = rd.fields(v, "error_pages");
  if (auto d = f.get("dir")) rd.read_opt_path(*d, out.dir);
}

void parse_admin(Reader& rd, const Val& v, Config& cfg) {
  if (v.node.IsNull()) {
    cfg.admin.address.reset();
    return;
  }
  const Fields f = rd.fields(v, "admin");
  if (auto a = f.get("address")) {
    std::optional<std::string> s;
    if (!rd.read_opt_string(*a, s)) return;
    if (!s) {
      cfg.admin.address.reset();
      return;
    }
    std::string host, why;
    std::uint16_t port = 0;
    if (!parse_socket_address(*s, host, port, why)) {
      rd.error(*a, "invalid address " + quote(*s) + ": " + why);
      return;
    }
    if (port != 0) {
      for (std::size_t i = 0; i < cfg.listen.size(); ++i) {
        const auto& l = cfg.listen[i];
        if (l.port == port && l.host == host)
          rd.error(*a, "address " + quote(*s) + " is already used by listen[" + std::to_string(i) + "]");
      }
    }
    cfg.admin.address = *s;
  }
}

void parse_logging(Reader& rd, const Val& v, Logging& out) {
  const Fields f = rd.fields(v, "logging");
  if (auto l = f.get("level")) {
    std::string s;
    if (rd.scalar(*l, "trace | debug | info | warn | error", s)) {
      if (s == "trace" || s == "debug" || s == "info" || s == "warn" || s == "error")
        out.level = s;
      else
        rd.type_error(*l, "trace | debug | info | warn | error");
    }
  }
  if (auto fm = f.get("format")) rd.read_enum(*fm, {{"text", LogFormat::text}, {"json", LogFormat::json}}, out.format);
  if (auto a = f.get("access_log")) {
    if (a->node.IsNull()) {
      out.access_log = "off";
    } else {
      std::string s;
      if (rd.read_string(*a, s, false))
        out.access_log = (s == "stdout" || s == "stderr" || s == "off") ? s : rd.resolve(s);
    }
  }
}

void parse_workers(Reader& rd, const Val& v, unsigned& out) {
  std::string s;
  const std::string expected = "\"auto\" or an integer 1..1024";
  if (!rd.scalar(v, expected, s)) return;
  if (s == "auto") {
    out = 0;
    return;
  }
  if (!all_digits(s) || s.size() > 5 || std::stoul(s) < 1 || std::stoul(s) > 1024) {
    rd.type_error(v, expected);
    return;
  }
  out = static_cast<unsigned>(std::stoul(s));
}

void parse_security(Reader& rd, const Val& v, Security& out) {
  const Fields s = rd.fields(v, "security");
  if (auto m = s.get("selfcheck"))
    rd.read_enum(*m, {{"warn", SelfcheckMode::warn}, {"enforce", SelfcheckMode::enforce}}, out.selfcheck);
}

}  // namespace airgate::config
