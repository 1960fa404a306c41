"""TLS management (issue 4, design §2 `listen.tls`, `headers.hsts`,
`redirect_to_https`; docs/tls.md) with real clients:

- SNI: exact and `*.` names pick their certificate (checked by fingerprint,
  with `openssl s_client -servername` and Python ssl `server_hostname`);
  unknown names, deeper names under a wildcard and no SNI get the listener's
  default certificate; names match case-insensitively.
- `min_version: "1.3"` refuses TLS 1.2; the default accepts 1.2 and 1.3;
  TLS 1.0/1.1 are never accepted.
- mTLS (`client_ca`): no client certificate or one from another CA never
  gets a response (TLS 1.2: the handshake fails; TLS 1.3: the handshake or
  the first read fails); a certificate from the CA works, also through an SNI
  certificate, and the access log carries `tls_client="<subject>"`.
- `redirect_to_https` listeners: 308 to the origin + path + query, nothing
  forwarded, no auth asked.
- `headers.hsts` on responses over TLS, not over plain HTTP.
"""

import hashlib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest

from harness import AirgateTestCase, RawConn, pem_fingerprint, presented_fingerprint, request_bytes, run

OPENSSL = shutil.which("openssl") or "openssl"


class MiniCa:
    """A throw-away CA (openssl CLI, ECDSA P-256) issuing server and client certificates."""

    def __init__(self, directory, name):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.key = os.path.join(directory, "%s-ca.key" % name)
        self.cert = os.path.join(directory, "%s-ca.crt" % name)
        self._genkey(self.key)
        run([OPENSSL, "req", "-x509", "-new", "-key", self.key, "-sha256", "-days", "3",
             "-subj", "/CN=%s test CA" % name, "-out", self.cert,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    @staticmethod
    def _genkey(path):
        run([OPENSSL, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
        os.chmod(path, 0o600)

    def issue(self, stem, cn, sans=(), client=False, days=3):
        """(cert path, key path) for CN=cn with DNS SANs `sans`."""
        key = os.path.join(self.dir, stem + ".key")
        cert = os.path.join(self.dir, stem + ".crt")
        csr = os.path.join(self.dir, stem + ".csr")
        ext = os.path.join(self.dir, stem + ".ext")
        self._genkey(key)
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature",
                 "extendedKeyUsage=%s" % ("clientAuth" if client else "serverAuth")]
        if sans:
            lines.append("subjectAltName=" + ",".join("DNS:" + s for s in sans))
        with open(ext, "w") as f:
            f.write("\n".join(lines) + "\n")
        run([OPENSSL, "req", "-new", "-key", key, "-subj", "/CN=" + cn, "-out", csr])
        run([OPENSSL, "x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
             "-days", str(days), "-sha256", "-extfile", ext, "-out", cert])
        return cert, key


def s_client(port, *args, stdin=b"", timeout=20):
    """openssl s_client; returns (rc, stdout, stderr)."""
    cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port] + list(args)
    p = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def s_client_fingerprint(port, *args):
    """(rc, sha256 hex of the presented leaf or None, output) via openssl s_client."""
    rc, out, err = s_client(port, *args)
    fp = None
    if "-----BEGIN CERTIFICATE-----" in out:
        p = subprocess.run([OPENSSL, "x509", "-outform", "DER"], input=out.encode(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=10)
        if p.returncode == 0:
            fp = hashlib.sha256(p.stdout).hexdigest()
    return rc, fp, out + err


class MiniCaCase(AirgateTestCase):
    """Certificates made once per class (make_certificates) in a scratch
    directory removed after the class; each test gets an upstream and airgate
    with one listener on 127.0.0.1 whose `tls` section is listener_tls()."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pkidir = tempfile.mkdtemp(prefix="airgate-%s-" % cls.__name__)
        cls.make_certificates()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pkidir, True)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        listener = {"address": "127.0.0.1:0", "tls": self.listener_tls()}
        self.ag = self.start_airgate(self.config(self.up, listen=[listener]))
        self.port = self.ag.port


class SniTest(MiniCaCase):
    """Default certificate a.test, SNI entries b.test and *.wild.test."""

    @classmethod
    def make_certificates(cls):
        cls.ca = MiniCa(cls.pkidir, "sni")
        cls.a = cls.ca.issue("a", "a.test", ["a.test"])
        cls.b = cls.ca.issue("b", "b.test", ["b.test"])
        cls.w = cls.ca.issue("wild", "*.wild.test", ["*.wild.test"])
        cls.fp = {"a": pem_fingerprint(cls.a[0]), "b": pem_fingerprint(cls.b[0]), "w": pem_fingerprint(cls.w[0])}

    def listener_tls(self):
        return {"certificate": self.a[0], "private_key": self.a[1],
                "sni": [{"names": ["b.test"], "certificate": self.b[0], "private_key": self.b[1]},
                        {"names": ["*.wild.test"], "certificate": self.w[0], "private_key": self.w[1]}]}

    def name_of(self, fp):
        return {v: k for k, v in self.fp.items()}.get(fp, "unknown certificate " + str(fp))

    def test_openssl_servername_selects_certificate(self):
        cases = [("b.test", "b"), ("x.wild.test", "w"), ("a.test", "a"), ("unknown.test", "a"),
                 ("a.b.wild.test", "a"),  # `*.` covers one label only
                 ("wild.test", "a")]
        for name, want in cases:
            with self.subTest(servername=name):
                rc, fp, out = s_client_fingerprint(self.port, "-servername", name, "-CAfile", self.ca.cert)
                self.assertEqual(rc, 0, out)
                self.assertEqual(self.name_of(fp), want, "SNI %s got the wrong certificate\n%s" % (name, out))

    def test_openssl_verifies_chosen_certificate_for_its_name(self):
        for name in ("b.test", "x.wild.test", "a.test"):
            with self.subTest(servername=name):
                rc, fp, out = s_client_fingerprint(self.port, "-servername", name, "-CAfile", self.ca.cert,
                                                   "-verify_hostname", name, "-verify_return_error")
                self.assertEqual(rc, 0, out)
                self.assertIn("Verify return code: 0 (ok)", out)

    def test_openssl_without_sni_gets_default(self):
        rc, fp, out = s_client_fingerprint(self.port, "-noservername", "-CAfile", self.ca.cert)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.name_of(fp), "a", out)

    def test_servername_case_insensitive(self):
        rc, fp, out = s_client_fingerprint(self.port, "-servername", "B.Test", "-CAfile", self.ca.cert)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.name_of(fp), "b", out)
        rc, fp, out = s_client_fingerprint(self.port, "-servername", "X.WILD.test", "-CAfile", self.ca.cert)
        self.assertEqual(rc, 0, out)
        self.assertEqual(self.name_of(fp), "w", out)

    def test_python_server_hostname_with_hostname_check(self):
        for name, want in (("b.test", "b"), ("x.wild.test", "w"), ("a.test", "a")):
            with self.subTest(server_hostname=name):
                fp = presented_fingerprint(self.port, name, ca_file=self.ca.cert, check_hostname=True)
                self.assertEqual(self.name_of(fp), want)
        self.assertEqual(self.name_of(presented_fingerprint(self.port, "nothing.example")), "a")
        self.assertEqual(self.name_of(presented_fingerprint(self.port, None)), "a")

    def test_requests_work_through_sni_certificate(self):
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=version):
                ctx = ssl.create_default_context(cafile=self.ca.cert)
                ctx.minimum_version = ctx.maximum_version = version
                c = RawConn(self.port, ctx=ctx, server_hostname="y.wild.test")
                self.addCleanup(c.close)
                self.assertEqual(hashlib.sha256(c.sock.getpeercert(binary_form=True)).hexdigest(), self.fp["w"])
                c.send(request_bytes("GET", "/echo?sni=1", host="y.wild.test"))
                r = c.read_response()
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json()["target"], "/echo?sni=1")


def _tls11_args():
    return ["-cipher", "DEFAULT@SECLEVEL=0"]


class MinVersionTest(AirgateTestCase):
    """Listener 0: default min_version; listener 1: min_version "1.3"."""

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        l0 = {"address": "127.0.0.1:0", "tls": {"certificate": self.pki.cert, "private_key": self.pki.key}}
        l1 = {"address": "127.0.0.1:0", "tls": {"certificate": self.pki.cert, "private_key": self.pki.key,
                                                 "min_version": "1.3"}}
        self.ag = self.start_airgate(self.config(self.up, listen=[l0, l1]))
        self.default_port = self.ag.listeners[0].port
        self.v13_port = self.ag.listeners[1].port

    def sc(self, port, *args):
        return s_client(port, "-CAfile", self.pki.ca_cert, "-servername", "localhost", "-verify_return_error",
                        "-brief", *args)

    def python_request(self, port, version):
        ctx = self.pki.client_context(min_version=version, max_version=version)
        c = RawConn(port, ctx=ctx)
        self.addCleanup(c.close)
        c.send(request_bytes("GET", "/echo"))
        return c.read_response().status

    def test_min13_refuses_tls12_openssl(self):
        rc, out, err = self.sc(self.v13_port, "-tls1_2")
        self.assertNotEqual(rc, 0, "TLS 1.2 accepted on a min_version 1.3 listener:\n" + out + err)
        self.assertNotIn("Protocol version: TLSv1.2", out + err)

    def test_min13_refuses_tls12_python(self):
        with self.assertRaises((ssl.SSLError, ConnectionResetError, OSError)):
            self.python_request(self.v13_port, ssl.TLSVersion.TLSv1_2)

    def test_min13_accepts_tls13(self):
        rc, out, err = self.sc(self.v13_port, "-tls1_3")
        self.assertEqual(rc, 0, out + err)
        self.assertIn("Protocol version: TLSv1.3", out + err)
        self.assertEqual(self.python_request(self.v13_port, ssl.TLSVersion.TLSv1_3), 200)

    def test_default_accepts_tls12_and_tls13(self):
        for flag, proto, v in (("-tls1_2", "TLSv1.2", ssl.TLSVersion.TLSv1_2),
                               ("-tls1_3", "TLSv1.3", ssl.TLSVersion.TLSv1_3)):
            with self.subTest(proto=proto):
                rc, out, err = self.sc(self.default_port, flag)
                self.assertEqual(rc, 0, out + err)
                self.assertIn("Protocol version: " + proto, out + err)
                self.assertEqual(self.python_request(self.default_port, v), 200)

    def test_tls10_and_tls11_never_accepted(self):
        for port in (self.default_port, self.v13_port):
            for flag in ("-tls1_1", "-tls1"):
                with self.subTest(port=port, flag=flag):
                    rc, out, err = self.sc(port, flag, *_tls11_args())
                    text = out + err
                    self.assertNotEqual(rc, 0, "%s handshake succeeded:\n%s" % (flag, text))
                    self.assertNotIn("no protocols available", text, "the client could not offer the version")
                    self.assertNotIn("Protocol version: TLSv1.1", text)
                    self.assertNotIn("Protocol version: TLSv1\n", text)


class MtlsTest(MiniCaCase):
    """client_ca = the client CA; a b.test SNI entry to check mTLS survives the SNI switch."""

    @classmethod
    def make_certificates(cls):
        cls.client_ca = MiniCa(cls.pkidir, "clients")
        cls.other_ca = MiniCa(cls.pkidir, "other")
        cls.server_ca = MiniCa(cls.pkidir, "servers")
        cls.good = cls.client_ca.issue("alice", "alice client", client=True)
        cls.bad = cls.other_ca.issue("mallory", "mallory client", client=True)
        cls.srv = cls.server_ca.issue("srv", "a.test", ["a.test"])
        cls.srv_b = cls.server_ca.issue("srvb", "b.test", ["b.test"])

    def listener_tls(self):
        return {"certificate": self.srv[0], "private_key": self.srv[1], "client_ca": self.client_ca.cert,
                "sni": [{"names": ["b.test"], "certificate": self.srv_b[0], "private_key": self.srv_b[1]}]}

    def attempt(self, cert=None, version=None, server_hostname="a.test", target="/echo?mtls=1"):
        """('ok', Response) or ('failed', description). Never raises for TLS/socket errors."""
        ctx = ssl.create_default_context(cafile=self.server_ca.cert)
        ctx.set_alpn_protocols(["http/1.1"])
        if version:
            ctx.minimum_version = ctx.maximum_version = version
        if cert:
            ctx.load_cert_chain(cert[0], cert[1])
        try:
            c = RawConn(self.port, ctx=ctx, server_hostname=server_hostname, timeout=10)
        except (ssl.SSLError, OSError) as e:
            return "failed", "handshake: %r" % e
        self.addCleanup(c.close)
        try:
            c.send(request_bytes("GET", target, host=server_hostname))
            r = c.read_response()
        except Exception as e:  # ConnectionClosed, SSLError (alert), reset, timeout
            return "failed", "after handshake: %r" % e
        return "ok", r

    def assertRefused(self, outcome, what):
        kind, detail = outcome
        self.assertEqual(kind, "failed", "%s got a response: %r %r" % (
            what, detail, getattr(detail, "body", b"")[:200]))

    def test_no_client_certificate_refused(self):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=v):
                self.assertRefused(self.attempt(None, v), "a client without a certificate")
        self.assertEqual(self.up.requests("/echo"), [], "a request without a client certificate reached upstream")

    def test_no_client_certificate_tls12_fails_in_handshake(self):
        kind, detail = self.attempt(None, ssl.TLSVersion.TLSv1_2)
        self.assertEqual(kind, "failed")
        self.assertTrue(detail.startswith("handshake"), detail)

    def test_certificate_from_other_ca_refused(self):
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=v):
                self.assertRefused(self.attempt(self.bad, v), "a client certificate from another CA")
        self.assertEqual(self.up.requests("/echo"), [], "a request with a foreign certificate reached upstream")

    def test_good_certificate_works_and_subject_logged(self):
        for i, v in enumerate((ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)):
            with self.subTest(version=v):
                target = "/echo?mtls-ok=%d" % i
                kind, r = self.attempt(self.good, v, target=target)
                self.assertEqual(kind, "ok", r)
                self.assertEqual(r.status, 200, r.body[:300])
                self.assertEqual(r.json()["target"], target)
                line = self.wait_access_line(target)
                self.assertIn('tls_client="', line)
                self.assertIn("CN=alice client", line.split('tls_client="', 1)[1], line)

    def test_good_certificate_through_sni_certificate(self):
        kind, r = self.attempt(self.good, server_hostname="b.test", target="/echo?mtls-sni=1")
        self.assertEqual(kind, "ok", r)
        self.assertEqual(r.status, 200)
        for v in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            with self.subTest(version=v):
                self.assertRefused(self.attempt(None, v, server_hostname="b.test"),
                                   "no client certificate, SNI b.test")
                self.assertRefused(self.attempt(self.bad, v, server_hostname="b.test"),
                                   "foreign client certificate, SNI b.test")

    def test_openssl_s_client_with_and_without_certificate(self):
        req = b"GET /echo?sclient=1 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
        base = ["-servername", "a.test", "-CAfile", self.server_ca.cert, "-quiet", "-ign_eof"]
        rc, out, err = s_client(self.port, *base, "-cert", self.good[0], "-key", self.good[1], stdin=req)
        self.assertIn("HTTP/1.1 200", out, "with a client certificate: rc=%d\n%s\n%s" % (rc, out, err))
        for extra in ([], ["-cert", self.bad[0], "-key", self.bad[1]]):
            for vflag in ("-tls1_2", "-tls1_3"):
                with self.subTest(cert=bool(extra), version=vflag):
                    rc, out, err = s_client(self.port, *base, vflag, *extra, stdin=req)
                    self.assertNotIn("HTTP/1.1", out, "answered without a valid client certificate:\n" + out)
        line = self.wait_access_line("/echo?sclient=1")
        self.assertIn('tls_client="', line)
        self.assertIn("alice client", line)

    def wait_access_line(self, target, timeout=5):
        deadline = time.monotonic() + timeout
        while True:
            lines = [l for l in self.ag.stdout().splitlines() if target in l]
            if lines or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertTrue(lines, "no access log line for %s on stdout:\n%s" % (target, self.ag.stdout()[-2000:]))
        return lines[-1]


class RedirectTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        users = [{"user": "alice", "hash": "{SHA}" + __import__("base64").b64encode(
            hashlib.sha1(b"alice-password-1").digest()).decode()}]
        listen = [{"address": "127.0.0.1:0", "tls": {"certificate": self.pki.cert, "private_key": self.pki.key}},
                  {"address": "127.0.0.1:0", "redirect_to_https": "https://airbyte.example.com"}]
        self.ag = self.start_airgate(self.config(self.up, listen=listen, auth={"basic": {"users": users}}))
        self.plain = self.ag.listeners[1]
        self.assertFalse(self.plain.tls, self.ag.listeners)

    def get(self, method, target, body=b""):
        c = RawConn(self.plain.port, tls=False)
        self.addCleanup(c.close)
        c.send(request_bytes(method, target, body=body, host="airbyte.example.com"))
        return c.read_response(method)

    def test_redirect_keeps_path_and_query(self):
        r = self.get("GET", "/path?q=1")
        self.assertEqual(r.status, 308, r.body[:300])
        self.assertEqual(r.header("Location"), "https://airbyte.example.com/path?q=1")

    def test_redirect_other_methods_and_paths(self):
        for method, target in (("GET", "/"), ("HEAD", "/connections/abc?x=1&y=%20z"),
                               ("POST", "/api/v1/workspaces/list"), ("GET", "/echo")):
            with self.subTest(method=method, target=target):
                r = self.get(method, target, body=b"{}" if method == "POST" else b"")
                self.assertEqual(r.status, 308)
                self.assertEqual(r.header("Location"), "https://airbyte.example.com" + target)
        self.assertEqual(self.up.requests(), [], "a redirect listener forwarded a request")

    def test_redirect_with_curl(self):
        curl = shutil.which("curl")
        if not curl:
            self.skipTest("curl not installed")
        p = subprocess.run([curl, "-sS", "--max-time", "15", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}",
                            "http://127.0.0.1:%d/path?q=1" % self.plain.port],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stdout.decode(), "308 https://airbyte.example.com/path?q=1")


class HstsTest(AirgateTestCase):
    HSTS = "max-age=31536000; includeSubDomains"

    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        listen = [{"address": "127.0.0.1:0", "tls": {"certificate": self.pki.cert, "private_key": self.pki.key}},
                  {"address": "127.0.0.1:0"}]
        self.ag = self.start_airgate(self.config(self.up, listen=listen, headers={"hsts": self.HSTS}))

    def test_hsts_on_proxied_responses_over_tls(self):
        for target in ("/echo", "/status?code=404", "/set-cookie"):
            with self.subTest(target=target):
                status, headers, _ = self.request(self.ag, "GET", target, listener=0)
                values = [v for n, v in headers if n.lower() == "strict-transport-security"]
                self.assertEqual(values, [self.HSTS], "status %d headers %r" % (status, headers))

    def test_no_hsts_over_plain_http(self):
        status, headers, _ = self.request(self.ag, "GET", "/echo", listener=1)
        self.assertEqual(status, 200)
        self.assertEqual([v for n, v in headers if n.lower() == "strict-transport-security"], [],
                         "HSTS sent over plain HTTP (docs: added on TLS listeners)")

    def test_no_hsts_when_unset(self):
        ag = self.start_airgate(self.config(self.up))
        _, headers, _ = self.request(ag, "GET", "/echo")
        self.assertEqual([v for n, v in headers if n.lower() == "strict-transport-security"], [])


if __name__ == "__main__":
    unittest.main()
