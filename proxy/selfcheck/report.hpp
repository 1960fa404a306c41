// Rendering self-check findings: a human table and a stable JSON document.
#pragma once

#include "selfcheck/selfcheck.hpp"

#include <string>
#include <vector>

namespace airgate::selfcheck {

// A table (SEVERITY, ID, finding / fix) and a summary line
// "2 critical, 1 warning, 0 info". ANSI colour only when `color`.
std::string format_table(const std::vector<Finding>& findings, bool color);

// "2 critical, 1 warning, 0 info"
std::string summary_line(const std::vector<Finding>& findings);

// {"findings":[{"id","severity","finding","fix"}...],
//  "summary":{"critical":N,"warning":N,"info":N}, "exit_code":N}
std::string format_json(const std::vector<Finding>& findings);

}  // namespace airgate::selfcheck
