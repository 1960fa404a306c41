// Address and URL values of the configuration, shared by the YAML sections
// and the environment overlay. Errors say what is wrong without the key (the
// caller adds it) and never echo a URL's userinfo.
#pragma once

#include "config/config.hpp"
#include "core/ip.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace airgate::config {

// Parses a port; `allow_zero` for listeners (ephemeral port in tests).
bool parse_port(std::string_view text, bool allow_zero, std::uint16_t& port, std::string& error);

// "host:port" or "[v6]:port" where host is an IP address literal (an IPv6
// host may carry a zone id: "[fe80::1%eth0]:80").
bool parse_socket_address(std::string_view text, std::string& host, std::uint16_t& port, std::string& error);

// http(s)://host[:port] with no path other than "/".
bool parse_upstream_url(std::string_view text, UpstreamUrl& url, std::string& error);

// An origin for redirect_to_https: scheme://host[:port], trailing slash stripped.
bool parse_origin(std::string_view text, std::string& origin, std::string& error);

// An IPv4/IPv6 address or CIDR (auth.allow, trusted_proxies); nullopt with
// `error` set on bad input.
std::optional<core::Cidr> parse_network(std::string_view text, std::string& error);

}  // namespace airgate::config
