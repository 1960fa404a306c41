// The auth section: realm, basic users, allowlist, satisfy, public paths, throttle.
#include "config/sections.hpp"

#include "core/text.hpp"

#include <set>
#include <string>

namespace airgate::config {
namespace {

using core::has_control;

// One entry of auth.basic.users; false (after reporting) when it is unusable.
// `names` holds the users seen so far.
bool parse_user(Reader& rd, const Val& item, std::set<std::string>& names, BasicUser& bu) {
  const Fields uf = rd.fields(item, "users");
  bool ok = true;
  if (auto n = uf.get("user")) {
    if (rd.read_string(*n, bu.user, false)) {
      if (bu.user.find(':') != std::string::npos || has_control(bu.user)) {
        rd.error(*n, "must not contain ':' or control characters");
        ok = false;
      } else if (!names.insert(bu.user).second) {
        rd.error(*n, "user " + quote(bu.user) + " is listed twice");
        ok = false;
      }
    } else {
      ok = false;
    }
  } else {
    rd.error_at(item.node, item.path, "user is required");
    ok = false;
  }
  if (auto h = uf.get("hash")) {
    if (rd.read_string(*h, bu.hash, false)) {
      bu.scheme = hash_scheme(bu.hash);
      if (bu.scheme == HashScheme::unknown) {
        // Never echo the value: it may be a plain-text password by mistake.
        rd.error(*h, "unsupported hash format (expected bcrypt $2y$/$2b$/$2a$, SHA-crypt $5$/$6$, yescrypt $y$, "
                     "$apr1$ or {SHA}; create one with `airgate passwd`)");
        ok = false;
      }
    } else {
      ok = false;
    }
  } else {
    rd.error_at(item.node, item.path, "hash is required");
    ok = false;
  }
  return ok;
}

void parse_basic(Reader& rd, const Val& v, Auth& out) {
  const Fields bf = rd.fields(v, "basic");
  if (auto u = bf.get("users_file")) rd.read_opt_path(*u, out.users_file);
  if (auto u = bf.get("users")) {
    std::set<std::string> names;
    for (const auto& item : rd.items(*u, false)) {
      if (!item.node.IsMap()) {
        rd.type_error(item, "a mapping with user and hash");
        continue;
      }
      BasicUser bu;
      if (parse_user(rd, item, names, bu)) out.users.push_back(std::move(bu));
    }
  }
}

}  // namespace

void parse_auth(Reader& rd, const Val& v, Auth& out) {
  const Fields f = rd.fields(v, "auth");
  if (auto r = f.get("realm")) {
    std::string s;
    if (rd.read_string(*r, s)) {
      if (s.find('"') != std::string::npos || s.find('\\') != std::string::npos || has_control(s))
        rd.error(*r, "must not contain quotes, backslashes or control characters");
      else
        out.realm = s;
    }
  }
  if (auto b = f.get("basic")) parse_basic(rd, *b, out);
  if (auto a = f.get("allow")) rd.read_network_list(*a, out.allow, out.allow_networks);
  if (auto s = f.get("satisfy")) rd.read_enum(*s, {{"any", Satisfy::any}, {"all", Satisfy::all}}, out.satisfy);
  if (auto l = f.get("login")) rd.read_enum(*l, {{"form", Login::form}, {"basic", Login::basic}}, out.login);
  if (auto fa = f.get("forward_authorization")) rd.read_bool(*fa, out.forward_authorization);
  if (auto p = f.get("public_paths")) {
    const auto list = rd.items(*p, true);
    out.public_paths.clear();
    for (const auto& item : list) {
      std::string s;
      if (!rd.read_string(item, s, false)) continue;
      if (s.front() != '/')
        rd.error(item, "must start with \"/\", got " + quote(s));
      else
        out.public_paths.push_back(std::move(s));
    }
  }
  if (auto s = f.get("session")) {
    const Fields sf = rd.fields(*s, "session");
    if (auto e = sf.get("enabled")) rd.read_bool(*e, out.session.enabled);
    if (auto p = sf.get("secret_file")) rd.read_opt_path(*p, out.session.secret_file);
    if (auto t = sf.get("ttl")) rd.read_duration(*t, false, out.session.ttl);
    if (auto i = sf.get("idle_timeout")) rd.read_duration(*i, true, out.session.idle_timeout);
  }
  if (auto t = f.get("throttle")) {
    const Fields tf = rd.fields(*t, "throttle");
    if (auto m = tf.get("max_failures")) rd.read_count(*m, 0, 1000000, out.throttle.max_failures);
    if (auto w = tf.get("window")) rd.read_duration(*w, false, out.throttle.window);
    if (auto b = tf.get("block")) rd.read_duration(*b, false, out.throttle.block);
  }
}

}  // namespace airgate::config
