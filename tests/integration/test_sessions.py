"""Browser sessions over real TLS against the real binary: the session cookie
issued after a browser's Basic login, standing in for Basic afterwards with
the app's own Authorization forwarded untouched, removed from what goes
upstream (other cookies byte for byte), signed (tampering, expiry, idle and a
changed password end it), refreshed once a minute, and no Basic challenge for
a browser's script (airgate's own 401 and an upstream's).

Tokens are also made here, in Python, from the secret_file the test writes:
that checks the documented format and lets a test set the times."""

import base64
import hashlib
import hmac
import os
import re
import signal
import struct
import time
import unittest

from test_access_basic import AccessBase, PASSWORDS, USERS_FILE, basic, www_authenticate  # noqa: F401

USER = "bcrypt_2y"
PASSWORD = PASSWORDS[USER]
COOKIE = "__Host-airgate_session"
SECRET = bytes(range(32))
NAV = [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")]
FETCH = [("Sec-Fetch-Mode", "cors"), ("Sec-Fetch-Dest", "empty")]


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def derived(label):
    return hmac.new(SECRET, b"airgate session key v1:" + label, hashlib.sha256).digest()


def user_hash(user):
    with open(USERS_FILE) as f:
        for line in f:
            if line.startswith(user + ":"):
                return line.rstrip("\n").split(":", 1)[1]
    raise KeyError(user)


def make_token(user, issued, expires, refreshed, entry=None, sid=b"\x07" * 16):
    entry = user_hash(user) if entry is None else entry
    fp = hmac.new(derived(b"credential fingerprint"), ("%d:" % len(user)).encode() + user.encode() + entry.encode(),
                  hashlib.sha256).digest()[:16]
    payload = sid + struct.pack(">qqq", issued, expires, refreshed) + fp + user.encode()
    signed = "v1." + b64url(payload)
    mac = hmac.new(derived(b"cookie mac"), signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64url(mac)


def session_cookie(resp):
    """The value of our Set-Cookie, or None; asserts its attributes."""
    for v in resp.header_values("Set-Cookie"):
        if v.startswith(COOKIE + "="):
            return v
    return None


class SessionTest(AccessBase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.secret = os.path.join(self.tmp, "session.key")
        with open(self.secret, "wb") as f:
            f.write(SECRET)
        os.chmod(self.secret, 0o600)
        self.users = self.vector_users_file()

    def start_ag(self, session=None, upstream=None, **sections):
        auth = {"basic": {"users_file": self.users}, "session": dict({"secret_file": self.secret}, **(session or {}))}
        if upstream:
            sections["upstream"] = dict({"url": self.up.url}, **upstream)
        return self.start(self.up, auth, **sections)

    def login(self, ag, extra=()):
        resp, rec = self.get(ag, self.up, [("Authorization", basic(USER, PASSWORD))] + NAV + list(extra))
        self.assertEqual(resp.status, 200, resp)
        value = session_cookie(resp)
        self.assertIsNotNone(value, "no session cookie after a browser's login: %r" % resp.header_values("Set-Cookie"))
        return value.split(";", 1)[0].split("=", 1)[1], value, rec

    def test_login_issues_a_host_cookie_and_it_stands_in_for_basic(self):
        ag = self.start_ag()
        token, set_cookie, _ = self.login(ag)
        attrs = [a.strip() for a in set_cookie.split(";")[1:]]
        self.assertEqual(sorted(attrs), sorted(["Path=/", "Secure", "HttpOnly", "SameSite=Lax"]), set_cookie)
        self.assertTrue(token.startswith("v1."), token)
        # The app's own Bearer, the session cookie among others: passes, the
        # upstream sees the Bearer untouched and every other cookie byte for byte.
        cookie = "airbyte_ui=1; %s=%s;  theme=dark%%20mode; x" % (COOKIE, token)
        resp, rec = self.get(ag, self.up, [("Authorization", "Bearer app-token-1"), ("Cookie", cookie)] + FETCH)
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(rec.header_values("authorization"), ["Bearer app-token-1"])
        self.assertEqual(rec.header_values("cookie"), ["airbyte_ui=1; theme=dark%20mode; x"])
        self.assertIsNone(session_cookie(resp), "a fresh session was re-issued")
        line = self.log_line(ag, rec.target)
        self.assertEqual(self.reason_of(line), "session", line)
        self.assertIn('"%s"' % USER, line)
        # The Basic credential a browser keeps sending alongside is airgate's: removed.
        resp, rec = self.get(ag, self.up, [("Authorization", basic(USER, PASSWORD)),
                                           ("Cookie", "%s=%s" % (COOKIE, token))] + FETCH)
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("authorization"), [])
        # A Cookie header holding only our cookie does not reach the upstream at all.
        resp, rec = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, token))])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("cookie"), [])
        self.assertEqual(self.verifications(ag), 1, "a session request verified a password hash")

    def test_api_clients_and_plain_listeners_get_no_cookie(self):
        ag = self.start_ag()
        resp, _ = self.get(ag, self.up, [("Authorization", basic(USER, PASSWORD))])
        self.assertEqual(resp.status, 200)
        self.assertIsNone(session_cookie(resp), "curl-like client got a session cookie")
        off = self.start_ag(session={"enabled": False})
        resp, _ = self.get(off, self.up, [("Authorization", basic(USER, PASSWORD))] + NAV)
        self.assertEqual(resp.status, 200)
        self.assertIsNone(session_cookie(resp), "session.enabled: false still issued a cookie")
        token = make_token(USER, int(time.time()) - 10, int(time.time()) + 3600, int(time.time()) - 10)
        resp, _ = self.get(off, self.up, [("Cookie", "%s=%s" % (COOKIE, token))])
        self.assert_401(resp)

    def test_bad_cookies_count_as_no_credentials(self):
        ag = self.start_ag(session={"idle_timeout": "10m", "ttl": "1h"})
        now = int(time.time())
        good = make_token(USER, now - 5, now + 3600, now - 5)
        resp, _ = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, good))])
        self.assertEqual(resp.status, 200, "a token made from the documented format was refused")
        cases = {
            "bad_mac": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
            "malformed": "v1.not-a-token",
            "expired": make_token(USER, now - 7200, now - 1, now - 60),
            "idle": make_token(USER, now - 1200, now + 3600, now - 601),
            "credential_changed": make_token(USER, now - 5, now + 3600, now - 5, entry="$2y$10$other"),
        }
        for why, token in cases.items():
            with self.subTest(why):
                resp, rec = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, token))])
                self.assert_401(resp)
                self.assertIsNone(rec)
        code, text = self.admin_get(ag, "/metrics")
        for why in cases:
            self.assertRegex(text, r'airgate_sessions_rejected_total\{reason="%s"\} 1\b' % why)

    def test_refresh_once_a_minute(self):
        ag = self.start_ag(session={"idle_timeout": "10m"})
        now = int(time.time())
        stale = make_token(USER, now - 300, now + 3600, now - 90)
        resp, _ = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, stale))])
        self.assertEqual(resp.status, 200)
        refreshed = session_cookie(resp)
        self.assertIsNotNone(refreshed, "no refresh after 90 s")
        token = refreshed.split(";", 1)[0].split("=", 1)[1]
        payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
        sid, issued, expires, refreshed_at = payload[:16], *struct.unpack(">qqq", payload[16:40])
        self.assertEqual((sid, issued, expires), (b"\x07" * 16, now - 300, now + 3600), "refresh changed the session")
        self.assertLessEqual(abs(refreshed_at - time.time()), 5)
        fresh = make_token(USER, now - 300, now + 3600, now - 30)
        resp, _ = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, fresh))])
        self.assertIsNone(session_cookie(resp), "refreshed more often than once a minute")

    def test_changed_password_ends_sessions_at_reload(self):
        ag = self.start_ag()
        token, _, _ = self.login(ag)
        with open(self.users) as f:
            text = f.read()
        # Replace the user's entry with another valid hash (another vector's).
        other = [l for l in text.splitlines() if l.startswith("bcrypt_2b:")][0].split(":", 1)[1]
        text = re.sub(r"^%s:.*$" % USER, "%s:%s" % (USER, other), text, flags=re.M)
        with open(self.users + ".new", "w") as f:
            f.write(text)
        os.chmod(self.users + ".new", 0o600)
        os.replace(self.users + ".new", self.users)
        err = ag.stderr()
        ag.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while ag.stderr().count("configuration reloaded") <= err.count("configuration reloaded"):
            self.assertLess(time.monotonic(), deadline, "no reload\n" + ag.logs())
            time.sleep(0.05)
        resp, _ = self.get(ag, self.up, [("Cookie", "%s=%s" % (COOKIE, token))])
        self.assert_401(resp)

    def test_no_basic_challenge_for_a_browsers_script(self):
        ag = self.start_ag()
        resp, _ = self.get(ag, self.up, FETCH)
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.header_values("WWW-Authenticate"), [], "a fetch would raise the native dialog")
        # A page the user opens goes to the login form (test_login.py), no dialog either.
        resp, _ = self.get(ag, None, NAV)
        self.assertEqual((resp.status, resp.header_values("WWW-Authenticate")), (303, []))
        self.assert_401(self.get(ag, self.up)[0])
        # The upstream's own 401 + Basic challenge to an authenticated fetch.
        token, _, _ = self.login(ag)
        creds = [("Cookie", "%s=%s" % (COOKIE, token))]
        resp, _ = self.get(ag, self.up, creds + FETCH, path="/challenge")
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.header_values("WWW-Authenticate"), ['Bearer realm="upstream"'])
        resp, _ = self.get(ag, self.up, creds + NAV, path="/challenge")
        self.assertEqual(len(resp.header_values("WWW-Authenticate")), 2)
        passing = self.start_ag(upstream={"browser_basic_challenge": "pass"})
        resp, _ = self.get(passing, self.up, [("Authorization", basic(USER, PASSWORD))] + FETCH, path="/challenge")
        self.assertEqual(len(resp.header_values("WWW-Authenticate")), 2)

    def test_short_secret_file_refuses_start(self):
        with open(self.secret, "wb") as f:
            f.write(b"x" * 31)
        ag = self.start_airgate(self.config(self.up, auth={"basic": {"users_file": self.users},
                                                           "session": {"secret_file": self.secret}}), wait=False)
        code = ag.wait_exit(10)
        self.assertIsNotNone(code, "started with a 31-byte session secret")
        self.assertNotEqual(code, 0)
        self.assertIn("31 bytes; at least 32 random bytes are needed", ag.stderr())


if __name__ == "__main__":
    unittest.main()
