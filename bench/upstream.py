#!/usr/bin/env python3
"""A small HTTP/1.1 upstream for the benchmark (stdlib only).

  upstream.py PORT        listens on 127.0.0.1:PORT (0 = any; the port is
                          printed as "listening on http://127.0.0.1:N")

Every request gets "200 ok" after its whole body has been read and thrown away
(Content-Length or chunked), on a keep-alive connection. bench/run uses it as
the discarding upstream of the 200 MB upload (scenario 5: the answer comes
only after the last byte, so the upload time is the proxy's), and as the plain
upstream when nginx is not installed (the smoke test).
"""
import socket
import sys
import threading

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n"
CHUNK = 1 << 18


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = bytearray()
        self.scratch = bytearray(CHUNK)

    def fill(self):
        n = self.sock.recv_into(self.scratch)
        if n == 0:
            raise EOFError
        self.buf += memoryview(self.scratch)[:n]

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self.fill()

    def discard(self, n):
        take = min(n, len(self.buf))
        del self.buf[:take]
        n -= take
        view = memoryview(self.scratch)
        while n > 0:
            got = self.sock.recv_into(view, min(n, CHUNK))
            if got == 0:
                raise EOFError
            n -= got

    def serve(self):
        while True:
            while True:
                i = self.buf.find(b"\r\n\r\n")
                if i >= 0:
                    break
                if len(self.buf) > 1 << 20:
                    return
                self.fill()
            head = bytes(self.buf[:i]).decode("latin-1")
            del self.buf[:i + 4]
            length, chunked, close = 0, False, False
            for h in head.split("\r\n")[1:]:
                name, _, value = h.partition(":")
                name, value = name.strip().lower(), value.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding" and "chunked" in value:
                    chunked = True
                elif name == "connection" and "close" in value:
                    close = True
            if chunked:
                while True:
                    size = int(self.line().split(b";")[0], 16)
                    if size == 0:
                        while self.line():
                            pass
                        break
                    self.discard(size + 2)
            else:
                self.discard(length)
            self.sock.sendall(RESPONSE)
            if close:
                return


def handle(sock):
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        Conn(sock).serve()
    except (EOFError, OSError, ValueError):
        pass
    finally:
        sock.close()


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", port))
    ls.listen(1024)
    print("listening on http://127.0.0.1:%d" % ls.getsockname()[1], file=sys.stderr, flush=True)
    while True:
        sock, _ = ls.accept()
        threading.Thread(target=handle, args=(sock,), daemon=True).start()


if __name__ == "__main__":
    main()
