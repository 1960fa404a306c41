"""Upstream failures (design §3 step 9) and https:// upstreams:
refused -> 502, dropped before a response -> 502, connect/read timeout before
a response -> 504, failure after the response started -> the client
connection is closed and never sees a complete-looking body."""

import json
import re
import socket
import time
import unittest

from harness import AirgateTestCase, free_port, request_bytes


def blackhole():
    """A loopback port whose accept queue is full: connect() hangs (SYNs dropped)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(2):
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass
        fillers.append(s)
    return port, [lsock] + fillers


class RefusedTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.dead_port = free_port()
        self.ag = self.start_airgate(self.config("http://127.0.0.1:%d" % self.dead_port))

    def assertNoInternalAddress(self, text):
        self.assertNotIn("127.0.0.1", text)
        self.assertNotIn(str(self.dead_port), text)

    def test_502_json_under_api(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/api/v1/health"))
        r = c.read_response()
        self.assertLess(time.monotonic() - t0, 5)
        text = self.assertErrorResponse(r, 502, json_expected=True, must_mention=("refused",), ag=self.ag)
        self.assertNoInternalAddress(text)
        self.assertNoInternalAddress(r.body.decode(errors="replace"))

    def test_502_html_for_browser(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/connections", [("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")]))
        r = c.read_response()
        text = self.assertErrorResponse(r, 502, json_expected=False, must_mention=("refused",))
        self.assertNoInternalAddress(text)

    def test_502_json_when_accepted(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/connections", [("Accept", "application/json")]))
        self.assertErrorResponse(c.read_response(), 502, json_expected=True)

    def test_client_connection_usable_after_502(self):
        c = self.raw(self.ag)
        for _ in range(2):
            c.send(request_bytes("GET", "/api/v1/health"))
            r = c.read_response()
            self.assertEqual(r.status, 502)
            if (r.header("Connection") or "").lower() == "close":
                break


class UpstreamFaultTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, upstream={"read_timeout": "1s"}))

    def test_502_when_upstream_drops_before_response(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/drop", [("Accept", "application/json")]))
        self.assertErrorResponse(c.read_response(), 502, json_expected=True, ag=self.ag)

    def test_504_on_read_timeout_before_response(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/slow?seconds=4", [("Accept", "application/json")]))
        r = c.read_response()
        elapsed = time.monotonic() - t0
        text = self.assertErrorResponse(r, 504, json_expected=True, must_mention=("read timeout", "1 s"),
                                        ag=self.ag)
        self.assertNotIn("127.0.0.1", text)
        self.assertIn("read timeout", self.ag.stderr() + self.ag.stdout(), "the log should name the timeout")
        self.assertGreater(elapsed, 0.8, "504 before read_timeout (1 s) elapsed")
        self.assertLess(elapsed, 3.0, "504 only after %.1f s with read_timeout 1 s" % elapsed)

    def test_fast_enough_upstream_is_not_a_timeout(self):
        r, _ = self.echo(self.ag, self.up, path="/slow?seconds=0.4")
        self.assertEqual(r.status, 200)

    def test_upstream_closes_mid_body_content_length(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/close-mid-body?mode=length"))
        try:
            r = c.read_response()
        except Exception as e:  # closed before any head: acceptable, nothing looks complete
            return self.assertIn("closed", str(e))
        if r.status == 200:
            self.assertFalse(r.complete, "client got a complete-looking response of %d bytes" % len(r.body))
            self.assertLess(len(r.body), 1000000)
        else:
            self.assertEqual(r.status, 502)
        self.assertTrue(c.closed_by_peer(3), "client connection not closed after a truncated upstream body")

    def test_upstream_closes_mid_body_chunked(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/close-mid-body?mode=chunked"))
        try:
            r = c.read_response()
        except Exception as e:
            return self.assertIn("closed", str(e))
        if r.status == 200:
            self.assertFalse(r.complete, "the proxy terminated a truncated chunked body as if complete")
        else:
            self.assertEqual(r.status, 502)
        self.assertTrue(c.closed_by_peer(3))

    def test_read_timeout_after_response_started_closes_client(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/stall-body?seconds=5&len=1000"))
        r = c.read_response()
        elapsed = time.monotonic() - t0
        if r.status == 200:
            self.assertFalse(r.complete, "body completed although the upstream stalled past read_timeout")
            self.assertLess(len(r.body), 1000)
        else:
            self.assertEqual(r.status, 504)
        self.assertLess(elapsed, 4.0, "stalled body not cut by read_timeout (1 s): %.1f s" % elapsed)

    def test_requests_work_after_faults(self):
        for path in ("/close-mid-body", "/drop", "/slow?seconds=3"):
            c = self.raw(self.ag)
            c.send(request_bytes("GET", path))
            try:
                c.read_response()
            except Exception:
                pass
            c.close()
        for _ in range(3):
            r, rec = self.echo(self.ag, self.up)
            self.assertEqual(r.status, 200)


class ConnectTimeoutTest(AirgateTestCase):
    def test_504_on_connect_timeout(self):
        port, socks = blackhole()
        for s in socks:
            self.addCleanup(s.close)
        ag = self.start_airgate(self.config("http://127.0.0.1:%d" % port, upstream={"connect_timeout": "1s"}))
        c = self.raw(ag)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/api/v1/health"))
        r = c.read_response()
        elapsed = time.monotonic() - t0
        text = self.assertErrorResponse(r, 504, json_expected=True, must_mention=("connect",), ag=ag)
        self.assertNotIn(str(port), text)
        self.assertLess(elapsed, 4.0)


class HttpsUpstreamTest(AirgateTestCase):
    def test_https_upstream_with_ca_file(self):
        up = self.start_upstream("tls-up", tls=True)
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host=host):
                url = "https://%s:%d" % (host, up.port)
                ag = self.start_airgate(self.config(url, workers=1, upstream={"ca_file": self.pki.ca_cert}))
                for i in range(3):
                    r, rec = self.echo(ag, up, [("Cookie", "s=1")])
                    self.assertEqual(r.status, 200, r.body[:300])
                    self.assertEqual(r.json()["upstream"], "tls-up")
                    self.assertEqual(rec.header_values("Cookie"), ["s=1"])
                    self.assertEqual(rec.header_values("X-Forwarded-Proto"), ["https"])
                ids = {rec.conn_id for rec in up.requests()}
                self.assertEqual(len(ids), 1, "TLS upstream connections not reused: %r" % ids)
                up.clear()
                with up._lock:
                    up.connections.clear()
                ag.stop()

    def test_https_upstream_on_a_route(self):
        plain = self.start_upstream("plain")
        tls = self.start_upstream("tls-route", tls=True)
        ag = self.start_airgate(self.config(plain, routes=[
            {"path_prefix": "/api/", "upstream": {"url": tls.url, "ca_file": self.pki.ca_cert}}]))
        s1, _, b1 = self.request(ag, "GET", "/api/v1/workspaces/list")
        s2, _, b2 = self.request(ag, "GET", "/workspaces")
        self.assertEqual((s1, s2), (200, 200), (b1[:200], b2[:200]))
        self.assertEqual(json.loads(b1)["upstream"], "tls-route")
        self.assertEqual(json.loads(b2)["upstream"], "plain")

    def test_untrusted_https_upstream_is_refused(self):
        up = self.start_upstream("tls-untrusted", tls=True)
        ag = self.start_airgate(self.config(up))  # no ca_file: the test CA is not trusted
        c = self.raw(ag)
        c.send(request_bytes("GET", "/api/v1/health"))
        r = c.read_response()
        self.assertEqual(r.status, 502, "an unverified upstream certificate was accepted: %r" % r.body[:200])
        self.assertNotIn(str(up.port), r.body.decode(errors="replace"))
        self.assertEqual([x for x in up.requests()], [], "a request was sent over an unverified TLS connection")


if __name__ == "__main__":
    unittest.main()
