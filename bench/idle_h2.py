#!/usr/bin/env python3
"""Holds many idle HTTP/2 connections open (the idle-h2 figure in
docs/benchmarks.md; needs python3-h2, as tests/integration/test_http2 does).

  idle_h2.py PORT COUNT

Opens COUNT TLS connections to 127.0.0.1:PORT that negotiate h2 (ALPN), makes
one GET / on each and reads its answer (a browser's connection between
clicks), prints "READY <opened>" and keeps them open until its standard
input closes. Measure the proxy's VmRSS before and while they are held.
"""
import sys, socket, ssl, time
sys.path.insert(0, '/usr/lib/python3/dist-packages')
import h2.connection, h2.config, h2.events
port, n = int(sys.argv[1]), int(sys.argv[2])
ctx = ssl.create_default_context(); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
ctx.set_alpn_protocols(["h2"])
conns = []
for i in range(n):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2"
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    c.send_headers(1, [(":method", "GET"), (":scheme", "https"), (":authority", "localhost"), (":path", "/")], end_stream=True)
    s.sendall(c.data_to_send())
    done = False
    while not done:
        data = s.recv(65536)
        if not data: raise SystemExit("closed")
        for ev in c.receive_data(data):
            if isinstance(ev, h2.events.StreamEnded): done = True
        s.sendall(c.data_to_send())
    conns.append((s, c))
print("READY", len(conns), flush=True)
sys.stdin.read()
