"""Bodies stream through fixed buffers (design §3 step 7): a 200 MiB upload
and a 1 GiB download pass with the proxy's peak RSS (VmHWM) under 64 MB,
also when one side is slower than the other (backpressure)."""

import hashlib
import threading
import time
import unittest

from harness import AirgateTestCase, MiB, PatternChecker, PATTERN_BLOCK, SANITIZER, request_bytes, transfer_deadline

MEMORY_BOUND = 64 * 1000 * 1000  # "well under 64 MB"
UPLOAD_PIECE = PATTERN_BLOCK * 16  # 1 MiB, reused: the test never holds the body


def upload_pieces(total, deadline=None):
    sent = 0
    t0 = time.monotonic()
    while sent < total:
        if deadline is not None and time.monotonic() > deadline:
            el = time.monotonic() - t0
            raise AssertionError("upload too slow: %d bytes in %.0f s (%.1f MB/s)" % (sent, el, sent / el / 1e6))
        k = min(len(UPLOAD_PIECE), total - sent)
        yield UPLOAD_PIECE if k == len(UPLOAD_PIECE) else UPLOAD_PIECE[:k]
        sent += k


def expected_sha(total):
    h = hashlib.sha256()
    for p in upload_pieces(total):
        h.update(p)
    return h.hexdigest()


class StreamingTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        # In its own process: the test client and the upstream must not share a GIL.
        self.up = self.start_upstream_process()
        # Default limits: max_body_size 200M applies.
        self.ag = self.start_airgate(self.config(self.up))

    def assertMemoryBounded(self, what):
        if SANITIZER:
            return  # RSS of a sanitizer build says nothing about airgate's buffers
        mem = self.ag.memory()
        self.assertLess(mem["VmHWM"], MEMORY_BOUND, "%s: proxy peak RSS %.1f MB (VmRSS %.1f MB)" % (
            what, mem["VmHWM"] / 1e6, mem.get("VmRSS", 0) / 1e6))

    def test_upload_200MiB_content_length(self):
        n = 200 * MiB  # exactly the default max_body_size: must pass
        c = self.raw(self.ag, timeout=60)
        c.send(request_bytes("POST", "/upload?big=cl", [("Content-Length", str(n))]))
        self.assertTrue(c.send_body(upload_pieces(n, transfer_deadline(n))), "proxy answered before the 200 MiB body was sent: %r"
                        % bytes(c.buf[:300]))
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], n)
        self.assertEqual(r.json()["sha256"], expected_sha(n))
        self.assertMemoryBounded("200 MiB upload")

    def test_upload_chunked_150MiB(self):
        n = 150 * MiB
        c = self.raw(self.ag, timeout=60)
        c.send(request_bytes("POST", "/upload?big=chunked", [("Transfer-Encoding", "chunked")]))
        pieces = (b"%x\r\n" % len(p) + p + b"\r\n" for p in upload_pieces(n, transfer_deadline(n)))
        self.assertTrue(c.send_body(pieces), "proxy answered before the chunked body was sent: %r"
                        % bytes(c.buf[:300]))
        c.send(b"0\r\n\r\n")
        r = c.read_response()
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], n)
        self.assertEqual(r.json()["sha256"], expected_sha(n))
        self.assertMemoryBounded("150 MiB chunked upload")

    def download(self, n, mode, pause=0.0):
        c = self.raw(self.ag, timeout=60)
        c.send(request_bytes("GET", "/big?bytes=%d&mode=%s" % (n, mode)))
        if pause:
            time.sleep(pause)  # a slow client: the proxy must stop reading upstream, not buffer
            mem = self.ag.memory()
            if not SANITIZER:
                self.assertLess(mem["VmRSS"], MEMORY_BOUND, "RSS %.1f MB while the client paused" % (mem["VmRSS"] / 1e6))
        chk = PatternChecker(transfer_deadline(n))
        r = c.read_response(sink=chk)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete, "download cut short at %d of %d bytes" % (chk.offset, n))
        self.assertEqual(chk.offset, n)
        self.assertIsNone(chk.bad_at, "corrupted body at offset %s" % chk.bad_at)
        return c

    def test_download_1GiB_content_length(self):
        self.download(1024 * MiB, "length")
        self.assertMemoryBounded("1 GiB download")

    def test_download_chunked_300MiB(self):
        self.download(300 * MiB, "chunked")
        self.assertMemoryBounded("300 MiB chunked download")

    def test_slow_client_download_backpressure(self):
        self.download(400 * MiB, "length", pause=3.0)
        self.assertMemoryBounded("400 MiB download to a paused client")

    def test_slow_upstream_upload_backpressure(self):
        n = 150 * MiB
        c = self.raw(self.ag, timeout=60)
        # The upstream waits 3 s before reading the body.
        c.send(request_bytes("POST", "/upload?delay=3", [("Content-Length", str(n))]))
        result = {}

        def watch():
            time.sleep(2.5)
            result["rss"] = self.ag.memory()["VmRSS"]

        t = threading.Thread(target=watch)
        t.start()
        self.assertTrue(c.send_body(upload_pieces(n, transfer_deadline(n))),
                        "proxy answered before the body was sent: %r" % bytes(c.buf[:300]))
        r = c.read_response()
        t.join(10)
        self.assertEqual(r.status, 200, r.body[:300])
        self.assertEqual(r.json()["bytes"], n)
        if not SANITIZER:
            self.assertLess(result.get("rss", 0), MEMORY_BOUND)
        self.assertMemoryBounded("upload to a paused upstream")


if __name__ == "__main__":
    unittest.main()
