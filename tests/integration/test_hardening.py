"""Findings of an attack pass, one test class each: responses crossing
between clients through a pooled upstream connection, upgrades other than
WebSocket (h2c tunnels), WebSocket on public paths, local replies to HEAD,
Connection naming Host, invalid Host values, huge chunk sizes, the access log
of a reply that could not be sent, HTTP/2.0 in an HTTP/1.1 request line, and
slow uploads that pin upstream connections."""

import base64
import json
import os
import socket
import threading
import time
import unittest

from harness import AirgateTestCase, RawConn, request_bytes
from test_access_basic import PASSWORDS, VECTORS_BY_USER, basic

USER = "apr1"
INLINE_USERS = [{"user": USER, "hash": VECTORS_BY_USER[USER]}]
GOOD = basic(USER, PASSWORDS[USER])
STRAY = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nCROSSED-DATA"


class HostileUpstream:
    """A plain HTTP/1.1 upstream that misbehaves on purpose, per path:

    - /head-body     HEAD: head with Content-Length: 5, then (later) bytes
    - /no-content    204, then (later) a complete second response
    - /past-length   Content-Length: 2 "ok", then (later) a second response
    - /switch        101 Switching Protocols (Upgrade: h2c) to anything
    - /switch-ws     101 with Upgrade: h2c to a WebSocket handshake
    - anything else  200, body = the request target
    "Later" is 150 ms after the response, when airgate has pooled the
    connection. Records the raw head of every request."""

    def __init__(self):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(64)
        self.port = self.lsock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.heads = []
        self.connections = 0
        self.stopped = False
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def stop(self):
        self.stopped = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopped:
            try:
                s, _ = self.lsock.accept()
            except OSError:
                return
            self.connections += 1
            t = threading.Thread(target=self._serve, args=(s,), daemon=True)
            t.start()

    def _serve(self, s):
        s.settimeout(10)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = s.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                self.heads.append(head)
                line = head.split(b"\r\n")[0].decode("latin-1")
                method, target, _ = line.split(" ", 2)
                path = target.split("?")[0]
                if path == "/head-body":
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                    time.sleep(0.15)
                    s.sendall(STRAY)
                elif path == "/no-content":
                    s.sendall(b"HTTP/1.1 204 No Content\r\n\r\n")
                    time.sleep(0.15)
                    s.sendall(STRAY)
                elif path == "/past-length":
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    time.sleep(0.15)
                    s.sendall(STRAY)
                elif path in ("/switch", "/switch-ws"):
                    s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
                    # A "tunnel": whatever comes next is answered as if it were HTTP/2.
                    data = s.recv(65536)
                    if data:
                        s.sendall(b"TUNNELLED:" + data)
                    return
                else:
                    body = target.encode()
                    s.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        except OSError:
            return
        finally:
            s.close()

    def head_with(self, marker):
        return [h for h in self.heads if marker.encode() in h]


class HardeningBase(AirgateTestCase):
    def hostile(self):
        up = HostileUpstream()
        self.addCleanup(up.stop)
        return up

    def access_lines(self, ag, target, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            lines = [json.loads(l) for l in ag.stdout().splitlines() if l.startswith("{")]
            found = [o for o in lines if o.get("target") == target]
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


class PooledConnectionCrossingTest(HardeningBase):
    """Bytes an upstream sends past the end of a response must never become
    the response to the next request taken from the pool."""

    def setUp(self):
        super().setUp()
        self.up = self.hostile()
        self.ag = self.start_airgate(self.config(self.up.url, workers=1))

    def check(self, method, path):
        c = self.raw(self.ag)
        c.send(request_bytes(method, path))
        r = c.read_response(method)
        self.assertLess(r.status, 300)
        time.sleep(0.4)  # the stray bytes arrive while the connection idles in the pool
        for i in range(3):
            target = "/victim-%s-%d" % (path.strip("/"), i)
            c2 = self.raw(self.ag)
            c2.send(request_bytes("GET", target))
            r2 = c2.read_response()
            self.assertEqual((r2.status, r2.body), (200, target.encode()),
                             "another request's stray bytes were served as this response")

    def test_body_after_head_response(self):
        self.check("HEAD", "/head-body")

    def test_body_after_204(self):
        self.check("GET", "/no-content")

    def test_bytes_past_content_length(self):
        self.check("GET", "/past-length")


class UpgradeTest(HardeningBase):
    """Only WebSocket upgrades are forwarded, only after access control."""

    H2C = [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c"), ("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")]

    def ws_headers(self):
        key = base64.b64encode(os.urandom(16)).decode()
        return [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Key", key),
                ("Sec-WebSocket-Version", "13")]

    def test_h2c_upgrade_is_stripped(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        resp, rec = self.echo(ag, up, self.H2C)
        self.assertEqual(resp.status, 200, resp.body[:300])
        self.assertEqual(rec.header_values("Upgrade"), [])
        self.assertEqual(rec.header_values("HTTP2-Settings"), [])
        self.assertNotIn("upgrade", " ".join(rec.header_values("Connection")).lower())

    def test_unrequested_101_is_refused_not_tunnelled(self):
        up = self.hostile()
        ag = self.start_airgate(self.config(up.url))
        c = self.raw(ag)
        c.send(request_bytes("GET", "/switch", self.H2C))
        r = c.read_response()
        self.assertEqual(r.status, 502, r.body[:300])
        self.assertTrue(c.closed_by_peer(3))
        self.assertNotIn(b"upgrade", b"\n".join(up.head_with("/switch")).lower())

    def test_101_to_another_protocol_than_websocket_is_refused(self):
        up = self.hostile()
        ag = self.start_airgate(self.config(up.url))
        c = self.raw(ag)
        c.send(request_bytes("GET", "/switch-ws", self.ws_headers()))
        r = c.read_response()
        self.assertEqual(r.status, 502, r.body[:300])
        c.send(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        self.assertTrue(c.closed_by_peer(3))
        self.assertNotIn(b"TUNNELLED", bytes(c.buf))

    def test_websocket_on_public_path_without_credentials_is_not_upgraded(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, auth={"basic": {"users": INLINE_USERS},
                                                      "public_paths": ["/ws"]}))
        c = self.raw(ag)
        c.send(request_bytes("GET", "/ws", self.ws_headers()))
        r = c.read_response()
        self.assertNotEqual(r.status, 101)
        rec = up.requests("/ws")[-1]
        self.assertEqual(rec.header_values("Upgrade"), [])

    def test_websocket_with_credentials_is_upgraded(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, auth={"basic": {"users": INLINE_USERS},
                                                      "public_paths": ["/echo"]}))
        c = self.raw(ag)
        c.send(request_bytes("GET", "/ws", self.ws_headers() + [("Authorization", GOOD)]))
        c.settimeout(10)
        status, _, _, headers = c.read_head()
        self.assertEqual(status, 101, headers)

    def test_websocket_without_handshake_fields_is_not_upgraded(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        resp, rec = self.echo(ag, up, [("Upgrade", "websocket"), ("Connection", "Upgrade")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Upgrade"), [])


class HeadLocalReplyTest(HardeningBase):
    """A local reply to HEAD has the page's headers and no body (RFC 9110 §9.3.2)."""

    def test_401_to_head_has_no_body_and_keeps_the_connection_in_sync(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, auth={"basic": {"users": INLINE_USERS}}))
        c = self.raw(ag)
        c.send(request_bytes("HEAD", "/echo?a"))
        r = c.read_response("HEAD")
        self.assertEqual(r.status, 401)
        self.assertGreater(int(r.header("Content-Length")), 0)
        self.assertEqual(r.body, b"")
        c.send(request_bytes("GET", "/echo?b", [("Authorization", GOOD)]))
        r2 = c.read_response()
        self.assertEqual(r2.status, 200, r2.body[:200])
        self.assertEqual(r2.json()["target"], "/echo?b")

    def test_431_and_400_to_head_have_no_body(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"max_header_size": "4k"}))
        for raw in (b"HEAD / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n",
                    b"HEAD / HTTP/1.1\r\nHost: a b\r\n\r\n"):
            c = self.raw(ag)
            c.send(raw)
            r = c.read_response("HEAD")
            self.assertIn(r.status, (400, 431))
            self.assertTrue(c.closed_by_peer(3))
            self.assertEqual(bytes(c.buf), b"", "a reply to HEAD carried a body")

    def test_admin_endpoints_answer_head_without_body(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        c = RawConn(ag.admin.port, host=ag.admin.host, tls=False)
        self.addCleanup(c.close)
        for path in ("/healthz", "/metrics", "/nope"):
            c.send(request_bytes("HEAD", path))
            r = c.read_response("HEAD")
            self.assertGreater(int(r.header("Content-Length")), 0, path)
        c.send(request_bytes("GET", "/healthz"))
        r = c.read_response()
        self.assertEqual((r.status, r.body), (200, b"ok\n"), "a HEAD answer carried a body")


class HostHeaderTest(HardeningBase):
    def test_connection_naming_host_does_not_drop_host(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        resp, rec = self.echo(ag, up, [("Connection", "Host, Cookie"), ("Cookie", "a=b")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("Host"), ["localhost"])

    def test_invalid_host_values_get_400(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        for host in ("a b", "a/b", "a@b", "a:b:c", "[::1", "a:99999x", "a%zz", "a\\b"):
            c = self.raw(ag)
            c.send(request_bytes("GET", "/echo?host", host=host))
            r = c.read_response()
            self.assertEqual(r.status, 400, "Host %r: %r" % (host, r.body[:200]))
        self.assertEqual(up.requests("/echo"), [])

    def test_valid_host_values_pass(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        for host in ("airbyte.example.com", "airbyte.example.com:8443", "127.0.0.1:1", "[::1]:8443", "a_b-c~d"):
            resp, rec = self.echo(ag, up, [("Host", host)])
            self.assertEqual(resp.status, 200, host)
            self.assertEqual(rec.header_values("X-Forwarded-Host"), [host])


class ChunkSizeTest(HardeningBase):
    def test_chunk_size_over_the_limit_is_413_at_once(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"max_body_size": "1m"}))
        for size in (b"ffffffffffffffff", b"200000", b"fffffffffffffff"):
            c = self.raw(ag)
            t0 = time.monotonic()
            c.send(request_bytes("POST", "/upload", [("Transfer-Encoding", "chunked")]) + size + b"\r\nabc")
            r = c.read_response()
            self.assertEqual(r.status, 413, (size, r.body[:200]))
            self.assertLess(time.monotonic() - t0, 10)


class ReplyNotSentLogTest(HardeningBase):
    def test_timeout_before_reply_is_logged_as_not_sent(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"client_body_timeout": "1s"},
                                            logging={"format": "json"}))
        c = self.raw(ag)
        c.send(request_bytes("POST", "/upload?stall", [("Content-Length", "100")]) + b"0123456789")
        c.settimeout(10)
        self.assertTrue(c.closed_by_peer(8))
        lines = self.access_lines(ag, "/upload?stall")
        self.assertEqual(len(lines), 1, ag.logs())
        self.assertEqual(lines[0]["reason"], "client_body_timeout")
        self.assertEqual(lines[0]["bytes_sent"], 0)
        if bytes(c.buf).startswith(b"HTTP/1.1 408"):
            self.assertEqual(lines[0]["status"], 408)
        else:
            self.assertEqual(lines[0]["status"], 499, "the log claims a reply the client never got")


class VersionTest(HardeningBase):
    def test_http_2_in_request_line_is_505(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        for version in (b"HTTP/2.0", b"HTTP/3.0", b"HTTP/1.2"):
            c = self.raw(ag)
            c.send(b"GET /echo?v " + version + b"\r\nHost: localhost\r\n\r\n")
            r = c.read_response()
            self.assertEqual(r.status, 505, version)
        for version in (b"HTTP/2", b"HTTP/x.y", b"HTTPS/1.1"):
            c = self.raw(ag)
            c.send(b"GET /echo?v " + version + b"\r\nHost: localhost\r\n\r\n")
            self.assertEqual(c.read_response().status, 400, version)
        self.assertEqual(up.requests("/echo"), [])


class SlowUploadTest(HardeningBase):
    """Clients that trickle a request body must not pin upstream connections:
    small bodies are read before an upstream connection is taken, one address
    streams a bounded number of bodies at once, and a body must keep a
    minimum average rate."""

    def trickle(self, ag, target, length, first=b"x"):
        c = self.raw(ag)
        c.send(request_bytes("POST", target, [("Content-Length", str(length))]) + first)
        return c

    def test_small_bodies_trickled_hold_no_upstream_connection(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"client_body_timeout": "5s"}))
        conns = [self.trickle(ag, "/upload?slow=%d" % i, 1000) for i in range(20)]
        for _ in range(3):
            time.sleep(0.5)
            for c in conns:
                c.send(b"y")
        self.assertEqual(up.connection_count(), 0, "a trickled small body holds an upstream connection")
        # Finishing the bodies delivers them, each complete.
        for c in conns:
            c.send(b"z" * (1000 - 4))
        for c in conns:
            r = c.read_response()
            self.assertEqual(r.status, 200, r.body[:200])
            self.assertEqual(r.json()["bytes"], 1000)

    def test_streamed_uploads_per_client_are_capped(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"max_uploads_per_client": 2,
                                                        "client_body_buffer_size": "1k"}))
        held = [self.trickle(ag, "/upload?held=%d" % i, 100000) for i in range(2)]
        up.wait_for(lambda u: len(u.open_connections()) >= 2, 5)
        c = self.trickle(ag, "/upload?third", 100000)
        r = c.read_response()
        self.assertEqual(r.status, 429, r.body[:200])
        self.assertEqual(r.header("Retry-After"), "1")
        self.assertIn(b"too many uploads", r.body.lower())
        self.assertEqual(up.requests("/upload?third"), [])
        # A finished upload frees its slot.
        held[0].send(b"a" * (100000 - 1))
        self.assertEqual(held[0].read_response().status, 200)
        c = self.trickle(ag, "/upload?fourth", 10, b"0123456789")
        self.assertEqual(c.read_response().status, 200)

    def test_body_below_the_minimum_rate_ends_with_408(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"client_body_timeout": "1s", "client_body_min_rate": "1k",
                                                        "client_body_buffer_size": "1k"},
                                            logging={"format": "json"}))
        c = self.trickle(ag, "/upload?trickle", 1000000)
        t0 = time.monotonic()
        ended = False
        while time.monotonic() - t0 < 10:
            time.sleep(0.3)  # every byte arrives well within client_body_timeout
            try:
                c.send(b"y")
            except OSError:
                ended = True
                break
            if c.poll_incoming():
                ended = True
                break
        self.assertTrue(ended, "a body trickled at 3 bytes/s was still being relayed after 10 s")
        self.assertLess(time.monotonic() - t0, 6)
        lines = self.access_lines(ag, "/upload?trickle")
        self.assertEqual([l["reason"] for l in lines], ["client_body_too_slow"], ag.logs())


if __name__ == "__main__":
    unittest.main()
