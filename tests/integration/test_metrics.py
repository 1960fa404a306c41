"""Admin endpoint (issue 4 "Admin endpoint", design §7, docs/operations.md
"Monitoring") on the real binary:

- /metrics parsed strictly as Prometheus text exposition 0.0.4: every sample
  line `name{labels} value`, # HELP and # TYPE once per family and before
  its samples, families contiguous, no duplicate series, counters named
  `*_total`, histogram buckets cumulative with increasing `le`, ending with
  `+Inf` == `_count`; every metric of the docs present with its type; the
  latency buckets span 5 ms ... 1 h.
- Counters move: requests_total by code, the latency histogram (count, sum,
  a slow request above 250 ms), auth_failures_total by reason (missing,
  malformed, unknown user, invalid password), upstream_errors_total
  {kind="upstream_refused"} on a 502, tls_handshake_failures_total on plain
  HTTP to a TLS port and on a TLS 1.1 client, credential verifications vs
  the cache; the certificate expiry gauge equals each certificate's notAfter
  (`openssl x509 -enddate`); active_connections follows open connections.
- /healthz 200; /readyz 200 with the upstream accepting, 503 when its port is
  closed, 200 again when it listens; unknown admin paths 404.
"""

import base64
import calendar
import hashlib
import http.client
import math
import os
import re
import socket
import subprocess
import time
import unittest

from harness import AirgateTestCase, RawConn, free_port, request_bytes, run

USER, PASSWORD = "alice", "metrics-password-1"
SHA = "{SHA}" + base64.b64encode(hashlib.sha1(PASSWORD.encode()).digest()).decode()
AUTH = ("Authorization", "Basic " + base64.b64encode(("%s:%s" % (USER, PASSWORD)).encode()).decode())

SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+)(?: (-?\d+))?$")
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)')
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")

DOCUMENTED = {
    "airgate_requests_total": "counter",
    "airgate_request_duration_seconds": "histogram",
    "airgate_auth_failures_total": "counter",
    "airgate_upstream_errors_total": "counter",
    "airgate_active_connections": "gauge",
    "airgate_tls_handshake_failures_total": "counter",
    "airgate_reloads_total": "counter",
    "airgate_credential_verifications_total": "counter",
    "airgate_credential_cache_entries": "gauge",
    "airgate_sessions_issued_total": "counter",
    "airgate_sessions_rejected_total": "counter",
    "airgate_certificate_expiry_timestamp_seconds": "gauge",
}


class ExpositionError(AssertionError):
    pass


def _value(text):
    if text in ("+Inf", "-Inf", "NaN"):
        return float(text.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?", text):
        raise ValueError(text)
    return float(text)


def _labels(text, where):
    out = {}
    if text is None or text == "":
        return out
    pos = 0
    while pos < len(text):
        m = LABEL_RE.match(text, pos)
        if not m:
            raise ExpositionError("%s: bad label syntax at %r" % (where, text[pos:]))
        name = m.group(1)
        if name in out:
            raise ExpositionError("%s: label %s twice" % (where, name))
        out[name] = m.group(2).replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\")
        pos = m.end()
        if m.group(3) == "," and pos == len(text):
            break  # a trailing comma is allowed
    return out


def parse_exposition(text):
    """Strict parser; returns {family: {"type", "help", "samples": [(name, labels, value)]}}."""
    if not text.endswith("\n"):
        raise ExpositionError("exposition does not end with a newline")
    families = {}
    current = None
    finished = set()
    seen = set()
    for n, line in enumerate(text[:-1].split("\n"), 1):
        where = "line %d %r" % (n, line)
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            kind = line[2:6]
            parts = line[7:].split(" ", 1)
            name = parts[0]
            rest = parts[1] if len(parts) > 1 else ""
            if not re.fullmatch(r"[a-zA-Z_:][a-zA-Z0-9_:]*", name):
                raise ExpositionError("%s: bad metric name" % where)
            fam = families.get(name)
            if fam is None:
                if name in finished:
                    raise ExpositionError("%s: family %s appears twice" % (where, name))
                if current:
                    finished.add(current)
                fam = families[name] = {"type": None, "help": None, "samples": []}
                current = name
            elif current != name:
                raise ExpositionError("%s: metadata for %s after another family" % (where, name))
            if fam["samples"]:
                raise ExpositionError("%s: %s after samples of %s" % (where, kind, name))
            if kind == "HELP":
                if fam["help"] is not None:
                    raise ExpositionError("%s: second HELP for %s" % (where, name))
                if not rest.strip():
                    raise ExpositionError("%s: empty HELP" % where)
                fam["help"] = rest
            else:
                if fam["type"] is not None:
                    raise ExpositionError("%s: second TYPE for %s" % (where, name))
                if rest not in TYPES:
                    raise ExpositionError("%s: unknown type %r" % (where, rest))
                fam["type"] = rest
            continue
        if line.startswith("#"):
            continue
        if line == "":
            raise ExpositionError("%s: empty line" % where)
        m = SAMPLE_RE.match(line)
        if not m:
            raise ExpositionError("%s: not `name{labels} value`" % where)
        name, ltext, vtext = m.group(1), m.group(2), m.group(3)
        labels = _labels(ltext, where)
        try:
            value = _value(vtext)
        except ValueError:
            raise ExpositionError("%s: bad value %r" % (where, vtext))
        if current is None:
            raise ExpositionError("%s: sample before any # HELP/# TYPE" % where)
        fam = families[current]
        base = name
        if fam["type"] == "histogram":
            for suffix in ("_bucket", "_sum", "_count"):
                if name.endswith(suffix) and name[:-len(suffix)] == current:
                    base = current
        if base != current:
            raise ExpositionError("%s: sample of %s inside family %s (no HELP/TYPE of its own before it)" % (
                where, name, current))
        if fam["help"] is None or fam["type"] is None:
            raise ExpositionError("%s: %s lacks # HELP or # TYPE before its samples" % (where, current))
        key = (name, tuple(sorted(labels.items())))
        if key in seen:
            raise ExpositionError("%s: duplicate series" % where)
        seen.add(key)
        fam["samples"].append((name, labels, value))
    for name, fam in families.items():
        if fam["help"] is None or fam["type"] is None:
            raise ExpositionError("family %s lacks HELP or TYPE" % name)
        if fam["type"] == "counter":
            if not name.endswith("_total"):
                raise ExpositionError("counter %s is not named *_total" % name)
            for s in fam["samples"]:
                if s[2] < 0 or math.isnan(s[2]):
                    raise ExpositionError("counter %s is %r" % (name, s))
        if fam["type"] == "histogram":
            check_histogram(name, fam["samples"])
    return families


def check_histogram(name, samples):
    groups = {}
    for sname, labels, value in samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if sname == name + "_bucket":
            if "le" not in labels:
                raise ExpositionError("%s bucket without le" % name)
            g["buckets"].append((labels["le"], value))
        elif sname == name + "_sum":
            g["sum"] = value
        elif sname == name + "_count":
            g["count"] = value
        else:
            raise ExpositionError("%s: unexpected series %s" % (name, sname))
    if not groups:
        raise ExpositionError("histogram %s has no samples" % name)
    for rest, g in groups.items():
        if g["sum"] is None or g["count"] is None or not g["buckets"]:
            raise ExpositionError("histogram %s%r lacks _sum, _count or buckets" % (name, rest))
        les = [_value(le) for le, _ in g["buckets"]]
        if les != sorted(les) or len(set(les)) != len(les):
            raise ExpositionError("histogram %s: le not strictly increasing: %r" % (name, les))
        if g["buckets"][-1][0] != "+Inf":
            raise ExpositionError("histogram %s: last bucket is le=%r, not +Inf" % (name, g["buckets"][-1][0]))
        counts = [v for _, v in g["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ExpositionError("histogram %s: buckets not cumulative: %r" % (name, counts))
        if counts[-1] != g["count"]:
            raise ExpositionError("histogram %s: +Inf bucket %r != _count %r" % (name, counts[-1], g["count"]))
        if g["sum"] < 0:
            raise ExpositionError("histogram %s: negative _sum" % name)


def value(families, name, default=None, **labels):
    """The value of the series `name` with exactly `labels` (histogram series found in their family)."""
    for fam in families.values():
        for sname, slabels, v in fam["samples"]:
            if sname == name and slabels == labels:
                return v
    return default


def admin_get(ag, path):
    conn = http.client.HTTPConnection(ag.admin.host, ag.admin.port, timeout=10)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read().decode()
    finally:
        conn.close()


def not_after(cert_path):
    out = run(["openssl", "x509", "-noout", "-enddate", "-in", cert_path]).stdout.decode().strip()
    assert out.startswith("notAfter="), out
    return calendar.timegm(time.strptime(out[len("notAfter="):].replace("  ", " "), "%b %d %H:%M:%S %Y GMT"))


class MetricsCase(AirgateTestCase):
    def scrape(self, ag):
        status, headers, text = admin_get(ag, "/metrics")
        self.assertEqual(status, 200, text)
        try:
            return parse_exposition(text)
        except ExpositionError as e:
            self.fail("invalid exposition: %s\n%s" % (e, text))

    def wait_value(self, ag, name, predicate, timeout=5, **labels):
        """Poll /metrics (bounded) until predicate(value) holds; returns the last value."""
        deadline = time.monotonic() + timeout
        while True:
            v = value(self.scrape(ag), name, **labels)
            if (v is not None and predicate(v)) or time.monotonic() > deadline:
                return v
            time.sleep(0.1)


class MetricsTest(MetricsCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.sni_cert, self.sni_key = self.issue_cert()
        self.down_port = free_port()
        listener = {"address": "127.0.0.1:0", "tls": {
            "certificate": self.pki.cert, "private_key": self.pki.key,
            "sni": [{"names": ["other.test"], "certificate": self.sni_cert, "private_key": self.sni_key}]}}
        cfg = self.config(self.up, listen=[listener],
                          auth={"basic": {"users": [{"user": USER, "hash": SHA}]},
                                "throttle": {"max_failures": 1000}},
                          routes=[{"path_prefix": "/down/",
                                   "upstream": {"url": "http://127.0.0.1:%d" % self.down_port}}])
        self.ag = self.start_airgate(cfg)

    def issue_cert(self):
        d = os.path.join(self.tmp, "sni")
        os.makedirs(d, exist_ok=True)
        key, cert, csr = (os.path.join(d, n) for n in ("o.key", "o.crt", "o.csr"))
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key])
        os.chmod(key, 0o600)
        run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=other.test", "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.pki.ca_cert, "-CAkey", self.pki.ca_key,
             "-CAcreateserial", "-days", "9", "-sha256", "-out", cert])
        return cert, key

    def send(self, target, headers=(AUTH,), method="GET"):
        c = RawConn(self.ag.port, ctx=self.ctx())
        self.addCleanup(c.close)
        c.send(request_bytes(method, target, headers=list(headers)))
        r = c.read_response(method)
        c.close()
        return r

    def test_exposition_is_strict_prometheus_text(self):
        self.assertEqual(self.send("/echo").status, 200)
        self.assertEqual(self.send("/echo", headers=()).status, 401)
        self.assertEqual(self.send("/down/x").status, 502)
        status, headers, text = admin_get(self.ag, "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(headers.get("content-type", "").startswith("text/plain; version=0.0.4"), headers)
        try:
            fams = parse_exposition(text)
        except ExpositionError as e:
            self.fail("invalid exposition: %s\n%s" % (e, text))
        for name in fams:
            self.assertTrue(name.startswith("airgate_"), name)
        for name, typ in DOCUMENTED.items():
            self.assertIn(name, fams, "documented metric missing\n" + text)
            self.assertEqual(fams[name]["type"], typ, name)
        les = [_value(l["le"]) for n, l, _ in fams["airgate_request_duration_seconds"]["samples"]
               if n.endswith("_bucket")]
        finite = [x for x in les if x != float("inf")]
        self.assertEqual((min(finite), max(finite)), (0.005, 3600.0), "docs: buckets 5 ms ... 1 h: %r" % les)
        self.assertGreaterEqual(len(finite), 8, les)
        for _, labels, _ in fams["airgate_auth_failures_total"]["samples"]:
            self.assertEqual(set(labels), {"reason"})
        for _, labels, _ in fams["airgate_upstream_errors_total"]["samples"]:
            self.assertEqual(set(labels), {"kind"})
        for _, labels, _ in fams["airgate_certificate_expiry_timestamp_seconds"]["samples"]:
            self.assertEqual(set(labels), {"listener", "certificate"})

    def test_requests_total_and_histogram_move(self):
        before = self.scrape(self.ag)
        ok0 = value(before, "airgate_requests_total", 0, code="200")
        cnt0 = value(before, "airgate_request_duration_seconds_count")
        for i in range(5):
            self.assertEqual(self.send("/echo?i=%d" % i).status, 200)
        ok = self.wait_value(self.ag, "airgate_requests_total", lambda v: v >= ok0 + 5, code="200")
        # the histogram is updated just after requests_total (Metrics::request)
        self.wait_value(self.ag, "airgate_request_duration_seconds_count", lambda v: v >= cnt0 + 5)
        after = self.scrape(self.ag)
        self.assertEqual(ok - ok0, 5, "requests_total{code=\"200\"} after 5 requests (admin scrapes not counted)")
        self.assertEqual(value(after, "airgate_request_duration_seconds_count") - cnt0, 5)
        total = sum(v for _, _, v in after["airgate_requests_total"]["samples"])
        self.assertEqual(value(after, "airgate_request_duration_seconds_count"), total,
                         "histogram _count != sum of requests_total")
        # a slow request lands above the 250 ms bucket and adds its time to _sum
        slow0 = (value(after, "airgate_request_duration_seconds_bucket", le="+Inf") -
                 value(after, "airgate_request_duration_seconds_bucket", le="0.25"))
        sum0 = value(after, "airgate_request_duration_seconds_sum")
        self.assertEqual(self.send("/slow?seconds=0.3").status, 200)
        self.wait_value(self.ag, "airgate_request_duration_seconds_count", lambda v: v >= cnt0 + 6)
        final = self.scrape(self.ag)
        slow = (value(final, "airgate_request_duration_seconds_bucket", le="+Inf") -
                value(final, "airgate_request_duration_seconds_bucket", le="0.25"))
        self.assertGreaterEqual(slow - slow0, 1, "a 300 ms request was counted at or below le=0.25")
        self.assertGreaterEqual(value(final, "airgate_request_duration_seconds_sum") - sum0, 0.29)

    def test_auth_failures_by_reason(self):
        cases = [
            ((), "missing_credentials"),
            ((("Authorization", "Basic !!!not-base64"),), "malformed_credentials"),
            ((("Authorization", "Basic " + base64.b64encode(b"nobody:whatever-pass").decode()),), "unknown_user"),
            ((("Authorization", "Basic " + base64.b64encode(b"alice:wrong-password").decode()),),
             "invalid_password"),
        ]
        for headers, reason in cases:
            with self.subTest(reason=reason):
                before = self.scrape(self.ag)
                r0 = value(before, "airgate_auth_failures_total", reason=reason)
                c0 = value(before, "airgate_requests_total", 0, code="401")
                self.assertIsNotNone(r0, "no auth_failures_total{reason=%r} series" % reason)
                self.assertEqual(self.send("/echo", headers=headers).status, 401)
                got = self.wait_value(self.ag, "airgate_auth_failures_total", lambda v: v >= r0 + 1, reason=reason)
                self.assertEqual(got - r0, 1, reason)
                # requests_total is counted when the exchange is logged, after the
                # response is written: poll (bounded), a slow build may lag behind.
                got = self.wait_value(self.ag, "airgate_requests_total", lambda v: v >= c0 + 1, code="401")
                self.assertEqual((got or 0) - c0, 1)
        fams = self.scrape(self.ag)
        self.assertEqual(value(fams, "airgate_auth_failures_total", reason="ip_not_allowed"), 0)
        self.assertEqual(value(fams, "airgate_auth_failures_total", reason="throttled"), 0)

    def test_upstream_refused_counts_502(self):
        before = self.scrape(self.ag)
        e0 = value(before, "airgate_upstream_errors_total", kind="upstream_refused")
        c0 = value(before, "airgate_requests_total", 0, code="502")
        self.assertIsNotNone(e0, "no upstream_errors_total{kind=\"upstream_refused\"} series")
        self.assertEqual(self.send("/down/x").status, 502)
        got = self.wait_value(self.ag, "airgate_upstream_errors_total", lambda v: v >= e0 + 1, kind="upstream_refused")
        self.assertEqual(got - e0, 1)
        got = self.wait_value(self.ag, "airgate_requests_total", lambda v: v >= c0 + 1, code="502")
        self.assertEqual((got or 0) - c0, 1)
        after = self.scrape(self.ag)
        self.assertEqual(value(after, "airgate_upstream_errors_total", kind="other"),
                         value(before, "airgate_upstream_errors_total", kind="other"))

    def test_tls_handshake_failures(self):
        f0 = value(self.scrape(self.ag), "airgate_tls_handshake_failures_total")
        self.assertIsNotNone(f0)
        s = socket.create_connection(("127.0.0.1", self.ag.port), timeout=5)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            try:
                while s.recv(4096):
                    pass
            except OSError:
                pass
        finally:
            s.close()
        got = self.wait_value(self.ag, "airgate_tls_handshake_failures_total", lambda v: v >= f0 + 1)
        self.assertEqual(got - f0, 1, "plain HTTP to the TLS port")
        p = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.ag.port, "-tls1_1",
                            "-cipher", "DEFAULT@SECLEVEL=0"], input=b"", stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=20)
        self.assertNotEqual(p.returncode, 0)
        got = self.wait_value(self.ag, "airgate_tls_handshake_failures_total", lambda v: v >= f0 + 2)
        self.assertEqual(got - f0, 2, "TLS 1.1 client")
        # a good handshake does not count
        self.assertEqual(self.send("/echo").status, 200)
        time.sleep(0.2)
        self.assertEqual(value(self.scrape(self.ag), "airgate_tls_handshake_failures_total") - f0, 2)

    def test_certificate_expiry_equals_not_after(self):
        fams = self.scrape(self.ag)
        series = {l["certificate"]: (l["listener"], v)
                  for _, l, v in fams["airgate_certificate_expiry_timestamp_seconds"]["samples"]}
        for path in (self.pki.cert, self.sni_cert):
            with self.subTest(certificate=path):
                self.assertIn(path, series, "no expiry series for %s: %r" % (path, series))
                self.assertEqual(series[path][1], not_after(path))
                self.assertTrue(series[path][0], "empty listener label")
        self.assertNotEqual(not_after(self.pki.cert), not_after(self.sni_cert))

    def test_active_connections(self):
        base = self.wait_value(self.ag, "airgate_active_connections", lambda v: v == 0)
        self.assertEqual(base, 0, "active connections with no client connected")
        conns = []
        for i in range(2):
            c = RawConn(self.ag.port, ctx=self.ctx())
            self.addCleanup(c.close)
            c.send(request_bytes("GET", "/echo?open=%d" % i, headers=[AUTH]))
            self.assertEqual(c.read_response().status, 200)
            conns.append(c)
        self.assertEqual(value(self.scrape(self.ag), "airgate_active_connections"), 2,
                         "two keep-alive connections are open")
        raw = socket.create_connection(("127.0.0.1", self.ag.port), timeout=5)  # not even a handshake yet
        self.addCleanup(raw.close)
        got = self.wait_value(self.ag, "airgate_active_connections", lambda v: v == 3)
        self.assertEqual(got, 3, "a connection in its TLS handshake is open too")
        for c in conns:
            c.close()
        raw.close()
        got = self.wait_value(self.ag, "airgate_active_connections", lambda v: v == 0)
        self.assertEqual(got, 0, "active connections after every client closed")

    def test_credential_verifications_and_cache(self):
        f = self.scrape(self.ag)
        v0 = value(f, "airgate_credential_verifications_total")
        for i in range(3):
            self.assertEqual(self.send("/echo?cache=%d" % i).status, 200)
        f = self.scrape(self.ag)
        self.assertEqual(value(f, "airgate_credential_verifications_total") - v0, 1,
                         "3 requests with the same credentials: one hash check, then the cache")
        self.assertGreaterEqual(value(f, "airgate_credential_cache_entries"), 1)

    def test_healthz_readyz_and_unknown_path(self):
        status, _, body = admin_get(self.ag, "/healthz")
        self.assertEqual((status, body.strip()), (200, "ok"))
        status, _, body = admin_get(self.ag, "/readyz")
        self.assertEqual(status, 200, body)
        self.assertEqual(admin_get(self.ag, "/nope")[0], 404)


class ReadyzTest(MetricsCase):
    def wait_ready_status(self, ag, want, timeout=5):
        deadline = time.monotonic() + timeout
        status = None
        while time.monotonic() < deadline:
            status = admin_get(ag, "/readyz")[0]
            if status == want:
                break
            time.sleep(0.2)
        return status

    def test_readyz_follows_upstream_port(self):
        port = free_port()
        ag = self.start_airgate(self.config("http://127.0.0.1:%d" % port))
        self.assertEqual(admin_get(ag, "/readyz")[0], 503, "upstream port closed")
        self.assertEqual(admin_get(ag, "/healthz")[0], 200, "liveness does not depend on the upstream")
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(lsock.close)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            lsock.bind(("127.0.0.1", port))
        except OSError as e:
            self.skipTest("port %d was taken meanwhile: %s" % (port, e))
        lsock.listen(16)
        self.assertEqual(self.wait_ready_status(ag, 200), 200, "upstream listening again (cache is 1 s)")
        lsock.close()
        self.assertEqual(self.wait_ready_status(ag, 503), 503, "upstream closed again")

    def test_readyz_with_live_upstream(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up))
        self.assertEqual(admin_get(ag, "/readyz")[0], 200)
        up.stop()
        self.assertEqual(self.wait_ready_status(ag, 503), 503)


if __name__ == "__main__":
    unittest.main()
