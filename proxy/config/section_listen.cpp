// The listen section: listeners, their addresses and TLS settings.
#include "config/sections.hpp"

#include "config/address.hpp"
#include "core/text.hpp"

#include <map>
#include <string>

namespace airgate::config {

namespace {

Tls parse_tls(Reader& rd, const Val& v) {
  Tls tls;
  const Fields f = rd.fields(v, "tls");
  if (auto c = f.get("certificate")) rd.read_path(*c, tls.certificate);
  if (auto k = f.get("private_key")) rd.read_path(*k, tls.private_key);
  if (tls.certificate.empty() != tls.private_key.empty()) {
    rd.error(v, tls.certificate.empty()
                    ? "private_key is set but certificate is not (set both, or neither for a self-signed certificate)"
                    : "certificate is set but private_key is not (set both, or neither for a self-signed certificate)");
  }
  if (auto m = f.get("min_version")) {
    std::string s;
    if (rd.scalar(*m, "\"1.2\" or \"1.3\"", s)) {
      if (s == "1.2" || s == "1.3")
        tls.min_version = s;
      else
        rd.type_error(*m, "\"1.2\" or \"1.3\"");
    }
  }
  for (auto [key, out] : {std::pair{"ciphersuites", &tls.ciphersuites}, std::pair{"ciphers", &tls.ciphers}}) {
    if (auto c = f.get(key)) {
      std::string s;
      if (!rd.scalar(*c, "an OpenSSL cipher string", s)) continue;
      if (s.empty() || core::has_control(s) || s.find(' ') != std::string::npos)
        rd.error(*c, "must be a non-empty OpenSSL cipher string of names separated by ':'");
      else
        *out = s;
    }
  }
  if (auto h = f.get("http2")) rd.read_bool(*h, tls.http2);
  if (auto s = f.get("sni")) {
    for (const auto& item : rd.items(*s, false)) {
      SniCertificate sni;
      if (!item.node.IsMap()) {
        rd.type_error(item, "a mapping with names, certificate, private_key");
        continue;
      }
      const Fields sf = rd.fields(item, "sni");
      if (auto n = sf.get("names")) {
        sni.names = rd.read_string_list(*n);
        for (auto& name : sni.names) name = core::to_lower(name);
      }
      if (auto c = sf.get("certificate")) rd.read_path(*c, sni.certificate);
      if (auto k = sf.get("private_key")) rd.read_path(*k, sni.private_key);
      if (sni.names.empty()) rd.error_at(item.node, item.path, "names is required (a list of server names)");
      if (sni.certificate.empty()) rd.error_at(item.node, item.path, "certificate is required");
      if (sni.private_key.empty()) rd.error_at(item.node, item.path, "private_key is required");
      tls.sni.push_back(std::move(sni));
    }
  }
  if (auto c = f.get("client_ca")) rd.read_opt_path(*c, tls.client_ca);
  return tls;
}

}  // namespace

void parse_listen(Reader& rd, const Val& v, Config& cfg) {
  if (v.node.IsNull()) return;  // "listen:" alone keeps the default listener
  if (!v.node.IsSequence()) {
    rd.type_error(v, "a list of listeners");
    return;
  }
  if (v.node.size() == 0) {
    rd.error(v, "at least one listener is required");
    return;
  }
  std::vector<Listener> out;
  std::map<std::string, std::string> addresses;  // "host|port" -> path
  for (const auto& item : rd.items(v, false)) {
    Listener l;
    l.tls.reset();
    if (!item.node.IsMap()) {
      rd.type_error(item, "a mapping with address:");
      continue;
    }
    const Fields f = rd.fields(item, "listen");
    if (auto a = f.get("address")) {
      std::string s, why;
      if (rd.read_string(*a, s, false)) {
        if (parse_socket_address(s, l.host, l.port, why)) {
          l.address = s;
          const std::string k = l.host + "|" + std::to_string(l.port);
          if (l.port != 0 && addresses.count(k))
            rd.error(*a, "address " + quote(s) + " is already used by " + addresses[k]);
          addresses.emplace(k, item.path);
        } else {
          rd.error(*a, "invalid address " + quote(s) + ": " + why);
        }
      }
    } else {
      rd.error_at(item.node, item.path, "address is required (e.g. address: \"0.0.0.0:8443\")");
    }
    if (auto t = f.get("tls")) {
      // `tls:` with nothing under it (every key commented out, say) must not
      // quietly become plain HTTP on what is meant to be a TLS port.
      if (t->node.IsNull())
        rd.error(*t, "is empty: write tls: {} for TLS with a self-signed certificate, or remove tls for plain HTTP");
      else
        l.tls = parse_tls(rd, *t);
    }
    if (auto p = f.get("proxy_protocol")) rd.read_bool(*p, l.proxy_protocol);
    if (auto r = f.get("redirect_to_https")) {
      std::optional<std::string> s;
      if (rd.read_opt_string(*r, s) && s) {
        std::string origin, why;
        if (parse_origin(*s, origin, why))
          l.redirect_to_https = origin;
        else
          rd.error(*r, "invalid redirect origin: " + why);
      }
    }
    if (l.redirect_to_https && l.tls && l.tls->client_ca)
      rd.error_at(
          item.node, item.path,
          "tls.client_ca cannot be combined with redirect_to_https (a redirect listener answers 308 to everyone)");
    out.push_back(std::move(l));
  }
  cfg.listen = std::move(out);
}

}  // namespace airgate::config
