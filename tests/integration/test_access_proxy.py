"""Client address (design §3 step 3): trusted_proxies and X-Forwarded-For,
PROXY protocol v1 and v2 on listeners with proxy_protocol: true -- what the
allowlist decides, what the upstream sees (X-Real-IP, X-Forwarded-For) and
what the access log records."""

import socket
import ssl
import struct
import time
import unittest

from harness import RawConn, ConnectionClosed, request_bytes, tls_listener
from test_access_basic import AccessBase

CLIENT = "203.0.113.7"
OTHER = "198.51.100.9"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v1(src, dst="127.0.0.1", sport=51234, dport=8443, proto=None):
    proto = proto or ("TCP6" if ":" in src else "TCP4")
    return ("PROXY %s %s %s %d %d\r\n" % (proto, src, dst, sport, dport)).encode("ascii")


def proxy_v2(src=None, dst=None, sport=51234, dport=8443, local=False, tlvs=b""):
    """A PROXY protocol v2 header (HAProxy spec §2.2)."""
    if local:
        ver_cmd, fam, addr = 0x20, 0x00, b""
    elif ":" in src:
        ver_cmd, fam = 0x21, 0x21  # PROXY, TCP over IPv6
        addr = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst or "::1") + \
            struct.pack("!HH", sport, dport)
    else:
        ver_cmd, fam = 0x21, 0x11  # PROXY, TCP over IPv4
        addr = socket.inet_pton(socket.AF_INET, src) + socket.inet_pton(socket.AF_INET, dst or "127.0.0.1") + \
            struct.pack("!HH", sport, dport)
    body = addr + tlvs
    return V2_SIG + bytes([ver_cmd, fam]) + struct.pack("!H", len(body)) + body


def tlv(kind, value):
    return bytes([kind]) + struct.pack("!H", len(value)) + value


class ProxyBase(AccessBase):
    def proxy_conn(self, ag, header, listener=0, coalesce=False, split=False):
        """A raw TCP connection that sends ``header`` then does TLS on the same socket."""
        lst = ag.listeners[listener]
        c = RawConn(lst.port, host=lst.host, tls=False, timeout=10)
        self.addCleanup(c.close)
        if split:
            for i in range(0, len(header), 5):
                c.raw.sendall(header[i:i + 5])
                time.sleep(0.01)
        elif coalesce:
            # MSG_MORE corks the header so it leaves with the ClientHello in one segment.
            c.raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
            c.raw.send(header, socket.MSG_MORE)
        else:
            c.raw.sendall(header)
        c.sock = self.ctx().wrap_socket(c.raw, server_hostname=lst.host)
        return c

    def assert_closed(self, ag, header, listener=0, what=""):
        """The server drops the connection: the TLS handshake fails, or no response comes."""
        lst = ag.listeners[listener]
        c = RawConn(lst.port, host=lst.host, tls=False, timeout=10)
        self.addCleanup(c.close)
        if header:
            c.raw.sendall(header)
        try:
            c.sock = self.ctx().wrap_socket(c.raw, server_hostname=lst.host)
        except (ssl.SSLError, OSError):
            return
        try:
            c.send(request_bytes("GET", "/echo?should-not-pass"))
            resp = c.read_response()
        except (ConnectionClosed, ssl.SSLError, OSError):
            return
        self.fail("%s: connection not closed, got %r %r" % (what, resp, resp.body[:200]))


class XForwardedForTest(ProxyBase):
    def test_trusted_proxy_xff_allows(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": [CLIENT + "/32"]}, trusted_proxies=["127.0.0.1/32"])
        resp, rec = self.get(ag, up, [("X-Forwarded-For", CLIENT), ("User-Agent", "xff-trusted")])
        self.assertEqual(resp.status, 200, resp.body[:200])
        self.assertEqual(rec.header_values("X-Real-IP"), [CLIENT])
        self.assertEqual(rec.header_values("X-Forwarded-For"), [CLIENT + ", 127.0.0.1"])
        line = self.log_line(ag, "xff-trusted")
        self.assertTrue(line.startswith(CLIENT + " "), "access log should record the resolved client: " + line)

    def test_untrusted_peer_spoofed_xff_ignored(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": [CLIENT + "/32"]})  # trusted_proxies empty
        resp, rec = self.get(ag, up, [("X-Forwarded-For", CLIENT), ("User-Agent", "xff-spoof")])
        self.assertEqual(resp.status, 403, resp.body[:200])
        self.assertIsNone(rec)
        line = self.log_line(ag, "xff-spoof")
        self.assertTrue(line.startswith("127.0.0.1 "), "spoofed XFF must not be the logged client: " + line)
        self.assertEqual(self.reason_of(line), "ip_not_allowed")

    def test_trusted_list_not_matching_peer_ignores_xff(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": [CLIENT + "/32"]}, trusted_proxies=["10.0.0.0/8"])
        self.assertEqual(self.status(ag, up, [("X-Forwarded-For", CLIENT)]), 403)

    def test_untrusted_peer_upstream_headers(self):
        up = self.start_upstream()
        ag = self.start(up)
        resp, rec = self.get(ag, up, [("X-Forwarded-For", CLIENT), ("X-Real-IP", CLIENT)])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("X-Real-IP"), ["127.0.0.1"])
        self.assertEqual(rec.header_values("X-Forwarded-For"), [CLIENT + ", 127.0.0.1"])

    def test_rightmost_untrusted_entry_is_the_client(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": [CLIENT + "/32"]}, trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"])
        cases = [
            ("%s, %s, 10.1.2.3" % (OTHER, CLIENT), 200, CLIENT),   # left-most spoofed entry not believed
            ("%s, %s" % (CLIENT, OTHER), 403, OTHER),              # spoofing to the left does not help
            ("%s:5678" % CLIENT, 200, CLIENT),                     # host:port accepted
            ("10.0.0.1, 10.0.0.2", 403, "10.0.0.1"),               # all trusted: the left-most
            ("::ffff:%s" % CLIENT, 200, None),                     # IPv4-mapped matches the IPv4 rule
        ]
        for xff, status, client in cases:
            with self.subTest(xff=xff):
                resp, rec = self.get(ag, up, [("X-Forwarded-For", xff)])
                self.assertEqual(resp.status, status, "XFF %r: %r" % (xff, resp))
                if status == 200 and client:
                    self.assertEqual(rec.header_values("X-Real-IP"), [client])

    def test_several_xff_headers_are_one_list(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": [CLIENT + "/32"]}, trusted_proxies=["127.0.0.1/32", "10.0.0.0/8"])
        resp, rec = self.get(ag, up, [("X-Forwarded-For", OTHER + ", " + CLIENT),
                                      ("X-Forwarded-For", "10.9.9.9")])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("X-Real-IP"), [CLIENT])
        self.assertEqual(rec.header_values("X-Forwarded-For"), ["%s, %s, 10.9.9.9, 127.0.0.1" % (OTHER, CLIENT)])

    def test_garbage_entry_stops_the_walk(self):
        up = self.start_upstream()
        ag = self.start(up, trusted_proxies=["127.0.0.1/32"])
        for xff in (CLIENT + ", unknown", CLIENT + ", not an ip", CLIENT + ", 999.1.1.1"):
            with self.subTest(xff=xff):
                resp, rec = self.get(ag, up, [("X-Forwarded-For", xff)])
                self.assertEqual(resp.status, 200)
                self.assertEqual(rec.header_values("X-Real-IP"), ["127.0.0.1"],
                                 "nothing left of a garbage entry may be believed")

    def test_ipv6_xff_entries(self):
        up = self.start_upstream()
        ag = self.start(up, {"allow": ["2001:db8::/32"]}, trusted_proxies=["127.0.0.1/32"])
        for xff in ("2001:db8::1", "[2001:db8::1]:443"):
            with self.subTest(xff=xff):
                resp, rec = self.get(ag, up, [("X-Forwarded-For", xff)])
                self.assertEqual(resp.status, 200, "XFF %r: %r" % (xff, resp))
                self.assertEqual(rec.header_values("X-Real-IP"), ["2001:db8::1"])


class ProxyProtocolTest(ProxyBase):
    ALLOW = [CLIENT + "/32", "2001:db8::/32"]

    def start_pp(self, up, trusted=("127.0.0.1/32",), auth=None):
        listener = tls_listener(self.pki)
        listener["proxy_protocol"] = True
        return self.start(up, auth, listen=[listener], trusted_proxies=list(trusted))

    def request_on(self, ag, up, c, headers=()):
        return self.get(ag, up, headers, conn=c)

    def test_v1_and_v2_source_used_for_allowlist_and_upstream(self):
        up = self.start_upstream()
        ag = self.start_pp(up, auth={"allow": self.ALLOW})
        cases = [
            ("v1 tcp4", proxy_v1(CLIENT), CLIENT),
            ("v1 tcp6", proxy_v1("2001:db8::7", "::1"), "2001:db8::7"),
            ("v2 ipv4", proxy_v2(CLIENT), CLIENT),
            ("v2 ipv6", proxy_v2("2001:db8::7", "::1"), "2001:db8::7"),
            ("v2 with TLVs", proxy_v2(CLIENT, tlvs=tlv(0x01, b"http/1.1") + tlv(0x02, b"airbyte.example") +
                                      tlv(0x04, b"")), CLIENT),
        ]
        for name, header, client in cases:
            for mode in ("separate", "coalesced", "split"):
                with self.subTest(header=name, mode=mode):
                    c = self.proxy_conn(ag, header, coalesce=mode == "coalesced", split=mode == "split")
                    resp, rec = self.request_on(ag, up, c, [("User-Agent", "pp-%s-%s" % (name, mode))])
                    self.assertEqual(resp.status, 200, "%s: %r %r" % (name, resp, resp.body[:200]))
                    self.assertEqual(rec.header_values("X-Real-IP"), [client])
                    self.assertEqual(rec.header_values("X-Forwarded-For"), [client])
                    line = self.log_line(ag, "pp-%s-%s" % (name, mode))
                    self.assertTrue(line.startswith(client + " "), line)
                    # keep-alive: the next request on the connection keeps the address
                    resp, rec = self.request_on(ag, up, c)
                    self.assertEqual(resp.status, 200)
                    self.assertEqual(rec.header_values("X-Real-IP"), [client])

    def test_source_not_listed_403(self):
        up = self.start_upstream()
        ag = self.start_pp(up, auth={"allow": self.ALLOW})
        for name, header in (("v1", proxy_v1(OTHER)), ("v2", proxy_v2(OTHER)),
                             ("v2 ipv6", proxy_v2("2001:db9::1", "::1"))):
            with self.subTest(header=name):
                c = self.proxy_conn(ag, header)
                resp, rec = self.request_on(ag, up, c)
                self.assertEqual(resp.status, 403, "%s: %r" % (name, resp))
                self.assertIsNone(rec)

    def test_local_and_unknown_use_the_peer(self):
        up = self.start_upstream()
        ag = self.start_pp(up)
        for name, header in (("v2 LOCAL", proxy_v2(local=True)), ("v1 UNKNOWN", b"PROXY UNKNOWN\r\n"),
                             ("v1 UNKNOWN with addresses", b"PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n")):
            with self.subTest(header=name):
                c = self.proxy_conn(ag, header)
                resp, rec = self.request_on(ag, up, c)
                self.assertEqual(resp.status, 200, "%s: %r" % (name, resp))
                self.assertEqual(rec.header_values("X-Real-IP"), ["127.0.0.1"])

    def test_local_denied_by_allowlist(self):
        up = self.start_upstream()
        ag = self.start_pp(up, auth={"allow": self.ALLOW})
        c = self.proxy_conn(ag, proxy_v2(local=True))
        self.assertEqual(self.request_on(ag, up, c)[0].status, 403)

    def test_xff_after_proxy_header_believed_only_from_trusted_source(self):
        up = self.start_upstream()
        # the PROXY source 10.1.1.1 is itself a trusted proxy: XFF behind it is believed
        ag = self.start_pp(up, trusted=("127.0.0.1/32", "10.0.0.0/8"), auth={"allow": self.ALLOW})
        c = self.proxy_conn(ag, proxy_v1("10.1.1.1"))
        resp, rec = self.request_on(ag, up, c, [("X-Forwarded-For", CLIENT)])
        self.assertEqual(resp.status, 200)
        self.assertEqual(rec.header_values("X-Real-IP"), [CLIENT])
        # an untrusted PROXY source: its XFF is a spoof
        c = self.proxy_conn(ag, proxy_v1(OTHER))
        resp, rec = self.request_on(ag, up, c, [("X-Forwarded-For", CLIENT)])
        self.assertEqual(resp.status, 403)

    def test_untrusted_peer_connection_closed(self):
        up = self.start_upstream()
        for trusted in ((), ("10.0.0.0/8",)):
            ag = self.start_pp(up, trusted=trusted)
            for name, header in (("v1", proxy_v1(CLIENT)), ("v2", proxy_v2(CLIENT))):
                with self.subTest(trusted=trusted, header=name):
                    self.assert_closed(ag, header, what="PROXY %s from untrusted peer" % name)
            self.assertEqual(up.requests(), [])
            self.assertIsNone(ag.proc.poll())
            ag.stop()

    def test_missing_or_invalid_header_connection_closed(self):
        up = self.start_upstream()
        ag = self.start_pp(up)
        cases = {
            "no header, TLS directly": b"",
            "garbage": b"HELLO WORLD\r\n",
            "v1 bad address": b"PROXY TCP4 999.1.1.1 127.0.0.1 1 2\r\n",
            "v1 family mismatch": b"PROXY TCP4 2001:db8::1 127.0.0.1 1 2\r\n",
            "v1 without CRLF, too long": b"PROXY TCP4 " + b"1" * 200,
            "v2 bad version": V2_SIG + bytes([0x31, 0x11]) + struct.pack("!H", 12) + b"\x00" * 12,
            "v2 short address block": V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", 4) + b"\x00" * 4,
        }
        for name, header in cases.items():
            with self.subTest(case=name):
                self.assert_closed(ag, header, what=name)
        self.assertEqual(up.requests(), [])
        self.assertIsNone(ag.proc.poll(), "airgate died on a bad PROXY header")
        # and a good one still works
        c = self.proxy_conn(ag, proxy_v1(CLIENT))
        self.assertEqual(self.request_on(ag, up, c)[0].status, 200)

    def test_plain_listener_without_proxy_protocol_rejects_header(self):
        """Without proxy_protocol: true a PROXY header is not TLS: the connection fails."""
        up = self.start_upstream()
        ag = self.start(up, trusted_proxies=["127.0.0.1/32"])
        self.assert_closed(ag, proxy_v1(CLIENT), what="PROXY header on a normal listener")


if __name__ == "__main__":
    unittest.main()
