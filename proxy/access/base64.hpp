// Strict standard base64 (RFC 4648 §4, with padding), used for Basic
// credentials and {SHA} htpasswd hashes. No Asio, no OpenSSL BIO quirks:
// whitespace, missing padding, non-alphabet characters and non-zero trailing
// bits are all rejected.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace airgate::access {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not canonical padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace airgate::access
