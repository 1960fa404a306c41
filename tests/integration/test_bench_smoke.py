"""Smoke run of the benchmark harness (bench/run, issue 6), so it does not rot.

One scenario (keep-alive GET), airgate only, one 2-second run, with the
harness's own stdlib upstream (bench/upstream.py) and load loop
(bench/pyload.py): it needs nothing beyond what `make test` has (airgate,
python3, openssl). No timing is asserted: only that the harness runs end to
end, measures requests and CPU, and writes its markdown and JSON reports.
A second test runs the HTTP/2 scenario 11 the same way (--quick, 2 s, no
warm-up; h2load, skipped when it is not installed), a third the idle HTTP/2
scenarios 13 and 14 with 50 connections (python3-h2, as test_http2 needs).
The last runs bench/instructions (callgrind) on airgate with a few requests.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import SANITIZER, require_binary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "bench", "run")


class BenchSmoke(unittest.TestCase):
    def run_bench(self, args, prefix):
        """bench/run with `args` into a temporary folder; asserts it succeeded,
        returns (stderr, results.json, results.md)."""
        with tempfile.TemporaryDirectory(prefix=prefix) as out:
            cmd = [sys.executable, RUN] + args + ["--no-chart", "--max-minutes", "3", "--airgate", require_binary(),
                                                  "--out", out]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
            self.assertEqual(p.returncode, 0, "bench/run failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-3000:]))
            with open(os.path.join(out, "results.json")) as f:
                report = json.load(f)
            with open(os.path.join(out, "results.md"), encoding="utf-8") as f:
                md = f.read()
        return p.stderr, report, md

    def test_one_scenario_end_to_end(self):
        stderr, report, md = self.run_bench(
            ["--scenarios", "1", "--proxies", "airgate", "--reps", "1", "--duration", "2", "--warmup", "0",
             "--connections", "4", "--load", "python", "--upstream", "python"], "bench-smoke-")
        self.assertIn("scenario 1/1 keepalive | airgate | run 1/1", stderr)
        run = report["runs"][0]
        self.assertEqual((run["scenario"], run["proxy"]), (1, "airgate"))
        r = run["results"][0]
        self.assertGreater(r["requests"], 0)
        self.assertEqual(r["errors"], 0)
        self.assertIsNotNone(r["cpu_per_10k"])
        self.assertGreater(r["cpu_s"], 0)
        targets = {t["target"]: t for t in report["targets"] if t["scenario"] == 1}
        self.assertIn("req/s ≥ 1.1× nginx", targets)  # evaluated, not measured without nginx
        self.assertIn("| 1 | keep-alive, no auth, small GET | airgate |", md)

    def test_http2_scenario_quick(self):
        """Scenario 11 (HTTP/2, h2load -c 50 -m 10), airgate only, --quick with
        a 2-second run and no warm-up: h2 negotiated, every request
        succeeded, CPU measured, the row and the targets in the reports."""
        if not shutil.which("h2load"):
            self.skipTest("h2load not installed (nghttp2-client: bench/install-deps)")
        stderr, report, md = self.run_bench(
            ["--quick", "--scenarios", "11", "--proxies", "airgate", "--duration", "2", "--warmup", "0",
             "--upstream", "python"], "bench-smoke-h2-")
        self.assertIn("scenario 1/1 h2-50x10 | airgate | run 1/1", stderr)
        run = report["runs"][0]
        self.assertEqual((run["scenario"], run["proxy"]), (11, "airgate"))
        r = run["results"][0]
        self.assertNotIn("failed", r)
        self.assertEqual(r["protocol"], "h2")
        self.assertGreater(r["requests"], 0)
        self.assertEqual(r["requests"], r["req_done"])
        self.assertIsNotNone(r["cpu_per_10k"])
        self.assertGreater(r["mean_ms"], 0)
        targets = {t["target"] for t in report["targets"] if t["scenario"] == 11}
        self.assertIn("HTTP/2: req/s ≥ HAProxy", targets)  # evaluated, not measured without HAProxy
        self.assertIn("| 11 | HTTP/2, 50 connections × 10 streams, small GET | airgate |", md)

    def test_idle_http2_scenarios_quick(self):
        """Scenarios 13 and 14 (idle HTTP/2 connections after one request,
        and after 50 each: bench/idle_h2.py), airgate only, 50 connections:
        each negotiated h2 and was answered, the RSS per connection
        measured, the rows and the targets in the reports."""
        stderr, report, md = self.run_bench(
            ["--quick", "--scenarios", "13,14", "--proxies", "airgate", "--idle-conns", "50", "--upstream", "python"],
            "bench-smoke-idle-h2-")
        self.assertIn("scenario 1/2 idle-h2 | airgate | run 1/1", stderr)
        self.assertIn("scenario 2/2 idle-h2-load | airgate | run 1/1", stderr)
        for scen, target, row in (
                (13, "KiB per idle HTTP/2 connection ≤ nginx", "| 13 | idle HTTP/2 connections | airgate |"),
                (14, "KiB per idle HTTP/2 connection after a page load ≤ nginx",
                 "| 14 | idle HTTP/2 connections after 50 requests each | airgate |")):
            r = [run for run in report["runs"] if run["scenario"] == scen][0]["results"][0]
            self.assertEqual(r["conns"], 50, "scenario %d" % scen)
            self.assertGreater(r["rss_with_kib"], r["rss_before_kib"])  # 50 sessions, streams and TLS states
            targets = {t["target"] for t in report["targets"] if t["scenario"] == scen}
            self.assertIn(target, targets)
            self.assertIn(row, md)


    def test_instructions_per_request(self):
        """bench/instructions: airgate under callgrind, the HTTP/2 shape with
        60 and 180 counted requests: a plausible count per request (an
        answered h2 request costs airgate tens of thousands of instructions;
        a count of 0 or millions means the differencing or the dump reading
        broke) in the printed table and in --out."""
        if SANITIZER:
            self.skipTest("valgrind cannot run a sanitizer build")
        for tool in ("valgrind", "callgrind_control", "h2load"):
            if not shutil.which(tool):
                self.skipTest("%s not installed (scripts/install-deps)" % tool)
        with tempfile.TemporaryDirectory(prefix="bench-smoke-ir-") as out:
            table = os.path.join(out, "table.md")
            p = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "instructions"), "--proxies", "airgate",
                                "--shapes", "h2", "--requests", "60", "--warmup", "20", "--reps", "1", "--upstream", "python",
                                "--airgate", require_binary(), "--out", table],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
            self.assertEqual(p.returncode, 0, "bench/instructions failed:\n%s\n%s" % (p.stdout[-2000:],
                                                                                       p.stderr[-3000:]))
            m = re.search(r"h2, airgate: (\d+) instructions per request", p.stderr)
            self.assertIsNotNone(m, p.stderr[-2000:])
            self.assertTrue(10_000 < int(m.group(1)) < 1_000_000, "implausible count: %s" % m.group(1))
            with open(table, encoding="utf-8") as f:
                self.assertRegex(f.read(), r"\| HTTP/2, 10 connections x 10 streams \| \d+\.\dk \|")


if __name__ == "__main__":
    unittest.main()
