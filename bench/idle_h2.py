#!/usr/bin/env python3
"""Holds many idle HTTP/2 connections open (scenario 13; needs python3-h2).

  idle_h2.py PORT COUNT [REQUESTS]

Opens COUNT TLS connections to 127.0.0.1:PORT that negotiate h2 by ALPN,
makes REQUESTS (default 1, at most 100) concurrent GET / on each and reads
their answers (a browser's connection between clicks, after a page load of
REQUESTS requests: browsers speak h2 to every proxy that offers it), prints
"READY <opened>" and keeps them all open until its standard input closes.
bench/run measures the proxy's RSS before and while they are held.
"""
import socket
import sys

# Debian's python3-h2, also when this runs under another Python (CTest's).
sys.path.append("/usr/lib/python3/dist-packages")
import h2.config  # noqa: E402
import h2.connection  # noqa: E402
import h2.events  # noqa: E402

from idle_conns import client_context  # noqa: E402  (this script's folder is on sys.path)


def open_one(ctx, port, requests=1):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=30), server_hostname="localhost")
    if s.selected_alpn_protocol() != "h2":
        raise SystemExit("port %d did not negotiate h2 (ALPN: %r)" % (port, s.selected_alpn_protocol()))
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    for i in range(requests):
        c.send_headers(1 + 2 * i, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"),
                                   (":path", "/")], end_stream=True)
    s.sendall(c.data_to_send())
    ended = 0
    while ended < requests:
        data = s.recv(65536)
        if not data:
            raise SystemExit("port %d closed an h2 connection before its answer" % port)
        events = c.receive_data(data)
        for ev in events:
            if isinstance(ev, h2.events.StreamReset):
                raise SystemExit("port %d reset a request stream" % port)
            if isinstance(ev, h2.events.DataReceived):
                c.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            if isinstance(ev, h2.events.StreamEnded):
                ended += 1
        s.sendall(c.data_to_send())
    return s, c


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    requests = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if not 1 <= requests <= 100:
        raise SystemExit("REQUESTS must be 1 to 100 (the concurrent streams a server allows by default)")
    ctx = client_context(count)
    ctx.set_alpn_protocols(["h2"])
    held = [open_one(ctx, port, requests) for _ in range(count)]
    print("READY %d" % len(held), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
