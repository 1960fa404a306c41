"""The server-side TLS session cache is bounded: a stream of full TLS 1.2
handshakes from clients without session tickets (each adds a session to the
cache) must not grow memory without bound. OpenSSL's default keeps 20480
sessions for 2 hours; airgate keeps at most 1024, oldest evicted first.

Observed without timing: a session resumes right after it was made, and no
longer after 1200 other clients' full handshakes pushed it out."""

import os
import ssl
import sys
from concurrent.futures import ThreadPoolExecutor

from harness import AirgateTestCase, RawConn, request_bytes

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
from tls_rss import request_until_close  # noqa: E402  (bench/tls_rss.py, which stays runnable on its own)

OTHERS = 1200  # > the cache size (1024)
STATUS_204 = request_bytes("GET", "/status?code=204", headers=[("Connection", "close")])


class SessionCacheTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up))

    def ctx12(self):
        ctx = self.pki.client_context(min_version=ssl.TLSVersion.TLSv1_2, max_version=ssl.TLSVersion.TLSv1_2)
        ctx.options |= ssl.OP_NO_TICKET  # session-id resumption: the server must keep the session
        return ctx

    def resumes(self, ctx, session):
        # End cleanly (read to the close), or OpenSSL drops the session from the cache.
        data, reused = request_until_close(self.ag.port, ctx, STATUS_204, server_hostname="127.0.0.1", session=session)
        self.assertTrue(data.startswith(b"HTTP/1.1 204"), data[:200])
        return reused

    def full_handshake(self, ctx):
        """One request with Connection: close: airgate ends the TLS session
        cleanly (close_notify), so OpenSSL keeps the session for resumption
        (an unclean end removes it)."""
        data, reused = request_until_close(self.ag.port, ctx, STATUS_204, server_hostname="127.0.0.1")
        return data.startswith(b"HTTP/1.1 204") and not reused

    def session_of_a_clean_connection(self, ctx):
        c = RawConn(self.ag.port, ctx=ctx)
        c.send(request_bytes("GET", "/echo", headers=[("Connection", "close")]))
        self.assertEqual(c.read_response().status, 200)
        self.assertTrue(c.closed_by_peer(5))
        session = c.sock.session
        c.close()
        return session

    def test_session_id_cache_is_bounded(self):
        ctx = self.ctx12()
        session = self.session_of_a_clean_connection(ctx)
        self.assertTrue(self.resumes(ctx, session), "TLS 1.2 session-id resumption does not work at all")

        with ThreadPoolExecutor(4) as pool:
            full = sum(pool.map(lambda _: self.full_handshake(self.ctx12()), range(OTHERS)))
        self.assertEqual(full, OTHERS)
        self.assertFalse(self.resumes(ctx, session),
                         "a session survived %d newer sessions: the server-side session cache is not "
                         "bounded (OpenSSL's default holds 20480)" % OTHERS)
        # The cache still works for recent sessions.
        self.assertTrue(self.resumes(ctx, self.session_of_a_clean_connection(ctx)))


if __name__ == "__main__":
    import unittest
    unittest.main()
