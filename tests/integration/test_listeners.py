"""A listening address belongs to one process: a second airgate (same user,
same address) must fail to start with exit 78 and a message naming the
listener, and must not take a share of the first one's connections (no
SO_REUSEPORT)."""

import os
import time

from harness import AirgateTestCase, free_port, tls_listener, request_bytes

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "vectors", "users.htpasswd")) as _f:
    HASH = next(line.split(":", 1)[1].strip() for line in _f if line.startswith("bcrypt_2y:"))


class ExclusiveListenerTest(AirgateTestCase):
    def test_second_process_on_the_same_address_exits_78_and_the_first_keeps_every_connection(self):
        up = self.start_upstream()
        port = free_port()
        listen = [tls_listener(self.pki, address="127.0.0.1:%d" % port)]
        # The first instance requires a password; the second would let
        # everyone from loopback in, so any request it answers shows as a 200.
        first = self.start_airgate(self.config(
            up, listen=listen, auth={"basic": {"users": [{"user": "alice", "hash": HASH}]},
                                     "throttle": {"max_failures": 1000000}}))
        second = self.start_airgate(self.config(up, listen=listen, auth={"allow": ["127.0.0.1"]}),
                                    wait=False)
        code = second.wait_exit(15)
        self.assertIsNotNone(code, "a second airgate on 127.0.0.1:%d started and shares the listener\n%s"
                             % (port, second.logs()))
        self.assertEqual(code, 78, second.logs())
        self.assertIn("listener 127.0.0.1:%d: address already in use (is another airgate or nginx running?)"
                      % port, second.stderr())

        statuses = []
        for i in range(50):
            c = self.raw(first)
            c.send(request_bytes("GET", "/echo?n=%d" % i))
            statuses.append(c.read_response().status)
            c.close()
        self.assertEqual(statuses, [401] * 50, "requests answered by another process: %r" % statuses)
        self.assertEqual([r for r in up.requests() if r.target.startswith("/echo?n=")], [],
                         "unauthenticated requests reached the upstream")

    def test_port_0_listeners_get_one_port_served_by_every_worker(self):
        up = self.start_upstream()
        ag = self.start_airgate(self.config(up, workers=3))
        for i in range(20):
            c = self.raw(ag)
            c.send(request_bytes("GET", "/echo?w=%d" % i))
            self.assertEqual(c.read_response().status, 200)
            c.close()

    def test_restart_on_the_same_port_right_after_stop(self):
        """SO_REUSEADDR is kept: connections in TIME_WAIT do not block a restart."""
        up = self.start_upstream()
        port = free_port()
        cfg = self.config(up, listen=[tls_listener(self.pki, address="127.0.0.1:%d" % port)])
        ag = self.start_airgate(cfg)
        for i in range(5):
            c = self.raw(ag)
            c.send(request_bytes("GET", "/echo?before=%d" % i, headers=[("Connection", "close")]))
            self.assertEqual(c.read_response().status, 200)
            c.close()
        self.assertEqual(ag.stop(), 0)
        t0 = time.monotonic()
        again = self.start_airgate(cfg)
        self.assertLess(time.monotonic() - t0, 10)
        c = self.raw(again)
        c.send(request_bytes("GET", "/echo?after"))
        self.assertEqual(c.read_response().status, 200)


if __name__ == "__main__":
    import unittest
    unittest.main()
