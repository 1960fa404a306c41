"""Limits (design §2 `limits`, §3 steps 2 and 5): max_body_size and
max_header_size at their exact boundaries, the error page format, Expect:
100-continue over the limit, the client timeouts, max_connections."""

import hashlib
import os
import socket
import ssl
import time
import unittest

from harness import AirgateTestCase, MiB, RawConn, chunked, request_bytes

BODY_LIMIT = 1 * MiB          # "1M"
HEADER_LIMIT = 8 * 1024       # "8KiB"


def head_of_size(n, target, extra=""):
    """A GET request head of exactly n bytes, counting the request line, every
    header line and the final empty line (CRLFs included)."""
    base = "GET %s HTTP/1.1\r\nHost: localhost\r\n%sX-Pad: " % (target, extra)
    tail = "\r\n\r\n"
    pad = n - len(base) - len(tail)
    assert pad > 0
    out = (base + "p" * pad + tail).encode()
    assert len(out) == n
    return out


def chunk_pieces(total, piece=64 * 1024):
    """A chunked body of `total` bytes as an iterator of wire pieces."""
    data = os.urandom(piece)
    sent = 0
    while sent < total:
        k = min(piece, total - sent)
        yield b"%x\r\n" % k + data[:k] + b"\r\n"
        sent += k
    yield b"0\r\n\r\n"


class BodyLimitTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, limits={"max_body_size": "1M"}))

    def upload(self, n, path="/upload", te=False, headers=()):
        c = self.raw(self.ag)
        body = os.urandom(n)
        if te:
            c.send(request_bytes("POST", path, list(headers) + [("Transfer-Encoding", "chunked")]))
            c.send_body([chunked(body, 65536)])
        else:
            c.send(request_bytes("POST", path, list(headers) + [("Content-Length", str(n))]))
            c.send_body([body[i:i + 65536] for i in range(0, n, 65536)])
        return c.read_response(), body

    def test_content_length_at_limit_passes(self):
        r, body = self.upload(BODY_LIMIT)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], BODY_LIMIT)
        self.assertEqual(r.json()["sha256"], hashlib.sha256(body).hexdigest())

    def test_chunked_at_limit_passes(self):
        r, body = self.upload(BODY_LIMIT, te=True)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], BODY_LIMIT)
        self.assertEqual(r.json()["sha256"], hashlib.sha256(body).hexdigest())

    def test_content_length_one_over_is_413_before_any_body(self):
        c = self.raw(self.ag)
        # Only the head is sent: airgate must answer from Content-Length alone.
        c.send(request_bytes("POST", "/upload?over=cl", [("Content-Length", str(BODY_LIMIT + 1)),
                                                          ("Accept", "application/json")]))
        c.settimeout(10)
        r = c.read_response()
        self.assertErrorResponse(r, 413, json_expected=True, must_mention=("1 MiB",), ag=self.ag)
        time.sleep(0.3)
        self.assertEqual(self.up.requests("/upload"), [], "the upstream saw the oversized request")
        logs = self.ag.stderr() + self.ag.stdout()
        self.assertIn("request body larger than 1 MiB", logs, "the log should say which limit fired")

    def test_413_reaches_a_client_that_keeps_sending_the_body(self):
        # The client streams an over-limit body without waiting: airgate answers
        # 413 from the head, then reads and discards what still arrives until
        # the client closes (a close with unread bytes would reset the
        # connection and could destroy the 413 before the client read it).
        # One thread only: an SSL object must not be used by two threads at
        # once (a sender thread next to the reader crashed Python's ssl module).
        c = self.raw(self.ag)
        total = 8 * MiB
        c.send(request_bytes("POST", "/upload?over=streaming", [("Content-Length", str(total)),
                                                                 ("Accept", "application/json")]))
        errors = []
        piece = os.urandom(64 * 1024)
        c.settimeout(15)
        for _ in range(total // len(piece)):
            try:
                c.sock.sendall(piece)
            except OSError as e:  # the server may close once the client stops; never before the reply
                errors.append(e)
                break
            c.poll_incoming()  # the 413 arrives meanwhile; collected without blocking
        r = c.read_response()
        self.assertErrorResponse(r, 413, json_expected=True, must_mention=("1 MiB",), ag=self.ag)
        self.assertEqual(errors, [], "the connection was reset while the body was still being sent")
        c.close()

    def test_413_format_html_and_api_json(self):
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?over=html", [("Content-Length", str(BODY_LIMIT + 1)),
                                                            ("Accept", "text/html,application/xhtml+xml")]))
        self.assertErrorResponse(c.read_response(), 413, json_expected=False, must_mention=("1 MiB",))
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/api/v1/sources/create", [("Content-Length", str(BODY_LIMIT + 1))]))
        self.assertErrorResponse(c.read_response(), 413, json_expected=True, must_mention=("1 MiB",))
        self.assertEqual(self.up.requests(), [])

    def test_chunked_one_over_is_413_and_upstream_connection_discarded(self):
        r, _ = self.upload(BODY_LIMIT + 1, path="/upload?over=chunked", te=True,
                           headers=[("Accept", "application/json")])
        self.assertErrorResponse(r, 413, json_expected=True, must_mention=("1 MiB",), ag=self.ag)
        recs = self.up.requests("/upload")
        for rec in recs:
            self.assertFalse(rec.body_complete, "the upstream received a complete over-limit body: %r" % rec)
            self.assertLessEqual(rec.body_len, BODY_LIMIT)
        if recs:
            ids = {rec.conn_id for rec in recs}
            closed = self.up.wait_for(lambda u: all(c.closed for c in u.connections if c.conn_id in ids), 5)
            self.assertTrue(closed, "the upstream connection that carried the over-limit body was kept")
        # a normal request still works
        r2, rec2 = self.echo(self.ag, self.up)
        self.assertEqual(r2.status, 200)
        if recs:
            self.assertNotIn(rec2.conn_id, {rec.conn_id for rec in recs})

    def test_expect_100_continue_over_limit_gets_413_without_continue(self):
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?over=expect", [("Expect", "100-continue"),
                                                              ("Content-Length", str(BODY_LIMIT + 1))]))
        c.settimeout(10)
        status, _, _, _ = c.read_head()
        self.assertEqual(status, 413, "expected 413 directly, not 100 Continue")
        time.sleep(0.2)
        self.assertEqual(self.up.requests("/upload"), [])

    def test_expect_100_continue_at_limit(self):
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?expect=limit", [("Expect", "100-continue"),
                                                               ("Content-Length", str(BODY_LIMIT))]))
        c.settimeout(10)
        status, _, _, _ = c.read_head()
        self.assertEqual(status, 100)
        c.send(b"z" * BODY_LIMIT)
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["bytes"], BODY_LIMIT)


class UnlimitedBodyTest(AirgateTestCase):
    def test_max_body_size_zero_is_unlimited(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"max_body_size": 0}))
        n = 3 * MiB
        c = self.raw(ag)
        c.send(request_bytes("POST", "/upload", [("Content-Length", str(n))]))
        c.send_body([b"u" * 65536] * (n // 65536))
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], n)
        c = self.raw(ag)
        c.send(request_bytes("POST", "/upload", [("Transfer-Encoding", "chunked")]))
        c.send_body(chunk_pieces(n))
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], n, "chunked upload with max_body_size 0")


class HeaderLimitTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, limits={"max_header_size": "8KiB"}))

    def test_head_at_limit_passes(self):
        c = self.raw(self.ag)
        c.send(head_of_size(HEADER_LIMIT, "/echo?hdr=at-limit"))
        r = c.read_response()
        self.assertEqual(r.status, 200, "a %d-byte head (request line + headers + final CRLF) must pass: %r"
                         % (HEADER_LIMIT, r.body[:300]))
        self.assertEqual(r.json()["target"], "/echo?hdr=at-limit")

    def test_head_one_over_is_431(self):
        c = self.raw(self.ag)
        # The request line is complete, so the /api/ rule for JSON applies.
        c.send(head_of_size(HEADER_LIMIT + 1, "/api/v1/echo?hdr=over"))
        self.assertErrorResponse(c.read_response(), 431, json_expected=True, must_mention=("8 KiB",),
                                 ag=self.ag)
        time.sleep(0.2)
        self.assertEqual(self.up.requests(), [])

    def test_head_far_over_is_431_html(self):
        c = self.raw(self.ag)
        c.send(head_of_size(HEADER_LIMIT * 4, "/web?hdr=far-over"))
        self.assertErrorResponse(c.read_response(), 431, json_expected=False, must_mention=("8 KiB",))
        self.assertEqual(self.up.requests(), [])

    def test_many_cookies_over_limit_is_431(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/api/v1/me", [("Cookie", "c%d=%s" % (i, "v" * 1000)) for i in range(9)]))
        self.assertErrorResponse(c.read_response(), 431, json_expected=True)

    def test_after_431_new_connection_works(self):
        c = self.raw(self.ag)
        c.send(head_of_size(HEADER_LIMIT + 1, "/echo?x"))
        self.assertEqual(c.read_response().status, 431)
        r, rec = self.echo(self.ag, self.up)
        self.assertEqual(r.status, 200)


class ClientTimeoutTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, limits={
            "client_header_timeout": "1s", "client_body_timeout": "1s", "keepalive_timeout": "1500ms"}))

    def test_slow_header_cut_after_client_header_timeout(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        c.send(b"GET /echo?slowloris HTTP/1.1\r\nHost: localhost\r\n")
        closed = False
        while time.monotonic() - t0 < 6:
            if c.poll_incoming():
                closed = c.closed_by_peer(2)
                break
            try:
                c.send(b"X-Trickle: a\r\n")  # bytes keep coming, but the head never ends
            except OSError:
                closed = True
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "connection not closed %.1f s into a slow head" % elapsed)
        self.assertGreater(elapsed, 0.8, "closed too early")
        self.assertLess(elapsed, 3.5, "client_header_timeout (1 s) not enforced: %.1f s" % elapsed)
        if c.buf:
            self.assertNotIn(b" 200 ", bytes(c.buf[:20]))
        self.assertEqual(self.up.requests(), [])

    def test_silent_connection_cut_after_client_header_timeout(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        self.assertTrue(c.closed_by_peer(5), "idle new connection not closed")
        elapsed = time.monotonic() - t0
        self.assertLess(elapsed, 3.5)

    def test_stalled_body_cut_after_client_body_timeout(self):
        c = self.raw(self.ag)
        c.send(request_bytes("POST", "/upload?stall", [("Content-Length", "100")]) + b"0123456789")
        t0 = time.monotonic()
        closed = c.closed_by_peer(5)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "connection with a stalled body not closed within 5 s")
        self.assertLess(elapsed, 3.5)
        for rec in self.up.requests("/upload"):
            self.assertFalse(rec.body_complete)

    def test_idle_keepalive_closed_after_keepalive_timeout(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/echo?ka-idle"))
        self.assertEqual(c.read_response().status, 200)
        t0 = time.monotonic()
        closed = c.closed_by_peer(6)
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "idle keep-alive connection still open after 6 s")
        self.assertGreater(elapsed, 1.0, "closed before keepalive_timeout (1.5 s)")
        self.assertLess(elapsed, 4.0, "keepalive_timeout (1.5 s) not enforced: %.1f s" % elapsed)

    def test_active_keepalive_survives_past_timeout(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 3.5:  # longer than every timeout, but never idle for long
            c.send(request_bytes("GET", "/echo?active=%d" % i))
            self.assertEqual(c.read_response().status, 200, "request %d on a busy connection" % i)
            time.sleep(0.5)
            i += 1


class IdleTimeoutsTest(AirgateTestCase):
    """An idle connection waits without a coroutine (parked) both before its
    first request and between requests; each state keeps its own deadline."""

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, limits={
            "client_header_timeout": "1s", "keepalive_timeout": "30s"}))

    def test_new_connection_idles_under_client_header_timeout(self):
        c = self.raw(self.ag)
        t0 = time.monotonic()
        self.assertTrue(c.closed_by_peer(6), "unused connection not closed")
        self.assertLess(time.monotonic() - t0, 3.5, "client_header_timeout (1 s) not applied before the first request")

    def test_used_connection_idles_under_keepalive_timeout(self):
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/echo?first"))
        self.assertEqual(c.read_response().status, 200)
        time.sleep(2.5)  # past client_header_timeout, far from keepalive_timeout
        c.send(request_bytes("GET", "/echo?after-idle"))
        self.assertEqual(c.read_response().status, 200, "a parked keep-alive connection was not served again")

    def test_unused_connection_served_after_idling(self):
        c = self.raw(self.ag)
        time.sleep(0.5)  # parked before its first request
        c.send(request_bytes("GET", "/echo?late-first"))
        self.assertEqual(c.read_response().status, 200)


    def test_connection_ended_by_keepalive_timeout_frees_its_slot(self):
        # A parked connection that times out ends for the server too: with
        # max_connections 1, the next connection is served.
        ag = self.start_airgate(self.config(self.up, workers=1, limits={
            "max_connections": 1, "keepalive_timeout": "1s"}))
        c1 = self.raw(ag)
        c1.send(request_bytes("GET", "/echo?slot-1"))
        self.assertEqual(c1.read_response().status, 200)
        self.assertTrue(c1.closed_by_peer(5), "idle connection not closed after keepalive_timeout")
        c2 = RawConn(ag.port, ctx=self.ctx(), do_handshake=False, timeout=5)
        self.addCleanup(c2.close)
        try:
            c2.sock.do_handshake()
        except (ssl.SSLError, OSError) as e:
            self.fail("the slot of the timed-out connection was not freed: %r" % e)
        c2.send(request_bytes("GET", "/echo?slot-2"))
        self.assertEqual(c2.read_response().status, 200)

class MaxConnectionsTest(AirgateTestCase):
    def test_connections_beyond_max_wait_in_backlog(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, workers=1, limits={"max_connections": 2}))
        c1, c2 = self.raw(ag), self.raw(ag)
        for c in (c1, c2):
            c.send(request_bytes("GET", "/echo?held"))
            self.assertEqual(c.read_response().status, 200)
        c3 = RawConn(ag.port, ctx=self.ctx(), do_handshake=False, timeout=1.5)
        self.addCleanup(c3.close)
        with self.assertRaises((socket.timeout, TimeoutError), msg="a third connection was served "
                               "while max_connections=2 were open"):
            c3.sock.do_handshake()
        c1.close()
        c3.sock.settimeout(5)
        try:
            c3.sock.do_handshake()
        except (ssl.SSLError, OSError) as e:
            self.fail("the waiting connection was not served after one closed: %r" % e)
        c3.send(request_bytes("GET", "/echo?third"))
        self.assertEqual(c3.read_response().status, 200)


if __name__ == "__main__":
    unittest.main()
