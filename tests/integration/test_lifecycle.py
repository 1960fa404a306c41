"""Process lifecycle and operations (design §7): SIGTERM/SIGINT drain,
listeners in config order, IPv6, admin /healthz and /readyz, the access log
(one line per request, no secrets)."""

import http.client
import json
import signal
import socket
import ssl
import threading
import time
import unittest

from harness import AirgateTestCase, RawConn, free_port, ipv6_loopback_available, request_bytes, tls_listener


def admin_get(ag, path):
    conn = http.client.HTTPConnection(ag.admin.host, ag.admin.port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class ShutdownTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, shutdown_grace="10s"))

    def in_flight(self, path):
        result = {}

        def go():
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", self.ag.port, timeout=20, context=self.ctx())
                conn.request("GET", path)
                r = conn.getresponse()
                result["status"], result["body"] = r.status, r.read()
                conn.close()
            except Exception as e:  # reported by the test
                result["error"] = repr(e)

        t = threading.Thread(target=go, daemon=True)
        t.start()
        self.assertTrue(self.up.wait_for(lambda u: u.requests(path.split("?")[0]), 5), "request never arrived")
        return t, result

    def test_sigterm_lets_in_flight_request_finish_and_exits_0(self):
        t, result = self.in_flight("/slow?seconds=2")
        t0 = time.monotonic()
        self.ag.signal(signal.SIGTERM)
        time.sleep(0.5)
        # no longer accepting: refused, or at least never served
        try:
            c = RawConn(self.ag.port, timeout=2)
            c.send(request_bytes("GET", "/echo?after-sigterm"))
            try:
                r = c.read_response()
                self.fail("a new connection was served after SIGTERM: %r" % r)
            except (OSError, ssl.SSLError, Exception) as e:
                if isinstance(e, AssertionError):
                    raise
            c.close()
        except (ConnectionRefusedError, ssl.SSLError, OSError):
            pass
        t.join(15)
        self.assertNotIn("error", result, result.get("error"))
        self.assertEqual(result.get("status"), 200, result)
        self.assertEqual(json.loads(result["body"])["slept"], 2.0)
        code = self.ag.wait_exit(10)
        self.assertEqual(code, 0, "exit code after SIGTERM\n" + self.ag.logs())
        self.assertLess(time.monotonic() - t0, 6, "drain took too long")
        self.assertEqual(self.up.requests("/echo"), [])

    def test_sigterm_closes_idle_keepalive_connections(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/echo?idle"))
        self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        self.ag.signal(signal.SIGTERM)
        code = self.ag.wait_exit(8)
        self.assertEqual(code, 0, "did not exit 0 within 8 s with only an idle keep-alive connection\n"
                         + self.ag.logs())
        self.assertLess(time.monotonic() - t0, 5, "an idle keep-alive connection delayed the shutdown")
        self.assertTrue(c.closed_by_peer(2))

    def test_sigint_exits_0(self):
        self.ag.signal(signal.SIGINT)
        self.assertEqual(self.ag.wait_exit(8), 0, self.ag.logs())

    def test_shutdown_grace_bounds_the_drain(self):
        ag = self.start_airgate(self.config(self.up, shutdown_grace="1s"))
        self.ag = ag
        t, result = self.in_flight("/slow?seconds=10")
        t0 = time.monotonic()
        ag.signal(signal.SIGTERM)
        code = ag.wait_exit(8)
        self.assertIsNotNone(code, "still running 8 s after SIGTERM with shutdown_grace 1s")
        self.assertLess(time.monotonic() - t0, 5)


class AdminTest(AirgateTestCase):
    def test_healthz_and_readyz(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        self.assertEqual(admin_get(ag, "/healthz")[0], 200)
        self.assertEqual(admin_get(ag, "/readyz")[0], 200)
        up.stop()
        deadline = time.monotonic() + 5
        status = None
        while time.monotonic() < deadline:
            status = admin_get(ag, "/readyz")[0]
            if status == 503:
                break
            time.sleep(0.2)
        self.assertEqual(status, 503, "/readyz with the upstream down")
        self.assertEqual(admin_get(ag, "/healthz")[0], 200)

    def test_admin_disabled(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, admin=None))
        self.assertIsNone(ag.admin)
        self.assertNotIn("admin listening", ag.stderr())
        status, _, _ = self.request(ag, "GET", "/echo")
        self.assertEqual(status, 200)


class ListenersTest(AirgateTestCase):
    def test_listeners_logged_in_config_order(self):
        up = self.start_upstream()
        cfg = self.config(up, listen=[{"address": "127.0.0.1:0"}, tls_listener(self.pki), {"address": "127.0.0.1:0"}])
        ag = self.start_airgate(cfg)
        self.assertEqual([l.scheme for l in ag.listeners], ["http", "https", "http"])
        self.assertEqual(len({l.port for l in ag.listeners}), 3)
        for i in range(3):
            status, _, _ = self.request(ag, "GET", "/echo", listener=i)
            self.assertEqual(status, 200)

    def test_fixed_port_listener(self):
        up = self.start_upstream()
        port = free_port()
        ag = self.start_airgate(self.config(up, listen=[tls_listener(self.pki, address="127.0.0.1:%d" % port)]))
        self.assertEqual(ag.port, port)

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback")
    def test_ipv6_listener(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, listen=[tls_listener(self.pki, address="[::1]:0")]))
        self.assertEqual(ag.listeners[0].host, "::1")
        self.assertIn("listening on https://[::1]:%d" % ag.port, ag.stderr())
        c = RawConn(ag.port, host="::1", ctx=self.ctx())
        self.addCleanup(c.close)
        c.send(request_bytes("GET", "/echo?v6", [("Host", "[::1]:%d" % ag.port)]))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        rec = up.requests("/echo")[-1]
        self.assertEqual(rec.header_values("X-Forwarded-For"), ["::1"])
        self.assertEqual(rec.header_values("X-Real-IP"), ["::1"])
        self.assertEqual(rec.header_values("Host"), ["[::1]:%d" % ag.port])

    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback")
    def test_ipv6_upstream(self):
        up = self.start_upstream(host="::1")
        ag = self.start_airgate(self.config(up))
        status, _, body = self.request(ag, "GET", "/echo?to-v6")
        self.assertEqual(status, 200, body[:300])


class AccessLogTest(AirgateTestCase):
    SECRETS = ("SEKRITCOOKIE123", "SEKRITTOKEN456", "abc123", "U0VLUklUQkFTSUM=")

    def exercise(self, ag):
        c = self.raw(ag)
        ids = []
        for i in range(3):
            c.send(request_bytes("GET", "/echo?log=%d" % i, [
                ("Cookie", "session=SEKRITCOOKIE123"), ("Authorization", "Bearer SEKRITTOKEN456"),
                ("Proxy-Authorization", "Basic U0VLUklUQkFTSUM=")]))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            ids.append(r.header("X-Request-Id"))
        c.send(request_bytes("GET", "/set-cookie"))
        self.assertEqual(c.read_response().status, 200)
        return ids

    def wait_lines(self, ag, needle, count=1):
        deadline = time.monotonic() + 5
        while True:
            lines = [l for l in ag.stdout().splitlines() if needle in l]
            if len(lines) >= count or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def assertNoSecrets(self, ag):
        logs = ag.stdout() + ag.stderr()
        for s in self.SECRETS:
            self.assertNotIn(s, logs, "a secret reached the logs")

    def test_text_access_log(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        ids = self.exercise(ag)
        for i in range(3):
            lines = self.wait_lines(ag, "/echo?log=%d" % i)
            self.assertEqual(len(lines), 1, "access lines for request %d: %r" % (i, lines))
            line = lines[0]
            for part in ("GET", "200", "127.0.0.1"):
                self.assertIn(part, line)
            if ids[i]:
                self.assertIn(ids[i], line, "request id missing from the access line")
        self.assertEqual(len(self.wait_lines(ag, "/set-cookie")), 1)
        self.assertNoSecrets(ag)

    def test_json_access_log(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, logging={"format": "json"}))
        self.exercise(ag)
        lines = self.wait_lines(ag, "/echo?log=1")
        self.assertEqual(len(lines), 1, lines)
        obj = json.loads(lines[0])
        self.assertIsInstance(obj, dict)
        self.assertTrue(any(v in (200, "200") for v in obj.values()), obj)
        self.assertNoSecrets(ag)

    def test_access_log_off(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, logging={"access_log": "off"}))
        self.exercise(ag)
        time.sleep(0.5)
        self.assertNotIn("/echo?log=1", ag.stdout() + ag.stderr())


if __name__ == "__main__":
    unittest.main()
