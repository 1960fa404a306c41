"""Request smuggling defences (RFC 9112) and malformed requests: each vector
gets 400, the connection is closed, the upstream never sees an ambiguous (or
smuggled) request, and a normal request on a new connection still works."""

import time
import unittest

from harness import AirgateTestCase

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"

# name -> (raw request with PATH placeholder, header_level)
# header_level: the defect is in the head, so the upstream must not see the
# request at all. Body-level defects may be found after the head was
# forwarded; then the upstream must never get a complete request.
VECTORS = {
    "cl_and_te": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length: 48\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, True),
    "te_and_cl": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                  b"Content-Length: 4\r\n\r\n2b\r\n" + SMUGGLED + b"\r\n0\r\n\r\n", True),
    "duplicate_cl_differing": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n"
                               b"Content-Length: 44\r\n\r\n" + SMUGGLED, True),
    "cl_list_differing": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, 44\r\n\r\n" + SMUGGLED, True),
    "cl_not_a_number": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length: +44\r\n\r\n" + SMUGGLED, True),
    "cl_space_before_colon": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length : 44\r\n\r\n" + SMUGGLED,
                              True),
    "te_not_chunked_last": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n" + SMUGGLED,
                            True),
    "te_obs_fold": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nTransfer-Encoding:\r\n"
                    b" chunked\r\n\r\n" + SMUGGLED, True),
    "obs_fold": (b"GET PATH HTTP/1.1\r\nHost: localhost\r\nX-Folded: first\r\n  continued\r\n\r\n", True),
    "bare_cr_in_value": (b"GET PATH HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rb\r\n\r\n", True),
    "bare_cr_line_end": (b"GET PATH HTTP/1.1\r\nHost: localhost\rX-Bad: 1\r\n\r\n", True),
    "nul_in_value": (b"GET PATH HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x00b\r\n\r\n", True),
    "nul_in_name": (b"GET PATH HTTP/1.1\r\nHost: localhost\r\nX-B\x00ad: 1\r\n\r\n", True),
    "space_in_header_name": (b"GET PATH HTTP/1.1\r\nHost: localhost\r\nX Bad: 1\r\n\r\n", True),
    "invalid_chunk_size": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                           b"zz\r\nhello\r\n0\r\n\r\n", False),
    "negative_chunk_size": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"-5\r\nhello\r\n0\r\n\r\n", False),
    "overflowing_chunk_size": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                               b"10000000000000005\r\nhello\r\n0\r\n\r\n", False),
    "chunk_data_too_long": (b"POST PATH HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"5\r\nhelloXX\r\n0\r\n\r\n", False),
}

MALFORMED = {
    "garbage_request_line": b"HELLO\r\n\r\n",
    "missing_version": b"GET PATH\r\nHost: localhost\r\n\r\n",
    "bad_method_token": b"G(T PATH HTTP/1.1\r\nHost: localhost\r\n\r\n",
    "missing_host": b"GET PATH HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "duplicate_host": b"GET PATH HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
    "header_without_colon": b"GET PATH HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n",
    "control_char_in_target": b"GET PATH\x01x HTTP/1.1\r\nHost: localhost\r\n\r\n",
}


class SmugglingTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up))

    def check_rejected(self, name, raw, header_level):
        path = "/v-" + name
        c = self.raw(self.ag)
        c.send(raw.replace(b"PATH", path.encode(), 1))
        c.settimeout(10)
        try:
            r = c.read_response()
        except Exception as e:
            self.fail("%s: no 400 response (%s)" % (name, e))
        self.assertEqual(r.status, 400, "%s: got %d %r" % (name, r.status, r.body[:200]))
        self.assertTrue(c.closed_by_peer(3), "%s: connection not closed after 400" % name)
        time.sleep(0.1)
        recs = self.up.requests(path)
        if header_level:
            self.assertEqual(recs, [], "%s: the upstream saw the request" % name)
        else:
            for rec in recs:
                self.assertFalse(rec.body_complete, "%s: the upstream got a complete request" % name)
        self.assertEqual(self.up.requests("/smuggled"), [], "%s: a smuggled request reached the upstream" % name)
        # a normal request on a new connection still works
        r2, rec2 = self.echo(self.ag, self.up)
        self.assertEqual(r2.status, 200, "%s: normal request after the vector failed" % name)

    def test_smuggling_vectors(self):
        for name, (raw, header_level) in VECTORS.items():
            with self.subTest(vector=name):
                self.check_rejected(name, raw, header_level)

    def test_malformed_requests(self):
        for name, raw in MALFORMED.items():
            with self.subTest(request=name):
                self.check_rejected(name, raw, True)

    def test_vector_after_valid_request_on_same_connection(self):
        # A keep-alive connection that turns bad is closed too, and the valid
        # request before it was answered normally.
        c = self.raw(self.ag)
        c.send(b"GET /echo?first HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(c.read_response().status, 200)
        c.send(VECTORS["cl_and_te"][0].replace(b"PATH", b"/v-second", 1))
        self.assertEqual(c.read_response().status, 400)
        self.assertTrue(c.closed_by_peer(3))
        self.assertEqual(self.up.requests("/v-second"), [])
        self.assertEqual(self.up.requests("/smuggled"), [])

    def test_identical_duplicate_content_length_is_not_smuggling(self):
        # RFC 9112 §6.3 allows identical duplicates to be treated as one value;
        # either way the upstream must get exactly one, consistent length.
        c = self.raw(self.ag)
        c.send(b"POST /upload?dup HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello")
        r = c.read_response()
        self.assertIn(r.status, (200, 400))
        for rec in self.up.requests("/upload"):
            self.assertEqual(rec.header_values("Content-Length"), ["5"])
            self.assertEqual(rec.body_len, 5)


if __name__ == "__main__":
    unittest.main()
