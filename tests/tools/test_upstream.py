#!/usr/bin/env python3
"""A small, strict HTTP/1.1 upstream for airgate's integration tests.

Stdlib only. Listens on 127.0.0.1 (or ::1), port 0 by default, keep-alive,
one thread per connection (bounded), optional TLS. Every request is recorded
(method, target, the raw header list in order, body length and sha256,
whether the body arrived complete, the id of the upstream connection it came
on) so tests can prove what the proxy forwarded -- and what it did not.

Endpoints (any other path is /echo):
  /echo                 JSON of the request as received
  /set-cookie           several Set-Cookie headers (see SET_COOKIES)
  /response-hop         a response carrying hop-by-hop headers
  /status?code=N        answers N (no body for 1xx/204/304/HEAD)
  /dated                a short text answer with a Date field
  /big?bytes=N&mode=length|chunked|close   N pattern bytes, streamed (byte i = i % 256);
                        close: no Content-Length, the end of the body is the end of the connection
  /upload[?delay=S]     counts and discards the body; JSON {bytes, sha256}
  /slow?seconds=S       waits S seconds before the response head
  /stall-body?seconds=S head (Content-Length) + 10 bytes, stall S s, then the rest
  /close-mid-body?mode=length|chunked   head, part of the body, then close
  /drop                 closes the connection without any response
  /close-after          answers with Connection: close, then closes
  /challenge            401 with `WWW-Authenticate: Basic realm="upstream"` (and a Bearer challenge)
  /ws                   WebSocket echo (handshake done here, frames echoed)
  /ws-close-after-one   WebSocket: echo one message, then close the TCP stream

Used in-process (``Upstream(...).start()``) by the harness, or standalone:
  python3 test_upstream.py [--host 127.0.0.1] [--port 0] [--tls CERT KEY]
which prints ``listening on http(s)://HOST:PORT`` and serves until killed.
"""

import base64
import email.utils
import hashlib
import json
import socket
import ssl
import sys
import threading
import time
import urllib.parse

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEAD = 1024 * 1024
MAX_CONNECTIONS = 128
KEEP_BODY = 1024 * 1024  # bodies up to this size are kept for /echo

PATTERN_BLOCK = bytes(range(256)) * 256  # 64 KiB; byte i of any stream is i % 256

SET_COOKIES = [
    "SESSION=abc123; Path=/; HttpOnly; Secure; SameSite=Lax",
    "theme=dark; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/",
    "big=" + ("x" * 4000) + "; Path=/api",
    "empty=; Max-Age=0",
]


def ws_accept(key):
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def pattern(offset, length):
    """The bytes [offset, offset+length) of the /big stream; length <= 65536."""
    start = offset % 256
    return (PATTERN_BLOCK + PATTERN_BLOCK[:512])[start:start + length]


class BadRequest(Exception):
    pass


class Record:
    """One request as the upstream saw it."""

    def __init__(self, conn_id, seq, method, target, version, headers):
        self.conn_id = conn_id
        self.seq = seq
        self.method = method
        self.target = target
        self.path = urllib.parse.urlsplit(target).path
        self.version = version
        self.headers = headers  # list of (name, value) as received, in order
        self.body_len = 0
        self.body_sha256 = None
        self.body_complete = False
        self.body_error = None
        self.time = time.monotonic()

    def header_values(self, name):
        name = name.lower()
        return [v for (n, v) in self.headers if n.lower() == name]

    def header(self, name, default=None):
        vals = self.header_values(name)
        return vals[0] if vals else default

    def as_dict(self):
        return {
            "conn_id": self.conn_id, "seq": self.seq, "method": self.method,
            "target": self.target, "version": self.version,
            "headers": [[n, v] for (n, v) in self.headers],
            "body_len": self.body_len, "body_sha256": self.body_sha256,
            "body_complete": self.body_complete,
        }

    def __repr__(self):
        return "<Record conn=%d %s %s body=%d%s>" % (
            self.conn_id, self.method, self.target, self.body_len,
            "" if self.body_complete else " incomplete")


class ConnInfo:
    def __init__(self, conn_id, peer):
        self.conn_id = conn_id
        self.peer = peer
        self.opened = time.monotonic()
        self.closed = None
        self.bytes_in = 0
        self.requests = 0
        self.idle = False  # waiting for the next request head
        self.sock = None


class _Reader:
    """Buffered reads from a socket with a byte counter."""

    def __init__(self, sock, info):
        self.sock = sock
        self.info = info
        self.buf = bytearray()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            return False
        self.info.bytes_in += len(data)
        self.buf += data
        return True

    def read_head(self):
        """Bytes up to and including CRLFCRLF; None on clean EOF before any byte."""
        while True:
            idx = self.buf.find(b"\r\n\r\n")
            if idx >= 0:
                head = bytes(self.buf[:idx + 4])
                del self.buf[:idx + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("head too large")
            if not self._fill():
                if self.buf:
                    raise BadRequest("EOF inside head")
                return None

    def read_line(self, limit=4096):
        while True:
            idx = self.buf.find(b"\r\n")
            if idx >= 0:
                line = bytes(self.buf[:idx])
                del self.buf[:idx + 2]
                return line
            if len(self.buf) > limit:
                raise BadRequest("line too long")
            if not self._fill():
                raise EOFError("EOF inside line")

    def read_some(self, maxlen):
        if not self.buf and not self._fill():
            raise EOFError("EOF inside body")
        n = min(maxlen, len(self.buf))
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_exact(self, n):
        out = bytearray()
        while len(out) < n:
            out += self.read_some(n - len(out))
        return bytes(out)


def parse_head(head):
    lines = head[:-4].split(b"\r\n")
    try:
        method, target, version = lines[0].decode("latin-1").split(" ")
    except ValueError:
        raise BadRequest("bad request line %r" % lines[0][:200])
    if not version.startswith("HTTP/1."):
        raise BadRequest("bad version")
    headers = []
    for raw in lines[1:]:
        if raw[:1] in (b" ", b"\t"):
            raise BadRequest("obs-fold")
        if b"\r" in raw or b"\x00" in raw or b"\n" in raw:
            raise BadRequest("bad character in header")
        name, sep, value = raw.partition(b":")
        if not sep or not name or name != name.strip():
            raise BadRequest("bad header line %r" % raw[:200])
        headers.append((name.decode("latin-1"), value.strip(b" \t").decode("latin-1")))
    return method, target, version, headers


class Upstream:
    """The test upstream. ``start()`` returns self; ``port`` is the bound port."""

    def __init__(self, host="127.0.0.1", port=0, tls=None, name="upstream"):
        self.host = host
        self.name = name
        self._tls_ctx = None
        if tls:
            cert, key = tls
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            ctx.set_alpn_protocols(["http/1.1"])
            self._tls_ctx = ctx
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._lsock = socket.socket(family, socket.SOCK_STREAM)
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind((host, port))
        self._lsock.listen(128)
        self.port = self._lsock.getsockname()[1]
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self.records = []
        self.connections = []
        self._socks = set()
        self._next_conn = 0
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._stopping = False
        self._thread = None

    # -- public API -------------------------------------------------------

    @property
    def url(self):
        scheme = "https" if self._tls_ctx else "http"
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (scheme, host, self.port)

    def start(self):
        self._thread = threading.Thread(target=self._accept_loop, name="upstream-accept", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        try:
            self._lsock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        try:
            self._lsock.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        if self._thread:
            self._thread.join(timeout=5)

    def close_idle(self):
        """Close every keep-alive connection that waits for a request (as an
        upstream with a short idle timeout would). Returns how many."""
        with self._lock:
            idle = [c for c in self.connections if c.closed is None and c.idle and c.sock is not None]
        for c in idle:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(idle)

    def requests(self, path=None):
        with self._lock:
            return [r for r in self.records if path is None or r.path == path]

    def clear(self):
        with self._lock:
            self.records.clear()

    def connection_count(self):
        with self._lock:
            return len(self.connections)

    def open_connections(self):
        with self._lock:
            return [c for c in self.connections if c.closed is None]

    def wait_for(self, predicate, timeout=5.0):
        """Wait (bounded) until predicate(self) is true; returns its last value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    return value
                self._cond.wait(min(left, 0.1))

    # -- internals ----------------------------------------------------------

    def _notify(self):
        with self._cond:
            self._cond.notify_all()

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, peer = self._lsock.accept()
            except OSError:
                return
            if not self._slots.acquire(blocking=False):
                sock.close()
                continue
            with self._lock:
                self._next_conn += 1
                info = ConnInfo(self._next_conn, peer)
                self.connections.append(info)
                self._socks.add(sock)
            t = threading.Thread(target=self._serve, args=(sock, info), daemon=True)
            t.start()

    def _serve(self, sock, info):
        try:
            sock.settimeout(120)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._tls_ctx:
                raw = sock
                sock = self._tls_ctx.wrap_socket(raw, server_side=True)
                with self._lock:
                    self._socks.discard(raw)
                    self._socks.add(sock)
            reader = _Reader(sock, info)
            info.sock = sock
            while not self._stopping:
                info.idle = True
                head = reader.read_head()
                info.idle = False
                if head is None:
                    return
                method, target, version, headers = parse_head(head)
                with self._lock:
                    info.requests += 1
                    rec = Record(info.conn_id, info.requests, method, target, version, headers)
                    self.records.append(rec)
                    self._cond.notify_all()
                keep = self._handle(sock, reader, rec)
                self._notify()
                if not keep:
                    return
        except (OSError, EOFError, BadRequest, ssl.SSLError, ValueError):
            return
        finally:
            with self._lock:
                info.closed = time.monotonic()
                self._socks.discard(sock)
                self._cond.notify_all()
            try:
                sock.close()
            except OSError:
                pass
            self._slots.release()

    # body ------------------------------------------------------------------

    def _read_body(self, sock, reader, rec, keep=False):
        """Reads (and hashes) the request body per its framing; returns the
        kept bytes (or None). Sends 100 Continue first when asked for it."""
        te = [v.lower() for v in rec.header_values("transfer-encoding")]
        cls = rec.header_values("content-length")
        expect = (rec.header("expect") or "").lower()
        h = hashlib.sha256()
        kept = bytearray() if keep else None

        def take(data):
            rec.body_len += len(data)
            h.update(data)
            if kept is not None and len(kept) < KEEP_BODY:
                kept.extend(data[:KEEP_BODY - len(kept)])

        if te and cls:
            rec.body_error = "both Content-Length and Transfer-Encoding"
            raise BadRequest(rec.body_error)
        if len(set(cls)) > 1:
            rec.body_error = "differing Content-Length"
            raise BadRequest(rec.body_error)
        has_body = bool(te) or (cls and int(cls[0]) > 0)
        if expect == "100-continue" and has_body:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        try:
            if te:
                if te[-1].split(",")[-1].strip() != "chunked":
                    rec.body_error = "unsupported transfer-encoding"
                    raise BadRequest(rec.body_error)
                while True:
                    line = reader.read_line()
                    size_s = line.split(b";", 1)[0].strip()
                    try:
                        if not size_s or any(c not in b"0123456789abcdefABCDEF" for c in size_s):
                            raise ValueError
                        size = int(size_s, 16)
                    except ValueError:
                        rec.body_error = "bad chunk size %r" % line[:40]
                        raise BadRequest(rec.body_error)
                    if size == 0:
                        while reader.read_line(65536) != b"":  # trailers
                            pass
                        break
                    left = size
                    while left:
                        data = reader.read_some(min(left, 65536))
                        left -= len(data)
                        take(data)
                    if reader.read_line() != b"":
                        rec.body_error = "chunk not followed by CRLF"
                        raise BadRequest(rec.body_error)
            elif cls:
                left = int(cls[0])
                while left:
                    data = reader.read_some(min(left, 65536))
                    left -= len(data)
                    take(data)
        finally:
            rec.body_sha256 = h.hexdigest()
            self._notify()
        rec.body_complete = True
        return bytes(kept) if kept is not None else None

    # responses -------------------------------------------------------------

    @staticmethod
    def _wants_close(rec):
        conn = ",".join(rec.header_values("connection")).lower()
        if rec.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in [t.strip() for t in conn.split(",")]

    def _send(self, sock, rec, status, body=b"", headers=(), ctype="application/json", close=False):
        close = close or self._wants_close(rec)
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Status"))]
        if ctype and status not in (204, 304):
            lines.append("Content-Type: " + ctype)
        lines.extend("%s: %s" % hv for hv in headers)
        if status not in (204, 304) and not 100 <= status < 200:
            lines.append("Content-Length: %d" % len(body))
        lines.append("X-Upstream-Name: " + self.name)
        lines.append("X-Upstream-Conn: %d" % rec.conn_id)
        if close:
            lines.append("Connection: close")
        out = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if rec.method != "HEAD" and status not in (204, 304):
            out += body
        sock.sendall(out)
        return not close

    def _json(self, sock, rec, obj, status=200, headers=()):
        return self._send(sock, rec, status, json.dumps(obj).encode(), headers)

    def _handle(self, sock, reader, rec):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(rec.target).query))
        path = rec.path
        if path in ("/ws", "/ws-close-after-one"):
            return self._websocket(sock, reader, rec, close_after_one=(path == "/ws-close-after-one"))
        if path == "/upload":
            delay = float(q.get("delay", 0))
            if delay:
                time.sleep(delay)
            self._read_body(sock, reader, rec)
            return self._json(sock, rec, {"bytes": rec.body_len, "sha256": rec.body_sha256,
                                          "conn_id": rec.conn_id, "upstream": self.name})
        body = self._read_body(sock, reader, rec, keep=True)
        if path == "/drop":
            return False
        if path == "/close-after":
            self._send(sock, rec, 200, b"closing after this response\n", ctype="text/plain", close=True)
            return False
        if path == "/slow":
            time.sleep(float(q.get("seconds", 2)))
            return self._json(sock, rec, {"slept": float(q.get("seconds", 2)), "upstream": self.name,
                                          "conn_id": rec.conn_id})
        if path == "/set-cookie":
            return self._send(sock, rec, 200, b"cookies set\n",
                              [("Set-Cookie", c) for c in SET_COOKIES], ctype="text/plain")
        if path == "/response-hop":
            return self._send(sock, rec, 200, b"hop\n", [
                ("Connection", "X-Up-Hop, keep-alive"), ("X-Up-Hop", "secret-hop"),
                ("Keep-Alive", "timeout=5, max=100"), ("Proxy-Connection", "keep-alive"),
                ("Trailer", "X-Checksum"), ("Upgrade", "h2c"),
                ("X-End-To-End", "kept")], ctype="text/plain")
        if path == "/dated":
            # A Date field as an origin server sends one (RFC 9110 §6.6.1).
            return self._send(sock, rec, 200, b"dated\n", [("Date", email.utils.formatdate(usegmt=True))],
                              ctype="text/plain")
        if path == "/challenge":
            return self._send(sock, rec, 401, b'{"message":"Unauthorized"}',
                              [("WWW-Authenticate", 'Basic realm="upstream"'),
                               ("WWW-Authenticate", 'Bearer realm="upstream"')])
        if path == "/status":
            code = int(q.get("code", 200))
            text = q.get("body", "status %d from upstream\n" % code).encode()
            return self._send(sock, rec, code, text, ctype="text/plain")
        if path == "/big":
            return self._big(sock, rec, int(q.get("bytes", 0)), q.get("mode", "length"))
        if path == "/stall-body":
            total = int(q.get("len", 1000))
            head = ("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    "Content-Length: %d\r\n\r\n" % total).encode()
            sock.sendall(head + pattern(0, 10))
            time.sleep(float(q.get("seconds", 5)))
            sock.sendall(pattern(10, total - 10))
            return not self._wants_close(rec)
        if path == "/close-mid-body":
            if q.get("mode", "length") == "chunked":
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + pattern(0, 1024) + b"\r\n")
            else:
                sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                             b"Content-Length: 1000000\r\n\r\n" + pattern(0, 1000))
            time.sleep(0.2)
            return False
        # default: echo
        obj = rec.as_dict()
        obj["upstream"] = self.name
        obj["body"] = (body or b"").decode("latin-1")
        return self._json(sock, rec, obj)

    def _big(self, sock, rec, n, mode):
        chunked = mode == "chunked"
        delimited_by_close = mode == "close"
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
        if chunked:
            head += "Transfer-Encoding: chunked\r\n"
        elif not delimited_by_close:
            head += "Content-Length: %d\r\n" % n
        head += "X-Upstream-Conn: %d\r\n" % rec.conn_id
        close = self._wants_close(rec) or delimited_by_close
        if close:
            head += "Connection: close\r\n"
        sock.sendall((head + "\r\n").encode())
        if rec.method == "HEAD":
            return not close
        sent = 0
        while sent < n:
            k = min(len(PATTERN_BLOCK), n - sent)
            data = PATTERN_BLOCK[:k]  # sent is always a multiple of 65536 here
            if chunked:
                sock.sendall(b"%x\r\n" % k + data + b"\r\n")
            else:
                sock.sendall(data)
            sent += k
        if chunked:
            sock.sendall(b"0\r\n\r\n")
        return not close

    # websocket -------------------------------------------------------------

    def _websocket(self, sock, reader, rec, close_after_one=False):
        key = rec.header("sec-websocket-key")
        upgrade = (rec.header("upgrade") or "").lower()
        conn = ",".join(rec.header_values("connection")).lower()
        if not key or upgrade != "websocket" or "upgrade" not in conn:
            return self._send(sock, rec, 400, b"not a websocket handshake\n", ctype="text/plain")
        rec.body_complete = True
        resp = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Accept: %s\r\nX-Upstream-Conn: %d\r\n\r\n" % (ws_accept(key), rec.conn_id))
        sock.sendall(resp.encode())
        while True:
            b0, b1 = reader.read_exact(2)
            opcode = b0 & 0x0F
            masked = b1 & 0x80
            length = b1 & 0x7F
            if length == 126:
                length = int.from_bytes(reader.read_exact(2), "big")
            elif length == 127:
                length = int.from_bytes(reader.read_exact(8), "big")
            mask = reader.read_exact(4) if masked else None
            payload = bytearray(reader.read_exact(length))
            if mask:
                for i in range(len(payload)):
                    payload[i] ^= mask[i % 4]
            if opcode == 0x8:
                sock.sendall(ws_frame(0x8, bytes(payload[:2])))
                return False
            if opcode == 0x9:
                sock.sendall(ws_frame(0xA, bytes(payload)))
                continue
            sock.sendall(ws_frame(opcode, bytes(payload), fin=bool(b0 & 0x80)))
            if close_after_one:
                return False


def ws_frame(opcode, payload, fin=True, mask=None):
    """Encode one WebSocket frame (mask: 4 bytes for client frames, None for server)."""
    b0 = (0x80 if fin else 0) | opcode
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        hdr = bytes([b0, mbit | n])
    elif n < 65536:
        hdr = bytes([b0, mbit | 126]) + n.to_bytes(2, "big")
    else:
        hdr = bytes([b0, mbit | 127]) + n.to_bytes(8, "big")
    if mask:
        p = bytearray(payload)
        for i in range(n):
            p[i] ^= mask[i % 4]
        return hdr + mask + bytes(p)
    return hdr + payload


REASONS = {100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 204: "No Content",
           301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 418: "I'm a teapot",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def main(argv):
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--name", default="upstream")
    args = ap.parse_args(argv)
    up = Upstream(args.host, args.port, tls=args.tls, name=args.name).start()
    print("listening on %s" % up.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        up.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
