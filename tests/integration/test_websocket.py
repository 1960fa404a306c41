"""WebSocket (any Upgrade) through the proxy (design §3 step 8): 101 passed
back, then a byte tunnel both ways until either side closes; read_timeout is
the tunnel's idle limit."""

import base64
import os
import time
import unittest

from harness import AirgateTestCase, request_bytes, ws_accept, ws_frame


def read_frame(c):
    """(opcode, fin, payload) of one unmasked server frame; None on EOF."""
    hdr = c.read_exact_or_eof(2)
    if len(hdr) < 2:
        return None
    b0, b1 = hdr
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(c.read_exact_or_eof(2), "big")
    elif n == 127:
        n = int.from_bytes(c.read_exact_or_eof(8), "big")
    if b1 & 0x80:
        raise AssertionError("server frame is masked")
    payload = c.read_exact_or_eof(n)
    if len(payload) < n:
        return None
    return b0 & 0x0F, bool(b0 & 0x80), payload


class WebSocketTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up, upstream={"read_timeout": "2s"}))

    def handshake(self, path="/ws"):
        key = base64.b64encode(os.urandom(16)).decode()
        c = self.raw(self.ag)
        c.send(request_bytes("GET", path, [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                           ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13"),
                                           ("Origin", "https://localhost"), ("Cookie", "session=ws")]))
        c.settimeout(10)
        status, reason, version, headers = c.read_head()
        self.assertEqual(status, 101, headers)
        h = {n.lower(): v for n, v in headers}
        self.assertEqual(h.get("upgrade", "").lower(), "websocket")
        self.assertIn("upgrade", h.get("connection", "").lower())
        self.assertEqual(h.get("sec-websocket-accept"), ws_accept(key))
        return c

    def test_echo_text_binary_ping_close(self):
        c = self.handshake()
        rec = self.up.requests("/ws")[-1]
        self.assertEqual(rec.header_values("Upgrade"), ["websocket"])
        self.assertEqual(rec.header_values("Cookie"), ["session=ws"])
        self.assertEqual(rec.header_values("X-Forwarded-For"), ["127.0.0.1"])
        c.send(ws_frame(0x1, b"hello airbyte", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x1, True, b"hello airbyte"))
        big = os.urandom(200000)
        c.send(ws_frame(0x2, big, mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x2, True, big))
        c.send(ws_frame(0x9, b"ping!", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0xA, True, b"ping!"))
        # many small frames in one write
        c.send(b"".join(ws_frame(0x1, b"m%d" % i, mask=os.urandom(4)) for i in range(50)))
        for i in range(50):
            self.assertEqual(read_frame(c), (0x1, True, b"m%d" % i))
        c.send(ws_frame(0x8, b"\x03\xe8", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x8, True, b"\x03\xe8"))
        self.assertTrue(c.closed_by_peer(3), "tunnel not closed after the upstream closed")

    def test_upstream_close_closes_client(self):
        c = self.handshake("/ws-close-after-one")
        c.send(ws_frame(0x1, b"once", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x1, True, b"once"))
        self.assertTrue(c.closed_by_peer(3), "client side of the tunnel not closed after upstream EOF")

    def test_client_close_closes_upstream(self):
        c = self.handshake()
        c.send(ws_frame(0x1, b"x", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x1, True, b"x"))
        conn_id = self.up.requests("/ws")[-1].conn_id
        c.close()
        closed = self.up.wait_for(lambda u: [x for x in u.connections if x.conn_id == conn_id and x.closed], 5)
        self.assertTrue(closed, "upstream side of the tunnel still open 5 s after the client left")

    def test_idle_tunnel_closed_after_read_timeout(self):
        c = self.handshake()
        c.send(ws_frame(0x1, b"x", mask=os.urandom(4)))
        self.assertEqual(read_frame(c), (0x1, True, b"x"))
        t0 = time.monotonic()
        self.assertTrue(c.closed_by_peer(8), "idle tunnel open after 8 s (read_timeout 2 s)")
        self.assertGreater(time.monotonic() - t0, 1.5)

    def test_active_tunnel_outlives_read_timeout(self):
        c = self.handshake()
        t0 = time.monotonic()
        i = 0
        while time.monotonic() - t0 < 4.5:
            c.send(ws_frame(0x1, b"k%d" % i, mask=os.urandom(4)))
            self.assertEqual(read_frame(c), (0x1, True, b"k%d" % i), "tunnel died while in use")
            time.sleep(0.5)
            i += 1

    def test_upgrade_refused_by_upstream_stays_http(self):
        key = base64.b64encode(os.urandom(16)).decode()
        c = self.raw(self.ag)
        c.send(request_bytes("GET", "/echo?not-ws", [("Upgrade", "websocket"), ("Connection", "Upgrade"),
                                                     ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
        r = c.read_response()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["target"], "/echo?not-ws")
        if "close" in (r.header("Connection") or "").lower():
            return
        c.send(request_bytes("GET", "/echo?after"))
        r2 = c.read_response()
        self.assertEqual((r2.status, r2.json()["target"]), (200, "/echo?after"))


if __name__ == "__main__":
    unittest.main()
