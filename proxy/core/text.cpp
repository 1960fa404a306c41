#include "core/text.hpp"

namespace airgate::core {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = to_lower(c);
  return out;
}

}  // namespace airgate::core
