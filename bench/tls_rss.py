#!/usr/bin/env python3
"""RSS of airgate across many full TLS handshakes (stdlib only).

  bench/tls_rss.py [--bin build/airgate] [-n 4300] [--batch 500] [-c 8]
                   [--tls 1.2|1.3] [--client-no-ticket] [--idle 3] [--env NAME=VALUE ...]

Starts airgate (TLS listener on 127.0.0.1:0 with its in-memory self-signed
certificate, 2 workers) in front of a tiny in-process HTTP upstream, then does
N full handshakes (a new connection and a new client context per batch, no
session resumption), each followed by one GET on that connection, with C
client threads. After each batch it prints airgate's VmRSS; after the last
batch it waits --idle seconds with no traffic and prints VmRSS again
("idle"), so memory handed back on the idle sweep shows up.
"""
import argparse
import http.server
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor


class Quiet(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request_until_close(port, ctx, request, server_hostname="localhost", session=None, timeout=10):
    """Sends `request` (which asks for Connection: close) on a new TLS
    connection to 127.0.0.1:port and reads until the server closes it, so the
    TLS session ends cleanly (close_notify) and OpenSSL keeps it for
    resumption. Returns (bytes received, whether the session was resumed).
    Also used by tests/integration/test_tls_session_cache.py; this script stays
    stdlib only and imports nothing from tests/."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_hostname, session=session) as s:
            s.sendall(request)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            return data, s.session_reused


def one(port, ctx):
    data, _ = request_until_close(port, ctx, b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
    return data.startswith(b"HTTP/1.1 200")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=os.environ.get("AIRGATE_BIN", "build/airgate"))
    ap.add_argument("-n", type=int, default=4300)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("-c", type=int, default=8, help="client threads")
    ap.add_argument("--tls", choices=("1.2", "1.3"), default="1.3")
    ap.add_argument("--idle", type=float, default=3.0)
    ap.add_argument("--client-no-ticket", action="store_true",
                    help="client sends no session-ticket extension (TLS 1.2: the server caches by session id only)")
    ap.add_argument("--env", action="append", default=[], help="extra NAME=VALUE for airgate")
    args = ap.parse_args()

    up = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=up.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="tls-rss-")
    cfg = os.path.join(tmp, "airgate.yaml")
    with open(cfg, "w") as f:
        f.write('listen:\n  - address: "127.0.0.1:0"\n    tls: {}\n'
                'upstream:\n  url: "http://127.0.0.1:%d"\n'
                'admin: null\nworkers: 2\nreload_watch: 0\n'
                'logging:\n  level: info\n  access_log: "off"\n' % up.server_address[1])
    env = dict(os.environ)
    for kv in args.env:
        k, _, v = kv.partition("=")
        env[k] = v
    err = open(os.path.join(tmp, "stderr"), "w+")
    p = subprocess.Popen([args.bin, "run", "-c", cfg], stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        port = None
        deadline = time.monotonic() + 15
        while port is None and time.monotonic() < deadline:
            time.sleep(0.05)
            err.seek(0)
            m = re.search(r"listening on https://127\.0\.0\.1:(\d+)", err.read())
            if m:
                port = int(m.group(1))
        if port is None:
            err.seek(0)
            sys.exit("airgate did not start:\n" + err.read())
        print("tls %s, %d handshakes in batches of %d, %d client threads, env %s"
              % (args.tls, args.n, args.batch, args.c, " ".join(args.env) or "-"))
        print("%8s %10s" % ("done", "VmRSS MiB"))
        print("%8d %10.1f" % (0, rss_kib(p.pid) / 1024))
        done = 0
        with ThreadPoolExecutor(args.c) as pool:
            while done < args.n:
                k = min(args.batch, args.n - done)
                ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                v = ssl.TLSVersion.TLSv1_2 if args.tls == "1.2" else ssl.TLSVersion.TLSv1_3
                ctx.minimum_version = ctx.maximum_version = v
                if args.client_no_ticket:
                    ctx.options |= ssl.OP_NO_TICKET
                ok = sum(pool.map(lambda _: one(port, ctx), range(k)))
                if ok != k:
                    print("  %d of %d requests failed" % (k - ok, k))
                done += k
                print("%8d %10.1f" % (done, rss_kib(p.pid) / 1024), flush=True)
        time.sleep(args.idle)
        print("%8s %10.1f" % ("idle", rss_kib(p.pid) / 1024))
    finally:
        p.terminate()
        p.wait(10)


if __name__ == "__main__":
    main()
