#!/usr/bin/env python3
"""Holds many idle TLS keep-alive connections open (scenario 6, stdlib only).

  idle_conns.py PORT COUNT [--no-request]

Opens COUNT TLS connections to 127.0.0.1:PORT, sends one keep-alive GET on
each and reads its answer (so each connection is a real, used browser-like
connection now idle in keep-alive), prints "READY <opened>" and keeps them all
open until its standard input closes. bench/run measures the proxy's RSS
before and while they are held. --no-request: only the TLS handshake, no
request (a browser's preconnect that has not been used yet).
"""
import resource
import socket
import ssl
import sys
import time


def read_response(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed before the response head")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = s.recv(4096)
        if not chunk:
            raise EOFError("closed in the body")
        body += chunk
    return head.split(b"\r\n")[0]


def client_context(count):
    """Room for `count` connections (the open files limit raised as far as
    allowed) and a TLS 1.3 client context that trusts the bench certificate."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 64
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, min(hard, want)), max(hard, want)))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    request = "--no-request" not in sys.argv[3:]
    ctx = client_context(count)
    conns = []
    deadline = time.monotonic() + 120
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        conns.append(s)
        if not request:
            continue
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bench-idle\r\n\r\n")
        status = read_response(s)
        if b" 200 " not in status + b" ":
            raise SystemExit("unexpected answer: %r" % status)
    print("READY %d" % len(conns), flush=True)
    sys.stdin.read()
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
