"""The login page (auth.login: form) over real TLS against the real binary: a
browser navigation without credentials is sent to /.airgate/login, the form
logs in through the same verifiers and throttle as Basic and hands out the
session cookie, the login-CSRF nonce is checked, `rd` never leaves the site,
logout ends the session for good, and everyone who is not a browser's page
(curl, API clients, a page's fetch) keeps today's answers. Also the
operator's own error pages (error_pages.dir)."""

import os
import re
import time
import unittest
import urllib.parse

from test_access_basic import AccessBase, basic, www_authenticate  # noqa: F401
from test_sessions import COOKIE, FETCH, NAV, PASSWORD, USER, session_cookie

from harness import request_bytes

LOGIN_COOKIE = "__Host-airgate_login"
FORM = [("Content-Type", "application/x-www-form-urlencoded"), ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Site", "same-origin"), ("Origin", "https://localhost")]


def cookie_value(resp, name):
    for v in resp.header_values("Set-Cookie"):
        if v.startswith(name + "="):
            return v.split(";", 1)[0].split("=", 1)[1], v
    return None, None


def hidden(body, name):
    m = re.search(r'name="%s" value="([^"]*)"' % name, body)
    return m.group(1) if m else None


class LoginTest(AccessBase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.secret = os.path.join(self.tmp, "session.key")
        with open(self.secret, "wb") as f:
            f.write(bytes(range(32)))
        os.chmod(self.secret, 0o600)
        self.users = self.vector_users_file()

    def start_ag(self, auth=None, **sections):
        a = {"basic": {"users_file": self.users}, "session": {"secret_file": self.secret}}
        a.update(auth or {})
        return self.start(self.up, a, **sections)

    def own(self, ag, path, headers=(), method="GET", body=b"", listener=0):
        """A request for one of airgate's own pages: never forwarded."""
        c = self.raw(ag, listener)
        try:
            c.send(request_bytes(method, path, list(headers), body))
            resp = c.read_response(method)
        finally:
            c.close()
        self.assertEqual([r for r in self.up.requests() if r.target.startswith("/.airgate")], [],
                         "a request for airgate's own page reached the upstream")
        return resp

    def form_page(self, ag, rd="/"):
        resp = self.own(ag, "/.airgate/login?rd=" + urllib.parse.quote(rd, safe=""), NAV)
        self.assertEqual(resp.status, 200, resp)
        nonce, _ = cookie_value(resp, LOGIN_COOKIE)
        body = resp.body.decode()
        return nonce, hidden(body, "csrf"), body

    def submit(self, ag, fields, nonce, headers=FORM):
        body = urllib.parse.urlencode(fields).encode()
        cookies = [("Cookie", "%s=%s" % (LOGIN_COOKIE, nonce))] if nonce else []
        return self.own(ag, "/.airgate/login", list(headers) + cookies, "POST", body)

    def sign_in(self, ag, rd="/", user=USER, password=PASSWORD):
        nonce, csrf, _ = self.form_page(ag, rd)
        return self.submit(ag, {"username": user, "password": password, "rd": rd, "csrf": csrf}, nonce)

    def test_a_navigation_without_credentials_goes_to_the_login_page(self):
        ag = self.start_ag()
        c = self.raw(ag)
        c.send(request_bytes("GET", "/connections/x?tab=1&b=2", NAV))
        resp = c.read_response()
        c.close()
        self.assertEqual(resp.status, 303, resp)
        self.assertEqual(resp.header("Location"), "/.airgate/login?rd=%2Fconnections%2Fx%3Ftab%3D1%26b%3D2")
        self.assertEqual(resp.header_values("WWW-Authenticate"), [])
        self.assertEqual(self.reason_of(self.log_line(ag, "/connections/x")), "login_required")
        c = self.raw(ag)
        c.send(request_bytes("HEAD", "/", NAV))
        self.assertEqual(c.read_response("HEAD").status, 303)
        c.close()
        # Not a page the user opens: today's answers, exactly.
        self.assert_401(self.get(ag, self.up)[0])
        resp, _ = self.get(ag, self.up, FETCH)
        self.assertEqual((resp.status, resp.header_values("WWW-Authenticate")), (401, []))
        resp, _ = self.get(ag, self.up, [("Sec-Fetch-Mode", "navigate")], method="POST", body=b"x=1")
        self.assert_401(resp)
        self.assertEqual(self.up.requests(), [], "something reached the upstream without credentials")

    def test_the_form(self):
        ag = self.start_ag(auth={"realm": "Airbyte <prod>"})
        resp = self.own(ag, "/.airgate/login?rd=%2Fworkspaces%2F1%3Fa%3D%22x%22", NAV)
        self.assertEqual(resp.status, 200, resp)
        self.assertTrue(resp.header("Content-Type").startswith("text/html"))
        self.assertIn("default-src 'none'", resp.header("Content-Security-Policy"))
        self.assertIn("frame-ancestors 'none'", resp.header("Content-Security-Policy"))
        self.assertEqual(resp.header("Cache-Control"), "no-store")
        nonce, set_cookie = cookie_value(resp, LOGIN_COOKIE)
        self.assertRegex(nonce, r"^[A-Za-z0-9_-]{22}$")
        attrs = sorted(a.strip() for a in set_cookie.split(";")[1:])
        self.assertEqual(attrs, sorted(["Max-Age=3600", "Path=/", "Secure", "HttpOnly", "SameSite=Strict"]))
        body = resp.body.decode()
        self.assertIn("<title>Airbyte &lt;prod&gt;</title>", body)
        self.assertIn('autocomplete="username"', body)
        self.assertIn('autocomplete="current-password"', body)
        self.assertIn('method="post" action="/.airgate/login"', body)
        self.assertEqual(hidden(body, "rd"), "/workspaces/1?a=&quot;x&quot;")
        self.assertTrue(hidden(body, "csrf"))
        self.assertNotIn("<script", body)
        # A second tab keeps the browser's nonce: both forms stay valid.
        resp = self.own(ag, "/.airgate/login", NAV + [("Cookie", "%s=%s" % (LOGIN_COOKIE, nonce))])
        self.assertEqual(cookie_value(resp, LOGIN_COOKIE)[0], nonce)
        # A HEAD has the page's headers and no body.
        c = self.raw(ag)
        c.send(request_bytes("HEAD", "/.airgate/login", NAV))
        resp = c.read_response("HEAD")
        c.close()
        self.assertEqual((resp.status, resp.body), (200, b""))

    def test_rd_never_leaves_the_site(self):
        ag = self.start_ag()
        for rd in ["//evil.example/x", "/\\evil.example", "https://evil.example/", "\\\\evil.example",
                   "/\n/evil", "/\r\nSet-Cookie:x=1", "javascript:alert(1)", "/.airgate/logout", "evil.example", "/\t/evil.example"]:
            with self.subTest(rd=rd):
                _, _, body = self.form_page(ag, rd)
                self.assertEqual(hidden(body, "rd"), "/", rd)
                resp = self.sign_in(ag, rd)
                self.assertEqual(resp.status, 303, resp)
                self.assertEqual(resp.header("Location"), "/")

    def test_login_then_the_app_works_with_its_own_bearer(self):
        ag = self.start_ag()
        resp = self.sign_in(ag, "/workspaces?x=1")
        self.assertEqual(resp.status, 303, resp)
        self.assertEqual(resp.header("Location"), "/workspaces?x=1")
        token, set_cookie = cookie_value(resp, COOKIE)
        self.assertTrue(token and token.startswith("v1."), resp.header_values("Set-Cookie"))
        self.assertIn("SameSite=Lax", set_cookie)
        cleared = cookie_value(resp, LOGIN_COOKIE)[1]
        self.assertIn("Max-Age=0", cleared, "the login nonce was not cleared")
        line = self.log_line(ag, "POST /.airgate/login")
        self.assertEqual(self.reason_of(line), "login")
        self.assertIn('"%s"' % USER, line)
        self.assertNotIn(PASSWORD, ag.stdout() + ag.stderr(), "the password reached a log")
        resp, rec = self.get(ag, self.up, [("Cookie", "a=1; %s=%s" % (COOKIE, token)),
                                           ("Authorization", "Bearer app-token")] + FETCH, path="/api/v1/x")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(rec.header_values("authorization"), ["Bearer app-token"])
        self.assertEqual(rec.header_values("cookie"), ["a=1"])
        # Signed in already: the login page sends the browser straight on.
        resp = self.own(ag, "/.airgate/login?rd=%2Fx", NAV + [("Cookie", "%s=%s" % (COOKIE, token))])
        self.assertEqual((resp.status, resp.header("Location")), (303, "/x"))
        _, text = self.admin_get(ag, "/metrics")
        self.assertRegex(text, r'airgate_logins_total\{outcome="success"\} 1\b')

    def test_wrong_password_shows_the_form_again(self):
        ag = self.start_ag()
        for user, password, reason in [(USER, "wrong", "invalid_password"), ("nobody", "x", "unknown_user"),
                                       ("a:b", PASSWORD, "unknown_user"), ("S3cret-typed-as-user", "", "unknown_user")]:
            with self.subTest(user=user):
                resp = self.sign_in(ag, "/p", user, password)
                self.assertEqual(resp.status, 401, resp)
                body = resp.body.decode()
                self.assertIn("Wrong username or password.", body)
                self.assertIn('role="alert"', body)
                self.assertEqual(hidden(body, "rd"), "/p")
                self.assertIsNone(cookie_value(resp, COOKIE)[0])
                self.assertEqual(resp.header_values("WWW-Authenticate"), [], "a native dialog over the form")
                self.assertIn('value="%s"' % user.replace(":", ":"), body)
        self.assertEqual(self.reason_of(self.log_line(ag, "POST /.airgate/login")), "invalid_password")
        # A rejected user name is not logged: it may be a password typed into the wrong field.
        self.assertNotIn("S3cret-typed-as-user", ag.stdout() + ag.stderr())
        _, text = self.admin_get(ag, "/metrics")
        self.assertRegex(text, r'airgate_logins_total\{outcome="failure"\} 4\b')
        self.assertRegex(text, r'airgate_auth_failures_total\{reason="unknown_user"\} 3\b')

    def test_login_csrf(self):
        ag = self.start_ag()
        nonce, csrf, _ = self.form_page(ag)
        other_nonce, _, _ = self.form_page(ag)
        good = {"username": USER, "password": PASSWORD, "rd": "/", "csrf": csrf}
        cases = {
            "no nonce cookie": (good, None, FORM),
            "another nonce": (good, other_nonce, FORM),
            "no csrf field": (dict(good, csrf=""), nonce, FORM),
            "forged field": (dict(good, csrf="A" * 43), nonce, FORM),
            "cross-site post": (good, nonce, [h for h in FORM if h[0] != "Sec-Fetch-Site"] +
                                [("Sec-Fetch-Site", "cross-site")]),
        }
        for why, (fields, n, headers) in cases.items():
            with self.subTest(why):
                resp = self.submit(ag, fields, n, headers)
                self.assertEqual(resp.status, 403, resp)
                self.assertIn("expired or came from another site", resp.body.decode())
                self.assertIsNone(cookie_value(resp, COOKIE)[0])
                fresh, _ = cookie_value(resp, LOGIN_COOKIE)
                self.assertTrue(fresh and fresh != n, "no new nonce with the form shown again")
        self.assertEqual(self.verifications(ag), 0, "a password was checked without a valid login-CSRF token")
        # The genuine form still works.
        self.assertEqual(self.submit(ag, good, nonce).status, 303)

    def test_throttle(self):
        ag = self.start_ag(auth={"throttle": {"max_failures": 3, "window": "1m", "block": "1m"}})
        for _ in range(3):
            self.assertEqual(self.sign_in(ag, "/", USER, "wrong").status, 401)
        resp = self.sign_in(ag, "/", USER, PASSWORD)
        self.assertEqual(resp.status, 429, resp)
        self.assertTrue(resp.header("Retry-After").isdigit())
        self.assertIn("Too many failed sign-ins", resp.body.decode())
        self.assertIsNone(cookie_value(resp, COOKIE)[0])
        _, text = self.admin_get(ag, "/metrics")
        self.assertRegex(text, r'airgate_logins_total\{outcome="throttled"\} 1\b')

    def test_logout_ends_the_session_for_good(self):
        ag = self.start_ag()
        token, _ = cookie_value(self.sign_in(ag), COOKIE)
        with_cookie = [("Cookie", "%s=%s" % (COOKIE, token))]
        self.assertEqual(self.get(ag, self.up, with_cookie)[0].status, 200)
        # Another site's page cannot sign the user out.
        resp = self.own(ag, "/.airgate/logout", with_cookie + [("Sec-Fetch-Site", "cross-site")] + NAV)
        self.assertEqual(resp.status, 303)
        self.assertIsNone(cookie_value(resp, COOKIE)[1])
        self.assertEqual(self.get(ag, self.up, with_cookie)[0].status, 200)
        resp = self.own(ag, "/.airgate/logout", with_cookie + NAV)
        self.assertEqual((resp.status, resp.header("Location")), (303, "/.airgate/login"))
        _, cleared = cookie_value(resp, COOKIE)
        self.assertIn("Max-Age=0", cleared)
        self.assertEqual(self.reason_of(self.log_line(ag, "/.airgate/logout")), "logout")
        # The old cookie, replayed: refused, counted as revoked.
        resp, rec = self.get(ag, self.up, with_cookie + NAV)
        self.assertEqual(resp.status, 303, "a replayed cookie still works after logout")
        self.assertIsNone(rec)
        _, text = self.admin_get(ag, "/metrics")
        self.assertRegex(text, r'airgate_sessions_rejected_total\{reason="revoked"\} 1\b')

    def test_login_basic_and_plain_listeners_keep_the_basic_dialog(self):
        ag = self.start_ag(auth={"login": "basic"})
        self.assert_401(self.get(ag, self.up, NAV)[0])
        self.assertEqual(self.own(ag, "/.airgate/login", NAV).status, 404)
        self.assertEqual(self.own(ag, "/.airgate/logout", NAV).status, 303, "logout works whatever the login")
        # A Basic login from a browser still gets a session.
        resp, _ = self.get(ag, self.up, [("Authorization", basic(USER, PASSWORD))] + NAV)
        self.assertIsNotNone(session_cookie(resp))
        plain = self.start_airgate(self.config(self.up, listen=[{"address": "127.0.0.1:0"}], auth={
            "basic": {"users_file": self.users}, "session": {"secret_file": self.secret}}))
        c = self.raw(plain)
        c.send(request_bytes("GET", "/", NAV))
        self.assert_401(c.read_response())
        c.close()
        self.assertEqual(self.own(plain, "/.airgate/login", NAV).status, 404)

    def test_own_prefix_is_never_forwarded(self):
        ag = self.start_ag()
        for path, status in [("/.airgate/", 404), ("/.airgate/other", 404), ("/.airgate/login/x", 404)]:
            with self.subTest(path=path):
                self.assertEqual(self.own(ag, path, NAV).status, status)
        resp = self.own(ag, "/.airgate/login", NAV, method="PUT", body=b"x")
        self.assertEqual(resp.status, 405)
        self.assertEqual(resp.header("Allow"), "GET, HEAD, POST")
        big = self.submit(ag, {"username": "u", "password": "p" * 9000, "csrf": "x"}, None)
        self.assertEqual(big.status, 413)
        c = self.raw(ag)
        c.send(b"POST /.airgate/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded"
               b"\r\nTransfer-Encoding: chunked\r\n\r\n3\r\na=b\r\n0\r\n\r\n")
        self.assertEqual(c.read_response().status, 411)
        c.close()
        resp = self.submit(ag, {"username": USER}, None, [("Content-Type", "text/plain")] + FORM[1:])
        self.assertEqual(resp.status, 400)


class ErrorPagesTest(AccessBase):
    def test_operators_pages_replace_ours(self):
        up = self.start_upstream()
        pages = os.path.join(self.tmp, "pages")
        os.mkdir(pages)
        with open(os.path.join(pages, "401.html"), "w") as f:
            f.write("<html><body>Ask the data team for a login.</body></html>\n")
        with open(os.path.join(pages, "502.html"), "w") as f:
            f.write("<p>Airbyte is restarting.</p>")
        ag = self.start(up, {"basic": {"users": [{"user": "u", "hash": "$2y$05$" + "a" * 53}]}},
                        error_pages={"dir": pages})
        resp, _ = self.get(ag, up)
        self.assertEqual(resp.status, 401)
        self.assertEqual(resp.body, b"<html><body>Ask the data team for a login.</body></html>\n")
        self.assertIsNone(resp.header("Content-Security-Policy"))
        self.assertEqual(resp.header_values("WWW-Authenticate"), [www_authenticate("Welcome to Airbyte")])
        # JSON clients keep the JSON body.
        resp, _ = self.get(ag, up, path="/api/v1/x")
        self.assertEqual(resp.json()["error"], "missing_credentials")
        # A status without a file: airgate's own page.
        resp, _ = self.get(ag, up, [("Authorization", basic("u", "x"))] , path="/.airgate/nothing")
        self.assertEqual(resp.status, 404)
        self.assertIn(b"request <code>", resp.body)

    def test_unreadable_dir_refuses_start(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, error_pages={"dir": os.path.join(self.tmp, "missing")}), wait=False)
        code = ag.wait_exit(10)
        self.assertNotEqual(code, 0)
        self.assertIn("error_pages.dir", ag.stderr())


if __name__ == "__main__":
    unittest.main()
