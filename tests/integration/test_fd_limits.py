"""Open-file limits: under a low RLIMIT_NOFILE, idle connections beyond what
the descriptors allow must not flood the log with "Too many open files", and
once they close a normal request is served promptly. Without
limits.max_connections the cap is derived from the limit, so accept() never
runs out of descriptors in the first place."""

import os
import resource
import socket
import time
import unittest

from harness import AirgateTestCase, request_bytes, RawConn

NOFILE = 200  # soft = hard: airgate cannot raise it
# "Promptly": a hang guard, generous under sanitizers.
PROMPT = 10.0 if os.environ.get("AIRGATE_SANITIZER") == "1" else 3.0


def _raise_own_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard) if hard != resource.RLIM_INFINITY else n, hard))


def cpu_seconds(pid):
    """User + system CPU time of a process, from /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class FdLimitTest(AirgateTestCase):
    IDLE = 400

    def setUp(self):
        super().setUp()
        _raise_own_limit(self.IDLE + 200)
        self.up = self.start_upstream()

    def start(self, **limits):
        cfg = self.config(self.up, listen=[{"address": "127.0.0.1:0"}], workers=2, limits=limits)
        return self.start_airgate(cfg, nofile=(NOFILE, NOFILE))

    @staticmethod
    def admin_host(ag):
        return ag.admin.host.strip("[]")

    def open_idle(self, ag, n):
        socks = []
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", ag.port), timeout=5)
            socks.append(s)
        self.addCleanup(lambda: [s.close() for s in socks])
        return socks

    def served_promptly(self, ag, budget=PROMPT + 5):
        t0 = time.monotonic()
        c = RawConn(ag.port, tls=False, timeout=budget)
        self.addCleanup(c.close)
        c.send(request_bytes("GET", "/echo?after-idle"))
        status = c.read_response().status
        return status, time.monotonic() - t0

    def emfile_lines(self, ag):
        return [l for l in ag.stderr().splitlines()
                if "accept failed" in l or "Too many open files" in l]

    @unittest.skipIf(os.environ.get("AIRGATE_SANITIZER") == "1",
                     "the sanitizer runtime needs descriptors of its own: with the table full, UBSan's vptr "
                     "check cannot probe memory (it uses a pipe) and reports a valid object as invalid")
    def test_configured_above_the_limit_warns_and_does_not_flood_the_log(self):
        ag = self.start(max_connections=5000)
        socks = self.open_idle(ag, self.IDLE)
        # A connection waiting on the admin endpoint too: with no descriptor
        # free, its accept loop must pause like the listeners', not spin.
        admin = socket.create_connection((self.admin_host(ag), ag.admin.port), timeout=5)
        self.addCleanup(admin.close)
        cpu0 = cpu_seconds(ag.pid)
        time.sleep(3.0)  # airgate keeps hitting EMFILE meanwhile
        cpu = cpu_seconds(ag.pid) - cpu0
        self.assertLess(cpu, 1.5, "airgate used %.1f CPU-s in 3 s while out of descriptors (an accept loop spins)"
                        % cpu)
        lines = self.emfile_lines(ag)
        self.assertGreaterEqual(len(lines), 1, "no accept failure logged at all\n" + ag.logs())
        self.assertLessEqual(len(lines), 3, "accept failures flood the log (%d lines in 3 s):\n%s"
                             % (len(lines), "\n".join(lines[:10])))
        for s in socks:
            s.close()
        status, elapsed = self.served_promptly(ag)
        self.assertEqual(status, 200)
        self.assertLess(elapsed, PROMPT, "a request after the idle connections closed waited %.1f s" % elapsed)
        self.assertIn("limits.max_connections is 5000 but the open files limit (%d)" % NOFILE, ag.stderr())

    def test_max_connections_derived_from_the_limit(self):
        ag = self.start()
        socks = self.open_idle(ag, self.IDLE)
        time.sleep(1.5)
        self.assertEqual(self.emfile_lines(ag)[:5], [], "the derived cap still ran out of descriptors")
        for s in socks:
            s.close()
        status, elapsed = self.served_promptly(ag)
        self.assertEqual(status, 200)
        self.assertLess(elapsed, PROMPT, "a request after the idle connections closed waited %.1f s" % elapsed)
        derived = (NOFILE - 64) // 2
        self.assertIn("max_connections %d (derived from the open files limit)" % derived, ag.stderr())


if __name__ == "__main__":
    import unittest
    unittest.main()
