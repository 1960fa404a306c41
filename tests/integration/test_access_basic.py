"""Basic auth against the real binary over TLS (issue 3, design §2 auth/env,
§3 step 4, §5): every htpasswd hash format (vectors made by real tools, see
vectors/users.htpasswd), 401 + WWW-Authenticate, malformed Authorization
headers, load errors naming file:line, inline and environment users, what is
(not) forwarded upstream, Proxy-Authorization, public paths, the access log,
and the verified-credential cache.

``AccessBase`` (no tests of its own) is shared by the other test_access_*.py
files, test_passwd.py and test_airbyte_compat.py."""

import base64
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest
import urllib.request

from harness import AirgateTestCase, RawConn, request_bytes, run_cli, free_port, write_config  # noqa: F401

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "vectors")
USERS_FILE = os.path.join(VECTORS, "users.htpasswd")
with open(os.path.join(VECTORS, "passwords.json")) as _f:
    PASSWORDS = json.load(_f)


def load_vectors():
    """[(user, hash)] from vectors/users.htpasswd, in file order."""
    out = []
    with open(USERS_FILE) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            user, _, h = line.partition(":")
            out.append((user, h))
    return out


VECTORS_BY_USER = dict(load_vectors())
_TAGS = itertools.count(1)
DEFAULT_REALM = "Welcome to Airbyte"


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def www_authenticate(realm=DEFAULT_REALM):
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return 'Basic realm="%s", charset="UTF-8"' % escaped


class AccessBase(AirgateTestCase):
    """Helpers for access-control tests. Defines no tests itself."""

    def users_file(self, text, name="users"):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o600)
        return path

    def vector_users_file(self):
        with open(USERS_FILE) as f:
            return self.users_file(f.read(), "vectors.htpasswd")

    def start(self, up, auth=None, env=None, **sections):
        """airgate in front of ``up``. Unless ``auth`` sets one, the throttle
        is effectively off (max_failures 1000000), so tests that try many wrong
        passwords are not blocked."""
        auth = dict(auth or {})
        auth.setdefault("throttle", {"max_failures": 1000000})
        sections["auth"] = auth
        return self.start_airgate(self.config(up, **sections), env=env)

    def get(self, ag, up, headers=(), path="/echo", listener=0, method="GET", body=b"", conn=None):
        """One request (on a fresh TLS connection unless ``conn``) -> (Response,
        upstream Record or None). The target gets a unique tag; the upstream
        record is waited for only when the answer says it was forwarded."""
        tag = "%d-%d" % (os.getpid(), next(_TAGS))
        target = path + ("&" if "?" in path else "?") + "tag=" + tag
        c = conn or self.raw(ag, listener)
        c.send(request_bytes(method, target, list(headers), body))
        resp = c.read_response(method)
        recs = []
        if up is not None and resp.status < 400:
            recs = up.wait_for(lambda u: [r for r in u.requests() if r.target == target and
                                          (r.body_complete or r.body_error)], timeout=5) or []
        elif up is not None:
            recs = [r for r in up.requests() if r.target == target]
        if conn is None:
            c.close()
        return resp, (recs[-1] if recs else None)

    def status(self, ag, up, headers=(), path="/echo", listener=0):
        return self.get(ag, up, headers, path=path, listener=listener)[0].status

    def log_line(self, ag, needle, timeout=5.0):
        """The access-log (stdout) line containing needle (bounded wait)."""
        deadline = time.monotonic() + timeout
        while True:
            for line in ag.stdout().splitlines():
                if needle in line:
                    return line
            if time.monotonic() > deadline:
                self.fail("no access log line containing %r\n%s" % (needle, ag.logs()))
            time.sleep(0.05)

    def assert_401(self, resp, realm=DEFAULT_REALM, ag=None):
        self.assertEqual(resp.status, 401, "expected 401, got %r body=%r\n%s" % (
            resp, resp.body[:300], ag.logs() if ag else ""))
        self.assertEqual(resp.header_values("WWW-Authenticate"), [www_authenticate(realm)])

    def reason_of(self, line):
        m = re.search(r"reason=(\S+)", line)
        return m.group(1) if m else None

    # How many password hashes airgate verified (AccessControl::verifications()),
    # read from the admin /metrics endpoint.
    METRIC = "airgate_credential_verifications_total"

    def verifications(self, ag):
        code, text = self.admin_get(ag, "/metrics")
        self.assertEqual(code, 200, "no way to observe hash verifications: admin /metrics answered %d %r. "
                                    "AccessControl::verifications() must be exposed (metric %s)"
                         % (code, text[:200], self.METRIC))
        total = 0
        found = False
        for line in text.splitlines():
            if (line.startswith(self.METRIC + " ") or line.startswith(self.METRIC + "{")):
                found = True
                total += int(float(line.rsplit(" ", 1)[1]))
        self.assertTrue(found, "metric %s missing from /metrics:\n%s" % (self.METRIC, text[:2000]))
        return total

    def admin_get(self, ag, path):
        url = "http://%s:%d%s" % (ag.admin.host if ":" not in ag.admin.host else "[%s]" % ag.admin.host,
                                  ag.admin.port, path)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")


class HashFormatsTest(AccessBase):
    """One user per hash format in a users_file; right password passes, wrong gets 401."""

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start(self.up, {"basic": {"users_file": self.vector_users_file()}})

    def test_vectors_cover_every_format(self):
        prefixes = {h.split("$")[1] if h.startswith("$") else h[:5] for _, h in load_vectors()}
        for p in ("2y", "2b", "2a", "5", "6", "y", "apr1", "{SHA}"):
            self.assertIn(p, prefixes)

    def test_right_password_passes_for_each_format(self):
        for user, h in load_vectors():
            with self.subTest(user=user, scheme=h[:6]):
                resp, rec = self.get(self.ag, self.up, [("Authorization", basic(user, PASSWORDS[user]))])
                self.assertEqual(resp.status, 200, "%s (%s): %r %r" % (user, h, resp, resp.body[:300]))
                self.assertIsNotNone(rec, "request did not reach the upstream")
                line = self.log_line(self.ag, rec.target)
                self.assertIn('"%s"' % user, line, "user name missing from access log line: %s" % line)
                self.assertEqual(self.reason_of(line), "basic_auth", line)

    def test_wrong_password_401_for_each_format(self):
        for user, h in load_vectors():
            with self.subTest(user=user, scheme=h[:6]):
                for wrong in (PASSWORDS[user] + "x", PASSWORDS[user][:-1], "", PASSWORDS[user].upper()):
                    resp, rec = self.get(self.ag, self.up, [("Authorization", basic(user, wrong))])
                    self.assert_401(resp, ag=self.ag)
                    self.assertIsNone(rec, "a denied request reached the upstream")

    def test_wrong_password_reason_in_log(self):
        resp, _ = self.get(self.ag, self.up, [("Authorization", basic("bcrypt_2y", "nope")),
                                             ("User-Agent", "wrong-pw-probe")])
        self.assert_401(resp, ag=self.ag)
        line = self.log_line(self.ag, "wrong-pw-probe")
        self.assertEqual(self.reason_of(line), "invalid_password", line)
        self.assertIn(" 401 ", line)

    def test_unknown_user_401(self):
        resp, rec = self.get(self.ag, self.up, [("Authorization", basic("mallory", "sha one pw")),
                                               ("User-Agent", "unknown-user-probe")])
        self.assert_401(resp, ag=self.ag)
        self.assertIsNone(rec)
        line = self.log_line(self.ag, "unknown-user-probe")
        self.assertEqual(self.reason_of(line), "unknown_user", line)

    def test_password_of_another_user_401(self):
        resp, _ = self.get(self.ag, self.up, [("Authorization", basic("sha512crypt", PASSWORDS["yescrypt"]))])
        self.assert_401(resp, ag=self.ag)

    def test_no_credentials_401_with_page(self):
        resp, rec = self.get(self.ag, self.up, [("User-Agent", "no-creds-probe"), ("Accept", "text/html")])
        self.assert_401(resp, ag=self.ag)
        self.assertIsNone(rec)
        self.assertIn("text/html", (resp.header("Content-Type") or "").lower())
        self.assertTrue(resp.body.strip(), "401 without a page")
        line = self.log_line(self.ag, "no-creds-probe")
        self.assertEqual(self.reason_of(line), "missing_credentials", line)

    def test_401_keeps_connection_usable(self):
        """A browser answers the 401 on the same connection."""
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/echo?first"))
        self.assert_401(c.read_response(), ag=self.ag)
        c.send(request_bytes("GET", "/echo?second", [("Authorization", basic("sha1", PASSWORDS["sha1"]))]))
        self.assertEqual(c.read_response().status, 200)

    def test_malformed_authorization_is_401_never_500(self):
        good = base64.b64encode(b"sha1:sha one pw").decode()
        cases = {
            "no_colon": "Basic " + base64.b64encode(b"sha1-sha one pw").decode(),
            "bad_base64": "Basic !!!not*base64!!!",
            "truncated_base64": "Basic " + good[:-3],
            "base64_with_space": "Basic " + good[:4] + " " + good[4:],
            "empty_after_scheme": "Basic ",
            "scheme_only": "Basic",
            "huge_10k": "Basic " + base64.b64encode(b"sha1:" + b"A" * 7600).decode(),
            "huge_10k_garbage": "Basic " + "%" * 10240,
            "non_utf8": "Basic " + base64.b64encode(b"sha1:\xff\xfe\x80").decode(),
            "nul_in_credential": "Basic " + base64.b64encode(b"sha1\x00:sha one pw").decode(),
            "other_scheme": "Digest username=\"sha1\", realm=\"x\"",
            "lowercase_scheme_wrong_pw": "basic " + base64.b64encode(b"sha1:wrong").decode(),
        }
        for name, value in cases.items():
            with self.subTest(case=name, size=len(value)):
                resp, rec = self.get(self.ag, self.up, [("Authorization", value)])
                self.assert_401(resp, ag=self.ag)
                self.assertIsNone(rec)
        # and the process is still healthy
        resp, _ = self.get(self.ag, self.up, [("Authorization", "Basic " + good)])
        self.assertEqual(resp.status, 200)
        self.assertIsNone(self.ag.proc.poll())

    def test_expect_100_continue_denied_before_body(self):
        """Design §3 step 5: 100-continue only after access passed; a denied
        upload gets its 401 without the client sending the body."""
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?expect-denied", [("Expect", "100-continue"),
                                                              ("Content-Length", "100000")]))
        resp = c.read_response()
        self.assert_401(resp, ag=self.ag)
        self.assertEqual(resp.interim, [], "100 Continue sent to an unauthenticated client")
        self.assertEqual(self.up.requests(), [])
        # with credentials the upload goes through
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?expect-ok", [("Expect", "100-continue"), ("Content-Length", "5"),
                                                           ("Authorization", basic("sha1", PASSWORDS["sha1"]))]))
        status, _, _, _ = c.read_head()
        self.assertEqual(status, 100)
        c.send(b"hello")
        self.assertEqual(c.read_response("POST").status, 200)

    def test_websocket_upgrade_needs_credentials(self):
        ws = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13"),
              ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")]
        resp, rec = self.get(self.ag, self.up, ws, path="/ws")
        self.assert_401(resp, ag=self.ag)
        self.assertIsNone(rec)
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/ws", ws + [("Authorization", basic("sha1", PASSWORDS["sha1"]))]))
        self.assertEqual(c.read_response().status, 101)

    def test_malformed_reason_in_log(self):
        self.get(self.ag, self.up, [("Authorization", "Basic " + base64.b64encode(b"nocolon").decode()),
                                    ("User-Agent", "malformed-probe")])
        line = self.log_line(self.ag, "malformed-probe")
        self.assertEqual(self.reason_of(line), "malformed_credentials", line)

    def test_scheme_is_case_insensitive(self):
        """RFC 9110 §11.1: the auth-scheme is case-insensitive."""
        for scheme in ("basic", "BASIC", "bAsIc"):
            with self.subTest(scheme=scheme):
                token = base64.b64encode(b"sha1:sha one pw").decode()
                resp, _ = self.get(self.ag, self.up, [("Authorization", "%s %s" % (scheme, token))])
                self.assertEqual(resp.status, 200)


class RealmTest(AccessBase):
    def test_custom_realm(self):
        up = self.start_upstream()
        for realm in ("Airbyte staging", "Airbyte (prod) - eu/1"):
            with self.subTest(realm=realm):
                ag = self.start(up, {"realm": realm, "basic": {"users_file": self.vector_users_file()}})
                resp, _ = self.get(ag, up)
                self.assert_401(resp, realm=realm, ag=ag)
                resp, _ = self.get(ag, up, [("Authorization", basic("sha1", "bad"))])
                self.assert_401(resp, realm=realm, ag=ag)
                ag.stop()


class UsersFileErrorsTest(AccessBase):
    """A line in an unknown format is a load error naming file:line; airgate refuses to start."""

    def start_expect_failure(self, text):
        path = self.users_file(text, "bad-users")
        up_url = "http://127.0.0.1:%d" % free_port()
        ag = self.start_airgate(self.config(up_url, auth={"basic": {"users_file": path}}), wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code, "airgate kept running with a bad users file\n%s" % ag.logs())
        return path, code, ag.stderr()

    def test_unknown_formats_refuse_start_naming_file_and_line(self):
        good = "sha1:%s\n" % VECTORS_BY_USER["sha1"]
        bad_lines = {
            "plain": "carol:plaintextpassword",
            "des_crypt": "carol:8uX/siwsNxRdo",  # mkpasswd -m descrypt
            "md5_crypt": "carol:$1$RcmzofIt$PXyiMloNRMcVqCNt5zGv..",  # mkpasswd -m md5crypt
            "plain_scheme": "carol:{PLAIN}secret",
            "no_colon": "carol",
            "empty_user": ":%s" % VECTORS_BY_USER["sha1"],
            "truncated_bcrypt": "carol:$2y$10$abc",
        }
        for name, bad in bad_lines.items():
            with self.subTest(case=name):
                # line 3 is the bad one (comment, good line, bad line)
                path, code, err = self.start_expect_failure("# users\n" + good + bad + "\n")
                self.assertNotEqual(code, 0, err)
                self.assertEqual(code, 78, "design §1: EX_CONFIG (78) when the config cannot be loaded; stderr:\n"
                                 + err[-2000:])
                self.assertIn("%s:3" % path, err, "stderr must name file:line\n" + err[-2000:])
                self.assertNotIn("listening on", err)

    def test_duplicate_user_is_a_load_error(self):
        h = VECTORS_BY_USER["sha1"]
        path, code, err = self.start_expect_failure("sha1:%s\nother:%s\nsha1:%s\n" % (h, h, h))
        self.assertNotEqual(code, 0)
        self.assertIn("%s:3" % path, err, err[-2000:])

    def test_missing_users_file_refuses_start(self):
        up_url = "http://127.0.0.1:%d" % free_port()
        missing = os.path.join(self.tmp, "does-not-exist")
        ag = self.start_airgate(self.config(up_url, auth={"basic": {"users_file": missing}}), wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code, "airgate started without its users file\n%s" % ag.logs())
        self.assertNotEqual(code, 0)
        self.assertIn(missing, ag.stderr())

    def test_check_lists_every_unsupported_line(self):
        """docs/access-control.md (migrating): `airgate check` lists every unsupported line with its number."""
        h = VECTORS_BY_USER["apr1"]
        path = self.users_file("ok1:%s\nbad1:{PLAIN}x\nok2:%s\nbad2:8uX/siwsNxRdo\n" % (h, h), "mixed-users")
        cfg = write_config(self.tmp, self.config("http://127.0.0.1:%d" % free_port(),
                                                 auth={"basic": {"users_file": path}}), "check.yaml")
        p = run_cli(["check", "-c", cfg])
        out = (p.stdout + p.stderr).decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, out)
        self.assertIn("%s:2" % path, out)
        self.assertIn("%s:4" % path, out)
        self.assertNotIn("%s:1" % path, out)
        self.assertNotIn("%s:3" % path, out)

    @unittest.skipUnless(shutil.which("htpasswd"), "apache2-utils htpasswd not installed")
    def test_nginx_htpasswd_file_works_as_is(self):
        """A file written by Apache's htpasswd (as used with nginx auth_basic_user_file)."""
        path = os.path.join(self.tmp, "nginx.htpasswd")
        users = {"md5user": ("-b", "md5 pass"), "bcryptuser": ("-bB", "bcrypt pass"),
                 "shauser": ("-bs", "sha pass")}
        first = True
        for user, (flags, pw) in users.items():
            cmd = ["htpasswd"] + ([flags + "c"] if first else [flags]) + [path, user, pw]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
            self.assertEqual(p.returncode, 0, p.stderr)
            first = False
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": path}})
        for user, (_, pw) in users.items():
            with self.subTest(user=user):
                self.assertEqual(self.status(ag, up, [("Authorization", basic(user, pw))]), 200)
                self.assertEqual(self.status(ag, up, [("Authorization", basic(user, pw + "x"))]), 401)

    def test_comments_blank_crlf_and_third_field_accepted(self):
        up = self.start_upstream()
        text = ("# comment\r\n\r\nsha1:%s\r\n   \napr1:%s:some comment\n"
                % (VECTORS_BY_USER["sha1"], VECTORS_BY_USER["apr1"]))
        ag = self.start(up, {"basic": {"users_file": self.users_file(text)}})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("apr1", PASSWORDS["apr1"]))]), 200)

    def test_empty_users_file_lets_nobody_in(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.users_file("# nobody\n")}})
        self.assertEqual(self.status(ag, up), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 401)


class InlineAndEnvUsersTest(AccessBase):
    def test_inline_users(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users": [
            {"user": "alice", "hash": VECTORS_BY_USER["bcrypt_2y"]},
            {"user": "bob", "hash": VECTORS_BY_USER["yescrypt"]},
        ]}})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", PASSWORDS["bcrypt_2y"]))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("bob", PASSWORDS["yescrypt"]))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", PASSWORDS["yescrypt"]))]), 401)
        self.assertEqual(self.status(ag, up), 401)

    def test_inline_user_with_bad_hash_refuses_start(self):
        up_url = "http://127.0.0.1:%d" % free_port()
        ag = self.start_airgate(self.config(up_url, auth={"basic": {"users": [
            {"user": "alice", "hash": "plaintext"}]}}), wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code, "airgate started with an inline user in an unknown format\n%s" % ag.logs())
        self.assertNotEqual(code, 0)

    def test_inline_and_file_users_together(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file(),
                                       "users": [{"user": "alice", "hash": VECTORS_BY_USER["sha512crypt"]}]}})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("alice", PASSWORDS["sha512crypt"]))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)

    def test_env_username_password(self):
        up = self.start_upstream()
        pw = "env pass: w0rd with spaces"
        ag = self.start(up, env={"BASIC_AUTH_USERNAME": "airbyte", "BASIC_AUTH_PASSWORD": pw})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("airbyte", pw))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("airbyte", pw + "!"))]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("other", pw))]), 401)
        self.assertEqual(self.status(ag, up), 401)
        self.assertNotIn(pw, ag.stderr() + ag.stdout(), "the environment password appears in the logs")

    def test_env_user_replaces_file_user_of_same_name(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}},
                        env={"BASIC_AUTH_USERNAME": "sha1", "BASIC_AUTH_PASSWORD": "the env one"})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", "the env one"))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 401)
        # other users of the file are still there
        self.assertEqual(self.status(ag, up, [("Authorization", basic("apr1", PASSWORDS["apr1"]))]), 200)

    def test_env_password_file(self):
        up = self.start_upstream()
        secret = os.path.join(self.tmp, "airbyte_pw")
        with open(secret, "w") as f:
            f.write("from a docker secret\n")  # trailing newline is not part of the password
        os.chmod(secret, 0o600)
        ag = self.start(up, env={"BASIC_AUTH_USERNAME": "airbyte", "BASIC_AUTH_PASSWORD_FILE": secret})
        self.assertEqual(self.status(ag, up, [("Authorization", basic("airbyte", "from a docker secret"))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("airbyte", "from a docker secret\n"))]), 401)
        self.assertEqual(self.status(ag, up), 401)

    def test_env_both_empty_disables_auth(self):
        up = self.start_upstream()
        ag = self.start(up, env={"BASIC_AUTH_USERNAME": "", "BASIC_AUTH_PASSWORD": ""})
        resp, rec = self.get(ag, up)
        self.assertEqual(resp.status, 200, ag.logs())
        self.assertIsNotNone(rec)

    def test_env_username_without_password_refuses_start(self):
        up_url = "http://127.0.0.1:%d" % free_port()
        ag = self.start_airgate(self.config(up_url), env={"BASIC_AUTH_USERNAME": "airbyte"}, wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code, "airgate started with a user name and no password\n%s" % ag.logs())
        self.assertNotEqual(code, 0)


class ForwardingOfCredentialsTest(AccessBase):
    USER, PW = "sha512crypt", PASSWORDS["sha512crypt"]

    def test_basic_credential_not_forwarded(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        resp, rec = self.get(ag, up, [("Authorization", basic(self.USER, self.PW))])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Authorization"), [], rec.headers)
        self.assertEqual(rec.header_values("Proxy-Authorization"), [], rec.headers)

    def test_forward_authorization_true(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}, "forward_authorization": True})
        resp, rec = self.get(ag, up, [("Authorization", basic(self.USER, self.PW))])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Authorization"), [basic(self.USER, self.PW)])

    def test_proxy_authorization_accepted_removed_and_bearer_forwarded(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        bearer = "Bearer xyz.eyJhbGciOi.abc-_="
        resp, rec = self.get(ag, up, [("Proxy-Authorization", basic(self.USER, self.PW)),
                                      ("Authorization", bearer)])
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(rec.header_values("Proxy-Authorization"), [], rec.headers)
        self.assertEqual(rec.header_values("Authorization"), [bearer], rec.headers)
        line = self.log_line(ag, rec.target)
        self.assertIn('"%s"' % self.USER, line)

    def test_proxy_authorization_alone(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        resp, rec = self.get(ag, up, [("Proxy-Authorization", basic(self.USER, self.PW))])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Proxy-Authorization"), [])

    def test_proxy_authorization_wrong_password_401_and_bearer_alone_401(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        resp, _ = self.get(ag, up, [("Proxy-Authorization", basic(self.USER, "wrong")),
                                    ("Authorization", "Bearer xyz")])
        self.assert_401(resp, ag=ag)
        resp, _ = self.get(ag, up, [("Authorization", "Bearer xyz")])
        self.assert_401(resp, ag=ag)

    def test_proxy_authorization_wins_over_basic_authorization(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        resp, _ = self.get(ag, up, [("Proxy-Authorization", basic(self.USER, self.PW)),
                                    ("Authorization", basic(self.USER, "wrong"))])
        self.assertEqual(resp.status, 200)
        resp, _ = self.get(ag, up, [("Proxy-Authorization", basic(self.USER, "wrong")),
                                    ("Authorization", basic(self.USER, self.PW))])
        self.assert_401(resp, ag=ag)

    def test_bearer_untouched_without_auth_configured(self):
        up = self.start_upstream()
        ag = self.start(up)
        resp, rec = self.get(ag, up, [("Authorization", "Bearer abc")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Authorization"), ["Bearer abc"])


class PublicPathsTest(AccessBase):
    def test_public_path_exact_match_only(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()},
                             "public_paths": ["/api/v1/health"]})
        resp, rec = self.get(ag, up, path="/api/v1/health")  # echo() appends ?tag=...: query ignored
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertIsNotNone(rec)
        line = self.log_line(ag, rec.target)
        self.assertEqual(self.reason_of(line), "public_path", line)
        for path in ("/api/v1/health/x", "/api/v1/health/", "/api/v1/healthz", "/api/v1/Health", "/api/v1"):
            with self.subTest(path=path):
                resp, rec = self.get(ag, up, path=path)
                self.assertEqual(resp.status, 401, "%s should need credentials" % path)
                self.assertIsNone(rec)
        # An encoded "/" is refused before any public path is looked at.
        resp, rec = self.get(ag, up, path="/api/v1/health%2Fx")
        self.assertEqual(resp.status, 400)
        self.assertIsNone(rec)

    def test_public_path_with_allowlist_denying(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": ["10.0.0.0/8"], "public_paths": ["/api/v1/health"]})
        self.assertEqual(self.status(ag, up, path="/api/v1/health"), 200)
        self.assertEqual(self.status(ag, up, path="/api/v1/other"), 403)


class AccessLogSecretsTest(AccessBase):
    def test_log_has_user_and_reasons_never_secrets(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        user, pw = "bcrypt_2b", PASSWORDS["bcrypt_2b"]
        good, bad = basic(user, pw), basic(user, "Wr0ng-Secret-Value")
        resp, rec = self.get(ag, up, [("Authorization", good), ("User-Agent", "log-ok")])
        self.assertEqual(resp.status, 200)
        self.get(ag, up, [("Authorization", bad), ("User-Agent", "log-bad")])
        self.get(ag, up, [("Proxy-Authorization", good), ("User-Agent", "log-proxy")])
        ok_line = self.log_line(ag, "log-ok")
        self.assertIn('"%s"' % user, ok_line)
        self.assertEqual(self.reason_of(self.log_line(ag, "log-bad")), "invalid_password")
        self.log_line(ag, "log-proxy")
        everything = ag.stdout() + ag.stderr()
        for secret in (pw, "Wr0ng-Secret-Value", good.split(" ", 1)[1], bad.split(" ", 1)[1]):
            self.assertNotIn(secret, everything, "a secret (%r) appears in the logs" % secret)


class CredentialCacheTest(AccessBase):
    """Design §4 / issue 3: a browser sending the same credentials on every
    request costs one hash verification. Proven by counting verifications, not
    by timing: the admin /metrics counter airgate_credential_verifications_total
    (AccessControl::verifications())."""

    def test_same_credentials_cost_one_verification(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        before = self.verifications(ag)
        cred = basic("bcrypt_2y", PASSWORDS["bcrypt_2y"])
        c = self.raw(ag)
        for i in range(20):  # one keep-alive connection
            c.send(request_bytes("GET", "/echo?ka=%d" % i, [("Authorization", cred)]))
            self.assertEqual(c.read_response().status, 200)
        for i in range(10):  # and fresh connections (any worker)
            self.assertEqual(self.status(ag, up, [("Authorization", cred)]), 200)
        self.assertEqual(self.verifications(ag) - before, 1,
                         "30 requests with the same credentials should cost exactly one verification")
        # a wrong password is verified every time (it is never cached)
        for _ in range(3):
            self.assertEqual(self.status(ag, up, [("Authorization", basic("bcrypt_2y", "wrong"))]), 401)
        self.assertEqual(self.verifications(ag) - before, 4)
        # another user is its own verification
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)
        self.assertEqual(self.verifications(ag) - before, 5)

    def reload(self, ag, count):
        """SIGHUP and wait (bounded) for the count-th 'configuration reloaded' line."""
        import signal
        ag.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while ag.stderr().count("configuration reloaded") < count:
            if "reload (" in ag.stderr() and "rejected" in ag.stderr():
                self.fail("reload rejected\n" + ag.logs())
            if time.monotonic() > deadline:
                self.fail("no 'configuration reloaded' line within 10 s\n" + ag.logs())
            time.sleep(0.05)

    def test_changed_password_not_served_from_cache_after_reload(self):
        """The cache is flushed when the users change: an old password cached
        as verified must not keep working after the users file changed."""
        up = self.start_upstream()
        path = self.users_file("alice:%s\n" % VECTORS_BY_USER["bcrypt_2b"])
        ag = self.start(up, {"basic": {"users_file": path}})
        old = basic("alice", PASSWORDS["bcrypt_2b"])
        new = basic("alice", PASSWORDS["sha512crypt"])
        for _ in range(3):
            self.assertEqual(self.status(ag, up, [("Authorization", old)]), 200)
        with open(path, "w") as f:
            f.write("alice:%s\n" % VECTORS_BY_USER["sha512crypt"])
        self.reload(ag, 1)
        self.assertEqual(self.status(ag, up, [("Authorization", old)]), 401,
                         "the old password still passes after the users file changed and was reloaded")
        self.assertEqual(self.status(ag, up, [("Authorization", new)]), 200)

    def test_reload_flushes_cache(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}})
        cred = basic("bcrypt_2y", PASSWORDS["bcrypt_2y"])
        for _ in range(3):
            self.assertEqual(self.status(ag, up, [("Authorization", cred)]), 200)
        self.assertEqual(self.verifications(ag), 1)
        self.reload(ag, 1)
        # the counter restarts with the new access control (metric help: "since the last reload")
        base = self.verifications(ag)
        for _ in range(3):
            self.assertEqual(self.status(ag, up, [("Authorization", cred)]), 200)
        self.assertEqual(self.verifications(ag) - base, 1, "after a reload the credential is verified once again")


class AuthFailureMetricsTest(AccessBase):
    """Issue 3: metrics carry the reason of each denial (admin /metrics,
    airgate_auth_failures_total{reason="..."}), never a user's secret."""

    def failures(self, ag):
        code, text = self.admin_get(ag, "/metrics")
        self.assertEqual(code, 200, text[:300])
        out = {}
        for m in re.finditer(r'^airgate_auth_failures_total\{reason="([a-z_]+)"\} (\d+(?:\.\d+)?)$', text, re.M):
            out[m.group(1)] = int(float(m.group(2)))
        return out, text

    def test_denials_counted_by_reason(self):
        up = self.start_upstream()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()}, "allow": ["10.0.0.0/8"],
                             "satisfy": "any"})
        before, _ = self.failures(ag)
        self.assertEqual(self.status(ag, up), 401)                                            # missing
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", "Secr3t-Wrong"))]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("nobody", "x"))]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", "Basic %%%")]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 200)
        after, text = self.failures(ag)
        for reason in ("missing_credentials", "invalid_password", "unknown_user", "malformed_credentials"):
            self.assertEqual(after.get(reason, 0) - before.get(reason, 0), 1,
                             "airgate_auth_failures_total{reason=%r}\n%s" % (reason, text[:3000]))
        self.assertNotIn("Secr3t-Wrong", text)
        self.assertNotIn(PASSWORDS["sha1"], text)

    def test_ip_not_allowed_and_throttled_counted(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": ["10.0.0.0/8"]})
        before, _ = self.failures(ag)
        self.assertEqual(self.status(ag, up), 403)
        after, text = self.failures(ag)
        self.assertEqual(after.get("ip_not_allowed", 0) - before.get("ip_not_allowed", 0), 1, text[:3000])
        ag.stop()
        ag = self.start(up, {"basic": {"users_file": self.vector_users_file()},
                             "throttle": {"max_failures": 1, "window": "60s", "block": "60s"}})
        before, _ = self.failures(ag)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", "wrong"))]), 401)
        self.assertEqual(self.status(ag, up, [("Authorization", basic("sha1", PASSWORDS["sha1"]))]), 429)
        after, text = self.failures(ag)
        self.assertEqual(after.get("throttled", 0) - before.get("throttled", 0), 1, text[:3000])


if __name__ == "__main__":
    unittest.main()
