#include "http/rules/h2_request.hpp"

#include "core/text.hpp"
#include "http/rules/headers.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>

namespace airgate::http::rules {
namespace {

// Names and values are quoted in refusals; a hostile one is cut short.
constexpr std::size_t kShownMax = 64;

// `s` as it can appear in a log line: bytes outside printable ASCII as \xHH,
// cut after kShownMax bytes, in double quotes.
std::string shown(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : s.substr(0, kShownMax)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  if (s.size() > kShownMax) out += "...";
  return out + '"';
}

// RFC 9113 §8.2.1: these never appear in a valid field; written as HTTP/1.1
// text they would end the line or the head early.
bool has_cr_lf_nul(std::string_view s) { return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos; }

bool has_outer_whitespace(std::string_view s) {
  return !s.empty() && (core::kOws.find(s.front()) != s.npos || core::kOws.find(s.back()) != s.npos);
}

// RFC 9113 §8.2.2: HTTP/2 has its own framing and connection management, so
// these fields mean nothing in it; forwarded, they would steer the upstream's
// HTTP/1.1 framing or connection. `te` is handled apart (only "trailers").
constexpr std::array<std::string_view, 5> kConnectionSpecific = {"connection", "keep-alive", "proxy-connection",
                                                                 "transfer-encoding", "upgrade"};

// RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

bool valid_token(std::string_view s) { return !s.empty() && std::all_of(s.begin(), s.end(), core::is_tchar); }

// A space or control character in the target would split the HTTP/1.1 request
// line differently from what the client meant.
bool target_has_separator(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
  });
}

std::optional<std::uint64_t> parse_length(std::string_view digits) {
  std::uint64_t n = 0;
  for (char c : digits) {
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (n > (std::numeric_limits<std::uint64_t>::max() - d) / 10) return std::nullopt;
    n = n * 10 + d;
  }
  return n;
}

// Goes through the list once, in order; every check returns false after
// recording the refusal, so the first problem found is the one reported.
class Translator {
 public:
  explicit Translator(H2RequestView& out) : out_(out) {
    out_.fields.clear();
    out_.cookie.clear();
    out_.content_length.reset();
    out_.te_trailers = false;
    out_.method = out_.target = out_.authority = out_.scheme = {};
  }
  bool field(std::string_view name, std::string_view value);
  bool finish(bool connect);
  H2Check check;

 private:
  bool refuse(std::string what) {
    check.refusal = H2Refusal::protocol_error;
    check.what = std::move(what);
    return false;
  }
  // Which field a refusal names (only built for a refusal).
  static std::string where(std::string_view name) {
    return (name[0] == ':' ? "pseudo-header " : "field ") + shown(name);
  }
  bool pseudo(std::string_view name, std::string_view value);
  bool regular(std::string_view name, std::string_view value);
  bool regular_name(std::string_view name);
  bool content_length(std::string_view value);
  bool check_target();
  bool check_authority();

  H2RequestView& out_;
  bool regular_seen_ = false;
  std::optional<std::string_view> method_, scheme_, path_, authority_, host_, length_text_;
  std::size_t cookie_at_ = std::string::npos;  // index of the (joined) cookie field
  bool cookie_joined_ = false;                 // out_.cookie holds it
};

bool Translator::field(std::string_view name, std::string_view value) {
  if (name.empty()) return refuse("empty field name");
  if (has_cr_lf_nul(name)) return refuse("field name " + shown(name) + " contains CR, LF or NUL");
  if (has_cr_lf_nul(value)) return refuse(where(name) + ": value contains CR, LF or NUL");
  // RFC 9113 §8.2.1: HTTP/1.1 parsers trim these, HTTP/2 does not, so the
  // two sides could disagree on the value.
  if (has_outer_whitespace(value)) return refuse(where(name) + ": value has leading or trailing whitespace");
  return name[0] == ':' ? pseudo(name, value) : regular(name, value);
}

bool Translator::pseudo(std::string_view name, std::string_view value) {
  // RFC 9113 §8.3: pseudo-headers form a block before the regular fields.
  if (regular_seen_) return refuse("pseudo-header " + shown(name) + " after regular fields");
  std::optional<std::string_view>* slot = nullptr;
  if (name == ":method") slot = &method_;
  if (name == ":scheme") slot = &scheme_;
  if (name == ":path") slot = &path_;
  if (name == ":authority") slot = &authority_;
  if (name == ":status") return refuse("pseudo-header :status in a request (it belongs to responses)");
  if (name == ":protocol") return refuse("pseudo-header :protocol: extended CONNECT (RFC 8441) is not offered");
  if (slot == nullptr) return refuse("unknown pseudo-header " + shown(name));
  if (*slot) return refuse("duplicate pseudo-header " + std::string(name));
  *slot = value;
  return true;
}

bool Translator::regular_name(std::string_view name) {
  for (char c : name) {
    // RFC 9113 §8.2.1: uppercase is malformed in HTTP/2; an upstream would
    // treat "Content-Length" and "content-length" as the same field.
    if (c >= 'A' && c <= 'Z') return refuse("field name " + shown(name) + " has uppercase letters");
    if (!core::is_tchar(c)) return refuse("field name " + shown(name) + " has a character that is not a tchar");
  }
  if (std::find(kConnectionSpecific.begin(), kConnectionSpecific.end(), name) != kConnectionSpecific.end())
    return refuse("connection-specific field " + std::string(name) + " is not allowed in HTTP/2");
  // Only meaningful in an h2c upgrade over HTTP/1.1, which airgate refuses.
  if (name == "http2-settings") return refuse("field http2-settings is not allowed in HTTP/2");
  return true;
}

bool Translator::content_length(std::string_view value) {
  // Strict: one number, the same in every occurrence; no list ("5, 5"), no
  // sign, no space. Any other spelling is a framing the upstream might read
  // differently.
  if (!core::all_digits(value)) return refuse("field content-length: " + shown(value) + " is not a number");
  if (length_text_ && *length_text_ != value)
    return refuse("field content-length: " + shown(value) + " differs from the earlier " + shown(*length_text_));
  const auto n = parse_length(value);
  if (!n) return refuse("field content-length: " + shown(value) + " is too large");
  length_text_ = value;
  out_.content_length = n;
  return true;
}

bool Translator::regular(std::string_view name, std::string_view value) {
  regular_seen_ = true;
  if (!regular_name(name)) return false;
  if (name == "te") {
    // RFC 9113 §8.2.2: "trailers" is the one TE value allowed.
    if (!core::iequals(value, "trailers")) return refuse("field te: only \"trailers\" is allowed, not " + shown(value));
    out_.te_trailers = true;
  } else if (name == "content-length") {
    if (!content_length(value)) return false;
  } else if (name == "host") {
    if (host_) return refuse("duplicate field host");
    if (value.empty() || !valid_host(value)) return refuse("field host: " + shown(value) + " is not a host[:port]");
    host_ = value;
  }
  auto& fields = out_.fields;
  if (name == "cookie") {
    // RFC 9113 §8.2.3: a client may split Cookie into one field per cookie
    // for better compression; HTTP/1.1 allows only one Cookie line.
    if (cookie_at_ != std::string::npos) {
      // An empty crumb adds nothing; joined, it would leave a "; " at an end,
      // whitespace that an HTTP/1.1 parser trims. The field's view is pointed
      // at the joined value in finish(), once it stops growing.
      if (!cookie_joined_) {
        out_.cookie.assign(fields[cookie_at_].second);
        cookie_joined_ = true;
      }
      if (!value.empty()) out_.cookie.append(out_.cookie.empty() ? "" : "; ").append(value);
      return true;
    }
    cookie_at_ = fields.size();
  }
  fields.emplace_back(name, value);
  return true;
}

bool Translator::check_target() {
  const std::string_view path = *path_;
  if (path.empty()) return refuse("pseudo-header :path is empty");
  if (path == "*") {
    if (*method_ != "OPTIONS") return refuse("pseudo-header :path: \"*\" is only allowed with OPTIONS");
    return true;
  }
  // The absolute form would name another host than :authority; the
  // authority form belongs to CONNECT.
  if (path[0] != '/') return refuse("pseudo-header :path: " + shown(path) + " does not start with /");
  if (target_has_separator(path))
    return refuse("pseudo-header :path: " + shown(path) + " contains a space or control character");
  return true;
}

bool Translator::check_authority() {
  if (authority_) {
    const std::string_view a = *authority_;
    // RFC 9113 §8.3.1: userinfo is deprecated and a phishing tool.
    if (a.find('@') != a.npos) return refuse("pseudo-header :authority: " + shown(a) + " contains userinfo (@)");
    if (a.empty() || !valid_host(a)) return refuse("pseudo-header :authority: " + shown(a) + " is not a host[:port]");
    // Two different hosts: which one routes and which one the upstream sees
    // must never differ.
    if (host_ && *host_ != a)
      return refuse("field host " + shown(*host_) + " differs from pseudo-header :authority " + shown(a));
    return true;
  }
  // RFC 9113 §8.3.1: http and https requests carry one or the other.
  if (!host_) return refuse("neither pseudo-header :authority nor field host is present");
  return true;
}

bool Translator::finish(bool connect) {
  if (connect || (method_ && *method_ == "CONNECT")) return refuse("CONNECT is not supported over HTTP/2");
  if (!method_) return refuse("pseudo-header :method is missing");
  if (!scheme_) return refuse("pseudo-header :scheme is missing");
  if (!path_) return refuse("pseudo-header :path is missing");
  if (!valid_token(*method_)) return refuse("pseudo-header :method: " + shown(*method_) + " is not a token");
  if (!valid_scheme(*scheme_)) return refuse("pseudo-header :scheme: " + shown(*scheme_) + " is not a scheme");
  if (!check_target() || !check_authority()) return false;
  out_.method = *method_;
  out_.scheme = *scheme_;
  out_.target = *path_;
  if (authority_) out_.authority = *authority_;
  if (cookie_joined_) out_.fields[cookie_at_].second = out_.cookie;
  return true;
}

}  // namespace

H2Check check_h2_request(std::span<const H2Field> fields, bool connect, std::size_t max_header_list_size,
                         H2RequestView& out) {
  // The size first: an oversized list is answered 431 whatever else is in it.
  std::size_t total = 0;
  for (const auto& [name, value] : fields) {
    total += name.size() + value.size() + kH2FieldOverhead;
    if (total > max_header_list_size) {
      H2Check c;
      c.refusal = H2Refusal::header_list_too_large;
      c.what = "header list larger than " + std::to_string(max_header_list_size) + " bytes (at field " + shown(name) +
               ")";
      return c;
    }
  }
  Translator tr(out);
  bool ok = true;
  for (const auto& [name, value] : fields) {
    ok = tr.field(name, value);
    if (!ok) break;
  }
  if (ok) tr.finish(connect);
  return std::move(tr.check);
}

H2Translation translate_h2_request(std::span<const H2Field> fields, bool connect, std::size_t max_header_list_size) {
  H2RequestView v;
  H2Check c = check_h2_request(fields, connect, max_header_list_size, v);
  H2Translation t;
  t.refusal = c.refusal;
  t.what = std::move(c.what);
  if (!t.ok()) return t;  // a refused request carries nothing half-translated
  auto& r = t.request;
  r.method = v.method;
  r.target = v.target;
  r.authority = v.authority;
  r.scheme = v.scheme;
  r.fields.reserve(v.fields.size());
  for (const auto& [name, value] : v.fields) r.fields.emplace_back(name, value);
  r.content_length = v.content_length;
  r.te_trailers = v.te_trailers;
  return t;
}

std::string host_for_upstream(const H2Request& r) {
  if (!r.authority.empty()) return r.authority;
  for (const auto& [name, value] : r.fields) {
    if (name == "host") return value;
  }
  return {};
}

std::string_view host_for_upstream(const H2RequestView& r) {
  if (!r.authority.empty()) return r.authority;
  for (const auto& [name, value] : r.fields) {
    if (name == "host") return value;
  }
  return {};
}

bool ContentLengthCheck::on_data(std::size_t n) {
  if (!declared_) return true;
  // Compared as "what is left" so that no sum can overflow.
  if (exceeded_ || n > *declared_ - received_) {
    exceeded_ = true;  // stays "too much" for on_end as well
    return false;
  }
  received_ += n;
  return true;
}

bool ContentLengthCheck::on_end() const { return !declared_ || (!exceeded_ && received_ == *declared_); }

}  // namespace airgate::http::rules
