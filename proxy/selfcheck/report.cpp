#include "selfcheck/report.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace airgate::selfcheck {
namespace {

const char* colour(Severity s) {
  switch (s) {
    case Severity::critical: return "\033[1;31m";
    case Severity::warning: return "\033[33m";
    case Severity::info: break;
  }
  return "\033[36m";
}

std::string upper(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

std::string summary_line(const std::vector<Finding>& findings) {
  const Summary s = summarize(findings);
  return std::to_string(s.critical) + " critical, " + std::to_string(s.warning) + " warning, " +
         std::to_string(s.info) + " info";
}

std::string format_table(const std::vector<Finding>& findings, bool color) {
  std::size_t id_width = 2;
  for (const auto& f : findings) id_width = std::max(id_width, f.id.size());
  const std::size_t sev_width = 8;  // "CRITICAL"
  const std::string reset = color ? "\033[0m" : "";
  std::string out;
  if (findings.empty()) {
    out += "No findings.\n";
  } else {
    out += pad("SEVERITY", sev_width) + "  " + pad("ID", id_width) + "  FINDING / FIX\n";
    for (const auto& f : findings) {
      const std::string sev = pad(upper(severity_name(f.severity)), sev_width);
      out += (color ? colour(f.severity) + sev + reset : sev) + "  " + pad(f.id, id_width) + "  " + f.finding + "\n";
      out += std::string(sev_width + 2 + id_width + 2, ' ') + "fix: " + f.fix + "\n";
    }
  }
  // Appended piece by piece: `"\n" + std::string&&` trips a known -Wrestrict
  // false positive of GCC 12 at -O3, an error under AIRGATE_WERROR.
  out += '\n';
  out += summary_line(findings);
  out += '\n';
  return out;
}

std::string format_json(const std::vector<Finding>& findings) {
  boost::json::array list;
  for (const auto& f : findings) {
    boost::json::object o;
    o["id"] = f.id;
    o["severity"] = std::string(severity_name(f.severity));
    o["finding"] = f.finding;
    o["fix"] = f.fix;
    list.push_back(std::move(o));
  }
  const Summary s = summarize(findings);
  boost::json::object summary;
  summary["critical"] = s.critical;
  summary["warning"] = s.warning;
  summary["info"] = s.info;
  boost::json::object doc;
  doc["findings"] = std::move(list);
  doc["summary"] = std::move(summary);
  doc["exit_code"] = exit_code(findings);
  return boost::json::serialize(doc) + "\n";
}

}  // namespace airgate::selfcheck
