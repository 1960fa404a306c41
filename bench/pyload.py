#!/usr/bin/env python3
"""A tiny HTTPS keep-alive load loop: the stand-in for wrk (stdlib only).

  pyload.py PORT CONNECTIONS SECONDS [--close] [-H "Name: value"]...

Used by bench/run when wrk is not installed (the smoke test runs with it).
Each connection is a thread looping GET / on one TLS connection (a new one per
request with --close). Prints one JSON line: requests, errors, seconds,
latency p50/p99 in ms. Python's speed, not the proxy's, bounds the numbers:
they prove the harness works, nothing more.
"""
import json
import socket
import ssl
import sys
import threading
import time

from idle_conns import read_response


def main():
    args = sys.argv[1:]
    port, conns, seconds = int(args[0]), int(args[1]), float(args[2])
    close, headers, i = False, [], 3
    while i < len(args):
        if args[i] == "--close":
            close = True
        elif args[i] == "-H":
            i += 1
            headers.append(args[i])
        i += 1
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    request = ("GET / HTTP/1.1\r\nHost: localhost\r\n" + "".join(h + "\r\n" for h in headers) +
               ("Connection: close\r\n" if close else "") + "\r\n").encode()
    stop = time.monotonic() + seconds
    lat, errors, lock = [], [0], threading.Lock()

    def loop():
        mine, s = [], None
        while time.monotonic() < stop:
            try:
                if s is None:
                    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                                        server_hostname="localhost")
                t0 = time.monotonic()
                s.sendall(request)
                status = read_response(s)
                mine.append(time.monotonic() - t0)
                if b" 200 " not in status + b" ":
                    with lock:
                        errors[0] += 1
                if close:
                    s.close()
                    s = None
            except (OSError, EOFError):
                with lock:
                    errors[0] += 1
                s = None
        with lock:
            lat.extend(mine)

    start = time.monotonic()
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    elapsed = time.monotonic() - start
    lat.sort()

    def pct(p):
        return 1000 * lat[min(len(lat) - 1, int(p * len(lat)))] if lat else 0.0

    print(json.dumps({"requests": len(lat), "errors": errors[0], "seconds": elapsed,
                      "p50_ms": pct(0.50), "p99_ms": pct(0.99)}))


if __name__ == "__main__":
    main()
