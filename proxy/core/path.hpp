// The request path's canonical form, used for every path decision (public
// paths, routes and their access policies) and sent upstream when the
// client's spelling differs from it.
//
//   - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are
//     decoded; every other escape is kept, its hex digits in upper case;
//   - dot segments ("." and "..", also spelled %2e) are removed, repeated
//     slashes merged; a trailing slash is kept;
//   - refused (nothing to match safely): a path not starting with "/",
//     an encoded "/" (%2F) or "\" (%5C), a raw "\", NUL (raw or %00),
//     an invalid or truncated escape, escaped bytes that are not UTF-8
//     (overlong %C0%AE for "." and the like), ".." above the root, any ";" (raw or
//     %3B: Java servers such as Airbyte's treat what follows it as path
//     parameters and drop it when routing, so "/a;x/b" could reach "/a/b"),
//     control characters, space and bytes outside ASCII.
//   - the query is not part of the path and never touched; case is kept
//     (a case variant is a different path).
#pragma once

#include <string>
#include <string_view>

namespace airgate::core {

// True when `path` (without the query) is already canonical: no allocation,
// one pass. Most requests take only this.
bool path_is_canonical(std::string_view path) noexcept;

struct NormalizedPath {
  bool ok = false;
  std::string path;      // the canonical path when ok
  std::string_view why;  // why it was refused, a fixed phrase, when !ok
};

// The canonical form of `path` (without the query), or why there is none.
NormalizedPath normalize_path(std::string_view path);

}  // namespace airgate::core
