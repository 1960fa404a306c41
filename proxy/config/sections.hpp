// One parser per section of the configuration file, each reading its part of
// the YAML tree through a Reader (config/yaml_reader.hpp) into `Config`.
// Absent keys keep the defaults already in the output. load.cpp calls them in
// the order of parse_root: routes after the top-level upstream (they inherit
// from it) and admin after listen (their addresses must differ).
#pragma once

#include "config/config.hpp"
#include "config/yaml_reader.hpp"

namespace airgate::config {

// section_listen.cpp: listen[] with each listener's tls.
void parse_listen(Reader& rd, const Val& v, Config& cfg);

// section_upstream.cpp. `out` holds the defaults to inherit (built-in for the
// top-level upstream, the top-level upstream for a route).
void parse_upstream(Reader& rd, const Val& v, Upstream& out);
void parse_routes(Reader& rd, const Val& v, Config& cfg);

// section_limits.cpp
void parse_limits(Reader& rd, const Val& v, Limits& out);

// section_auth.cpp: realm, basic (users_file, users), allow, satisfy,
// forward_authorization, public_paths, throttle.
void parse_auth(Reader& rd, const Val& v, Auth& out);

// section_misc.cpp: headers, admin, logging, workers, security.
void parse_headers(Reader& rd, const Val& v, Headers& out);
void parse_error_pages(Reader& rd, const Val& v, ErrorPages& out);
void parse_admin(Reader& rd, const Val& v, Config& cfg);
void parse_logging(Reader& rd, const Val& v, Logging& out);
void parse_workers(Reader& rd, const Val& v, unsigned& out);
void parse_security(Reader& rd, const Val& v, Security& out);

}  // namespace airgate::config
