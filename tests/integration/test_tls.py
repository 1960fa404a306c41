"""TLS termination with real clients (curl, openssl s_client, Python ssl):
TLS 1.2 and 1.3 accepted, 1.1 refused, AEAD-only ciphers, ALPN http/1.1,
min_version, session resumption, handshake timeout, the generated in-memory
certificate, and start-up errors for a missing or mismatched cert/key."""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import unittest

from harness import AirgateTestCase, RawConn, request_bytes, tls_listener

CURL = shutil.which("curl")
OPENSSL = shutil.which("openssl")


class TlsTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.ag = self.start_airgate(self.config(self.up))

    def s_client(self, *args, brief=True):
        cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % self.ag.port, "-CAfile", self.pki.ca_cert,
               "-servername", "localhost", "-verify_return_error"] + (["-brief"] if brief else []) + list(args)
        p = subprocess.run(cmd, input=b"", stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")

    def test_openssl_tls12_and_tls13_accepted(self):
        for flag, proto in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            with self.subTest(proto=proto):
                rc, out = self.s_client(flag)
                self.assertEqual(rc, 0, out)
                self.assertIn("Protocol version: " + proto, out)
                self.assertIn("Verification: OK", out)

    def test_openssl_tls11_refused(self):
        rc, out = self.s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertNotEqual(rc, 0, "TLS 1.1 handshake succeeded:\n" + out)
        self.assertNotIn("no protocols available", out, "the client could not even offer TLS 1.1: " + out)
        self.assertNotIn("Protocol version: TLSv1.1", out)

    def test_openssl_tls10_refused(self):
        rc, out = self.s_client("-tls1", "-cipher", "DEFAULT@SECLEVEL=0")
        self.assertNotEqual(rc, 0, out)

    def test_openssl_alpn(self):
        # h2 first whatever order the client lists it in; http/1.1 for a
        # client that offers only that; no ALPN for a client offering neither.
        for offer, chosen in (("h2,http/1.1", "h2"), ("http/1.1,h2", "h2"), ("http/1.1", "http/1.1")):
            with self.subTest(offer=offer):
                rc, out = self.s_client("-alpn", offer, brief=False)
                self.assertEqual(rc, 0, out)
                self.assertIn("ALPN protocol: " + chosen, out)
        rc, out = self.s_client("-alpn", "spdy/3", brief=False)
        self.assertIn("No ALPN negotiated", out)

    def test_python_alpn_http11_only_client(self):
        c = RawConn(self.ag.port, ctx=self.pki.client_context(alpn=("http/1.1",)))
        self.addCleanup(c.close)
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        c.send(request_bytes("GET", "/echo"))
        self.assertEqual(c.read_response().status, 200)

    def test_non_aead_tls12_cipher_refused(self):
        for cipher in ("ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384"):
            with self.subTest(cipher=cipher):
                rc, out = self.s_client("-tls1_2", "-cipher", cipher)
                self.assertNotEqual(rc, 0, "CBC cipher %s accepted:\n%s" % (cipher, out))
        rc, out = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256")
        self.assertEqual(rc, 0, out)
        rc, out = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305")
        self.assertEqual(rc, 0, out)

    def test_python_tls_versions(self):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=v):
                c = RawConn(self.ag.port, ctx=self.pki.client_context(min_version=v, max_version=v))
                self.addCleanup(c.close)
                c.send(request_bytes("GET", "/echo"))
                self.assertEqual(c.read_response().status, 200)

    def test_session_resumption(self):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=v):
                ctx = self.pki.client_context(min_version=v, max_version=v)
                c1 = RawConn(self.ag.port, ctx=ctx)
                c1.send(request_bytes("GET", "/echo"))
                self.assertEqual(c1.read_response().status, 200)  # TLS 1.3 tickets arrive by now
                session = c1.sock.session
                c1.close()
                self.assertIsNotNone(session)
                raw = socket.create_connection(("127.0.0.1", self.ag.port), timeout=10)
                s2 = ctx.wrap_socket(raw, server_hostname="127.0.0.1", session=session)
                self.addCleanup(s2.close)
                self.assertTrue(s2.session_reused, "TLS session not resumed (%s)" % v)

    def test_curl(self):
        if not CURL:
            self.skipTest("curl not installed")
        base = [CURL, "-sS", "--max-time", "20", "--cacert", self.pki.ca_cert]
        url = "https://localhost:%d/echo?curl=1" % self.ag.port
        # curl speaks HTTP/2 over TLS unless told otherwise; the upstream sees HTTP/1.1 either way.
        for extra, version in ((["--tlsv1.2", "--tls-max", "1.2"], "2"), (["--tlsv1.3"], "2"),
                               (["--http1.1"], "1.1")):
            with self.subTest(args=extra):
                p = subprocess.run(base + extra + ["-H", "Cookie: a=1", "-w", "\n%{http_code} %{http_version}",
                                                   url], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   timeout=30)
                self.assertEqual(p.returncode, 0, p.stderr.decode())
                body, _, tail = p.stdout.decode().rpartition("\n")
                self.assertEqual(tail, "200 " + version)
                obj = json.loads(body)
                self.assertEqual(obj["target"], "/echo?curl=1")
                # Field names are case-insensitive; HTTP/2 sends them lowercase
                # and they go upstream as received (as nginx forwards them).
                self.assertIn(["cookie", "a=1"], [[n.lower(), v] for n, v in obj["headers"]])

    def test_curl_upload_with_expect(self):
        if not CURL:
            self.skipTest("curl not installed")
        path = os.path.join(self.tmp, "upload.bin")
        data = os.urandom(3 * 1024 * 1024)  # curl sends Expect: 100-continue for bodies > 1 MiB
        with open(path, "wb") as f:
            f.write(data)
        p = subprocess.run([CURL, "-sS", "--max-time", "30", "--cacert", self.pki.ca_cert, "-T", path,
                            "https://localhost:%d/upload" % self.ag.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=40)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        obj = json.loads(p.stdout)
        self.assertEqual(obj["bytes"], len(data))
        self.assertEqual(obj["sha256"], hashlib.sha256(data).hexdigest())

    def test_curl_rejects_untrusted_name_check(self):
        # The served certificate is the configured one: it verifies for
        # 127.0.0.1 and localhost against the test CA only.
        if not CURL:
            self.skipTest("curl not installed")
        p = subprocess.run([CURL, "-sS", "--max-time", "10", "https://localhost:%d/" % self.ag.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        p = subprocess.run([CURL, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert",
                            self.pki.ca_cert, "https://127.0.0.1:%d/" % self.ag.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
        self.assertEqual(p.stdout, b"200", p.stderr)

    def test_plain_http_to_tls_port_does_not_reach_upstream(self):
        c = RawConn(self.ag.port, tls=False)
        self.addCleanup(c.close)
        c.send(b"GET /echo?plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n")
        c.closed_by_peer(3)
        self.assertEqual(self.up.requests(), [])


class Http2OffTest(AirgateTestCase):
    """listen[].tls.http2: false offers http/1.1 only."""

    def test_alpn_http11_only(self):
        up = self.start_upstream()
        cfg = self.config(up)
        cfg["listen"][0]["tls"]["http2"] = False
        ag = self.start_airgate(cfg)
        c = RawConn(ag.port, ctx=self.pki.client_context(alpn=("h2", "http/1.1")))
        self.addCleanup(c.close)
        self.assertEqual(c.sock.selected_alpn_protocol(), "http/1.1")
        c.send(request_bytes("GET", "/echo"))
        self.assertEqual(c.read_response().status, 200)
        if CURL:
            p = subprocess.run([CURL, "-sS", "--max-time", "20", "--cacert", self.pki.ca_cert, "--http2", "-o",
                                "/dev/null", "-w", "%{http_version}", "https://localhost:%d/echo" % ag.port],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(p.stdout, b"1.1", p.stderr)


class MinVersionTest(AirgateTestCase):
    def test_min_version_13_refuses_tls12(self):
        up = self.start_upstream()
        cfg = self.config(up, listen=[tls_listener(self.pki, min_version="1.3")])
        ag = self.start_airgate(cfg)
        with self.assertRaises(ssl.SSLError):
            RawConn(ag.port, ctx=self.pki.client_context(max_version=ssl.TLSVersion.TLSv1_2))
        c = RawConn(ag.port, ctx=self.pki.client_context(min_version=ssl.TLSVersion.TLSv1_3))
        self.addCleanup(c.close)
        c.send(request_bytes("GET", "/echo"))
        self.assertEqual(c.read_response().status, 200)


class CipherOrderTest(AirgateTestCase):
    """tls.ciphersuites / tls.ciphers: the server's order wins (a client that
    lists AES-256 first, as OpenSSL's and Python's do, still gets AES-128-GCM
    by default), and an unknown name stops the start with the key named."""

    def negotiated(self, ag, **kw):
        ctx = self.pki.client_context(**kw)
        with socket.create_connection(("127.0.0.1", ag.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                return tls.cipher()[0]

    def test_default_order_and_configured_ones(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        self.assertEqual(self.negotiated(ag), "TLS_AES_128_GCM_SHA256")
        self.assertEqual(self.negotiated(ag, max_version=ssl.TLSVersion.TLSv1_2), "ECDHE-ECDSA-AES128-GCM-SHA256")  # the test PKI has EC keys
        ag = self.start_airgate(self.config(up, listen=[tls_listener(
            self.pki, ciphersuites="TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
            ciphers="ECDHE-ECDSA-AES256-GCM-SHA384")]))
        self.assertEqual(self.negotiated(ag), "TLS_CHACHA20_POLY1305_SHA256")
        self.assertEqual(self.negotiated(ag, max_version=ssl.TLSVersion.TLSv1_2), "ECDHE-ECDSA-AES256-GCM-SHA384")

    def test_unknown_names_stop_the_start(self):
        up = self.start_upstream()
        for key, value, words in [("ciphersuites", "TLS_AES_128_GCM_SHA256:TLS_AES_128_GCM", 'suite "TLS_AES_128_GCM"'),
                                  ("ciphers", "NO-SUCH-CIPHER", 'tls.ciphers "NO-SUCH-CIPHER"')]:
            with self.subTest(key=key):
                ag = self.start_airgate(self.config(up, listen=[tls_listener(self.pki, **{key: value})]), wait=False)
                code = ag.wait_exit(10)
                self.assertIsNotNone(code, "started with tls.%s: %s" % (key, value))
                self.assertNotEqual(code, 0)
                self.assertIn(words, ag.stderr())


class HandshakeTimeoutTest(AirgateTestCase):
    def test_silent_tcp_connection_closed_after_handshake_timeout(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, limits={"handshake_timeout": "1s"}))
        s = socket.create_connection(("127.0.0.1", ag.port), timeout=8)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        try:
            data = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = None
        elapsed = time.monotonic() - t0
        self.assertNotEqual(data, None, "connection neither closed nor reset within 8 s")
        self.assertEqual(data, b"")
        self.assertLess(elapsed, 4.0, "handshake_timeout (1 s) not enforced: %.1f s" % elapsed)


class GeneratedCertificateTest(AirgateTestCase):
    def test_listener_without_certificate_gets_self_signed_one(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, listen=[{"address": "127.0.0.1:0", "tls": {}}]))
        ctx = self.pki.client_context(verify=False)
        c = RawConn(ag.port, ctx=ctx)
        self.addCleanup(c.close)
        der = c.sock.getpeercert(binary_form=True)
        fp = hashlib.sha256(der).hexdigest()
        c.send(request_bytes("GET", "/echo"))
        self.assertEqual(c.read_response().status, 200)
        logged = ag.stderr().lower().replace(":", "")
        self.assertIn(fp, logged, "the generated certificate's SHA-256 fingerprint is not logged")
        with self.assertRaises(ssl.SSLError):  # and it is not signed by anything we trust
            RawConn(ag.port, ctx=self.pki.client_context())


class StartupErrorTest(AirgateTestCase):
    def start_failing(self, listener):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, listen=[listener]), wait=False)
        code = ag.wait_exit(10)
        self.assertIsNotNone(code, "airgate kept running with a broken TLS listener\n" + ag.logs())
        return code, ag.stderr()

    def test_missing_certificate_file(self):
        missing = os.path.join(self.tmp, "no-such-dir", "tls.crt")
        code, err = self.start_failing({"address": "127.0.0.1:0",
                                        "tls": {"certificate": missing, "private_key": self.pki.key}})
        self.assertEqual(code, 78, err)
        self.assertIn(missing, err)

    def test_missing_private_key_file(self):
        missing = os.path.join(self.tmp, "absent.key")
        code, err = self.start_failing({"address": "127.0.0.1:0",
                                        "tls": {"certificate": self.pki.cert, "private_key": missing}})
        self.assertEqual(code, 78, err)
        self.assertIn(missing, err)

    def test_key_not_matching_certificate(self):
        code, err = self.start_failing({"address": "127.0.0.1:0",
                                        "tls": {"certificate": self.pki.cert, "private_key": self.pki.other_key}})
        self.assertEqual(code, 78, err)
        self.assertTrue(self.pki.other_key in err or self.pki.cert in err, err)

    def test_garbage_certificate_file(self):
        bad = os.path.join(self.tmp, "garbage.crt")
        with open(bad, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
        code, err = self.start_failing({"address": "127.0.0.1:0",
                                        "tls": {"certificate": bad, "private_key": self.pki.key}})
        self.assertEqual(code, 78, err)
        self.assertIn(bad, err)


if __name__ == "__main__":
    unittest.main()
