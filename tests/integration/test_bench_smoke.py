"""Smoke run of the benchmark harness (bench/run, issue 6), so it does not rot.

One scenario (keep-alive GET), airgate only, one 2-second run, with the
harness's own stdlib upstream (bench/upstream.py) and load loop
(bench/pyload.py): it needs nothing beyond what `make test` has (airgate,
python3, openssl). No timing is asserted: only that the harness runs end to
end, measures requests and CPU, and writes its markdown and JSON reports.
A second test runs the HTTP/2 scenario 11 the same way (--quick, 2 s, no
warm-up; h2load, skipped when it is not installed).
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from harness import require_binary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.path.join(ROOT, "bench", "run")


class BenchSmoke(unittest.TestCase):
    def test_one_scenario_end_to_end(self):
        binary = require_binary()
        with tempfile.TemporaryDirectory(prefix="bench-smoke-") as out:
            cmd = [sys.executable, RUN, "--scenarios", "1", "--proxies", "airgate", "--reps", "1",
                   "--duration", "2", "--warmup", "0", "--connections", "4",
                   "--load", "python", "--upstream", "python", "--no-chart",
                   "--max-minutes", "3", "--airgate", binary, "--out", out]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
            self.assertEqual(p.returncode, 0, "bench/run failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-3000:]))
            self.assertIn("scenario 1/1 keepalive | airgate | run 1/1", p.stderr)
            with open(os.path.join(out, "results.json")) as f:
                report = json.load(f)
            run = report["runs"][0]
            self.assertEqual((run["scenario"], run["proxy"]), (1, "airgate"))
            r = run["results"][0]
            self.assertGreater(r["requests"], 0)
            self.assertEqual(r["errors"], 0)
            self.assertIsNotNone(r["cpu_per_10k"])
            self.assertGreater(r["cpu_s"], 0)
            targets = {t["target"]: t for t in report["targets"] if t["scenario"] == 1}
            self.assertIn("req/s ≥ 1.1× nginx", targets)  # evaluated, not measured without nginx
            with open(os.path.join(out, "results.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("| 1 | keep-alive, no auth, small GET | airgate |", md)

    def test_http2_scenario_quick(self):
        """Scenario 11 (HTTP/2, h2load -c 50 -m 10), airgate only, --quick with
        a 2-second run and no warm-up: h2 negotiated, every request
        succeeded, CPU measured, the row and the targets in the reports."""
        binary = require_binary()
        if not shutil.which("h2load"):
            self.skipTest("h2load not installed (nghttp2-client: bench/install-deps)")
        with tempfile.TemporaryDirectory(prefix="bench-smoke-h2-") as out:
            cmd = [sys.executable, RUN, "--quick", "--scenarios", "11", "--proxies", "airgate",
                   "--duration", "2", "--warmup", "0", "--upstream", "python", "--no-chart",
                   "--max-minutes", "3", "--airgate", binary, "--out", out]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
            self.assertEqual(p.returncode, 0, "bench/run failed:\n%s\n%s" % (p.stdout[-2000:], p.stderr[-3000:]))
            self.assertIn("scenario 1/1 h2-50x10 | airgate | run 1/1", p.stderr)
            with open(os.path.join(out, "results.json")) as f:
                report = json.load(f)
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
            with open(os.path.join(out, "results.md"), encoding="utf-8") as f:
                md = f.read()
            self.assertIn("| 11 | HTTP/2, 50 connections × 10 streams, small GET | airgate |", md)


if __name__ == "__main__":
    unittest.main()
