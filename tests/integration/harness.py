"""Shared helpers for airgate's integration tests (stdlib only).

- ``Pki``: a throw-away test CA and a server certificate for
  127.0.0.1 / localhost / ::1, made with the ``openssl`` CLI.
- ``to_yaml`` / ``write_config``: a YAML config from a dict or text.
- ``Airgate``: the real binary (``$AIRGATE_BIN``) as a subprocess: waits for
  its ``listening on`` lines, exposes the ports, keeps stdout/stderr in files,
  stops it by PID (SIGTERM, then SIGKILL).
- ``RawConn`` / ``read_response``: a raw (TLS or plain) socket client that
  reads complete HTTP/1.1 responses, for pipelining and smuggling tests.
- ``AirgateTestCase``: a unittest base class tying it together with cleanups.
"""

import hashlib
import itertools
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(os.path.dirname(HERE), "tools")
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import test_upstream  # noqa: E402  (tests/tools/test_upstream.py)
from test_upstream import Upstream, ws_frame, ws_accept, pattern, PATTERN_BLOCK  # noqa: E402,F401
from test_upstream import SET_COOKIES as SET_COOKIES_EXPECTED  # noqa: E402,F401

_TAGS = itertools.count(1)
START_TIMEOUT = 15.0
STOP_TIMEOUT = 15.0
MiB = 1024 * 1024
MIN_THROUGHPUT = 3e6  # bytes/s: a hang guard only (no performance assertion): bulk transfers slower than this fail instead of running for ages


# Set by `make test-asan` / `make test-tsan`: the binary is a sanitizer build.
# Memory-figure assertions are skipped then (shadow memory and quarantine make
# RSS meaningless); everything else still runs.
SANITIZER = bool(os.environ.get("AIRGATE_SANITIZER"))

# First line of a sanitizer report (ASan, LSan, UBSan, TSan) in a process's
# stderr. Checked for every airgate this harness ran (Airgate.stop, run_cli):
# a report fails the test even when the process otherwise behaved.
SANITIZER_REPORT_RE = re.compile(
    r"^.*(ERROR: (AddressSanitizer|LeakSanitizer|ThreadSanitizer)|WARNING: ThreadSanitizer|"
    r"runtime error: |SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer|ThreadSanitizer|LeakSanitizer)).*$",
    re.M)


def sanitizer_report(text):
    """The sanitizer report in `text` (from its first line on), or None."""
    m = SANITIZER_REPORT_RE.search(text)
    return text[m.start():][:20000] if m else None


def transfer_deadline(nbytes):
    return time.monotonic() + max(20.0, nbytes / MIN_THROUGHPUT)

# Variables of design §2 that would change what the binary does.
# NOTIFY_SOCKET too: an airgate under test must not report to the systemd
# that runs the test suite (test_sd_notify sets its own).
AIRGATE_ENV_VARS = ("BASIC_AUTH_USERNAME", "BASIC_AUTH_PASSWORD", "BASIC_AUTH_PASSWORD_FILE",
                    "BASIC_AUTH_PROXY_TIMEOUT", "PROXY_PASS_WEB", "AIRGATE_CONFIG", "NOTIFY_SOCKET")


def airgate_bin():
    path = os.environ.get("AIRGATE_BIN")
    if not path:
        here = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "airgate")
        path = here
    return path


def require_binary(testcase=None):
    path = airgate_bin()
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise unittest.SkipTest("airgate binary not found at %s (set AIRGATE_BIN)" % path) \
            if os.environ.get("AIRGATE_ALLOW_SKIP") else AssertionError(
                "airgate binary not found or not executable: %s (set AIRGATE_BIN)" % path)
    return path


# --------------------------------------------------------------------------
# PKI

def _die_with_parent():
    """preexec_fn: the child gets SIGKILL when the test process dies, so an
    interrupted or killed test run never leaves airgate or an upstream behind."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _preexec(nofile=None):
    """preexec_fn: _die_with_parent, plus RLIMIT_NOFILE = (soft, hard) when given."""
    def fn():
        _die_with_parent()
        if nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, nofile)
    return fn


def run(cmd, timeout=30, check=True, **kw):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s %s" % (cmd, p.returncode, p.stdout.decode(errors="replace"),
                                                       p.stderr.decode(errors="replace")))
    return p


class Pki:
    """A test CA and one server certificate (SAN 127.0.0.1, ::1, localhost)."""

    def __init__(self, directory):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_key = os.path.join(directory, "ca.key")
        self.ca_cert = os.path.join(directory, "ca.crt")
        self.key = os.path.join(directory, "server.key")
        self.cert = os.path.join(directory, "server.crt")
        self.other_key = os.path.join(directory, "other.key")  # matches no certificate
        self._make()

    def _genkey(self, path):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
        os.chmod(path, 0o600)

    def _make(self):
        self._genkey(self.ca_key)
        run(["openssl", "req", "-x509", "-new", "-key", self.ca_key, "-sha256", "-days", "3",
             "-subj", "/CN=airgate integration test CA", "-out", self.ca_cert,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        self._genkey(self.key)
        self._genkey(self.other_key)
        csr = os.path.join(self.dir, "server.csr")
        ext = os.path.join(self.dir, "server.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n")
        run(["openssl", "req", "-new", "-key", self.key, "-subj", "/CN=localhost", "-out", csr])
        run(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
             "-CAcreateserial", "-days", "3", "-sha256", "-extfile", ext, "-out", self.cert])

    def client_context(self, **kw):
        return client_context(self.ca_cert, **kw)


_PKI = None
_PKI_DIR = None


def shared_pki():
    """One PKI per Python process (made lazily, removed at exit)."""
    global _PKI, _PKI_DIR
    if _PKI is None:
        import atexit
        _PKI_DIR = tempfile.mkdtemp(prefix="airgate-pki-")
        atexit.register(shutil.rmtree, _PKI_DIR, True)
        _PKI = Pki(_PKI_DIR)
    return _PKI


def client_context(ca_file=None, alpn=("http/1.1",), min_version=None, max_version=None, verify=True):
    ctx = ssl.create_default_context(cafile=ca_file) if verify else ssl._create_unverified_context()
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if min_version:
        ctx.minimum_version = min_version
    if max_version:
        ctx.maximum_version = max_version
    return ctx


def pem_fingerprint(cert_path):
    """SHA-256 (hex) of the certificate in a PEM file."""
    with open(cert_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def presented_fingerprint(port, server_hostname=None, ca_file=None, check_hostname=False, timeout=10):
    """SHA-256 (hex) of the certificate a TLS server on 127.0.0.1:port presents
    (Python ssl, a new connection). server_hostname None = no SNI; without
    ca_file the chain is not verified."""
    if ca_file:
        ctx = ssl.create_default_context(cafile=ca_file)
        ctx.check_hostname = check_hostname
    else:
        ctx = ssl._create_unverified_context()
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=server_hostname)
    except Exception:
        raw.close()
        raise
    try:
        return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()
    finally:
        s.close()


# --------------------------------------------------------------------------
# YAML

def _yaml_scalar(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return json.dumps(str(v))  # a JSON string is a valid YAML double-quoted scalar


def to_yaml(obj, indent=0):
    """Block-style YAML for dicts/lists/scalars (strings always double-quoted)."""
    pad = " " * indent
    out = []
    if isinstance(obj, dict):
        if not obj:
            return pad + "{}\n"
        for k, v in obj.items():
            if isinstance(v, (dict, list)) and v:
                out.append("%s%s:\n%s" % (pad, k, to_yaml(v, indent + 2)))
            elif isinstance(v, dict):
                out.append("%s%s: {}\n" % (pad, k))
            elif isinstance(v, list):
                out.append("%s%s: []\n" % (pad, k))
            else:
                out.append("%s%s: %s\n" % (pad, k, _yaml_scalar(v)))
    elif isinstance(obj, list):
        for item in obj:
            if isinstance(item, (dict, list)) and item:
                sub = to_yaml(item, indent + 2)
                out.append("%s- %s" % (pad, sub[indent + 2:]))
            else:
                out.append("%s- %s\n" % (pad, _yaml_scalar(item) if not isinstance(item, (dict, list))
                                         else ("{}" if isinstance(item, dict) else "[]")))
    else:
        out.append(pad + _yaml_scalar(obj) + "\n")
    return "".join(out)


def write_config(directory, config, name="airgate.yaml"):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(config if isinstance(config, str) else to_yaml(config))
    return path


def tls_listener(pki, address="127.0.0.1:0", **tls_extra):
    tls = {"certificate": pki.cert, "private_key": pki.key}
    tls.update(tls_extra)
    return {"address": address, "tls": tls}


def base_config(pki, upstream_url, **sections):
    """One TLS listener on 127.0.0.1:0, admin on 127.0.0.1:0, the given upstream.
    Keyword arguments replace or (for dicts) update whole sections."""
    cfg = {
        "listen": [tls_listener(pki)],
        "upstream": {"url": upstream_url},
        "admin": {"address": "127.0.0.1:0"},
        "logging": {"level": "info"},
        "workers": 2,
        "shutdown_grace": "10s",
        "reload_watch": 0,
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = dict(cfg[key], **value)
        else:
            cfg[key] = value
    return cfg


# --------------------------------------------------------------------------
# The process

LISTEN_RE = re.compile(r"(?<!admin )listening on (https?)://(\[[^\]]+\]|[^\s:/]+):(\d+)")
ADMIN_RE = re.compile(r"admin listening on (https?)://(\[[^\]]+\]|[^\s:/]+):(\d+)")


class Listener:
    def __init__(self, scheme, host, port):
        self.scheme = scheme
        self.host = host.strip("[]")
        self.port = int(port)

    @property
    def tls(self):
        return self.scheme == "https"

    def __repr__(self):
        return "%s://%s:%d" % (self.scheme, self.host, self.port)


class Airgate:
    """The airgate binary as a subprocess."""

    def __init__(self, workdir, config=None, args=None, env=None, expect_listeners=None,
                 expect_admin=None, wait=True, nofile=None):
        self.workdir = workdir
        self.bin = require_binary()
        if config is not None:
            self.config_path = write_config(workdir, config)
            self.config = config
        else:
            self.config_path = None
            self.config = None
        if args is None:
            args = ["run", "-c", self.config_path]
        self.args = args
        self.stdout_path = os.path.join(workdir, "airgate-%d.stdout" % id(self))
        self.stderr_path = os.path.join(workdir, "airgate-%d.stderr" % id(self))
        full_env = {k: v for k, v in os.environ.items() if k not in AIRGATE_ENV_VARS}
        full_env.update(env or {})
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([self.bin] + list(args), stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err, env=full_env, cwd=workdir,
                                     preexec_fn=_preexec(nofile))
        self.pid = self.proc.pid
        self.listeners = []
        self.admin = None
        self.exit_code = None
        if isinstance(config, dict):
            if expect_listeners is None:
                expect_listeners = len(config.get("listen", [])) or 1
            if expect_admin is None:
                expect_admin = config.get("admin", {}) is not None
        self.expect_listeners = expect_listeners or 0
        self.expect_admin = bool(expect_admin)
        if wait:
            self.wait_ready()

    # logs
    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", errors="replace")

    def logs(self, tail=4000):
        return "---- airgate stderr (tail) ----\n%s\n---- airgate stdout (tail) ----\n%s" % (
            self.stderr()[-tail:], self.stdout()[-tail:])

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            err = self.stderr()
            listeners = [Listener(*m.groups()) for m in LISTEN_RE.finditer(err)]
            admin = ADMIN_RE.search(err)
            if len(listeners) >= self.expect_listeners and (admin or not self.expect_admin):
                self.listeners = listeners
                self.admin = Listener(*admin.groups()) if admin else None
                return self
            if self.proc.poll() is not None:
                self.exit_code = self.proc.returncode
                raise AssertionError("airgate exited with %d before listening\n%s" % (
                    self.proc.returncode, self.logs()))
            if time.monotonic() > deadline:
                raise AssertionError("airgate did not log %d 'listening on' line(s)%s within %.0f s\n%s" % (
                    self.expect_listeners, " and the admin line" if self.expect_admin else "",
                    timeout, self.logs()))
            time.sleep(0.05)

    @property
    def port(self):
        return self.listeners[0].port

    def wait_exit(self, timeout):
        try:
            self.exit_code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        return self.exit_code

    def signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after timeout. Returns the exit code (negative when killed)."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.exit_code = self.proc.returncode
        for f in (self._out, self._err):
            try:
                f.close()
            except OSError:
                pass
        if not getattr(self, "_sanitizer_checked", False):
            self._sanitizer_checked = True
            report = sanitizer_report(self.stderr())
            if report:
                raise AssertionError("airgate pid %d (exit %s) printed a sanitizer report:\n%s" % (
                    self.pid, self.exit_code, report))
        return self.exit_code

    def memory(self):
        """{'VmHWM': bytes, 'VmRSS': bytes} from /proc/PID/status."""
        out = {}
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS", "VmPeak", "VmSize", "Threads"):
                    parts = rest.split()
                    out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
        return out


def run_cli(args, env=None, timeout=30, cwd=None, stdin=None):
    full_env = {k: v for k, v in os.environ.items() if k not in AIRGATE_ENV_VARS}
    full_env.update(env or {})
    p = subprocess.run([require_binary()] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=full_env, timeout=timeout, cwd=cwd,
                       input=stdin if stdin is not None else b"")
    report = sanitizer_report(p.stderr.decode("utf-8", errors="replace"))
    if report:
        raise AssertionError("airgate %s (exit %d) printed a sanitizer report:\n%s" % (
            " ".join(map(str, args)), p.returncode, report))
    return p


def free_port(host="127.0.0.1"):
    """A port on which nothing listens (bound then closed)."""
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def ipv6_loopback_available():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


class UpstreamProcess:
    """tests/tools/test_upstream.py in its own process: for bulk streaming,
    where an in-process upstream would fight the test client for the GIL.
    Records are not available; use the endpoints' JSON answers."""

    def __init__(self, tls=None, name="upstream", host="127.0.0.1"):
        cmd = [sys.executable, os.path.join(TOOLS, "test_upstream.py"), "--host", host, "--name", name]
        if tls:
            cmd += ["--tls", tls[0], tls[1]]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        ready = select.select([self.proc.stdout], [], [], 10)[0]
        line = self.proc.stdout.readline().decode() if ready else ""
        m = re.search(r"listening on (\S+)", line)
        if not m:
            self.stop()
            raise AssertionError("test upstream process did not start: %r" % line)
        self.url = m.group(1)
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


# --------------------------------------------------------------------------
# Raw client

class Response:
    def __init__(self, status, reason, version, headers, body, complete, interim=()):
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers  # list of (name, value) in order
        self.body = body
        self.complete = complete  # framing satisfied (not cut short)
        self.interim = list(interim)  # 1xx responses seen before this one

    def header_values(self, name):
        name = name.lower()
        return [v for (n, v) in self.headers if n.lower() == name]

    def header(self, name, default=None):
        v = self.header_values(name)
        return v[0] if v else default

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "<Response %d %s body=%d%s>" % (self.status, self.reason, len(self.body),
                                               "" if self.complete else " INCOMPLETE")


class ConnectionClosed(Exception):
    """The peer closed before a complete response head arrived."""


class RawConn:
    """A client socket (TLS by default) with buffered HTTP/1.1 response reading."""

    def __init__(self, port, host="127.0.0.1", tls=True, ctx=None, timeout=10.0, server_hostname=None,
                 do_handshake=True):
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        raw = socket.create_connection((host, port), timeout=timeout) if fam == socket.AF_INET else \
            self._connect6(host, port, timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw = raw
        if tls:
            ctx = ctx or shared_pki().client_context()
            self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname or host,
                                        do_handshake_on_connect=do_handshake)
        else:
            self.sock = raw
        self.buf = bytearray()
        self.eof = False

    @staticmethod
    def _connect6(host, port, timeout):
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect((host, port))
        return s

    def settimeout(self, t):
        self.sock.settimeout(t)

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def _fill(self, n=262144):
        if self.eof:
            return False
        try:
            data = self.sock.recv(n)
        except (ConnectionResetError, BrokenPipeError, ssl.SSLZeroReturnError, ssl.SSLEOFError):
            data = b""
        except ssl.SSLError as e:
            if "UNEXPECTED_EOF" in str(e) or "EOF" in str(e):
                data = b""
            else:
                raise
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def read_exact_or_eof(self, n):
        while len(self.buf) < n and self._fill():
            pass
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def _line(self, limit=1024 * 1024):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit or not self._fill():
                return None

    def read_head(self):
        """(status, reason, version, headers) or raises ConnectionClosed."""
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                head = bytes(self.buf[:i])
                del self.buf[:i + 4]
                break
            if not self._fill():
                raise ConnectionClosed("connection closed before a response head (got %r)" % bytes(self.buf[:200]))
        lines = head.split(b"\r\n")
        parts = lines[0].decode("latin-1").split(" ", 2)
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for raw in lines[1:]:
            n, _, v = raw.decode("latin-1").partition(":")
            headers.append((n, v.strip()))
        return status, reason, version, headers

    def read_response(self, method="GET", sink=None, skip_interim=True):
        """Read one complete response. ``sink(bytes)``, when given, receives
        the body instead of it being kept. Returns a Response whose
        ``complete`` is False when the connection closed before the framing
        was satisfied."""
        interim = []
        while True:
            status, reason, version, headers = self.read_head()
            if 100 <= status < 200 and status != 101 and skip_interim:
                interim.append((status, reason, headers))
                continue
            break
        hmap = {}
        for n, v in headers:
            hmap.setdefault(n.lower(), []).append(v)
        body = bytearray()

        def take(data):
            if sink:
                sink(data)
            else:
                body.extend(data)

        complete = True
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            pass
        elif "transfer-encoding" in hmap and "chunked" in hmap["transfer-encoding"][-1].lower():
            complete = False
            while True:
                line = self._line()
                if line is None:
                    break
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    break
                if size == 0:
                    ok = True
                    while True:
                        t = self._line()
                        if t is None:
                            ok = False
                            break
                        if t == b"":
                            break
                    complete = ok
                    break
                left = size
                while left:
                    if not self.buf and not self._fill():
                        break
                    k = min(left, len(self.buf))
                    take(bytes(self.buf[:k]))
                    del self.buf[:k]
                    left -= k
                if left or self._line() != b"":
                    break
        elif "content-length" in hmap:
            left = int(hmap["content-length"][0])
            while left:
                if not self.buf and not self._fill():
                    complete = False
                    break
                k = min(left, len(self.buf))
                take(bytes(self.buf[:k]))
                del self.buf[:k]
                left -= k
        else:
            # close-delimited
            while True:
                if self.buf:
                    take(bytes(self.buf))
                    self.buf.clear()
                if not self._fill():
                    break
        return Response(status, reason, version, headers, bytes(body), complete, interim)

    def poll_incoming(self):
        """Non-blocking: pull any application data the peer already sent into
        buf. True if data arrived or the peer closed (TLS 1.3 session tickets
        alone do not count)."""
        r, _, _ = select.select([self.sock], [], [], 0)
        pending = self.sock.pending() if hasattr(self.sock, "pending") else 0
        if not r and not pending:
            return False
        old = self.sock.gettimeout()
        self.sock.settimeout(0)
        try:
            data = self.sock.recv(65536)
        except (ssl.SSLWantReadError, BlockingIOError):
            return False
        except (ConnectionResetError, ssl.SSLError, OSError):
            self.eof = True
            return True
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass
        if not data:
            self.eof = True
            return True
        self.buf += data
        return True

    def send_body(self, chunks):
        """Send body pieces, stopping early when the peer answers or closes.
        Returns True when everything was sent."""
        for piece in chunks:
            if self.poll_incoming():
                return False
            try:
                self.sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError, socket.timeout, TimeoutError, ssl.SSLError, OSError):
                return False
        return True

    def closed_by_peer(self, timeout=3.0):
        """True if the peer closes (EOF/reset) within timeout with no further data
        other than what is already buffered. Data that arrives is kept in buf."""
        deadline = time.monotonic() + timeout
        old = self.sock.gettimeout()
        try:
            while time.monotonic() < deadline:
                if self.eof:
                    return True
                self.sock.settimeout(max(0.05, deadline - time.monotonic()))
                try:
                    if not self._fill():
                        return True
                except (socket.timeout, TimeoutError):
                    return False
                except OSError:
                    return True
            return self.eof
        finally:
            try:
                self.sock.settimeout(old)
            except OSError:
                pass


def request_bytes(method, target, headers=(), body=b"", host="localhost"):
    lines = ["%s %s HTTP/1.1" % (method, target)]
    names = {n.lower() for n, _ in headers}
    if "host" not in names:
        lines.append("Host: " + host)
    for n, v in headers:
        lines.append("%s: %s" % (n, v))
    if body and "content-length" not in names and "transfer-encoding" not in names:
        lines.append("Content-Length: %d" % len(body))
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(data, size=4096):
    out = bytearray()
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"%x\r\n" % len(part) + part + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


def pattern_bytes(n):
    """n bytes of the /big pattern (byte i = i % 256)."""
    reps = n // len(PATTERN_BLOCK) + 1
    return (PATTERN_BLOCK * reps)[:n]


def pattern_sha256(n):
    h = hashlib.sha256()
    full, rest = divmod(n, len(PATTERN_BLOCK))
    for _ in range(full):
        h.update(PATTERN_BLOCK)
    h.update(PATTERN_BLOCK[:rest])
    return h.hexdigest()


class PatternChecker:
    """A sink that checks a streamed body is the /big pattern, without keeping it."""

    def __init__(self, deadline=None):
        self.offset = 0
        self.bad_at = None
        self.deadline = deadline  # time.monotonic() value; exceeded -> AssertionError
        self.started = time.monotonic()
        self._ref = PATTERN_BLOCK * 2 + PATTERN_BLOCK[:512]

    def __call__(self, data):
        if self.deadline is not None and time.monotonic() > self.deadline:
            el = time.monotonic() - self.started
            raise AssertionError("transfer too slow: %d bytes in %.0f s (%.1f MB/s)" % (
                self.offset, el, self.offset / el / 1e6))
        mv = memoryview(data)
        pos = 0
        while pos < len(mv):
            k = min(len(PATTERN_BLOCK), len(mv) - pos)
            start = self.offset % 256
            if self.bad_at is None and mv[pos:pos + k] != self._ref[start:start + k]:
                self.bad_at = self.offset
            pos += k
            self.offset += k


# --------------------------------------------------------------------------
# Test base class

class AirgateTestCase(unittest.TestCase):
    """Per test: a temp dir, the shared PKI, helpers that register cleanups."""

    maxDiff = 4000

    def setUp(self):
        self.pki = shared_pki()
        self.tmp = tempfile.mkdtemp(prefix="airgate-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self._procs = []
        self.addCleanup(self._dump_logs_on_failure)

    def _dump_logs_on_failure(self):
        outcome = getattr(self, "_outcome", None)
        failed = False
        if outcome is not None:
            result = getattr(outcome, "result", None)
            if result is not None and getattr(self, "_result_counts", None) is not None:
                failed = (len(result.failures) + len(result.errors)) > self._result_counts
            if not getattr(outcome, "success", True):
                failed = True
        if failed or os.environ.get("AIRGATE_TEST_LOGS"):
            for p in self._procs:
                sys.stderr.write("\n[%s] airgate pid %d exit %s\n%s\n" % (
                    self.id(), p.pid, p.exit_code, p.logs()))

    def run(self, result=None):
        if result is not None:
            self._result_counts = len(result.failures) + len(result.errors)
        return super().run(result)

    # upstreams
    def start_upstream(self, name="upstream", tls=False, host="127.0.0.1"):
        up = Upstream(host=host, tls=(self.pki.cert, self.pki.key) if tls else None, name=name).start()
        self.addCleanup(up.stop)
        return up

    # airgate
    def start_upstream_process(self, name="upstream", tls=False):
        up = UpstreamProcess(tls=(self.pki.cert, self.pki.key) if tls else None, name=name)
        self.addCleanup(up.stop)
        return up

    def start_airgate(self, config, wait=True, **kw):
        """Start airgate (cleanup registered before waiting, so it is always stopped)."""
        workdir = tempfile.mkdtemp(dir=self.tmp, prefix="ag-")
        ag = Airgate(workdir, config, wait=False, **kw)
        self._procs.append(ag)
        self.addCleanup(ag.stop)
        if wait:
            ag.wait_ready()
        return ag

    def config(self, upstream, /, **sections):
        url = upstream if isinstance(upstream, str) else upstream.url
        return base_config(self.pki, url, **sections)

    def ctx(self, **kw):
        return self.pki.client_context(**kw)

    # clients
    def https(self, ag, listener=0, timeout=15):
        lst = ag.listeners[listener]
        if lst.tls:
            return http.client.HTTPSConnection(lst.host, lst.port, timeout=timeout, context=self.ctx())
        return http.client.HTTPConnection(lst.host, lst.port, timeout=timeout)

    def request(self, ag, method, target, body=None, headers=None, listener=0, timeout=15):
        """One request on a fresh connection; returns (status, headers list, body bytes)."""
        conn = self.https(ag, listener, timeout)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, resp.getheaders(), data
        finally:
            conn.close()

    def raw(self, ag, listener=0, tls=None, timeout=10.0):
        lst = ag.listeners[listener]
        c = RawConn(lst.port, host=lst.host, tls=lst.tls if tls is None else tls, ctx=self.ctx(), timeout=timeout)
        self.addCleanup(c.close)
        return c

    def echo(self, ag, up, headers=(), method="GET", path="/echo", body=b"", listener=0, raw_request=None):
        """Send one request (raw, exact headers) on a fresh connection; return
        (Response, upstream Record or None). The target gets a unique tag."""
        tag = "%d-%d" % (os.getpid(), next(_TAGS))
        target = path + ("&" if "?" in path else "?") + "tag=" + tag
        c = self.raw(ag, listener)
        c.send(raw_request(target) if raw_request else request_bytes(method, target, headers, body))
        resp = c.read_response(method)
        up.wait_for(lambda u: [r for r in u.requests() if r.target == target and
                               (r.body_complete or r.body_error)], timeout=2)
        recs = [r for r in up.requests() if r.target == target]
        return resp, (recs[-1] if recs else None)

    def assertErrorResponse(self, resp, status, json_expected, must_mention=(), ag=None):
        """Checks the error format of design §3: JSON {status,error,message} or HTML."""
        logs = ag.logs() if ag else ""
        self.assertEqual(resp.status, status, "body=%r\n%s" % (resp.body[:500], logs))
        ctype = (resp.header("Content-Type") or "").lower()
        if json_expected:
            self.assertIn("application/json", ctype, "error response Content-Type")
            try:
                obj = resp.json()
            except ValueError:
                self.fail("error body is not JSON: %r" % resp.body[:500])
            self.assertEqual(obj.get("status"), status, obj)
            self.assertRegex(obj.get("error", ""), r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$", obj)
            self.assertIsInstance(obj.get("message"), str, obj)
            self.assertTrue(obj["message"].strip(), obj)
            text = obj["message"]
        else:
            self.assertIn("text/html", ctype, "error response Content-Type")
            text = resp.body.decode("utf-8", errors="replace")
        for words in must_mention:
            # The HTML page shows the message as a sentence (first letter capitalised).
            found = words in text if json_expected else words.lower() in text.lower()
            self.assertTrue(found, "error text does not mention %r: %r" % (words, text[:500]))
        return text
