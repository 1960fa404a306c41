"""systemd readiness (Type=notify) on the real binary: with $NOTIFY_SOCKET
pointing at a datagram socket the test binds (a path, and an abstract name),
airgate sends READY=1 once every listener answers, RELOADING=1 (with
MONOTONIC_USEC) and READY=1 with the result around a SIGHUP reload (ok, and
failed with the reason), and STOPPING=1 on SIGTERM. Without $NOTIFY_SOCKET it
starts as before; a malformed one is logged and ignored.
"""

import os
import signal
import socket
import time
import unittest

from harness import AirgateTestCase, write_config

TIMEOUT = 15


def parse(datagram):
    fields = {}
    for line in datagram.decode().split("\n"):
        if line:
            key, _, value = line.partition("=")
            fields[key] = value
    return fields


class NotifyTest(AirgateTestCase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()

    def notify_socket(self, abstract):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        if abstract:
            name = "airgate-test-notify-%d-%d" % (os.getpid(), time.monotonic_ns())
            s.bind("\0" + name)
            env_value = "@" + name
        else:
            path = os.path.join(self.tmp, "notify.sock")
            s.bind(path)
            env_value = path
        s.settimeout(TIMEOUT)
        return s, env_value

    def receive(self, sock, ag, key):
        """The next message; fails if it does not carry `key`=1 or none comes in time."""
        try:
            data = sock.recv(4096)
        except socket.timeout:
            self.fail("no notification (%s expected) within %d s\n%s" % (key, TIMEOUT, ag.logs()))
        fields = parse(data)
        self.assertEqual(fields.get(key), "1", "expected %s=1, got %r" % (key, data))
        return fields

    def lifecycle(self, abstract):
        sock, env_value = self.notify_socket(abstract)
        users = os.path.join(self.tmp, "users")
        with open(users, "w") as f:
            f.write("alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n")
        cfg = self.config(self.up, auth={"basic": {"users_file": users}})
        ag = self.start_airgate(cfg, wait=False, env={"NOTIFY_SOCKET": env_value})

        ready = self.receive(sock, ag, "READY")
        # Ready means answering: the listener is bound and accepts at once.
        ag.wait_ready(timeout=1)
        self.assertIn("serving on https://127.0.0.1:%d" % ag.port, ready.get("STATUS", ""))
        status, _, _ = self.request(ag, "GET", "/")
        self.assertEqual(status, 401)

        ag.signal(signal.SIGHUP)
        reloading = self.receive(sock, ag, "RELOADING")
        usec = int(reloading["MONOTONIC_USEC"])
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.assertLess(abs(now - usec), 10 * 1000000, "MONOTONIC_USEC is CLOCK_MONOTONIC in microseconds")
        after = self.receive(sock, ag, "READY")
        self.assertEqual(after.get("STATUS"), "reload ok (SIGHUP)")

        # A broken users file: the reload is rejected and systemd is told why.
        with open(users, "w") as f:
            f.write("no colon here\n")
        ag.signal(signal.SIGHUP)
        self.receive(sock, ag, "RELOADING")
        failed = self.receive(sock, ag, "READY")
        self.assertTrue(failed.get("STATUS", "").startswith("reload failed: "), failed)
        self.assertIn("previous configuration keeps serving", failed["STATUS"])
        status, _, _ = self.request(ag, "GET", "/")
        self.assertEqual(status, 401, "still serving after the rejected reload")

        ag.signal(signal.SIGTERM)
        self.receive(sock, ag, "STOPPING")
        self.assertEqual(ag.wait_exit(TIMEOUT), 0, ag.logs())

    def test_path_socket(self):
        self.lifecycle(abstract=False)

    def test_abstract_socket(self):
        self.lifecycle(abstract=True)

    def test_malformed_notify_socket_is_logged_and_ignored(self):
        ag = self.start_airgate(self.config(self.up), env={"NOTIFY_SOCKET": "not-a-path"})
        self.assertIn('systemd notifications off: NOTIFY_SOCKET="not-a-path"', ag.stderr())
        status, _, _ = self.request(ag, "GET", "/")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
