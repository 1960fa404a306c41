"""`airgate passwd [-f FILE] USER` (design §1, §5; issue 3): a bcrypt entry
(cost >= 10), password from stdin, atomic write with mode 0600, other lines
kept, then the proxy accepts the password from that file. Hashes are checked
with libxcrypt through Python's crypt module (and Apache's htpasswd -v when
installed), not with airgate's own code."""

import os
import re
import shutil
import stat
import subprocess
import unittest
import warnings

from harness import AIRGATE_ENV_VARS, require_binary, run_cli
from test_access_basic import AccessBase, PASSWORDS, VECTORS_BY_USER, basic

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import crypt  # libxcrypt; removed in Python 3.13
    except ImportError:  # pragma: no cover
        crypt = None

BCRYPT_RE = re.compile(r"^\$2[yb]\$(\d\d)\$[./A-Za-z0-9]{53}$")


def passwd(path, user, stdin, umask=None):
    if umask is None:
        return run_cli(["passwd", "-f", path, user], stdin=stdin)
    env = {k: v for k, v in os.environ.items() if k not in AIRGATE_ENV_VARS}
    return subprocess.run([require_binary(), "passwd", "-f", path, user], input=stdin, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                          preexec_fn=lambda: os.umask(umask))


def entries(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                user, _, h = line.partition(":")
                out.setdefault(user, []).append(h)
    return out


class PasswdTest(AccessBase):
    def check_hash(self, h, password):
        m = BCRYPT_RE.match(h)
        self.assertIsNotNone(m, "not a $2y$/$2b$ bcrypt hash: %r" % h)
        self.assertGreaterEqual(int(m.group(1)), 10, "bcrypt cost below 10: %r" % h)
        if crypt is not None:
            self.assertEqual(crypt.crypt(password, h), h, "libxcrypt does not accept the password for %r" % h)
            self.assertNotEqual(crypt.crypt(password + "x", h), h)

    def check_with_htpasswd(self, path, user, password):
        if shutil.which("htpasswd") and path:
            p = subprocess.run(["htpasswd", "-vb", path, user, password], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.returncode, 0, "htpasswd -v rejects the entry: %s" % p.stderr.decode())

    def mode(self, path):
        return stat.S_IMODE(os.stat(path).st_mode)

    def test_create_update_and_use(self):
        path = os.path.join(self.tmp, "users")
        pw1, pw2 = "first passw0rd: long enough", "second-Passw0rd-\u00e9t\u00e9"
        p = passwd(path, "alice", (pw1 + "\n").encode())
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(self.mode(path), 0o600, "users file mode %o" % self.mode(path))
        ents = entries(path)
        self.assertEqual(list(ents), ["alice"])
        self.assertEqual(len(ents["alice"]), 1)
        h1 = ents["alice"][0]
        self.check_hash(h1, pw1)
        self.check_with_htpasswd(path, "alice", pw1)
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertNotIn(pw1, out, "passwd echoed the password")

        # a second call updates the entry in place
        p = passwd(path, "alice", (pw2 + "\n").encode("utf-8"))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        ents = entries(path)
        self.assertEqual(len(ents["alice"]), 1, "second call added a duplicate line")
        h2 = ents["alice"][0]
        self.assertNotEqual(h1, h2)
        self.check_hash(h2, pw2)
        self.assertEqual(self.mode(path), 0o600)

        # and the proxy accepts the new password from that file
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": path}})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", pw2))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", pw1))]), 401)
        self.assertEqual(self.status(ag, up), 401)

    def test_keeps_other_lines_and_comments(self):
        d = os.path.join(self.tmp, "etc")
        os.makedirs(d)
        path = os.path.join(d, "users")
        with open(path, "w") as f:
            f.write("# team users\nbob:%s\n\n# ci\nsha1:%s\n" % (VECTORS_BY_USER["apr1"], VECTORS_BY_USER["sha1"]))
        os.chmod(path, 0o644)
        p = passwd(path, "alice", b"alice password 123\n")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(os.listdir(d), ["users"], "temporary files left next to the users file")
        with open(path) as f:
            text = f.read()
        self.assertIn("# team users\n", text)
        self.assertIn("# ci\n", text)
        self.assertIn("bob:%s\n" % VECTORS_BY_USER["apr1"], text)
        self.assertIn("sha1:%s\n" % VECTORS_BY_USER["sha1"], text)
        self.assertEqual(self.mode(path), 0o600, "rewritten file must be 0600")
        # replace bob's weak hash
        p = passwd(path, "bob", b"bob new password\n")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        ents = entries(path)
        self.assertEqual(sorted(ents), ["alice", "bob", "sha1"])
        self.check_hash(ents["bob"][0], "bob new password")
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": path}})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", "alice password 123"))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("bob", "bob new password"))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("bob", PASSWORDS["apr1"]))]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)

    def test_mode_0600_whatever_the_umask(self):
        path = os.path.join(self.tmp, "users-umask")
        p = passwd(path, "alice", b"some password\n", umask=0)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(self.mode(path), 0o600)

    def test_first_line_of_stdin(self):
        path = os.path.join(self.tmp, "users")
        p = passwd(path, "alice", b"line one pw\nline two\n")
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.check_hash(entries(path)["alice"][0], "line one pw")

    def test_empty_password_refused(self):
        for stdin in (b"\n", b""):
            with self.subTest(stdin=stdin):
                path = os.path.join(self.tmp, "users-empty")
                p = passwd(path, "alice", stdin)
                self.assertNotEqual(p.returncode, 0, "empty password accepted")
                self.assertFalse(os.path.exists(path) and entries(path).get("alice"),
                                 "an entry was written for an empty password")

    def test_empty_password_leaves_existing_file_unchanged(self):
        path = self.users_file("alice:%s\n" % VECTORS_BY_USER["bcrypt_2y"], "users")
        with open(path, "rb") as f:
            before = f.read()
        p = passwd(path, "alice", b"\n")
        self.assertNotEqual(p.returncode, 0)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), before)

    def test_bad_user_names_refused(self):
        for user in ("al:ice", ""):
            with self.subTest(user=user):
                path = os.path.join(self.tmp, "users-bad")
                p = passwd(path, user, b"some password\n")
                self.assertNotEqual(p.returncode, 0, "user %r accepted" % user)
                self.assertFalse(os.path.exists(path) and entries(path), "an entry was written")

    def test_missing_directory_fails(self):
        p = passwd(os.path.join(self.tmp, "no", "such", "dir", "users"), "alice", b"some password\n")
        self.assertNotEqual(p.returncode, 0)
        self.assertTrue(p.stderr.strip(), "no error message")


if __name__ == "__main__":
    unittest.main()
