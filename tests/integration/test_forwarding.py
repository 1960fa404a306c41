"""What the upstream sees and what the client gets back (design §3 steps 6 and 8):
method/target, Host, X-Forwarded-*, X-Real-IP, hop-by-hop removal, Cookie and
Set-Cookie pass-through, X-Request-Id, status codes, keep-alive on both sides,
pipelining, Expect: 100-continue, routes."""

import hashlib
import json
import os
import time
import unittest

from harness import (AirgateTestCase, SET_COOKIES_EXPECTED, chunked, request_bytes, Upstream)  # noqa: F401

HOP_BY_HOP = ("connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade")


class ForwardingTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up))

    def one(self, rec, name):
        vals = rec.header_values(name)
        self.assertEqual(len(vals), 1, "upstream should see exactly one %s header, got %r (all: %r)" % (
            name, vals, rec.headers))
        return vals[0]

    def test_method_and_target_unchanged(self):
        path = "/api/v1/connections/list%C3%A9x"  # canonical: escapes kept (%2F would be refused, see test_routes)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            with self.subTest(method=method):
                body = b'{"workspaceId":"w"}' if method in ("POST", "PUT", "PATCH") else b""
                hdrs = [("Content-Type", "application/json")] if body else []
                resp, rec = self.echo(self.ag, self.up, hdrs, method=method,
                                      path=path + "?q=a%20b&z=%3D&empty=", body=body)
                self.assertEqual(resp.status, 200, resp.body[:300])
                self.assertIsNotNone(rec, "upstream did not see the target unchanged; saw %r" %
                                     [r.target for r in self.up.requests()][-3:])
                self.assertEqual(rec.method, method)
                self.assertEqual(rec.version, "HTTP/1.1")
                self.assertEqual(rec.body_len, len(body))
                if body:
                    self.assertEqual(rec.body_sha256, hashlib.sha256(body).hexdigest())

    def test_host_kept_and_forwarded_headers_set(self):
        resp, rec = self.echo(self.ag, self.up, [("Host", "airbyte.example.test:8443")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.one(rec, "Host"), "airbyte.example.test:8443")
        self.assertEqual(self.one(rec, "X-Forwarded-For"), "127.0.0.1")
        self.assertEqual(self.one(rec, "X-Forwarded-Proto"), "https")
        self.assertEqual(self.one(rec, "X-Forwarded-Host"), "airbyte.example.test:8443")
        self.assertEqual(self.one(rec, "X-Real-IP"), "127.0.0.1")

    def test_x_forwarded_for_appended_and_spoofed_headers_replaced(self):
        resp, rec = self.echo(self.ag, self.up, [
            ("Host", "airbyte.example.test"),
            ("X-Forwarded-For", "203.0.113.7, 198.51.100.2"),
            ("X-Real-IP", "203.0.113.99"),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Host", "evil.example"),
        ])
        self.assertEqual(resp.status, 200)
        self.assertEqual(self.one(rec, "X-Forwarded-For"), "203.0.113.7, 198.51.100.2, 127.0.0.1")
        # No trusted_proxies: the client's claims are not believed for the set headers.
        self.assertEqual(self.one(rec, "X-Real-IP"), "127.0.0.1")
        self.assertEqual(self.one(rec, "X-Forwarded-Proto"), "https")
        self.assertEqual(self.one(rec, "X-Forwarded-Host"), "airbyte.example.test")

    def test_hop_by_hop_and_connection_named_headers_removed(self):
        resp, rec = self.echo(self.ag, self.up, [
            ("Connection", "keep-alive, X-Custom-Hop"),
            ("X-Custom-Hop", "must-not-pass"),
            ("Keep-Alive", "timeout=5, max=100"),
            ("Proxy-Connection", "keep-alive"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "foo/1"),
            ("X-End-To-End", "kept"),
        ])
        self.assertEqual(resp.status, 200)
        names = [n.lower() for n, _ in rec.headers]
        for h in ("x-custom-hop", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"):
            self.assertNotIn(h, names, "hop-by-hop header %s reached the upstream: %r" % (h, rec.headers))
        for v in rec.header_values("connection"):
            tokens = {t.strip().lower() for t in v.split(",")}
            self.assertLessEqual(tokens, {"keep-alive", "close"},
                                 "client's Connection tokens reached the upstream: %r" % v)
        self.assertEqual(self.one(rec, "X-End-To-End"), "kept")

    def test_chunked_request_is_reframed(self):
        body = os.urandom(150000)
        raw = request_bytes("POST", "TARGET", [("Transfer-Encoding", "chunked")]) + chunked(body, 7000)
        resp, rec = self.echo(self.ag, self.up, raw_request=lambda t: raw.replace(b"TARGET", t.encode(), 1))
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertTrue(rec.body_complete, rec.body_error)
        self.assertEqual(rec.body_len, len(body))
        self.assertEqual(rec.body_sha256, hashlib.sha256(body).hexdigest())
        te = rec.header_values("transfer-encoding")
        cl = rec.header_values("content-length")
        self.assertFalse(te and cl, "upstream got both Transfer-Encoding and Content-Length: %r" % rec.headers)
        self.assertTrue(te == ["chunked"] or cl == [str(len(body))], rec.headers)

    def test_every_cookie_header_passed_unchanged(self):
        cookies = ["a=1; b=2", 'c=3;  d="quoted value"', "_airbyte_session=eyJhbGciOiJIUzI1NiJ9.e30.sig"]
        resp, rec = self.echo(self.ag, self.up, [("Cookie", c) for c in cookies])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Cookie"), cookies)

    def test_big_cookies_pass(self):
        # Airbyte's session cookies can be several KB each; three of ~8 KB fit the default 64 KiB.
        import base64
        cookies = ["big%d=%s" % (i, base64.urlsafe_b64encode(os.urandom(6000)).decode()) for i in range(3)]
        self.assertTrue(all(7900 < len(c) < 8200 for c in cookies))
        resp, rec = self.echo(self.ag, self.up, [("Cookie", c) for c in cookies])
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(rec.header_values("Cookie"), cookies)

    def test_request_id_generated_and_returned(self):
        ids = []
        for _ in range(2):
            resp, rec = self.echo(self.ag, self.up)
            self.assertEqual(resp.status, 200)
            rid = self.one(rec, "X-Request-Id")
            self.assertTrue(rid.strip(), "empty X-Request-Id")
            self.assertEqual(resp.header_values("X-Request-Id"), [rid],
                             "client should get back the X-Request-Id sent upstream")
            ids.append(rid)
        self.assertNotEqual(ids[0], ids[1], "request ids must differ")

    def test_request_id_kept_when_present(self):
        resp, rec = self.echo(self.ag, self.up, [("X-Request-Id", "client-chosen-id-42")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("X-Request-Id"), ["client-chosen-id-42"])
        self.assertEqual(resp.header_values("X-Request-Id"), ["client-chosen-id-42"])

    def test_set_cookie_passed_to_client(self):
        resp, _ = self.echo(self.ag, self.up, path="/set-cookie")
        self.assertEqual(resp.status, 200)
        self.assertEqual(resp.header_values("Set-Cookie"), SET_COOKIES_EXPECTED)

    def test_response_hop_by_hop_removed(self):
        resp, _ = self.echo(self.ag, self.up, path="/response-hop")
        self.assertEqual(resp.status, 200)
        names = [n.lower() for n, _ in resp.headers]
        for h in ("x-up-hop", "keep-alive", "proxy-connection", "trailer", "upgrade"):
            self.assertNotIn(h, names, "hop-by-hop response header %s reached the client: %r" % (h, resp.headers))
        for v in resp.header_values("connection"):
            tokens = {t.strip().lower() for t in v.split(",")}
            self.assertLessEqual(tokens, {"keep-alive", "close"}, v)
        self.assertEqual(resp.header_values("X-End-To-End"), ["kept"])
        self.assertEqual(resp.body, b"hop\n")

    def test_status_codes_and_bodies_passed_through(self):
        for code in (200, 201, 204, 301, 304, 400, 401, 403, 404, 418, 500, 502, 503):
            with self.subTest(code=code):
                resp, rec = self.echo(self.ag, self.up, path="/status?code=%d" % code)
                self.assertEqual(resp.status, code)
                if code in (204, 304):
                    self.assertEqual(resp.body, b"")
                else:
                    # The upstream's own body, not an airgate error page.
                    self.assertEqual(resp.body, ("status %d from upstream\n" % code).encode())

    def test_head_then_get_on_same_connection(self):
        c = self.raw(self.ag)
        c.send(request_bytes("HEAD", "/big?bytes=5000"))
        r1 = c.read_response("HEAD")
        self.assertEqual(r1.status, 200)
        self.assertEqual(r1.header("Content-Length"), "5000")
        c.send(request_bytes("GET", "/echo?after-head"))
        r2 = c.read_response()
        self.assertEqual(r2.status, 200)
        self.assertEqual(r2.json()["target"], "/echo?after-head")

    def test_client_keepalive(self):
        c = self.raw(self.ag)
        for i in range(5):
            c.send(request_bytes("GET", "/echo?ka=%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json()["target"], "/echo?ka=%d" % i)
            self.assertNotIn("close", (r.header("Connection") or "").lower())
        self.assertFalse(c.closed_by_peer(0.5), "keep-alive connection closed after 5 requests")
        c.send(request_bytes("GET", "/echo?last", [("Connection", "close")]))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertTrue(c.closed_by_peer(3), "Connection: close from the client was not honoured")

    def test_pipelining_answered_in_order(self):
        body = os.urandom(100000)
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/slow?seconds=0.5&n=1") +
               request_bytes("POST", "/upload?n=2", body=body) +
               request_bytes("GET", "/echo?n=3"))
        r1, r2, r3 = c.read_response(), c.read_response(), c.read_response()
        self.assertEqual((r1.status, r2.status, r3.status), (200, 200, 200))
        self.assertIn("slept", r1.json())
        self.assertEqual(r2.json()["bytes"], len(body))
        self.assertEqual(r2.json()["sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(r3.json()["target"], "/echo?n=3")

    def test_expect_100_continue(self):
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?expect", [("Expect", "100-continue"), ("Content-Length", "10")]))
        c.settimeout(5)
        status, _, _, _ = c.read_head()
        self.assertEqual(status, 100, "expected 100 Continue before sending the body")
        c.send(b"0123456789")
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["bytes"], 10)
        # the connection is still usable
        c.send(request_bytes("GET", "/echo?after-expect"))
        self.assertEqual(c.read_response().json()["target"], "/echo?after-expect")


class ResponseFramingTest(AirgateTestCase):
    """Step 8: a response body without Content-Length is re-framed for the
    client: chunked for HTTP/1.1, until the connection ends for HTTP/1.0."""

    N = 300000  # not a multiple of the relay buffer: the last piece is short

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up))

    def check_pattern(self, body):
        self.assertEqual(len(body), self.N)
        block = bytes(range(256)) * (self.N // 256 + 1)
        self.assertEqual(body, block[:self.N], "body bytes changed on the way")

    def test_close_delimited_upstream_body_is_chunked_for_http11(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/big?bytes=%d&mode=close" % self.N))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual((r.header("transfer-encoding") or "").lower(), "chunked", r.headers)
        self.assertIsNone(r.header("content-length"))
        self.assertTrue(r.complete, "the chunked body did not end with a last-chunk")
        self.check_pattern(r.body)
        # The client connection stays usable: the framing was complete.
        c.send(request_bytes("GET", "/echo?after=close-delimited"))
        self.assertEqual(c.read_response().status, 200)

    def test_chunked_upstream_body_until_close_for_http10(self):
        for mode in ("chunked", "close"):
            with self.subTest(mode=mode):
                c = self.raw(self.ag)
                c.send(("GET /big?bytes=%d&mode=%s HTTP/1.0\r\nHost: localhost\r\n\r\n" % (self.N, mode)).encode())
                r = c.read_response()
                self.assertEqual(r.status, 200)
                self.assertIsNone(r.header("transfer-encoding"), "HTTP/1.0 has no chunked encoding")
                self.assertIn("close", (r.header("connection") or "").lower())
                self.check_pattern(r.body)
                self.assertTrue(c.closed_by_peer(2), "the end of the body must be the end of the connection")


class UpstreamKeepAliveTest(AirgateTestCase):
    def test_sequential_requests_reuse_one_upstream_connection(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, workers=1))
        conn_ids = []
        c = self.raw(ag)
        for i in range(5):
            c.send(request_bytes("GET", "/echo?reuse=%d" % i))
            conn_ids.append(c.read_response().json()["conn_id"])
        for i in range(3):  # new client connections, same worker and pool
            r, rec = self.echo(ag, up)
            conn_ids.append(rec.conn_id)
        c.send(request_bytes("POST", "/upload", body=b"x" * 50000))
        conn_ids.append(c.read_response().json()["conn_id"])
        self.assertEqual(len(set(conn_ids)), 1, "upstream connection ids: %r" % conn_ids)
        self.assertEqual(up.connection_count(), 1)


class UpstreamPoolStalenessTest(AirgateTestCase):
    """A pooled upstream connection that the upstream has closed must not
    turn the next request into an error."""

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, workers=1))

    def test_upstream_connection_close_response_not_reused(self):
        c = self.raw(self.ag)
        for i in range(3):
            c.send(request_bytes("GET", "/close-after?i=%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200, r.body[:300])
            self.assertEqual(r.body, b"closing after this response\n")
            if "close" in (r.header("Connection") or "").lower():
                c = self.raw(self.ag)  # the client side may close too; that is fine
            c.send(request_bytes("GET", "/echo?after-close=%d" % i))
            r = c.read_response()
            self.assertEqual(r.status, 200, "request after an upstream 'Connection: close': %r" % r.body[:300])

    def test_idle_pooled_connection_closed_by_upstream(self):
        for method, body in (("GET", b""), ("POST", b"payload")):
            with self.subTest(method=method):
                r, rec = self.echo(self.ag, self.up, method=method, body=body)
                self.assertEqual(r.status, 200)
                time.sleep(0.2)
                self.assertGreaterEqual(self.up.close_idle(), 1, "no idle pooled upstream connection")
                time.sleep(0.3)
                r2, rec2 = self.echo(self.ag, self.up, method=method, body=body)
                self.assertEqual(r2.status, 200, "%s after the upstream closed the idle pooled connection: %d %r"
                                 % (method, r2.status, r2.body[:300]))
                self.assertEqual(rec2.body_len, len(body))


class ResponseHeaderOptionsTest(AirgateTestCase):
    def test_hsts_added_when_configured(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, headers={"hsts": "max-age=31536000; includeSubDomains"}))
        r, _ = self.echo(ag, up)
        self.assertEqual(r.header_values("Strict-Transport-Security"), ["max-age=31536000; includeSubDomains"])
        r, _ = self.echo(ag, up, path="/status?code=404")
        self.assertEqual(r.header_values("Strict-Transport-Security"), ["max-age=31536000; includeSubDomains"])

    def test_no_hsts_by_default(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        r, _ = self.echo(ag, up)
        self.assertEqual(r.header_values("Strict-Transport-Security"), [])

    def test_request_id_disabled(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, headers={"request_id": False}))
        r, rec = self.echo(ag, up)
        self.assertEqual(rec.header_values("X-Request-Id"), [])
        self.assertEqual(r.header_values("X-Request-Id"), [])


class PlainListenerTest(AirgateTestCase):
    def test_plain_http_listener_sets_proto_http(self):
        up = self.start_upstream()
        cfg = self.config(up)
        cfg["listen"].append({"address": "127.0.0.1:0"})
        ag = self.start_airgate(cfg)
        self.assertEqual([l.scheme for l in ag.listeners], ["https", "http"])
        r1, rec1 = self.echo(ag, up, listener=0)
        r2, rec2 = self.echo(ag, up, listener=1)
        self.assertEqual((r1.status, r2.status), (200, 200))
        self.assertEqual(rec1.header_values("X-Forwarded-Proto"), ["https"])
        self.assertEqual(rec2.header_values("X-Forwarded-Proto"), ["http"])


class RoutesTest(AirgateTestCase):
    def test_routes_by_path_prefix_first_match_wins(self):
        a = self.start_upstream("A")
        b = self.start_upstream("B")
        c = self.start_upstream("C")
        ag = self.start_airgate(self.config(a, routes=[
            {"path_prefix": "/api/v1/special/", "upstream": {"url": c.url}},
            {"path_prefix": "/api/", "upstream": {"url": b.url}},
            {"path_prefix": "/api/v1/never/", "upstream": {"url": c.url}},
        ]))
        cases = [("/api/v1/special/x", "C"), ("/api/v1/connections/list", "B"), ("/api/v1/never/x", "B"),
                 ("/", "A"), ("/apix", "A"), ("/workspaces/abc", "A"), ("/api", "A")]
        for path, name in cases:
            with self.subTest(path=path):
                status, headers, body = self.request(ag, "GET", path)
                self.assertEqual(status, 200, body[:300])
                self.assertEqual(json.loads(body)["upstream"], name)
                self.assertEqual(json.loads(body)["target"], path)


if __name__ == "__main__":
    unittest.main()
