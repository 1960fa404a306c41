// Small helpers declared in config/config.hpp.
#include "config/config.hpp"

namespace airgate::config {

std::string UpstreamUrl::authority() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string UpstreamUrl::str() const { return scheme + "://" + authority(); }

}  // namespace airgate::config
