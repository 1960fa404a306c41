// YAML text -> validated Config, and the start-up path (file, then the
// environment overlay) (design §2). The sections are parsed in
// config/section_*.cpp over config/yaml_reader.hpp; the overlay is config/env.cpp.
// The schema (known_keys(): every section and its keys) is here, at the top;
// tests/integration/test_docs.py reads it to check the configuration reference.
//
// Rules implemented here and there (documented in docs/configuration.md):
//  - every problem is collected, none stops the parse; parse_yaml never throws;
//  - unknown keys, duplicate keys and type errors name the dotted key path and
//    the 1-based line:column of the key (or of the offending value);
//  - relative file paths are resolved against the directory of the config file;
//  - routes inherit every upstream field they do not set from the top-level
//    `upstream`, whatever the key order in the file.
#include "config/load.hpp"

#include "config/sections.hpp"
#include "config/yaml_reader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>

namespace airgate::config {

std::string Problem::str() const {
  if (line <= 0) return source + ": " + message;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

// Known keys per section (for unknown-key messages and suggestions).
const std::map<std::string, std::vector<std::string>>& known_keys() {
  static const std::map<std::string, std::vector<std::string>> keys = {
      {"",
       {"listen", "upstream", "routes", "limits", "auth", "trusted_proxies", "headers", "error_pages", "admin",
        "logging", "workers", "shutdown_grace", "reload_watch", "security"}},
      {"listen", {"address", "tls", "proxy_protocol", "redirect_to_https"}},
      {"tls", {"certificate", "private_key", "min_version", "ciphersuites", "ciphers", "sni", "client_ca", "http2"}},
      {"sni", {"names", "certificate", "private_key"}},
      {"upstream",
       {"url", "ca_file", "connect_timeout", "read_timeout", "send_timeout", "max_idle_connections",
        "browser_basic_challenge"}},
      {"routes", {"path_prefix", "methods", "access", "upstream"}},
      {"access", {"users", "allow", "satisfy", "public"}},
      {"limits",
       {"max_body_size", "max_header_size", "handshake_timeout", "client_header_timeout", "client_body_timeout",
        "keepalive_timeout", "max_connections", "client_body_buffer_size", "client_body_min_rate",
        "max_uploads_per_client", "http2_max_concurrent_streams"}},
      {"auth",
       {"realm", "basic", "allow", "satisfy", "login", "forward_authorization", "public_paths", "throttle", "session"}},
      {"session", {"enabled", "secret_file", "ttl", "idle_timeout"}},
      {"basic", {"users_file", "users"}},
      {"users", {"user", "hash"}},
      {"throttle", {"max_failures", "window", "block"}},
      {"headers", {"hsts", "request_id"}},
      {"error_pages", {"dir"}},
      {"admin", {"address"}},
      {"logging", {"level", "format", "access_log"}},
      {"security", {"selfcheck"}},
  };
  return keys;
}

// Section name -> dotted path used in suggestions.
const std::map<std::string, std::string>& section_paths() {
  static const std::map<std::string, std::string> paths = {
      {"listen", "listen[]"},
      {"tls", "listen[].tls"},
      {"sni", "listen[].tls.sni[]"},
      {"upstream", "upstream"},
      {"routes", "routes[]"},
      {"limits", "limits"},
      {"auth", "auth"},
      {"basic", "auth.basic"},
      {"users", "auth.basic.users[]"},
      {"throttle", "auth.throttle"},
      {"session", "auth.session"},
      {"headers", "headers"},
      {"error_pages", "error_pages"},
      {"admin", "admin"},
      {"logging", "logging"},
      {"security", "security"},
      {"access", "routes[].access"},
  };
  return paths;
}

namespace {

void parse_root(Reader& rd, const YAML::Node& root, Config& cfg) {
  const Val rv{root, YAML::Node(), ""};
  if (!root.IsNull() && !root.IsMap()) {
    rd.error_at(root, "",
                "the configuration must be a mapping of keys (listen:, upstream:, ...), got " + describe(root));
    return;
  }
  const Fields f = rd.fields(rv, "");
  if (auto v = f.get("listen")) parse_listen(rd, *v, cfg);
  if (auto v = f.get("upstream")) parse_upstream(rd, *v, cfg.upstream);
  // Routes after the top-level upstream: they inherit from it.
  if (auto v = f.get("routes")) parse_routes(rd, *v, cfg);
  if (auto v = f.get("limits")) parse_limits(rd, *v, cfg.limits);
  if (auto v = f.get("auth")) parse_auth(rd, *v, cfg.auth);
  if (auto v = f.get("trusted_proxies")) rd.read_network_list(*v, cfg.trusted_proxies, cfg.trusted_proxy_networks);
  if (auto v = f.get("headers")) parse_headers(rd, *v, cfg.headers);
  if (auto v = f.get("error_pages")) parse_error_pages(rd, *v, cfg.error_pages);
  if (auto v = f.get("admin")) parse_admin(rd, *v, cfg);
  if (auto v = f.get("logging")) parse_logging(rd, *v, cfg.logging);
  if (auto v = f.get("workers")) parse_workers(rd, *v, cfg.workers);
  if (auto v = f.get("shutdown_grace")) rd.read_duration(*v, true, cfg.shutdown_grace);
  if (auto v = f.get("reload_watch")) rd.read_duration(*v, true, cfg.reload_watch);
  if (auto v = f.get("security")) parse_security(rd, *v, cfg.security);
}

// Problems with a position first, in document order; position-less ones last.
void sort_problems(std::vector<Problem>& problems) {
  std::stable_sort(problems.begin(), problems.end(), [](const Problem& a, const Problem& b) {
    const auto key = [](const Problem& p) {
      return std::make_pair(p.line <= 0 ? INT32_MAX : p.line, p.line <= 0 ? 0 : p.column);
    };
    return key(a) < key(b);
  });
}

// YAML::LoadAll of yaml-cpp 0.7 never returns for some inputs: a lone "," at
// the top makes the parser hand out empty documents forever without consuming
// it (found by tests/fuzz/fuzz_config). So the documents are counted here by
// a walk over at most two of them, and only the first is built (YAML::Load).
// A second document that starts where the first did is that stuck parser:
// a syntax error at that position.
class DocumentWalk : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;  // where each document starts
  std::vector<YAML::Mark> roots;   // its root node, if it has one
  void OnDocumentStart(const YAML::Mark& m) override { starts.push_back(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { root(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t, const std::string&) override { root(m); }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    root(m);
  }
  void OnMapEnd() override {}

 private:
  void root(const YAML::Mark& m) {
    if (roots.size() < starts.size()) roots.push_back(m);
  }
};

// The number of documents in `text` (0, 1, or 2 meaning "more than one") and
// the mark of the second one's root. Throws YAML::Exception on syntax errors.
std::size_t count_documents(const std::string& text, YAML::Mark& second) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentWalk walk;
  for (int i = 0; i < 2 && parser.HandleNextDocument(walk); ++i) {
  }
  if (walk.starts.size() >= 2) {
    if (walk.starts[1].pos == walk.starts[0].pos) throw YAML::ParserException(walk.starts[1], "unexpected character");
    second = walk.roots.size() >= 2 ? walk.roots[1] : walk.starts[1];
  }
  return std::min<std::size_t>(walk.starts.size(), 2);
}

// Parses into `cfg` (which keeps defaults for absent keys); never throws.
void parse_into(const std::string& text, const std::string& source, Config& cfg, std::vector<Problem>& problems) {
  cfg.source = source;
  std::vector<Problem> local;
  try {
    YAML::Mark second = YAML::Mark::null_mark();
    const std::size_t documents = count_documents(text, second);
    std::vector<YAML::Node> docs;
    if (documents > 0) docs.push_back(YAML::Load(text));
    if (documents > 1) {
      Problem p{source, 0, 0, "more than one YAML document (---); put the whole configuration in one document"};
      const auto m = second;
      if (!m.is_null()) {
        p.line = m.line + 1;
        p.column = m.column + 1;
      }
      local.push_back(std::move(p));
    }
    if (!docs.empty()) {
      Reader reader(source, local);
      parse_root(reader, docs.front(), cfg);
    }
  } catch (const YAML::Exception& e) {
    Problem p{source, 0, 0, "YAML syntax error: " + e.msg};
    if (!e.mark.is_null()) {
      p.line = e.mark.line + 1;
      p.column = e.mark.column + 1;
    }
    local.push_back(std::move(p));
  } catch (const std::exception& e) {
    local.push_back(Problem{source, 0, 0, std::string("cannot parse the configuration: ") + e.what()});
  } catch (...) {
    local.push_back(Problem{source, 0, 0, "cannot parse the configuration"});
  }
  sort_problems(local);
  problems.insert(problems.end(), local.begin(), local.end());
}

void load_file_into(const std::string& path, Config& cfg, std::vector<Problem>& problems) {
  std::string text, why;
  if (!read_whole_file(path, text, why)) {
    cfg.source = path;
    problems.push_back(Problem{path, 0, 0, "cannot read the configuration file: " + why});
    return;
  }
  parse_into(text, path, cfg, problems);
}

LoadResult finish(Config&& cfg, std::vector<Problem>&& problems) {
  LoadResult r;
  r.problems = std::move(problems);
  if (r.problems.empty()) r.config = std::make_shared<Config>(std::move(cfg));
  return r;
}

}  // namespace

LoadResult parse_yaml(const std::string& text, const std::string& source) {
  Config cfg;
  std::vector<Problem> problems;
  parse_into(text, source, cfg, problems);
  return finish(std::move(cfg), std::move(problems));
}

LoadResult load_file(const std::string& path) {
  Config cfg;
  std::vector<Problem> problems;
  load_file_into(path, cfg, problems);
  return finish(std::move(cfg), std::move(problems));
}

LoadResult load(const std::optional<std::string>& cli_path, const EnvLookup& env) {
  Config cfg;
  std::vector<Problem> problems;
  std::optional<std::string> path;
  if (cli_path && !cli_path->empty())
    path = cli_path;
  else if (auto p = env("AIRGATE_CONFIG"); p && !p->empty())
    path = p;
  if (path)
    load_file_into(*path, cfg, problems);
  else
    cfg.source = "<defaults>";
  apply_env(cfg, env, problems);
  return finish(std::move(cfg), std::move(problems));
}

}  // namespace airgate::config
