"""The command line (design §1, §2): `airgate version`, `airgate check`
(FILE:LINE:COL problems, exit 0/1), start-up config errors (exit 78), units,
and the environment overrides (AIRGATE_CONFIG, PROXY_PASS_WEB,
BASIC_AUTH_PROXY_TIMEOUT)."""

import os
import re
import tempfile
import time
import unittest

from harness import Airgate, AirgateTestCase, free_port, request_bytes, run_cli, to_yaml, write_config


class CliTest(AirgateTestCase):
    def write(self, text, name="airgate.yaml"):
        return write_config(self.tmp, text, name)

    def check(self, text):
        path = self.write(text)
        p = run_cli(["check", "-c", path])
        return p.returncode, p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace"), path

    def test_version(self):
        p = run_cli(["version"])
        out = p.stdout.decode() + p.stderr.decode()
        self.assertEqual(p.returncode, 0, out)
        self.assertIn("airgate", out.lower())
        self.assertRegex(out, r"\d+\.\d+\.\d+")
        self.assertIn("OpenSSL", out)
        self.assertIn("Boost", out)

    def test_unknown_subcommand_is_usage_error(self):
        p = run_cli(["frobnicate"])
        self.assertEqual(p.returncode, 1, p.stderr)

    def test_check_valid_config(self):
        cfg = self.config("http://127.0.0.1:8000", limits={"max_body_size": "200M", "max_header_size": "64KiB",
                                                            "client_header_timeout": "90s",
                                                            "keepalive_timeout": "1m", "handshake_timeout": 10,
                                                            "client_body_timeout": "1500ms"},
                          upstream={"read_timeout": "1h", "connect_timeout": "10s", "send_timeout": 3600})
        code, out, _ = self.check(to_yaml(cfg))
        self.assertEqual(code, 0, out)

    def test_check_empty_file_is_valid(self):
        code, out, _ = self.check("")
        self.assertEqual(code, 0, out)

    def test_check_without_file_uses_defaults(self):
        p = run_cli(["check"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_check_unknown_key_has_line_and_column(self):
        code, out, path = self.check('listen:\n  - address: "127.0.0.1:0"\nupstream:\n'
                                     '  url: "http://127.0.0.1:8000"\n  read_timout: 5s\n')
        self.assertEqual(code, 1, out)
        self.assertIn("%s:5:3:" % path, out)
        self.assertIn("read_timout", out)

    def test_check_type_error_names_key_and_position(self):
        code, out, path = self.check("limits:\n  max_body_size: lots\n")
        self.assertEqual(code, 1, out)
        self.assertRegex(out, re.escape(path) + r":2:(3|18): ")
        self.assertIn("max_body_size", out)

    def test_check_bad_duration(self):
        code, out, path = self.check('upstream:\n  read_timeout: "5 parsecs"\n')
        self.assertEqual(code, 1, out)
        self.assertRegex(out, re.escape(path) + r":2:(3|17): ")
        self.assertIn("read_timeout", out)

    def test_check_bad_upstream_url(self):
        code, out, path = self.check('upstream:\n  url: "ftp://127.0.0.1:21"\n')
        self.assertEqual(code, 1, out)
        self.assertRegex(out, re.escape(path) + r":2:(3|8): ")

    def test_check_reports_each_problem(self):
        code, out, path = self.check('workers: 2\nbogus_section: 1\nlimits:\n  max_body_size: 1M\n'
                                     '  keepalive_timeout: soon\n')
        self.assertEqual(code, 1, out)
        self.assertIn("%s:2:1:" % path, out)
        self.assertIn("bogus_section", out)
        self.assertRegex(out, re.escape(path) + r":5:\d+: ")
        self.assertIn("keepalive_timeout", out)

    def test_check_yaml_syntax_error(self):
        code, out, path = self.check('listen:\n  - address: "127.0.0.1:0"\n    tls: [unclosed\n')
        self.assertEqual(code, 1, out)
        self.assertRegex(out, re.escape(path) + r":\d+:\d+: ")

    def test_check_missing_file(self):
        missing = os.path.join(self.tmp, "nope.yaml")
        p = run_cli(["check", "-c", missing])
        self.assertEqual(p.returncode, 1)
        self.assertIn(missing, p.stdout.decode() + p.stderr.decode())

    def test_run_with_broken_config_exits_78(self):
        path = self.write('limits:\n  max_body_size: lots\n')
        p = run_cli(["run", "-c", path], timeout=20)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertRegex(p.stderr.decode() + p.stdout.decode(), re.escape(path) + r":2:\d+: ")

    def test_run_with_missing_config_exits_78(self):
        missing = os.path.join(self.tmp, "missing.yaml")
        p = run_cli(["run", "-c", missing], timeout=20)
        self.assertEqual(p.returncode, 78, p.stderr)
        self.assertIn(missing, p.stderr.decode() + p.stdout.decode())


class EnvironmentTest(AirgateTestCase):
    def start_with(self, cfg, env, args=None):
        workdir = tempfile.mkdtemp(dir=self.tmp)
        path = write_config(workdir, cfg)
        env = dict(env)
        env = {k: (v.replace("CONFIG_PATH", path)) for k, v in env.items()}
        args = [a.replace("CONFIG_PATH", path) for a in (args or ["run", "-c", "CONFIG_PATH"])]
        ag = Airgate(workdir, None, args=args, env=env, expect_listeners=1, expect_admin=True, wait=False)
        self._procs.append(ag)
        self.addCleanup(ag.stop)
        ag.wait_ready()
        return ag

    def test_airgate_config_env(self):
        up = self.start_upstream()
        ag = self.start_with(self.config(up), {"AIRGATE_CONFIG": "CONFIG_PATH"}, args=["run"])
        status, _, body = self.request(ag, "GET", "/echo?via-env-config")
        self.assertEqual(status, 200, body[:200])

    def test_cli_path_beats_airgate_config(self):
        up = self.start_upstream()
        broken = write_config(self.tmp, "limits:\n  max_body_size: lots\n", "broken.yaml")
        ag = self.start_with(self.config(up), {"AIRGATE_CONFIG": broken})
        status, _, _ = self.request(ag, "GET", "/echo")
        self.assertEqual(status, 200)

    def test_proxy_pass_web_overrides_upstream(self):
        up = self.start_upstream()
        dead = "http://127.0.0.1:%d" % free_port()
        ag = self.start_with(self.config(dead), {"PROXY_PASS_WEB": up.url})
        status, _, body = self.request(ag, "GET", "/echo?pass-web")
        self.assertEqual(status, 200, body[:200])
        self.assertEqual(len(up.requests("/echo")), 1)

    def test_basic_auth_proxy_timeout_sets_read_timeout(self):
        up = self.start_upstream()
        ag = self.start_with(self.config(up), {"BASIC_AUTH_PROXY_TIMEOUT": "1"})
        c = self.raw(ag)
        t0 = time.monotonic()
        c.send(request_bytes("GET", "/slow?seconds=4", [("Accept", "application/json")]))
        r = c.read_response()
        self.assertEqual(r.status, 504, r.body[:300])
        self.assertLess(time.monotonic() - t0, 3.0)


if __name__ == "__main__":
    unittest.main()
