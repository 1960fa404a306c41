#!/usr/bin/env python3
"""Writes the seed corpora in tests/fuzz/corpus/<target>/ (small, hand-made:
realistic messages from the integration tests plus edge cases). Re-run after
editing; file names are stable (seed-NN), so diffs stay readable.
libFuzzer treats every file as one input."""
import os
import shutil
import socket
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "integration", "vectors")

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"

request_head = [
    b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /echo?tag=1 HTTP/1.1\r\nHost: localhost:8443\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
    b"GET /api/v1/health HTTP/1.0\r\n\r\n",
    b"HEAD /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\nhello",
    b"POST /upload HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic dXNlcjpwYXNzd29yZA==\r\n"
    b"X-Forwarded-For: 203.0.113.7, 10.0.0.1\r\nX-Request-Id: abc-123\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nProxy-Authorization: Basic dXNlcjpwYXNzd29yZA==\r\n"
    b"Authorization: Bearer eyJhbGciOi.x.y\r\nCookie: a=b; c=d\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Foo\r\nX-Foo: 1\r\nKeep-Alive: timeout=5\r\n"
    b"TE: trailers\r\nProxy-Connection: keep-alive\r\n\r\n",
    b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n",
    # the smuggling cases of tests/integration/test_smuggling.py
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 48\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + SMUGGLED,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n2b\r\n" + SMUGGLED,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n" + SMUGGLED,
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0, 44\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: +44\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length : 44\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Folded: first\r\n  continued\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\rb\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\rX-Bad: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Bad: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX-B\x00ad: 1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nX Bad: 1\r\n\r\n",
    b"GET / HTTP/1.1\nHost: localhost\n\n",
    b"GET / HTTP/1.1\r\nHost: localhost\nX: 1\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET /\r\nHost: localhost\r\n\r\n",
    b"G(T / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: localhost\r\nNoColonHere\r\n\r\n",
    b"GET /\x01x HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET http://evil.example/ HTTP/1.1\r\nHost: evil.example\r\n\r\n",
    b"CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n",
    b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    b"GET / HTTP/1.2\r\nHost: a\r\n\r\n",
    b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: " + b"x" * 9000 + b"\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-UTF8: \xc3\xa9\xff\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\n:\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost:\r\n\r\n",
]

chunked_body = [
    b"0\r\n\r\n",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    b"A\r\n0123456789\r\n0\r\n\r\n",
    b"a;name=value\r\n0123456789\r\n0\r\n\r\n",
    b"5;a=b;c=\"d e\"\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhello\r\n0\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n",
    b"0000005\r\nhello\r\n0\r\n\r\n",
    b"5 \r\nhello\r\n0\r\n\r\n",
    b"zz\r\nhello\r\n0\r\n\r\n",
    b"-5\r\nhello\r\n0\r\n\r\n",
    b"10000000000000005\r\nhello\r\n0\r\n\r\n",
    b"ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    b"5\r\nhelloXX\r\n0\r\n\r\n",
    b"5\r\nhel",
    b"5\nhello\n0\n\n",
    b"5\r\nhello\r\n0\r\n",
    b"8000\r\n" + b"p" * 0x8000 + b"\r\n0\r\n\r\n",
    b"1\r\na\r\n" * 40 + b"0\r\n\r\n",
    b"2b\r\n" + SMUGGLED + b"\r\n0\r\n\r\n",
    b"0\r\n\r\n" + SMUGGLED,
    b"3\r\nabc\r\n0\r\nTrailer\x00: x\r\n\r\n",
    b"\r\n5\r\nhello\r\n0\r\n\r\n",
]

response_head = []
for first in (b"\x00", b"\x01", b"\x0a", b"\x0b"):  # GET/HEAD, a few read sizes
    response_head += [
        first + b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
        first + b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ]
response_head += [
    b"\x00HTTP/1.1 204 No Content\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n",
    b"\x00HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    b"\x00HTTP/1.0 200 OK\r\n\r\nuntil close",
    b"\x06HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nbody until the upstream closes",
    b"\x00HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"\x00HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"\x00HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello",
    b"\x00HTTP/1.1 200 OK\r\nSet-Cookie: a=b; Path=/\r\nSet-Cookie: c=d; HttpOnly\r\nContent-Length: 0\r\n\r\n",
    b"\x00HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
    b"\x00HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"\x00HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n",
    b"\x00HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n",
    b"\x00HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    b"\x00HTTP/1.1 20 OK\r\n\r\n",
    b"\x00HTTP/2 200\r\n\r\n",
    b"\x00HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    b"\x00HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    b"\x00HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nabc",
    b"\x00HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
    b"\x00garbage\r\n\r\n",
    b"\x00",
]


def proxy_v1(src, dst="127.0.0.1", sport=51234, dport=8443, proto=None):
    proto = proto or ("TCP6" if ":" in src else "TCP4")
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode("ascii")


V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(src=None, dst=None, sport=51234, dport=8443, local=False, tlvs=b"", ver_cmd=None, fam=None):
    if local:
        vc, f, addr = 0x20, 0x00, b""
    elif ":" in src:
        vc, f = 0x21, 0x21
        addr = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst or "::1") + \
            struct.pack("!HH", sport, dport)
    else:
        vc, f = 0x21, 0x11
        addr = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst or "127.0.0.1") + \
            struct.pack("!HH", sport, dport)
    body = addr + tlvs
    return V2_SIG + bytes([vc if ver_cmd is None else ver_cmd, f if fam is None else fam]) + \
        struct.pack("!H", len(body)) + body


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


CLIENT_HELLO = b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"
proxy_protocol = [
    proxy_v1("203.0.113.7"),
    proxy_v1("203.0.113.7") + CLIENT_HELLO,
    proxy_v1("2001:db8::7", "::1"),
    proxy_v1("::ffff:203.0.113.7", "::1", proto="TCP6"),
    b"PROXY UNKNOWN\r\n",
    b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n",
    b"PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n",
    b"PROXY TCP4 " + b"1" * 200,
    b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
    b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
    b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n",
    b"PROXY TCP4 1.2.3.4",
    b"PROXY",
    b"PROX",
    proxy_v2("203.0.113.7"),
    proxy_v2("203.0.113.7") + CLIENT_HELLO,
    proxy_v2("2001:db8::7", "::1"),
    proxy_v2(local=True),
    proxy_v2("203.0.113.7", tlvs=tlv(0x01, b"h2") + tlv(0x02, b"airbyte.example.com") + tlv(0x04, b"\x00" * 4)),
    proxy_v2("203.0.113.7", tlvs=tlv(0x20, b"\x01\x00\x00\x00\x00" + tlv(0x21, b"TLSv1.3"))),
    proxy_v2("203.0.113.7", ver_cmd=0x22),
    proxy_v2("203.0.113.7", ver_cmd=0x11),
    proxy_v2("203.0.113.7", fam=0x12),
    proxy_v2("203.0.113.7", fam=0x31),
    proxy_v2("203.0.113.7", fam=0x01),
    V2_SIG + b"\x21\x11\x00\x04\x01\x02\x03\x04",
    V2_SIG + b"\x21\x21\x00\x0c" + b"\x00" * 12,
    V2_SIG + b"\x21\x11\xff\xff",
    V2_SIG + b"\x21\x00\x00\x00",
    V2_SIG[:8],
    CLIENT_HELLO,
]

basic_auth = [
    b"Basic dXNlcjpwYXNzd29yZA==",
    b"basic dXNlcjpwYXNzd29yZA==",
    b"BASIC   dXNlcjpwYXNzd29yZA==  ",
    b"Basic YTpi",
    b"Basic Og==",
    b"Basic dXNlcjo=",
    b"Basic OnBhc3N3b3Jk",
    b"Basic dXNlcjpwYTpzczp3b3Jk",
    b"Basic w6k6w6k=",
    b"Basic dXNlcg==",
    b"Basic dXNlcjpwYXNzd29yZA",
    b"Basic dXNlcjpwYXNzd29yZA=",
    b"Basic dXNlcjpwYXNzd29yZB==",
    b"Basic dXNlcjpw YXNzd29yZA==",
    b"Basic\tdXNlcjpwYXNzd29yZA==",
    b"Basic ====",
    b"Basic ",
    b"Basic",
    b"Basicx dXNlcjpwYXNzd29yZA==",
    b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.x",
    b"Digest username=\"u\", realm=\"r\"",
    b"",
    b"Basic " + b"QUFB" * 1100,
    b"Basic dXNlcgBuYW1lOnBhc3M=",
    b"Basic dXNlcjpwYXNzd29yZA==\r\n",
]

forwarded_for = [
    b"\x00203.0.113.7",
    b"\x00203.0.113.7, 10.0.0.2",
    b"\x00198.51.100.1, 203.0.113.7, 10.0.0.2",
    b"\x00203.0.113.7\n10.0.0.2, 10.0.0.3",
    b"\x01203.0.113.7",
    b"\x02203.0.113.7, 10.0.0.2",
    b"\x032001:db8::1, 2001:4860::1",
    b"\x04[2001:4860::1]:443, [2001:db8::1]",
    b"\x001.2.3.4:5678, 10.0.0.1:80",
    b"\x00unknown, 10.0.0.2",
    b"\x00203.0.113.7, garbage, 10.0.0.2",
    b"\x00, , 203.0.113.7,,",
    b"\x00::ffff:203.0.113.7",
    b"\x00::ffff:10.0.0.5, ::ffff:203.0.113.9",
    b"\x00fe80::1%eth0",
    b"\x00[fe80::1%eth0]:80",
    b"\x00[2001:db8::1",
    b"\x00[2001:db8::1]:99999",
    b"\x00[1.2.3.4]:80",
    b"\x001.2.3.4:",
    b"\x00 \t203.0.113.7\t ",
    b"\x00" + b"10.0.0.1, " * 80 + b"203.0.113.7",
    b"\x00" + b"203.0.113.7, " + b"10.0.0.1, " * 70,
    b"\x0710.0.0.0/8",
    b"\x06" + b"1" * 60,
    b"\x00",
]

htpasswd_text = open(os.path.join(VECTORS, "users.htpasswd"), "rb").read()
htpasswd = [
    htpasswd_text,
    b"alice:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n",
    b"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    b"alice:$2y$10$7fvspPBLnmkTG06fyb35CeoG5cFeL8uvFddHqbfl..M4mqihxhaJC\r\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\r\n",
    b"# comment\n\n   # indented comment\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=:Alice Example\n",
    b"alice:$6$9stTuZ0I6UFDpHBP$URH9eSPSAyuuWswB.pMvTRbR9pwggWeKNJo/pggaoIu3XvFQZIPTy6u/ecackAWloHAUJpAJ6XJ9q3bex8QdF1\n",
    b"alice:$5$PI3PCA6XDoZ6VO3z$uff4dEUognzzA3MANRjuwr.kzMeDyK..9ujqOaFyTP4\n",
    b"alice:$5$rounds=5000$PI3PCA6XDoZ6VO3z$uff4dEUognzzA3MANRjuwr.kzMeDyK..9ujqOaFyTP4\n",
    b"alice:$y$j9T$.7bs4nWVQvLPwMvxpDygC1$QLmFyPeuBSJ3yvgCDVlaElpthy4Ssou6wL7lT19WQb7\n",
    b"alice:$2y$99$7fvspPBLnmkTG06fyb35CeoG5cFeL8uvFddHqbfl..M4mqihxhaJC\n",
    b"alice:$2y$04$7fvspPBLnmkTG06fyb35CeoG5cFeL8uvFddHqbfl..M4mqihxhaJC\n",
    b"alice:$1$abcdefgh$abcdefghijklmnopqrstuv\n",
    b"alice:plaintext\n",
    b"alice:abJnggxhB/yWI\n",
    b"alice\n",
    b":{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    b"alice:\n",
    b"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    b"fuzzuser:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\nfuzzuser:$apr1$x$y\n",
    b"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
    b"alice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g\n",
    b"alice:$apr1$$\n",
    b"alice:$apr1$123456789$HqJZimcKQFAMYayBlzkrA/\n",
    b"al\x00ice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    b"\xef\xbb\xbfalice:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n",
    b"\n\r\n\r\r\n",
    b"",
]

config = [
    open(os.path.join(HERE, "..", "..", "config", "airgate.yaml"), "rb").read(),
    b"",
    b"# only a comment\n",
    b"listen:\n  - address: \"0.0.0.0:8443\"\n    tls:\n      certificate: tls/tls.crt\n      private_key: tls/tls.key\n"
    b"  - address: \"0.0.0.0:8080\"\n    redirect_to_https: \"https://airbyte.example.com\"\n"
    b"upstream:\n  url: \"http://127.0.0.1:8000\"\n  read_timeout: 1h\n"
    b"routes:\n  - { path_prefix: \"/api/\", upstream: { url: \"http://127.0.0.1:8001\" } }\n"
    b"limits:\n  max_body_size: 200M\nauth:\n  basic:\n    users_file: htpasswd\n  allow: [\"10.0.0.0/8\"]\n"
    b"  satisfy: any\nheaders:\n  hsts: \"max-age=31536000\"\n",
    b"listen:\n  - address: \"[::]:8443\"\n    tls: {}\n    proxy_protocol: true\ntrusted_proxies: [\"10.0.0.0/8\", \"::1\"]\n",
    b"listen:\n  - address: \"[fe80::1%eth0]:80\"\nupstream:\n  url: https://[2001:db8::1]:8443\n  ca_file: ca.pem\n",
    b"listen:\n  - address: 127.0.0.1:0\n    tls:\n      min_version: 1.3\n      client_ca: ca.pem\n"
    b"      sni:\n        - { names: [A.example, b.example], certificate: a.crt, private_key: a.key }\n",
    b"upstream:\n  url: http://u:p@host/path?q#f\n",
    b"limits:\n  max_body_size: 1.5M\n  max_header_size: 64KB\n  client_header_timeout: 1500ms\n"
    b"  client_body_timeout: \"60 s\"\n  keepalive_timeout: -1\n",
    b"limits:\n  max_body_size: 99999999999999999999G\n  client_header_timeout: 99999999999999999h\n",
    b"auth:\n  realm: \"Welcome to Airbyte\"\n  basic:\n    users:\n      - { user: alice, hash: \"{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\" }\n"
    b"  throttle:\n    max_failures: 10\n    window: 1m\n    block: 5m\n  public_paths: [/healthz]\n  forward_authorization: yes\n",
    b"auth:\n  allow: 10.0.0.0/8\n  satisfy: all\n",
    b"auth:\n  allow: [\"10.1.2.3/33\", \"::/129\", \"banana\"]\n",
    b"workers: auto\nshutdown_grace: 10s\nreload_watch: 2s\nadmin:\n  address: 127.0.0.1:9901\nadmin: null\n",
    b"logging:\n  level: debug\n  format: json\n  access_log: /dev/stdout\n",
    b"headers:\n  request_id: true\n  hsts: null\n",
    b"unknown_key: 1\n",
    b"listen: []\n",
    b"listen:\n  - address: localhost:8443\n  - address: 127.0.0.1:99999\n",
    b"a: &x [1, 2]\nb: *x\n<<: *x\n",
    b"---\nworkers: 1\n---\nworkers: 2\n",
    b"workers: [\n",
    b"workers: \"\\xff\"\n",
    b"{workers: 1, workers: 2}\n",
    b"!!binary aGVsbG8=\n",
    b"? [a, b]\n: c\n",
    b"workers: !!int 0x10\n",
    b"\t\n",
]

# first byte: 0 form body, 1 request target (rd), 2 Cookie header, 3 session token
browser = [
    b"\x00username=alice&password=p%40ss+word&rd=%2Fworkspaces&csrf=abc",
    b"\x00a=%&b=%zz&c=%4",
    b"\x00" + b"&".join(b"f%d=%d" % (i, i) for i in range(20)),
    b"\x01/.airgate/login?rd=%2Fworkspaces%2F1%3Fx%3D1",
    b"\x01/.airgate/login?rd=%2F%2Fevil.com",
    b"\x01/.airgate/login?rd=%2F%5Cevil.com&rd=/x",
    b"\x01/connections?tab=1#frag",
    b"\x01//evil.com/\\x",
    b"\x02airbyte_ui=1; __Host-airgate_session=v1.abc.def; theme=dark",
    b"\x02__Host-airgate_session=v1.x.y",
    b"\x02a=1;b=2;;  c=%20 ",
    b"\x02x__Host-airgate_session=1; __Host-airgate_session",
    b"\x03v1.AQIDBAUGBwgJCgsMDQ4PEAAAAABlU_EAAAAAAGVUQpAAAAAAZVPxAAAAAAAAAAAAAAAAAAAAAABhbGljZQ.AAAA",
    b"\x03v1..",
    b"\x03v2.abc.def",
]

path = [
    b"/",
    b"/api/v1/sources/create",
    b"//api/v1/sources/create",
    b"/api/v1/./sources/create",
    b"/api/v1/x/../sources/create",
    b"/api/v1/%73ources/create",
    b"/api/%2e%2e/api/v1/sources/create",
    b"/api/v1%2fsources/create",
    b"/api/v1%5Csources/create",
    b"/api/v1\\sources",
    b"/api/v1/sources;x/create",
    b"/a/%c3%a9/%3f/%25",
    b"/a/b/../../..",
    b"/a%", b"/a%4", b"/a%zz",
    b"/API/V1/Sources/",
    b"/a/./b/.%2E/c//d/.",
    b"/a/%e2%82%ac/%F0%9F%98%80",
    b"/api/%c0%ae%c0%ae/x",
    b"/a/%ED%A0%80/%C3",
]

# flag byte (bit 0: CONNECT, bit 7: small header list limit), then fields
# separated by 0xff, name and value by 0xfe
def h2(fields, flags=0):
    return bytes([flags]) + b"\xff".join(n + b"\xfe" + v for n, v in fields)

H2_GET = [(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/api/v1/health"), (b":authority", b"localhost:8443")]

h2_request = [
    h2(H2_GET),
    h2(H2_GET + [(b"user-agent", b"curl/8.5.0"), (b"accept", b"*/*")]),
    h2(H2_GET + [(b"cookie", b"a=1"), (b"accept", b"*/*"), (b"cookie", b"b=2"), (b"cookie", b"__Host-airgate_session=v1.x.y")]),
    h2([(b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/upload"), (b":authority", b"a"),
        (b"content-length", b"5"), (b"content-type", b"application/json"), (b"te", b"trailers")]),
    h2([(b":method", b"OPTIONS"), (b":scheme", b"https"), (b":path", b"*"), (b":authority", b"a")]),
    h2([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b"host", b"[::1]:443")]),
    h2(H2_GET + [(b"host", b"evil.example")]),
    h2([(b":method", b"CONNECT"), (b":authority", b"evil.example:443")], flags=1),
    h2([(b":method", b"GET"), (b":protocol", b"websocket"), (b":scheme", b"https"), (b":path", b"/ws")]),
    h2(H2_GET + [(b":status", b"200")]),
    h2([(b":method", b"GET"), (b"accept", b"*/*"), (b":path", b"/"), (b":scheme", b"https")]),
    h2(H2_GET + [(b":path", b"/second")]),
    h2([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"https://evil.example/"), (b":authority", b"a")]),
    h2([(b":method", b"GET"), (b":scheme", b"https"), (b":path", b"/"), (b":authority", b"user:pw@a")]),
    h2(H2_GET + [(b"Content-Length", b"5")]),
    h2(H2_GET + [(b"x-a", b"1\r\nx-smuggled: 1")]),
    h2(H2_GET + [(b"x-a\x00b", b"1")]),
    h2(H2_GET + [(b"x-a", b" 1 ")]),
    h2(H2_GET + [(b"transfer-encoding", b"chunked")]),
    h2(H2_GET + [(b"connection", b"close"), (b"keep-alive", b"5"), (b"upgrade", b"h2c")]),
    h2(H2_GET + [(b"te", b"gzip")]),
    h2(H2_GET + [(b"content-length", b"5"), (b"content-length", b"05")]),
    h2(H2_GET + [(b"content-length", b"5, 5")]),
    h2(H2_GET + [(b"content-length", b"18446744073709551616")]),
    h2(H2_GET + [(b"http2-settings", b"AAMAAABkAAQAoAAA")]),
    h2(H2_GET + [(b"x-long", b"x" * 600)], flags=0x80 | 0x40),
    h2(H2_GET + [(b"cookie", b"a=1"), (b"cookie", b""), (b"cookie", b"b=2")]),
]

# fuzz_h2_session: HTTP/2 frames after the client preface. Header blocks use
# HPACK literals without indexing (RFC 7541 §6.2.2), lengths below 127.
def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload

def hpack(fields):
    out = b""
    for n, v in fields:
        out += b"\x00" + bytes([len(n)]) + n + bytes([len(v)]) + v
    return out

DATA, HEADERS, PRIORITY, RST, SETTINGS, PING, GOAWAY, WINDOW, CONT = 0, 1, 2, 3, 4, 6, 7, 8, 9
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1
PREFACE_SETTINGS = frame(SETTINGS, 0, 0, struct.pack(">HI", 4, 65535) + struct.pack(">HI", 2, 0))
POST = [(b":method", b"POST"), (b":scheme", b"https"), (b":path", b"/upload"), (b":authority", b"localhost")]

h2_session = [
    PREFACE_SETTINGS + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(H2_GET)),
    PREFACE_SETTINGS + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(H2_GET + [(b"cookie", b"a=1"), (b"cookie", b"b=2")]))
    + frame(HEADERS, END_STREAM | END_HEADERS, 3, hpack([(b":method", b"HEAD"), (b":scheme", b"https"), (b":path", b"/"),
                                                        (b":authority", b"a")])),
    PREFACE_SETTINGS + frame(HEADERS, END_HEADERS, 1, hpack(POST + [(b"content-length", b"5")]))
    + frame(DATA, END_STREAM, 1, b"hello"),
    PREFACE_SETTINGS + frame(HEADERS, END_HEADERS, 1, hpack(POST)) + frame(DATA, 0, 1, b"chunk one")
    + frame(DATA, 0, 1, b"") + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack([(b"x-trailer", b"1")])),
    PREFACE_SETTINGS + frame(HEADERS, END_HEADERS, 1, hpack(POST + [(b"content-length", b"3")]))
    + frame(DATA, END_STREAM, 1, b"hello"),
    PREFACE_SETTINGS + frame(HEADERS, END_HEADERS, 1, hpack(POST + [(b"content-length", b"999999")]))
    + frame(DATA, 0, 1, b"x" * 100) + frame(RST, 0, 1, struct.pack(">I", 8)),
    PREFACE_SETTINGS + frame(HEADERS, 0, 1, hpack(H2_GET[:2])) + frame(CONT, 0, 1, hpack(H2_GET[2:3]))
    + frame(CONT, END_HEADERS, 1, hpack(H2_GET[3:])),
    PREFACE_SETTINGS + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(H2_GET + [(b"x-a", b"1\r\nx-b: 2")]))
    + frame(HEADERS, END_STREAM | END_HEADERS, 3, hpack(H2_GET + [(b"connection", b"close")])),
    PREFACE_SETTINGS + frame(PING, 0, 0, b"12345678") * 3 + frame(SETTINGS, ACK, 0)
    + frame(WINDOW, 0, 0, struct.pack(">I", 1000)) + frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 16)),
    PREFACE_SETTINGS + b"".join(frame(HEADERS, END_STREAM | END_HEADERS, 2 * i + 1, hpack(H2_GET))
                                + frame(RST, 0, 2 * i + 1, struct.pack(">I", 8)) for i in range(8)),
    PREFACE_SETTINGS + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(H2_GET))
    + frame(GOAWAY, 0, 0, struct.pack(">II", 1, 0)),
    PREFACE_SETTINGS + frame(HEADERS, END_STREAM | END_HEADERS, 1, hpack(H2_GET + [(b"x-big", b"y" * 120)] * 40)),
]

corpora = {
    "fuzz_browser": browser,
    "fuzz_request_head": request_head,
    "fuzz_chunked_body": chunked_body,
    "fuzz_response_head": response_head,
    "fuzz_proxy_protocol": proxy_protocol,
    "fuzz_basic_auth": basic_auth,
    "fuzz_forwarded_for": forwarded_for,
    "fuzz_htpasswd": htpasswd,
    "fuzz_config": config,
    "fuzz_path": path,
    "fuzz_h2_request": h2_request,
    "fuzz_h2_session": h2_session,
}

for target, seeds in corpora.items():
    d = os.path.join(HERE, "corpus", target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for i, data in enumerate(seeds):
        with open(os.path.join(d, "seed-%02d" % i), "wb") as f:
            f.write(data)
    print("%s: %d seeds" % (target, len(seeds)))
