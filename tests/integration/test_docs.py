"""Documentation checks (no airgate binary needed).

- Every relative link in README.md and docs/*.md resolves to an existing file
  or directory, and every `#anchor` (same page or `page.md#anchor`) matches a
  heading of the target page, with GitHub's anchor rules.
- Every configuration key the loader accepts (the table of known keys per
  section in proxy/config/load.cpp) appears in backticks in
  docs/configuration.md, alone (`max_body_size`) or in a dotted path
  (`limits.max_body_size`, `listen[].tls.sni[].names`).

Run: cd tests/integration && python3 -m unittest -v test_docs
"""

import os
import re
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DOCS = os.path.join(ROOT, "docs")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REF_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.I)
CODE_SPAN = re.compile(r"(`+)(.+?)\1")


def markdown_files():
    files = [os.path.join(ROOT, "README.md")]
    files += sorted(os.path.join(DOCS, f) for f in os.listdir(DOCS) if f.endswith(".md"))
    return files


def prose_lines(text):
    """(line number, line) outside fenced code blocks."""
    fence = None
    for no, line in enumerate(text.split("\n"), 1):
        m = FENCE.match(line)
        if m:
            if fence is None:
                fence = m.group(1)
            elif m.group(1) == fence:
                fence = None
            continue
        if fence is None:
            yield no, line


def slug(heading):
    """GitHub's anchor for a heading: markup dropped, lower-case, punctuation
    other than '-' and '_' removed, each space becomes '-'."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # links -> their text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    text = text.replace("`", "").replace("*", "")
    text = re.sub(r"(?<!\w)_+|_+(?!\w)", "", text)  # _emphasis_ markers, not snake_case
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path):
    """Every anchor a page defines: heading slugs (duplicates get -1, -2, ...)
    and explicit <a name|id="...">."""
    seen, result = {}, set()
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for _, line in prose_lines(text):
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            result.add(base if n == 0 else "%s-%d" % (base, n))
        result.update(a.lower() for a in HTML_ANCHOR.findall(line))
    return result


def links(path):
    """(line number, target) of every inline, image and reference link."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for no, line in prose_lines(text):
        # Code spans are not links, but link text may be a code span.
        plain = CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), line)
        for m in INLINE_LINK.finditer(plain):
            start, end = m.span(1)
            yield no, line[start:end]
        m = REF_LINK.match(plain)
        if m:
            yield no, line[m.start(1):m.end(1)]


def is_external(target):
    return re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) is not None or target.startswith("//")


class SlugTest(unittest.TestCase):
    """The anchor rules the link check relies on."""

    def test_github_rules(self):
        self.assertEqual(slug("Slow clients"), "slow-clients")
        self.assertEqual(slug("Request smuggling defences (RFC 9112)"), "request-smuggling-defences-rfc-9112")
        self.assertEqual(slug("`listen` — list of listeners"), "listen--list-of-listeners")
        self.assertEqual(slug('What "exposed" means'), "what-exposed-means")
        self.assertEqual(slug("Choices that differ from nginx's defaults, and why"),
                         "choices-that-differ-from-nginxs-defaults-and-why")
        self.assertEqual(slug("`max_body_size`"), "max_body_size")


class LinkTest(unittest.TestCase):
    def test_files_exist(self):
        self.assertTrue(os.path.isfile(os.path.join(ROOT, "README.md")))
        self.assertTrue(os.path.isfile(os.path.join(DOCS, "configuration.md")))

    def test_relative_links_and_anchors_resolve(self):
        problems, checked = [], 0
        anchor_cache = {}
        for path in markdown_files():
            rel = os.path.relpath(path, ROOT)
            for no, target in links(path):
                if not target or is_external(target):
                    continue
                checked += 1
                file_part, _, anchor = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.exists(dest):
                    problems.append("%s:%d: %s: no such file %s" % (rel, no, target, os.path.relpath(dest, ROOT)))
                    continue
                if os.path.relpath(dest, ROOT).split(os.sep)[0] == "..":
                    problems.append("%s:%d: %s: points outside the repository" % (rel, no, target))
                    continue
                if anchor:
                    if not dest.endswith(".md") or not os.path.isfile(dest):
                        problems.append("%s:%d: %s: an anchor into a file that is not Markdown" % (rel, no, target))
                        continue
                    if dest not in anchor_cache:
                        anchor_cache[dest] = anchors(dest)
                    if anchor.lower() not in anchor_cache[dest]:
                        problems.append("%s:%d: %s: no heading #%s in %s"
                                        % (rel, no, target, anchor, os.path.relpath(dest, ROOT)))
        self.assertGreater(checked, 20, "suspiciously few links found; is the link parser broken?")
        self.assertEqual(problems, [], "broken links:\n" + "\n".join(problems))


def accepted_config_keys():
    """{section: [keys]} from the known-keys table in proxy/config/load.cpp."""
    with open(os.path.join(ROOT, "proxy", "config", "load.cpp"), encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"known_keys\(\)\s*\{(.*?)return keys;", src, re.S)
    if not m:
        raise AssertionError("known_keys() table not found in proxy/config/load.cpp")
    table = {}
    for section, body in re.findall(r'\{\s*"(\w*)"\s*,\s*\{([^{}]*)\}\s*\}', m.group(1)):
        table[section] = re.findall(r'"(\w+)"', body)
    return table


KEY_PATH = re.compile(r"^[a-z_][a-z0-9_]*(\[\d*\])*(\.[a-z_][a-z0-9_]*(\[\d*\])*)*$")


class ConfigKeysTest(unittest.TestCase):
    def test_every_accepted_key_is_documented(self):
        table = accepted_config_keys()
        # Guard against the regex silently matching nothing.
        for section in ("", "listen", "tls", "upstream", "limits", "auth", "logging"):
            self.assertIn(section, table, "section %r not parsed from load.cpp" % section)
        self.assertIn("max_body_size", table["limits"])
        self.assertGreater(sum(len(v) for v in table.values()), 40)

        with open(os.path.join(DOCS, "configuration.md"), encoding="utf-8") as f:
            text = f.read()
        documented = set()
        for span in re.findall(r"`([^`\n]+)`", text):
            span = span.strip()
            if KEY_PATH.match(span):
                documented.update(p for p in re.split(r"[.\[\]]+", span) if p and not p.isdigit())

        missing = ["%s%s" % (section + "." if section else "", key)
                   for section, keys in sorted(table.items()) for key in keys if key not in documented]
        self.assertEqual(missing, [], "accepted by proxy/config/load.cpp but not in docs/configuration.md: "
                         + ", ".join(missing))


if __name__ == "__main__":
    unittest.main()
