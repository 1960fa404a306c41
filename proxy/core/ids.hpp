// Request ids: 32 hex characters, unique per process without coordination.
#pragma once

#include <string>
#include <string_view>

namespace airgate::core {

std::string new_request_id();

// An incoming X-Request-Id is kept when it is short and printable; anything
// else is replaced, so it cannot inject into logs or headers.
bool acceptable_request_id(std::string_view id);

}  // namespace airgate::core
