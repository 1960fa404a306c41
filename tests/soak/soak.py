#!/usr/bin/env python3
"""A bounded soak test for airgate (stdlib only; not part of CI).

Runs the real binary ($AIRGATE_BIN, default build/airgate) against the test
upstream (tests/tools/test_upstream.py, in its own process) on loopback and,
for SOAK_SECONDS (default 600), concurrently:

- keep-alive clients (TLS connections reused): GET a basic-auth path with
  valid credentials (echo: the answer must name the exact target sent), a
  public path, and small /big bodies (pattern-checked);
- new-connection clients (one TLS handshake per request);
- uploads of 1-20 MiB (Content-Length and chunked), the upstream counts and
  hashes the bytes: size and sha256 are checked;
- slow clients: a request head trickled byte by byte, a body trickled in
  small pieces, a 2 MiB response read slowly;
- wrong-password requests (401 expected) from their own client addresses
  (trusted_proxies + X-Forwarded-For), so the throttle never sees the
  legitimate clients' addresses; a 429 anywhere is a failure;
- SIGHUP every second (the config is rewritten between two variants, so every
  reload swaps a real new snapshot);
- the upstream killed (SIGKILL) and restarted on the same port periodically.

Every request is classified. A request whose [start, end] overlaps an
upstream-down window (plus a margin) may end in 502/503/504 or a closed /
reset connection: counted as expected. Anything else that is not the exact
expected answer is an unexpected failure. airgate's fd count and VmRSS are
sampled every second; idle fd counts before and after the load are compared.

Exit status: 0 when there is no unexpected failure, no fd growth, no crash
(and no RSS growth above --max-rss-growth-mib when that is set); 1 otherwise.
"""

import argparse
import collections
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
import base64

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402
from harness import (Airgate, Pki, RawConn, ConnectionClosed, PatternChecker, PATTERN_BLOCK,  # noqa: E402
                     write_config, base_config, _die_with_parent, MiB)

USER = "soak"
PASSWORD = "soak-pass-%d" % os.getpid()
PUBLIC_PATH = "/public/ping"
NET_ERRORS = (ConnectionClosed, ConnectionError, ssl.SSLError, socket.timeout, TimeoutError, OSError)


def log(msg):
    sys.stderr.write("[soak %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def basic(user, pw):
    return "Basic " + base64.b64encode(("%s:%s" % (user, pw)).encode()).decode()


GOOD_AUTH = basic(USER, PASSWORD)


# --------------------------------------------------------------------------
# The upstream, restartable on the same port

class SoakUpstream:
    def __init__(self, workdir):
        self.workdir = workdir
        self.port = 0
        self.proc = None
        self.starts = 0

    def start(self, tries=50):
        cmd = [sys.executable, os.path.join(harness.TOOLS, "test_upstream.py"), "--host", "127.0.0.1",
               "--port", str(self.port), "--name", "up-%d" % (self.starts + 1)]
        last = ""
        for _ in range(tries):
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                    preexec_fn=_die_with_parent)
            line = proc.stdout.readline().decode()
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if m:
                self.proc = proc
                self.port = int(m.group(1))
                self.starts += 1
                return
            proc.wait(5)
            last = proc.stderr.read().decode(errors="replace")[-500:]
            proc.stdout.close()
            proc.stderr.close()
            time.sleep(0.1)  # e.g. the port is still bound
        raise RuntimeError("test upstream did not start on port %d: %s" % (self.port, last))

    def kill(self):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        if self.proc:
            self.proc.stdout.close()
            self.proc.stderr.close()
        self.proc = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port


# --------------------------------------------------------------------------
# Bookkeeping

class Stats:
    def __init__(self, t0, margin_before, margin_after):
        self.t0 = t0
        self.lock = threading.Lock()
        self.ok = collections.Counter()
        self.expected = collections.Counter()        # kind -> count (upstream-down window)
        self.expected_why = collections.Counter()    # reason -> count
        self.expected_in_margin = 0                  # expected only thanks to the margins
        self.failures = collections.Counter()
        self.failure_samples = []
        self.down = []        # [start, end or None] (monotonic)
        self.margin_before = margin_before
        self.margin_after = margin_after
        self.reloads = 0
        self.upstream_restarts = 0
        self.bytes_up = 0
        self.bytes_down = 0

    def in_down_window(self, t0, t1, margins=True):
        with self.lock:
            windows = [(a, b) for a, b in self.down]
        before, after = (self.margin_before, self.margin_after) if margins else (0.0, 0.0)
        for a, b in windows:
            lo = a - before
            hi = (b if b is not None else float("inf")) + after
            if t0 <= hi and t1 >= lo:
                return True
        return False

    def success(self, kind, nup=0, ndown=0):
        with self.lock:
            self.ok[kind] += 1
            self.bytes_up += nup
            self.bytes_down += ndown

    def bad(self, kind, t0, t1, why, expectable):
        """expectable: a 502/503/504 or a closed/reset connection; expected
        only inside an upstream-down window. Anything else always fails."""
        if expectable and self.in_down_window(t0, t1):
            strict = self.in_down_window(t0, t1, margins=False)
            with self.lock:
                self.expected[kind] += 1
                self.expected_why[why.split(" [")[0].split(":")[0]] += 1
                if not strict:
                    self.expected_in_margin += 1
            return
        with self.lock:
            self.failures[kind] += 1
            if len(self.failure_samples) < 200:
                self.failure_samples.append({
                    "kind": kind, "why": why, "start_s": round(t0 - self.t0, 3), "end_s": round(t1 - self.t0, 3),
                    "wall_start": time.strftime("%H:%M:%S", time.localtime(time.time() - (time.monotonic() - t0))),
                    "down_windows_s": [[round(a - self.t0, 2), None if b is None else round(b - self.t0, 2)]
                                       for a, b in self.down]})
        log("FAILURE %s: %s (t=%.2f..%.2f)" % (kind, why, t0 - self.t0, t1 - self.t0))


# --------------------------------------------------------------------------
# Clients

class Ctx:
    def __init__(self, args, pki, ag, stats, stop):
        self.args = args
        self.ssl = pki.client_context()
        self.ag = ag
        self.port = ag.port
        self.stats = stats
        self.stop = stop
        self.seq = iter(range(1, 1 << 62))
        self.seq_lock = threading.Lock()

    def next_id(self):
        with self.seq_lock:
            return next(self.seq)

    def conn(self, timeout=None):
        return RawConn(self.port, host="127.0.0.1", tls=True, ctx=self.ssl,
                       timeout=timeout or self.args.request_timeout)


def head_bytes(method, target, xff, auth=True, extra=()):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: localhost", "X-Forwarded-For: " + xff]
    if auth:
        lines.append("Authorization: " + (auth if isinstance(auth, str) else GOOD_AUTH))
    lines.extend("%s: %s" % hv for hv in extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def expectable_status(status):
    return status in (502, 503, 504)


def check_echo(resp, target, expect_status=200):
    """None when resp is the echo of exactly this GET, else the reason."""
    if resp.status != expect_status:
        return "status %d (expected %d): %r" % (resp.status, expect_status, resp.body[:200])
    if not resp.complete:
        return "truncated body (%d bytes)" % len(resp.body)
    try:
        obj = resp.json()
    except ValueError:
        return "echo body is not JSON: %r" % resp.body[:200]
    if obj.get("target") != target or obj.get("method") != "GET":
        return "echo of another request: sent %s, got %s %s" % (target, obj.get("method"), obj.get("target"))
    if any(n.lower() == "authorization" for n, _ in obj.get("headers", [])):
        return "Authorization forwarded upstream"
    return None


def check_big(resp, n):
    if resp.status != 200:
        return "status %d: %r" % (resp.status, resp.body[:200])
    if not resp.complete or len(resp.body) != n:
        return "truncated body: %d of %d bytes%s" % (len(resp.body), n, "" if resp.complete else " (framing cut)")
    if resp.body != (PATTERN_BLOCK * (n // len(PATTERN_BLOCK) + 1))[:n]:
        return "body differs from the /big pattern"
    return None


def echo_outcome(resp, target):
    """run_one's outcome for a GET of `target` answered by the echo endpoint;
    a 502/503/504 is expectable, so is an error with a truncated response."""
    if expectable_status(resp.status):
        return "status %d" % resp.status, True, 0, 0
    err = check_echo(resp, target)
    return err, err is not None and not resp.complete, 0, len(resp.body)


def run_one(ctx, kind, fn, note=None):
    """Run one request function fn() -> (error or None, expectable, nup, ndown); classify."""
    t0 = time.monotonic()
    try:
        err, expectable, nup, ndown = fn()
    except NET_ERRORS as e:
        err, expectable, nup, ndown = "%s: %s" % (type(e).__name__, e), True, 0, 0
        if isinstance(e, (socket.timeout, TimeoutError)):
            expectable = False
    t1 = time.monotonic()
    if err is None:
        ctx.stats.success(kind, nup, ndown)
        return True
    ctx.stats.bad(kind, t0, t1, err + (" [%s]" % note if note else ""), expectable)
    return False


def bounded_loop(ctx, name, body, pause, max_iter):
    """Run body() until stop or max_iter; pause seconds between iterations."""
    n = 0
    while not ctx.stop.is_set() and n < max_iter:
        n += 1
        try:
            body()
        except Exception as e:  # a bug in the soak itself must not stop the other loops silently
            ctx.stats.bad(name, time.monotonic(), time.monotonic(), "client exception %s: %s" % (type(e).__name__, e),
                          False)
        if pause:
            ctx.stop.wait(pause * random.uniform(0.5, 1.5))


def keepalive_client(ctx, idx, max_iter):
    xff = "10.1.0.%d" % (idx + 1)
    state = {"conn": None, "used": 0}
    rnd = random.Random(idx)

    def body():
        c = state["conn"]
        if c is None:
            try:
                c = ctx.conn()
            except NET_ERRORS as e:
                now = time.monotonic()
                ctx.stats.bad("keepalive", now, now, "connect: %s" % e, False)
                return
            state["conn"], state["used"] = c, 0
        pick = rnd.random()
        rid = ctx.next_id()
        if pick < 0.5:
            kind, target, auth = "keepalive_auth", "/api/v1/soak?ka=%d" % rid, True
        elif pick < 0.8:
            kind, target, auth = "keepalive_public", PUBLIC_PATH + "?ka=%d" % rid, False
        else:
            n = rnd.choice([1000, 65536, 200000, 700000])
            mode = rnd.choice(["length", "chunked"])
            kind, target, auth = "keepalive_big", "/big?bytes=%d&mode=%s&ka=%d" % (n, mode, rid), True
        usable = {"v": False}  # the connection may carry the next request (also after a 502)

        def req():
            c.send(head_bytes("GET", target, xff, auth))
            resp = c.read_response("GET")
            usable["v"] = resp.complete and not c.eof and \
                "close" not in (resp.header("Connection") or "").lower()
            if expectable_status(resp.status):
                return "status %d" % resp.status, True, 0, 0
            if kind == "keepalive_big":
                err = check_big(resp, n)
            else:
                err = check_echo(resp, target)
            if err is not None:
                usable["v"] = False
            return err, err is not None and not resp.complete, 0, len(resp.body)

        run_one(ctx, kind, req, note="request %d on this connection" % (state["used"] + 1))
        if not usable["v"]:
            c.close()
            state["conn"] = None
        else:
            state["used"] += 1

    try:
        bounded_loop(ctx, "keepalive", body, ctx.args.keepalive_pause, max_iter)
    finally:
        if state["conn"]:
            state["conn"].close()


def newconn_client(ctx, idx, max_iter):
    xff = "10.2.0.%d" % (idx + 1)
    rnd = random.Random(100 + idx)

    def body():
        rid = ctx.next_id()
        public = rnd.random() < 0.3
        kind = "newconn_public" if public else "newconn_auth"
        target = (PUBLIC_PATH if public else "/api/v1/soak") + "?nc=%d" % rid

        def req():
            c = ctx.conn()
            try:
                c.send(head_bytes("GET", target, xff, not public))
                resp = c.read_response("GET")
            finally:
                c.close()
            return echo_outcome(resp, target)

        run_one(ctx, kind, req)

    bounded_loop(ctx, "newconn", body, ctx.args.newconn_pause, max_iter)


_BODY_CACHE = {}


def upload_body(n):
    """n bytes of a fixed pseudo-random-looking buffer (cached up to 20 MiB)."""
    buf = _BODY_CACHE.get("buf")
    if buf is None or len(buf) < n:
        seed = hashlib.sha256(b"soak").digest()
        blocks = []
        size = 0
        while size < max(n, 20 * MiB):
            seed = hashlib.sha256(seed).digest()
            blocks.append(seed * 2048)  # 64 KiB
            size += 65536
        buf = b"".join(blocks)
        _BODY_CACHE["buf"] = buf
    return memoryview(buf)[:n]


def do_upload(ctx, kind, n, chunked_te, xff, piece=256 * 1024, delay=0.0, timeout=None):
    data = upload_body(n)
    digest = hashlib.sha256(data).hexdigest()
    rid = ctx.next_id()
    target = "/upload?up=%d" % rid
    extra = [("Transfer-Encoding", "chunked")] if chunked_te else [("Content-Length", str(n))]
    extra.append(("Content-Type", "application/octet-stream"))

    def pieces():
        for off in range(0, n, piece):
            part = data[off:off + piece]
            if chunked_te:
                yield b"%x\r\n" % len(part) + bytes(part) + b"\r\n"
            else:
                yield part
            if delay:
                time.sleep(delay)
        if chunked_te:
            yield b"0\r\n\r\n"

    def req():
        c = ctx.conn(timeout)
        try:
            c.send(head_bytes("POST", target, xff, True, extra))
            sent_all = c.send_body(pieces())
            resp = c.read_response("POST")
        finally:
            c.close()
        if expectable_status(resp.status):
            return "status %d" % resp.status, True, 0, 0
        if resp.status != 200:
            return "status %d: %r" % (resp.status, resp.body[:200]), False, 0, 0
        if not sent_all:
            return "airgate answered 200 before the whole body was sent", False, 0, 0
        if not resp.complete:
            return "truncated response", True, 0, 0
        try:
            obj = resp.json()
        except ValueError:
            return "upload answer is not JSON: %r" % resp.body[:200], False, 0, 0
        if obj.get("bytes") != n:
            return "size mismatch: sent %d, upstream counted %s (%s)" % (
                n, obj.get("bytes"), "chunked" if chunked_te else "length"), False, 0, 0
        if obj.get("sha256") != digest:
            return "sha256 mismatch for %d bytes" % n, False, 0, 0
        return None, False, n, 0

    run_one(ctx, kind, req)


def upload_client(ctx, idx, max_iter):
    rnd = random.Random(200 + idx)
    xff = "10.3.0.%d" % (idx + 1)

    def body():
        n = rnd.randint(1 * MiB, 20 * MiB)
        te = rnd.random() < 0.5
        do_upload(ctx, "upload_chunked" if te else "upload_length", n, te, xff)

    bounded_loop(ctx, "upload", body, ctx.args.upload_pause, max_iter)


class SlowReadConn(RawConn):
    def _fill(self, n=262144):
        ok = super()._fill(8192)
        time.sleep(0.004)
        return ok


def slow_client(ctx, idx, max_iter):
    rnd = random.Random(300 + idx)
    xff = "10.4.0.%d" % (idx + 1)
    modes = ["slow_head", "slow_body", "slow_read"]
    state = {"i": idx}

    def body():
        mode = modes[state["i"] % len(modes)]
        state["i"] += 1
        if mode == "slow_head":
            rid = ctx.next_id()
            target = "/api/v1/soak?slowhead=%d" % rid
            data = head_bytes("GET", target, xff, True)

            def req():
                c = ctx.conn()
                try:
                    step = max(1, len(data) // 25)
                    for off in range(0, len(data), step):  # ~25 pieces over ~2.5 s
                        c.send(data[off:off + step])
                        time.sleep(0.1)
                    resp = c.read_response("GET")
                finally:
                    c.close()
                return echo_outcome(resp, target)

            run_one(ctx, "slow_head", req)
        elif mode == "slow_body":
            te = rnd.random() < 0.5
            # 48 KiB in 4 KiB pieces (a Content-Length body this small is buffered before the upstream
            # connection is taken), or 192 KiB in 8 KiB pieces (streamed); 0.15 s apart: ~1.8 s / ~3.6 s
            small = rnd.random() < 0.5
            do_upload(ctx, "slow_body_chunked" if te else "slow_body_length", 48 * 1024 if small else 192 * 1024,
                      te, xff, piece=4096 if small else 8192, delay=0.15)
        else:
            rid = ctx.next_id()
            n = 2 * MiB
            target = "/big?bytes=%d&mode=%s&slowread=%d" % (n, rnd.choice(["length", "chunked"]), rid)

            def req():
                c = SlowReadConn(ctx.port, host="127.0.0.1", tls=True, ctx=ctx.ssl, timeout=ctx.args.request_timeout)
                try:
                    c.send(head_bytes("GET", target, xff, True))
                    checker = PatternChecker()
                    resp = c.read_response("GET", sink=checker)
                finally:
                    c.close()
                if expectable_status(resp.status):
                    return "status %d" % resp.status, True, 0, 0
                if resp.status != 200:
                    return "status %d" % resp.status, False, 0, 0
                if not resp.complete or checker.offset != n:
                    return "truncated slow read: %d of %d" % (checker.offset, n), True, 0, 0
                if checker.bad_at is not None:
                    return "slow read: pattern differs at %d" % checker.bad_at, False, 0, 0
                return None, False, 0, n

            run_one(ctx, "slow_read", req)

    bounded_loop(ctx, "slow", body, ctx.args.slow_pause, max_iter)


def wrong_password_client(ctx, max_iter):
    state = {"i": 0}

    def body():
        state["i"] += 1
        i = state["i"]
        xff = "10.99.%d.%d" % ((i // 250) % 250, i % 250 + 1)  # a new client address each time
        rid = ctx.next_id()
        target = "/api/v1/soak?wrong=%d" % rid

        def req():
            c = ctx.conn()
            try:
                c.send(head_bytes("GET", target, xff, basic(USER, "wrong-" + PASSWORD)))
                resp = c.read_response("GET")
            finally:
                c.close()
            if resp.status != 401:
                return "wrong password answered %d (expected 401): %r" % (resp.status, resp.body[:200]), False, 0, 0
            if not resp.header("WWW-Authenticate", "").startswith("Basic "):
                return "401 without a Basic challenge", False, 0, 0
            return None, False, 0, 0

        run_one(ctx, "wrong_password_401", req)

    bounded_loop(ctx, "wrong_password", body, ctx.args.wrong_pause, max_iter)


# --------------------------------------------------------------------------
# Process sampling

def fd_breakdown(pid, ports):
    """{'total': n, 'client': n, 'upstream': n, 'listen': n, 'other_sock': n, 'non_sock': n,
    'tcp_states': {...}} from /proc/PID/fd and /proc/net/tcp{,6}."""
    inodes = {}
    out = collections.Counter()
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in names:
        try:
            link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        out["total"] += 1
        m = re.match(r"socket:\[(\d+)\]", link)
        if m:
            inodes[m.group(1)] = fd
        else:
            out["non_sock"] += 1
    states = collections.Counter()
    seen = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    inode = parts[9]
                    if inode not in inodes or inode in seen:
                        continue
                    seen.add(inode)
                    lport = int(parts[1].rsplit(":", 1)[1], 16)
                    rport = int(parts[2].rsplit(":", 1)[1], 16)
                    st = parts[3]
                    name = TCP_STATES.get(st, st)
                    if st == "0A":
                        out["listen"] += 1
                    elif lport in ports["client"]:
                        out["client"] += 1
                        states["client_" + name] += 1
                    elif rport == ports["upstream"]:
                        out["upstream"] += 1
                        states["upstream_" + name] += 1
                    else:
                        out["other_tcp"] += 1
                        states["other_" + name] += 1
        except OSError:
            pass
    out["other_sock"] = len(inodes) - len(seen)
    res = dict(out)
    res["tcp_states"] = dict(states)
    return res


TCP_STATES = {"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
              "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
              "0B": "CLOSING"}


def proc_sample(pid):
    try:
        fds = len(os.listdir("/proc/%d/fd" % pid))
        rss = None
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
        return fds, rss
    except OSError:
        return None, None


class Sampler(threading.Thread):
    def __init__(self, ag, stop, t0, max_samples):
        super().__init__(name="sampler", daemon=True)
        self.ag = ag
        self.stop_ev = stop
        self.t0 = t0
        self.samples = []  # (t, fds, rss)
        self.max_samples = max_samples
        self.dead = False

    def run(self):
        while not self.stop_ev.is_set() and len(self.samples) < self.max_samples:
            if self.ag.proc.poll() is not None:
                self.dead = True
                return
            fds, rss = proc_sample(self.ag.pid)
            if fds is not None:
                self.samples.append((round(time.monotonic() - self.t0, 2), fds, rss))
            self.stop_ev.wait(1.0)


def scrape_metrics(ag):
    try:
        with urllib.request.urlopen("http://%s:%d/metrics" % (ag.admin.host, ag.admin.port), timeout=5) as r:
            text = r.read().decode()
    except Exception as e:
        return {"error": str(e)}
    out = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.match(r"(airgate_(?:requests_total|reloads_total|upstream_errors_total|auth_failures_total|"
                     r"active_connections|tls_handshake_failures_total)(?:\{[^}]*\})?)\s+(\S+)", line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def avg(xs):
    return sum(xs) / len(xs) if xs else 0.0


# --------------------------------------------------------------------------
# Main

def make_config(pki, upstream_url, users, variant, args):
    cfg = base_config(
        pki, upstream_url,
        upstream={"url": upstream_url, "connect_timeout": "2s", "read_timeout": "60s", "send_timeout": "60s"},
        auth={"realm": "soak %s" % variant, "basic": {"users": users}, "public_paths": [PUBLIC_PATH],
              "throttle": {"max_failures": 5, "window": "60s", "block": "300s"}},
        trusted_proxies=["127.0.0.1"],
        limits={"max_body_size": "64M", "client_header_timeout": "30s", "client_body_timeout": "30s"},
        logging={"level": "info", "access_log": "stdout"},
        workers=args.workers,
        shutdown_grace="5s",
    )
    cfg["headers"] = {"hsts": "max-age=%d" % (60 if variant == "A" else 120)}
    return cfg


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description="bounded soak test for airgate")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--out", default=os.environ.get("SOAK_OUT", os.path.join(ROOT, "build", "soak")))
    ap.add_argument("--workers", type=int, default=2, help="airgate worker threads")
    ap.add_argument("--keepalive-clients", type=int, default=4)
    ap.add_argument("--newconn-clients", type=int, default=2)
    ap.add_argument("--upload-clients", type=int, default=1)
    ap.add_argument("--slow-clients", type=int, default=2)
    ap.add_argument("--keepalive-pause", type=float, default=0.02)
    ap.add_argument("--newconn-pause", type=float, default=0.03)
    ap.add_argument("--upload-pause", type=float, default=0.5)
    ap.add_argument("--slow-pause", type=float, default=0.2)
    ap.add_argument("--wrong-pause", type=float, default=2.0)
    ap.add_argument("--reload-every", type=float, default=1.0)
    ap.add_argument("--upstream-period", type=float, default=30.0, help="seconds between upstream kills")
    ap.add_argument("--upstream-down", type=float, default=2.0, help="seconds the upstream stays down")
    ap.add_argument("--margin-before", type=float, default=0.5, help="window margin before a kill (s)")
    ap.add_argument("--margin-after", type=float, default=1.5, help="window margin after a restart (s)")
    ap.add_argument("--selftest-unrecorded-kill", action="store_true",
                    help="check the checker: kill the upstream without recording the window (must FAIL)")
    ap.add_argument("--request-timeout", type=float, default=60.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--fd-margin", type=int, default=8,
                    help="allowed growth of idle fds not counting pooled upstream connections")
    ap.add_argument("--max-rss-growth-mib", type=float, default=0.0,
                    help="fail when idle RSS at the end exceeds the start by more than this (0: report only)")
    ap.add_argument("--rss-flag-mib", type=float, default=32.0,
                    help="flag (without failing) RSS growth above this")
    args = ap.parse_args()

    def interrupted(signum, frame):
        raise KeyboardInterrupt("signal %d" % signum)
    signal.signal(signal.SIGINT, interrupted)   # also when started in the background with SIGINT ignored
    signal.signal(signal.SIGTERM, interrupted)
    os.environ["AIRGATE_BIN"] = os.path.abspath(harness.airgate_bin())  # airgate runs in its own directory

    out_dir = os.path.abspath(args.out)
    run_dir = os.path.join(out_dir, "run")
    shutil.rmtree(run_dir, ignore_errors=True)
    os.makedirs(run_dir)
    pki = Pki(os.path.join(run_dir, "pki"))
    h = subprocess.run(["openssl", "passwd", "-5", PASSWORD], stdout=subprocess.PIPE, check=True)
    users = [{"user": USER, "hash": h.stdout.decode().strip()}]

    up = SoakUpstream(run_dir)
    ag = None
    stop = threading.Event()
    threads = []
    sampler = None
    result = {"ok": False}
    exit_code = 1
    try:
        up.start()
        variants = {v: harness.to_yaml(make_config(pki, up.url, users, v, args)) for v in ("A", "B")}
        cfg_path = os.path.join(run_dir, "airgate.yaml")
        write_atomic(cfg_path, variants["A"])
        ag = Airgate(run_dir, config=None, args=["run", "-c", cfg_path], expect_listeners=1, expect_admin=True)
        log("airgate pid %d on 127.0.0.1:%d, upstream pid %d on %d; %s s of load" % (
            ag.pid, ag.port, up.proc.pid, up.port, args.seconds))
        ports = {"client": {ag.port, ag.admin.port}, "upstream": up.port}
        t_start = time.monotonic()
        stats = Stats(t_start, args.margin_before, args.margin_after)
        ctx = Ctx(args, pki, ag, stats, stop)

        # warm-up: one of everything, then idle
        warm_stop = threading.Event()
        wctx = Ctx(args, pki, ag, stats, warm_stop)
        wthreads = [threading.Thread(target=keepalive_client, args=(wctx, 0, 50), daemon=True),
                    threading.Thread(target=newconn_client, args=(wctx, 0, 20), daemon=True),
                    threading.Thread(target=upload_client, args=(wctx, 0, 2), daemon=True)]
        for t in wthreads:
            t.start()
        warm_stop.wait(args.warmup)
        warm_stop.set()
        for t in wthreads:
            t.join(60)
        time.sleep(2.0)
        start_fd = fd_breakdown(ag.pid, ports)
        start_fds, start_rss = proc_sample(ag.pid)
        log("after warm-up (idle): fds %d %s, RSS %.1f MiB" % (start_fds, start_fd, start_rss / MiB))

        # the load
        t_load = time.monotonic()
        stats.t0 = t_load
        deadline = t_load + args.seconds
        sampler = Sampler(ag, stop, t_load, int(args.seconds) + 120)
        sampler.start()
        big = int(args.seconds * 1000) + 1000  # iteration bounds (pauses keep every loop well below)
        specs = []
        specs += [(keepalive_client, (ctx, i, big)) for i in range(args.keepalive_clients)]
        specs += [(newconn_client, (ctx, i, big)) for i in range(args.newconn_clients)]
        specs += [(upload_client, (ctx, i, big)) for i in range(args.upload_clients)]
        specs += [(slow_client, (ctx, i, big)) for i in range(args.slow_clients)]
        specs += [(wrong_password_client, (ctx, big))]
        for fn, a in specs:
            t = threading.Thread(target=fn, args=a, name=fn.__name__, daemon=True)
            t.start()
            threads.append(t)

        next_reload = t_load + args.reload_every
        next_kill = t_load + min(20.0, args.upstream_period)
        restart_at = None
        window = None
        variant = "A"
        crashed = False
        while time.monotonic() < deadline:
            now = time.monotonic()
            if ag.proc.poll() is not None:
                crashed = True
                log("airgate exited with %s during the load" % ag.proc.returncode)
                break
            if now >= next_reload:
                variant = "B" if variant == "A" else "A"
                write_atomic(cfg_path, variants[variant])
                ag.signal(signal.SIGHUP)
                stats.reloads += 1
                next_reload += args.reload_every
            if restart_at is None and now >= next_kill and now + args.upstream_down + 5 < deadline:
                window = [time.monotonic(), None]
                if not args.selftest_unrecorded_kill:
                    with stats.lock:
                        stats.down.append(window)
                up.kill()
                restart_at = now + args.upstream_down
                log("upstream killed (t=%.1f)" % (now - t_load))
            if restart_at is not None and now >= restart_at:
                up.start()
                with stats.lock:
                    window[1] = time.monotonic()
                stats.upstream_restarts += 1
                restart_at = None
                next_kill = now + args.upstream_period
                log("upstream restarted (t=%.1f, pid %d); ok so far %d, expected errors %d, failures %d" % (
                    time.monotonic() - t_load, up.proc.pid, sum(stats.ok.values()),
                    sum(stats.expected.values()), sum(stats.failures.values())))
            time.sleep(max(0.0, min(0.05, next_reload - time.monotonic())))
        if restart_at is not None:
            up.start()
            with stats.lock:
                window[1] = time.monotonic()
            stats.upstream_restarts += 1

        load_seconds = time.monotonic() - t_load
        log("load stopped after %.0f s; waiting for clients" % load_seconds)
        stop.set()
        for t in threads:
            t.join(max(5.0, args.request_timeout + 5))
        stuck = [t.name for t in threads if t.is_alive()]
        metrics = scrape_metrics(ag) if not crashed else {}

        # idle again: client connections closed; wait for the fd count to settle
        end_fd = None
        settle_deadline = time.monotonic() + 20
        while time.monotonic() < settle_deadline and not crashed:
            time.sleep(1.0)
            end_fd = fd_breakdown(ag.pid, ports)
            if end_fd and end_fd.get("client", 0) == 0 and \
                    end_fd["total"] - end_fd.get("upstream", 0) <= start_fd["total"] - start_fd.get("upstream", 0):
                break
        end_fds, end_rss = proc_sample(ag.pid) if not crashed else (None, None)
        if sampler.dead:
            crashed = True

        samples = sampler.samples
        n = len(samples)
        mid = samples[n // 3: 2 * n // 3]
        last = samples[2 * n // 3:]
        peak_fds = max([s[1] for s in samples] + [start_fds, end_fds or 0])
        peak_rss = max([s[2] or 0 for s in samples] + [start_rss, end_rss or 0])
        trend = {
            "fds_avg_middle_third": round(avg([s[1] for s in mid]), 1),
            "fds_avg_last_third": round(avg([s[1] for s in last]), 1),
            "rss_mib_avg_middle_third": round(avg([s[2] for s in mid]) / MiB, 1),
            "rss_mib_avg_last_third": round(avg([s[2] for s in last]) / MiB, 1),
        }

        problems = []
        flags = []
        nfail = sum(stats.failures.values())
        if nfail:
            problems.append("%d unexpected failures" % nfail)
        if crashed:
            problems.append("airgate exited during the run (code %s)" % ag.proc.returncode)
        if stuck:
            problems.append("client threads still running after the load: %s" % stuck)
        if stats.ok["wrong_password_401"] == 0 and args.seconds >= 10:
            problems.append("no wrong-password request got its 401")
        fd_growth = fd_growth_pool_excluded = None
        if end_fd:
            fd_growth = end_fd["total"] - start_fd["total"]
            fd_growth_pool_excluded = (end_fd["total"] - end_fd.get("upstream", 0)) - \
                (start_fd["total"] - start_fd.get("upstream", 0))
            max_pool = 64 * args.workers
            if fd_growth_pool_excluded > args.fd_margin:
                problems.append("fd growth: %d more idle fds at the end (pooled upstream connections not counted)"
                                % fd_growth_pool_excluded)
            if end_fd.get("upstream", 0) > max_pool:
                problems.append("%d upstream sockets at the end, more than the pool bound %d"
                                % (end_fd.get("upstream", 0), max_pool))
            if end_fd.get("client", 0) > 0:
                problems.append("%d client sockets still open in airgate after every client closed"
                                % end_fd["client"])
        rss_growth_mib = None
        if end_rss and start_rss:
            rss_growth_mib = (end_rss - start_rss) / MiB
            if args.max_rss_growth_mib and rss_growth_mib > args.max_rss_growth_mib:
                problems.append("RSS grew by %.1f MiB (limit %.1f)" % (rss_growth_mib, args.max_rss_growth_mib))
            elif rss_growth_mib > args.rss_flag_mib:
                flags.append("RSS grew by %.1f MiB (flag threshold %.1f MiB; not failing)"
                             % (rss_growth_mib, args.rss_flag_mib))
            if trend["fds_avg_last_third"] > trend["fds_avg_middle_third"] + args.fd_margin:
                flags.append("fds under load rising: last-third average %.1f > middle-third %.1f + %d"
                             % (trend["fds_avg_last_third"], trend["fds_avg_middle_third"], args.fd_margin))
            if trend["rss_mib_avg_last_third"] > trend["rss_mib_avg_middle_third"] * 1.10:
                flags.append("RSS still rising: last-third average %.1f MiB > middle-third %.1f MiB + 10%%"
                             % (trend["rss_mib_avg_last_third"], trend["rss_mib_avg_middle_third"]))
        if metrics.get('airgate_reloads_total{result="failure"}', 0) > 0:
            problems.append("%d reloads failed" % metrics['airgate_reloads_total{result="failure"}'])

        kinds = sorted(set(stats.ok) | set(stats.expected) | set(stats.failures))
        err_lines = [l for l in ag.stderr().splitlines() if re.search(r"\b(error|warn|warning|critical)\b", l, re.I)]
        log_kinds = collections.Counter()
        for line in err_lines:
            m = re.search(r"-> (\d+) (\w+):", line)
            key = "%s %s" % m.groups() if m else re.sub(r"\d+", "N", line.split("] ", 1)[-1])[:100]
            log_kinds[key] += 1
        result = {
            "ok": not problems,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                                     stdout=subprocess.PIPE).stdout.decode().strip(),
            "seconds_requested": args.seconds,
            "load_seconds": round(load_seconds, 1),
            "requests": {k: {"ok": stats.ok[k], "expected_errors": stats.expected[k],
                             "unexpected_failures": stats.failures[k]} for k in kinds},
            "totals": {"ok": sum(stats.ok.values()), "expected_errors": sum(stats.expected.values()),
                       "unexpected_failures": nfail,
                       "req_per_s": round(sum(stats.ok.values()) / max(load_seconds, 1), 1),
                       "bytes_uploaded": stats.bytes_up, "bytes_downloaded": stats.bytes_down},
            "expected_error_reasons": dict(stats.expected_why),
            "expected_errors_only_in_margin": stats.expected_in_margin,
            "margins_s": [args.margin_before, args.margin_after],
            "failure_samples": stats.failure_samples,
            "reloads_sent": stats.reloads,
            "upstream_restarts": stats.upstream_restarts,
            "down_windows_s": [[round(a - t_load, 2), round(b - t_load, 2)] for a, b in stats.down],
            "fds": {"start_idle": start_fds, "peak": peak_fds, "end_idle": end_fds,
                    "start_breakdown": start_fd, "end_breakdown": end_fd,
                    "growth": fd_growth, "growth_without_upstream_pool": fd_growth_pool_excluded},
            "rss_mib": {"start_idle": round(start_rss / MiB, 1), "peak": round(peak_rss / MiB, 1),
                        "end_idle": round(end_rss / MiB, 1) if end_rss else None,
                        "growth": round(rss_growth_mib, 1) if rss_growth_mib is not None else None},
            "trend": trend,
            "metrics": metrics,
            "airgate_warn_error_lines": len(err_lines),
            "airgate_warn_error_kinds": dict(log_kinds),
            "airgate_warn_error_samples": [l for l in err_lines if "upstream_refused" not in l][:30],
            "problems": problems,
            "flags": flags,
            "samples": samples,
            "logs": {"stderr": ag.stderr_path, "stdout": ag.stdout_path},
        }
        print_summary(result)
        exit_code = 0 if not problems else 1
    except KeyboardInterrupt:
        log("interrupted")
        exit_code = 130
    finally:
        stop.set()
        if ag is not None:
            ag.stop()
        up.kill()
        os.makedirs(out_dir, exist_ok=True)
        if result.get("requests") is not None:
            write_atomic(os.path.join(out_dir, "results.json"), json.dumps(result, indent=2) + "\n")
            log("results: %s" % os.path.join(out_dir, "results.json"))
    return exit_code


def print_summary(r):
    rows = [("kind", "ok", "expected err", "UNEXPECTED")]
    for k, v in r["requests"].items():
        rows.append((k, v["ok"], v["expected_errors"], v["unexpected_failures"]))
    t = r["totals"]
    rows.append(("TOTAL", t["ok"], t["expected_errors"], t["unexpected_failures"]))
    w = [max(len(str(row[i])) for row in rows) for i in range(4)]
    print()
    print("airgate soak: %s s of load, commit %s, %s" % (r["load_seconds"], r["commit"], r["date"]))
    for i, row in enumerate(rows):
        print("  %-*s  %*s  %*s  %*s" % (w[0], row[0], w[1], row[1], w[2], row[2], w[3], row[3]))
        if i == 0 or i == len(rows) - 2:
            print("  " + "-" * (sum(w) + 6))
    print("  %.1f req/s ok; uploaded %.1f MiB, downloaded %.1f MiB" % (
        t["req_per_s"], t["bytes_uploaded"] / MiB, t["bytes_downloaded"] / MiB))
    print("  expected error reasons: %s" % (r["expected_error_reasons"] or "none"))
    print("  reloads (SIGHUP) sent: %d; metrics: %s" % (
        r["reloads_sent"], {k: v for k, v in r["metrics"].items() if "reloads" in k}))
    print("  upstream restarts: %d, down windows (s): %s" % (r["upstream_restarts"], r["down_windows_s"]))
    f, m = r["fds"], r["rss_mib"]
    print("  fds:  start %s  peak %s  end %s  (growth %s; without pooled upstream sockets %s)" % (
        f["start_idle"], f["peak"], f["end_idle"], f["growth"], f["growth_without_upstream_pool"]))
    print("  RSS:  start %s MiB  peak %s MiB  end %s MiB  (growth %s MiB)" % (
        m["start_idle"], m["peak"], m["end_idle"], m["growth"]))
    print("  trend: %s" % r["trend"])
    print("  expected errors only inside the margins (-%.1f s / +%.1f s): %d" % (
        r["margins_s"][0], r["margins_s"][1], r["expected_errors_only_in_margin"]))
    print("  airgate warn/error log lines: %d %s" % (r["airgate_warn_error_lines"], r["airgate_warn_error_kinds"]))
    for s in r["failure_samples"][:10]:
        print("  failure: %s" % s)
    for fl in r["flags"]:
        print("  FLAG: %s" % fl)
    for p in r["problems"]:
        print("  PROBLEM: %s" % p)
    print("  result: %s" % ("PASS" if r["ok"] else "FAIL"))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
