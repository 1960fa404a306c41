#include "core/path.hpp"

#include <array>
#include <vector>

namespace airgate::core {
namespace {

constexpr bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Refusal for a decoded or raw byte that may not appear in a path at all; ""
// when it may.
std::string_view refused_byte(unsigned char c, bool encoded) {
  if (c == 0) return "NUL in path";
  if (c == '/') return encoded ? "encoded \"/\" (%2F) in path" : "";
  if (c == '\\') return encoded ? "encoded \"\\\" (%5C) in path" : "\"\\\" in path";
  if (c == ';') return "\";\" (path parameters) in path";
  if (encoded) return "";
  if (c <= 0x20 || c >= 0x7f) return "control character, space or non-ASCII byte in path";
  return "";
}

bool is_dot_segment(std::string_view seg) { return seg == "." || seg == ".."; }

// Bytes that stand for themselves in a canonical path: printable ASCII but
// "/" and "%" (handled apart), "\\" and ";" (refused). The fast check's table.
constexpr auto kPlain = [] {
  std::array<bool, 256> t{};
  for (int c = 0x21; c < 0x7f; ++c) t[c] = c != '/' && c != '%' && c != '\\' && c != ';';
  return t;
}();

// Escaped bytes from 0x80 up must spell UTF-8: no overlong form (%C0%AE is
// an old way to write "."), no surrogate, nothing above U+10FFFF, no sequence
// cut short by another byte. Raw bytes above 0x7F are refused before this.
class Utf8Escapes {
 public:
  // One byte of the path, `escaped` when it came from %XX; false when it
  // breaks the rule.
  bool feed(unsigned char v, bool escaped) {
    if (need_ == 0) {
      if (!escaped || v < 0x80) return true;
      if (v >= 0xC2 && v <= 0xDF) return expect(1, 0x80, 0xBF);
      if (v >= 0xE0 && v <= 0xEF) return expect(2, v == 0xE0 ? 0xA0 : 0x80, v == 0xED ? 0x9F : 0xBF);
      if (v >= 0xF0 && v <= 0xF4) return expect(3, v == 0xF0 ? 0x90 : 0x80, v == 0xF4 ? 0x8F : 0xBF);
      return false;
    }
    if (!escaped || v < lo_ || v > hi_) return false;
    return expect(need_ - 1, 0x80, 0xBF);
  }
  bool pending() const { return need_ != 0; }

 private:
  bool expect(int need, unsigned char lo, unsigned char hi) {
    need_ = need;
    lo_ = lo;
    hi_ = hi;
    return true;
  }
  int need_ = 0;
  unsigned char lo_ = 0x80, hi_ = 0xBF;
};

constexpr std::string_view kBadUtf8 =
    "percent-escapes that are not UTF-8 (overlong, cut short or out of range) in path";

}  // namespace

bool path_is_canonical(std::string_view p) noexcept {
  if (p.empty() || p[0] != '/') return false;
  std::size_t seg_start = 1;
  Utf8Escapes utf8;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c != '%' && utf8.pending()) return false;
    if (kPlain[c]) continue;
    if (c == '/') {
      if (i > 0) {
        const auto seg = p.substr(seg_start, i - seg_start);
        if (seg.empty() || is_dot_segment(seg)) return false;
      }
      seg_start = i + 1;
      continue;
    }
    if (c == '%') {
      if (p.size() - i < 3) return false;
      const char h = p[i + 1], l = p[i + 2];
      const int hv = hex_value(h), lv = hex_value(l);
      if (hv < 0 || lv < 0) return false;
      if ((h >= 'a' && h <= 'f') || (l >= 'a' && l <= 'f')) return false;  // lower-case hex
      const auto v = static_cast<unsigned char>(hv * 16 + lv);
      if (is_unreserved(v) || !refused_byte(v, true).empty() || !utf8.feed(v, true)) return false;
      i += 2;
      continue;
    }
    if (!refused_byte(c, false).empty()) return false;
  }
  return !utf8.pending() && !is_dot_segment(p.substr(seg_start));
}

NormalizedPath normalize_path(std::string_view p) {
  NormalizedPath out;
  if (p.empty() || p[0] != '/') {
    out.why = "request target is not an absolute path";
    return out;
  }
  // 1. Escapes: unreserved ones decoded, others upper-cased, refused bytes refused.
  std::string decoded;
  decoded.reserve(p.size());
  Utf8Escapes utf8;
  for (std::size_t i = 0; i < p.size(); ++i) {
    const auto c = static_cast<unsigned char>(p[i]);
    if (c != '%') {
      if (auto why = refused_byte(c, false); !why.empty()) {
        out.why = why;
        return out;
      }
      if (!utf8.feed(c, false)) {
        out.why = kBadUtf8;
        return out;
      }
      decoded += static_cast<char>(c);
      continue;
    }
    if (p.size() - i < 3) {
      out.why = "truncated percent-escape in path";
      return out;
    }
    const int hv = hex_value(p[i + 1]), lv = hex_value(p[i + 2]);
    if (hv < 0 || lv < 0) {
      out.why = "invalid percent-escape in path";
      return out;
    }
    const auto v = static_cast<unsigned char>(hv * 16 + lv);
    if (auto why = refused_byte(v, true); !why.empty()) {
      out.why = why;
      return out;
    }
    if (!utf8.feed(v, true)) {
      out.why = kBadUtf8;
      return out;
    }
    if (is_unreserved(v)) {
      decoded += static_cast<char>(v);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded += '%';
      decoded += kHex[v >> 4];
      decoded += kHex[v & 15];
    }
    i += 2;
  }
  if (utf8.pending()) {
    out.why = kBadUtf8;
    return out;
  }
  // 2. Segments: empty ones merged, "." dropped, ".." removes the previous one.
  std::vector<std::string_view> segs;
  const std::string_view d(decoded);
  bool trailing_slash = false;
  std::size_t start = 1;
  for (;;) {
    const auto slash = d.find('/', start);
    const auto seg = d.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    const bool last = slash == std::string_view::npos;
    if (seg == "..") {
      if (segs.empty()) {
        out.why = "\"..\" above the root of the path";
        return out;
      }
      segs.pop_back();
      if (last) trailing_slash = true;
    } else if (seg == "." || seg.empty()) {
      if (last) trailing_slash = true;
    } else {
      segs.push_back(seg);
    }
    if (last) break;
    start = slash + 1;
  }
  out.path.reserve(d.size());
  for (auto s : segs) {
    out.path += '/';
    out.path += s;
  }
  if (out.path.empty() || trailing_slash) out.path += '/';
  out.ok = true;
  return out;
}

}  // namespace airgate::core
