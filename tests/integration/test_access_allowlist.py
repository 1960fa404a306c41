"""IP allowlist (auth.allow) and the satisfy any|all policy with nginx
semantics (design §2, §3 step 4; docs/access-control.md table), against the real
binary over TLS, IPv4 and IPv6."""

import unittest

from harness import free_port, ipv6_loopback_available, tls_listener
from test_access_basic import AccessBase, PASSWORDS, VECTORS_BY_USER, basic

USER = "sha1"  # {SHA}: cheap to verify, the matrix makes many requests
PW = PASSWORDS[USER]
INLINE_USERS = [{"user": USER, "hash": VECTORS_BY_USER[USER]}]

PASS_LIST = ["127.0.0.0/8"]
FAIL_LIST = ["10.0.0.0/8", "192.0.2.1"]

CREDS = {
    "valid": [("Authorization", basic(USER, PW))],
    "invalid": [("Authorization", basic(USER, PW + "-wrong"))],
    "missing": [],
}

# (satisfy, allowlist passes?) -> {credentials: (status, reason)}
MATRIX = {
    ("any", True): {"valid": (200, None), "invalid": (200, None), "missing": (200, None)},
    ("any", False): {"valid": (200, "basic_auth"), "invalid": (401, "invalid_password"),
                     "missing": (401, "missing_credentials")},
    ("all", True): {"valid": (200, "basic_auth"), "invalid": (401, "invalid_password"),
                    "missing": (401, "missing_credentials")},
    ("all", False): {"valid": (403, "ip_not_allowed"), "invalid": (403, "ip_not_allowed"),
                     "missing": (403, "ip_not_allowed")},
}


class AllowlistOnlyTest(AccessBase):
    def test_loopback_allowed_without_credentials(self):
        up = self.start_upstream()
        for allow in (["127.0.0.1/32"], ["127.0.0.1"], ["127.0.0.0/8"], ["127.1.2.3/8"], ["10.0.0.0/8", "127.0.0.1"]):
            with self.subTest(allow=allow):
                ag = self.start(up, {"allow": allow})
                resp, rec = self.get(ag, up, [("User-Agent", "allow-ok")])
                self.assertEqual(resp.status, 200, "allow %r: %r %r" % (allow, resp, resp.body[:200]))
                self.assertIsNotNone(rec)
                self.assertEqual(resp.header_values("WWW-Authenticate"), [])
                self.assertEqual(self.reason_of(self.log_line(ag, "allow-ok")), "allowlist")
                ag.stop()

    def test_not_listed_403(self):
        up = self.start_upstream()
        for allow in (["10.0.0.0/8"], ["127.0.0.2/32"], ["::1/128"], ["128.0.0.0/1"]):
            with self.subTest(allow=allow):
                ag = self.start(up, {"allow": allow})
                resp, rec = self.get(ag, up, [("User-Agent", "deny-probe")])
                self.assertEqual(resp.status, 403, "allow %r: %r %r" % (allow, resp, resp.body[:200]))
                self.assertIsNone(rec, "a denied request reached the upstream")
                self.assertEqual(resp.header_values("WWW-Authenticate"), [],
                                 "a 403 by the allowlist must not ask for credentials")
                self.assertEqual(self.reason_of(self.log_line(ag, "deny-probe")), "ip_not_allowed")
                # credentials do not help when only the allowlist is configured
                resp, _ = self.get(ag, up, CREDS["valid"])
                self.assertEqual(resp.status, 403)
                ag.stop()

    def test_403_error_page_formats(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": ["10.0.0.0/8"]})
        resp, _ = self.get(ag, up, [("Accept", "text/html")], path="/workspaces")
        self.assertErrorResponse(resp, 403, json_expected=False)
        resp, _ = self.get(ag, up, [("Accept", "application/json")], path="/api/v1/workspaces/list")
        self.assertErrorResponse(resp, 403, json_expected=True)
        self.assertNotIn("127.0.0.1", resp.body.decode("utf-8", "replace"),
                         "error pages must not echo internal addresses")

    def test_keep_alive_after_403(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": ["10.0.0.0/8"]})
        c = self.raw(ag)
        for _ in range(3):
            resp, _ = self.get(ag, up, conn=c)
            self.assertEqual(resp.status, 403)

    def test_invalid_cidr_refuses_start(self):
        for bad in ("10.0.0.0/33", "not-an-address", "::1/129", "300.1.1.1", ""):
            with self.subTest(allow=bad):
                ag = self.start_airgate(self.config("http://127.0.0.1:%d" % free_port(),
                                                    auth={"allow": [bad]}), wait=False)
                code = ag.wait_exit(15)
                self.assertIsNotNone(code, "airgate started with allow %r\n%s" % (bad, ag.logs()))
                self.assertNotEqual(code, 0)
                self.assertIn("allow", ag.stderr(), ag.stderr()[-1000:])


@unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback")
class AllowlistIPv6Test(AccessBase):
    def start6(self, up, auth):
        return self.start(up, auth, listen=[tls_listener(self.pki, "[::1]:0")])

    def test_ipv6_listener_allowed(self):
        up = self.start_upstream()
        for allow in (["::1/128"], ["::1"], ["::/0"], ["10.0.0.0/8", "::1/128"], ["0:0:0:0:0:0:0:1"]):
            with self.subTest(allow=allow):
                ag = self.start6(up, {"allow": allow})
                self.assertEqual(ag.listeners[0].host, "::1")
                resp, rec = self.get(ag, up)
                self.assertEqual(resp.status, 200, "allow %r: %r %r" % (allow, resp, resp.body[:200]))
                self.assertEqual(rec.header_values("X-Real-IP"), ["::1"])
                ag.stop()

    def test_ipv6_listener_denied(self):
        up = self.start_upstream()
        for allow in (["2001:db8::/32"], ["127.0.0.1/32"], ["::2/128"], ["::ffff:127.0.0.1"]):
            with self.subTest(allow=allow):
                ag = self.start6(up, {"allow": allow})
                resp, rec = self.get(ag, up)
                self.assertEqual(resp.status, 403, "allow %r: %r" % (allow, resp))
                self.assertIsNone(rec)
                ag.stop()


class SatisfyMatrixTest(AccessBase):
    """Every combination of satisfy x allowlist pass/fail x credentials valid/invalid/missing."""

    def test_matrix(self):
        up = self.start_upstream()
        for (satisfy, listed), expected in MATRIX.items():
            ag = self.start(up, {"satisfy": satisfy, "allow": PASS_LIST if listed else FAIL_LIST,
                                 "basic": {"users": INLINE_USERS}})
            for creds, (status, reason) in expected.items():
                with self.subTest(satisfy=satisfy, allowlist="pass" if listed else "fail", credentials=creds):
                    ua = "matrix-%s-%s-%s" % (satisfy, listed, creds)
                    resp, rec = self.get(ag, up, CREDS[creds] + [("User-Agent", ua)])
                    self.assertEqual(resp.status, status, "satisfy %s, allowlist %s, credentials %s: %r %r" % (
                        satisfy, "pass" if listed else "fail", creds, resp, resp.body[:200]))
                    if status == 200:
                        self.assertIsNotNone(rec, "allowed request not forwarded")
                    else:
                        self.assertIsNone(rec, "denied request reached the upstream")
                    if status == 401:
                        self.assertEqual(resp.header_values("WWW-Authenticate"),
                                         ['Basic realm="Welcome to Airbyte", charset="UTF-8"'])
                    else:
                        self.assertEqual(resp.header_values("WWW-Authenticate"), [])
                    if reason:
                        self.assertEqual(self.reason_of(self.log_line(ag, ua)), reason)
            ag.stop()

    def test_users_only_ignores_satisfy(self):
        up = self.start_upstream()
        for satisfy in ("any", "all"):
            with self.subTest(satisfy=satisfy):
                ag = self.start(up, {"satisfy": satisfy, "basic": {"users": INLINE_USERS}})
                self.assertEqual(self.status(ag, up, CREDS["valid"]), 200)
                self.assertEqual(self.status(ag, up, CREDS["invalid"]), 401)
                self.assertEqual(self.status(ag, up, CREDS["missing"]), 401)
                ag.stop()

    def test_allowlist_only_ignores_satisfy(self):
        up = self.start_upstream()
        for satisfy in ("any", "all"):
            for listed in (True, False):
                with self.subTest(satisfy=satisfy, listed=listed):
                    ag = self.start(up, {"satisfy": satisfy, "allow": PASS_LIST if listed else FAIL_LIST})
                    for creds in ("valid", "missing"):
                        self.assertEqual(self.status(ag, up, CREDS[creds]), 200 if listed else 403)
                    ag.stop()

    def test_no_checks_passes(self):
        up = self.start_upstream()
        ag = self.start(up, {"satisfy": "all"})
        resp, rec = self.get(ag, up, [("User-Agent", "nochecks")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.reason_of(self.log_line(ag, "nochecks")), "no_checks")

    def test_satisfy_any_listed_still_strips_credential(self):
        """satisfy any + listed: passes by the allowlist; the basic credential is still stripped."""
        up = self.start_upstream()
        ag = self.start(up, {"satisfy": "any", "allow": PASS_LIST, "basic": {"users": INLINE_USERS}})
        resp, rec = self.get(ag, up, CREDS["valid"])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Authorization"), [],
                         "the basic credential must not be forwarded upstream")

    def test_invalid_satisfy_refuses_start(self):
        ag = self.start_airgate(self.config("http://127.0.0.1:%d" % free_port(), auth={"satisfy": "some"}),
                                wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code)
        self.assertNotEqual(code, 0)
        self.assertIn("satisfy", ag.stderr())


if __name__ == "__main__":
    unittest.main()
