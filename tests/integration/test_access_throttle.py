"""Throttle (design §2 auth.throttle, §3 step 4; docs/access-control.md): after
max_failures failed logins from one client within window, 429 with
Retry-After for block, without checking passwords."""

import base64
import time
import unittest

from test_access_basic import AccessBase, PASSWORDS, VECTORS_BY_USER, basic

USER = "sha1"
PW = PASSWORDS[USER]
GOOD = [("Authorization", basic(USER, PW))]
BAD = [("Authorization", basic(USER, "wrong-" + PW))]
USERS = [{"user": USER, "hash": VECTORS_BY_USER[USER]},
         {"user": "bcrypt", "hash": VECTORS_BY_USER["bcrypt_2y"]}]
THROTTLE = {"max_failures": 3, "window": "60s", "block": "5s"}


class ThrottleTest(AccessBase):
    def start_throttled(self, up, throttle=THROTTLE, **extra):
        auth = {"basic": {"users": USERS}, "throttle": throttle}
        auth.update(extra.pop("auth_extra", {}))
        return self.start(up, auth, **extra)

    def assert_429(self, resp, block=5):
        self.assertEqual(resp.status, 429, "%r %r" % (resp, resp.body[:300]))
        ra = resp.header("Retry-After")
        self.assertIsNotNone(ra, "429 without Retry-After")
        self.assertRegex(ra, r"^\d+$", "Retry-After must be delay-seconds")
        self.assertTrue(1 <= int(ra) <= block, "Retry-After %s outside 1..%d" % (ra, block))
        self.assertEqual(resp.header_values("WWW-Authenticate"), [])

    def test_block_after_max_failures_then_released(self):
        up = self.start_upstream()
        ag = self.start_throttled(up)
        for i in range(3):
            resp, _ = self.get(ag, up, BAD + [("User-Agent", "fail-%d" % i)])
            self.assert_401(resp, ag=ag)
        blocked_at = time.monotonic()
        # the 4th request, even with the right password, is refused
        resp, rec = self.get(ag, up, GOOD + [("User-Agent", "blocked-good")])
        self.assert_429(resp)
        self.assertIsNone(rec, "a throttled request reached the upstream")
        self.assertIn("text/html", resp.header("Content-Type", ""))
        self.assertEqual(self.reason_of(self.log_line(ag, "blocked-good")), "throttled")
        resp, _ = self.get(ag, up, BAD)
        self.assert_429(resp)
        resp, _ = self.get(ag, up, [], path="/api/v1/workspaces/list")
        self.assert_429(resp)
        self.assertIn("application/json", resp.header("Content-Type", ""))
        # poll (bounded) until the block ends
        deadline = blocked_at + 10
        status = 429
        while time.monotonic() < deadline:
            resp, rec = self.get(ag, up, GOOD)
            status = resp.status
            if status != 429:
                break
            time.sleep(0.25)
        self.assertEqual(status, 200, "the right password should pass once the 5 s block has ended")
        self.assertIsNotNone(rec)
        self.assertGreaterEqual(time.monotonic() - blocked_at, 3.5,
                                "block of 5 s ended after only %.1f s" % (time.monotonic() - blocked_at))

    def test_missing_credentials_do_not_count(self):
        up = self.start_upstream()
        ag = self.start_throttled(up)
        for _ in range(6):
            self.assert_401(self.get(ag, up)[0], ag=ag)
        self.assertEqual(self.get(ag, up, GOOD)[0].status, 200)

    def test_unknown_user_and_malformed_count(self):
        up = self.start_upstream()
        ag = self.start_throttled(up)
        self.assert_401(self.get(ag, up, [("Authorization", basic("nobody", "x"))])[0], ag=ag)
        self.assert_401(self.get(ag, up, [("Authorization", "Basic " + base64.b64encode(b"nocolon").decode())])[0],
                        ag=ag)
        self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        self.assert_429(self.get(ag, up, GOOD)[0])

    def test_success_clears_the_count(self):
        up = self.start_upstream()
        ag = self.start_throttled(up)
        for _ in range(2):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        self.assertEqual(self.get(ag, up, GOOD)[0].status, 200)
        for _ in range(2):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        self.assertEqual(self.get(ag, up, GOOD)[0].status, 200,
                         "a successful login must clear the failure count")

    def test_failures_outside_window_forgotten(self):
        up = self.start_upstream()
        ag = self.start_throttled(up, {"max_failures": 3, "window": "2s", "block": "30s"})
        for _ in range(2):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        time.sleep(2.5)
        for _ in range(2):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        self.assertEqual(self.get(ag, up, GOOD)[0].status, 200,
                         "failures older than the window must not count")

    def test_blocked_connection_keeps_getting_429_on_keep_alive(self):
        up = self.start_upstream()
        ag = self.start_throttled(up)
        c = self.raw(ag)
        for _ in range(3):
            self.assert_401(self.get(ag, up, BAD, conn=c)[0], ag=ag)
        for _ in range(3):
            self.assert_429(self.get(ag, up, GOOD, conn=c)[0])

    def test_public_path_not_throttled(self):
        up = self.start_upstream()
        ag = self.start_throttled(up, auth_extra={"public_paths": ["/api/v1/health"]})
        for _ in range(3):
            self.get(ag, up, BAD)
        self.assert_429(self.get(ag, up, GOOD)[0])
        self.assertEqual(self.get(ag, up, path="/api/v1/health")[0].status, 200)

    def test_per_resolved_client_address(self):
        """Behind a trusted proxy, clients are told apart by X-Forwarded-For."""
        up = self.start_upstream()
        ag = self.start_throttled(up, trusted_proxies=["127.0.0.1/32"])
        a, b = [("X-Forwarded-For", "203.0.113.7")], [("X-Forwarded-For", "198.51.100.9")]
        for _ in range(3):
            self.assert_401(self.get(ag, up, BAD + a)[0], ag=ag)
        self.assert_429(self.get(ag, up, GOOD + a)[0])
        self.assertEqual(self.get(ag, up, GOOD + b)[0].status, 200, "another client must not be blocked")
        self.assert_429(self.get(ag, up, GOOD + a)[0])

    def test_spoofed_xff_does_not_evade(self):
        """From an untrusted peer, rotating X-Forwarded-For does not reset the count."""
        up = self.start_upstream()
        ag = self.start_throttled(up)
        for i in range(3):
            self.assert_401(self.get(ag, up, BAD + [("X-Forwarded-For", "203.0.113.%d" % (i + 1))])[0], ag=ag)
        self.assert_429(self.get(ag, up, GOOD + [("X-Forwarded-For", "203.0.113.99")])[0])

    def test_max_failures_zero_disables(self):
        """docs/access-control.md: `max_failures: 0` disables the throttle."""
        up = self.start_upstream()
        ag = self.start_throttled(up, {"max_failures": 0, "window": "60s", "block": "300s"})
        for _ in range(12):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        self.assertEqual(self.get(ag, up, GOOD)[0].status, 200)

    def test_default_throttle_is_10_failures(self):
        """Design §2 default: { max_failures: 10, window: 60s, block: 300s }."""
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, auth={"basic": {"users": USERS}}))
        for _ in range(10):
            self.assert_401(self.get(ag, up, BAD)[0], ag=ag)
        resp = self.get(ag, up, GOOD)[0]
        self.assert_429(resp, block=300)
        self.assertGreater(int(resp.header("Retry-After")), 250)

    def test_blocked_requests_verify_no_password(self):
        """While blocked, no hash is verified (brute force cannot burn CPU on bcrypt)."""
        up = self.start_upstream()
        ag = self.start_throttled(up)
        before = self.verifications(ag)
        for _ in range(3):
            self.assert_401(self.get(ag, up, [("Authorization", basic("bcrypt", "wrong"))])[0], ag=ag)
        self.assertEqual(self.verifications(ag) - before, 3)
        for _ in range(5):
            self.assert_429(self.get(ag, up, [("Authorization", basic("bcrypt", "wrong-%d" % _))])[0])
        self.assertEqual(self.verifications(ag) - before, 3, "passwords were verified while the client was blocked")


if __name__ == "__main__":
    unittest.main()
