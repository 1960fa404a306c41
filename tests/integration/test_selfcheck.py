"""Security self-check on the real binary (design §6): `airgate selfcheck
[--json]` exit codes 0/1/2, the JSON document, the human table, start-up
logging of findings and `security.selfcheck: enforce` (exit 78)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import AIRGATE_ENV_VARS, Airgate, require_binary, run, run_cli, write_config


def make_pki(directory, days=365):
    """A CA and a server certificate for 127.0.0.1/localhost valid `days` days
    (the shared harness PKI is valid for 3 days, which the self-check rightly
    reports as expiring)."""
    ca_key = os.path.join(directory, "ca.key")
    ca_crt = os.path.join(directory, "ca.crt")
    key = os.path.join(directory, "tls.key")
    crt = os.path.join(directory, "tls.crt")
    csr = os.path.join(directory, "tls.csr")
    ext = os.path.join(directory, "tls.ext")
    for k in (ca_key, key):
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", k])
        os.chmod(k, 0o600)
    run(["openssl", "req", "-x509", "-new", "-key", ca_key, "-sha256", "-days", str(days + 1),
         "-subj", "/CN=airgate selfcheck test CA", "-out", ca_crt,
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run(["openssl", "req", "-new", "-key", key, "-subj", "/CN=localhost", "-out", csr])
    run(["openssl", "x509", "-req", "-in", csr, "-CA", ca_crt, "-CAkey", ca_key, "-CAcreateserial",
         "-days", str(days), "-sha256", "-extfile", ext, "-out", crt])
    return crt, key


class SelfcheckTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_binary()
        cls.dir = tempfile.mkdtemp(prefix="airgate-selfcheck-")
        cls.cert, cls.key = make_pki(cls.dir)
        cls.users = os.path.join(cls.dir, "htpasswd")
        p = run_cli(["passwd", "-f", cls.users, "alice"], stdin=b"correct horse battery staple\n")
        assert p.returncode == 0, p.stderr
        with open(cls.users) as f:
            cls.users_text = f.read()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, True)

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="airgate-selfcheck-case-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def clean_config(self, **sections):
        cfg = {
            "listen": [{"address": "127.0.0.1:0",
                        "tls": {"certificate": self.cert, "private_key": self.key, "min_version": "1.3"}}],
            "upstream": {"url": "http://127.0.0.1:8000"},
            "auth": {"basic": {"users_file": self.users}},
            "admin": {"address": "127.0.0.1:0"},
            "reload_watch": 0,
        }
        cfg.update(sections)
        return write_config(self.tmp, cfg)

    def selfcheck(self, config_path=None, env=None, json_output=True):
        args = ["selfcheck"] + (["-c", config_path] if config_path else []) + (["--json"] if json_output else [])
        p = run_cli(args, env=env, timeout=60)
        out = p.stdout.decode("utf-8", errors="replace")
        err = p.stderr.decode("utf-8", errors="replace")
        doc = None
        if json_output and out.strip():
            doc = json.loads(out)
        return p.returncode, doc, out + err

    def ids(self, doc, severity=None):
        return {f["id"] for f in doc["findings"] if severity is None or f["severity"] == severity}

    def assert_no_secrets(self, text):
        for line in self.users_text.splitlines():
            self.assertNotIn(line.split(":", 1)[1], text)  # the bcrypt hash
        self.assertNotIn("correct horse battery staple", text)

    # ------------------------------------------------------------------ selfcheck

    def test_clean_config_exits_0(self):
        code, doc, out = self.selfcheck(self.clean_config())
        self.assertEqual(code, 0, out)
        self.assertEqual(doc["exit_code"], 0)
        self.assertEqual(doc["summary"]["critical"], 0, out)
        self.assertEqual(doc["summary"]["warning"], 0, out)
        for f in doc["findings"]:
            self.assertEqual(f["severity"], "info", out)
        self.assert_no_secrets(out)

    def test_json_document_shape(self):
        code, doc, out = self.selfcheck(self.clean_config(auth={"allow": ["0.0.0.0/0"],
                                                                "basic": {"users_file": self.users}}))
        self.assertEqual(code, 2, out)
        self.assertEqual(set(doc), {"findings", "summary", "exit_code"})
        self.assertEqual(set(doc["summary"]), {"critical", "warning", "info"})
        self.assertEqual(doc["exit_code"], 2)
        for f in doc["findings"]:
            self.assertEqual(set(f), {"id", "severity", "finding", "fix"})
            self.assertIn(f["severity"], ("critical", "warning", "info"))
            self.assertRegex(f["id"], r"^[A-Z][A-Z0-9_]+$")
            self.assertTrue(f["finding"] and f["fix"])
            self.assertNotIn("\n", f["finding"] + f["fix"])
        counts = {s: sum(1 for f in doc["findings"] if f["severity"] == s) for s in ("critical", "warning", "info")}
        self.assertEqual(counts, doc["summary"])

    def test_default_airbyte_credentials_from_env_are_critical(self):
        code, doc, out = self.selfcheck(self.clean_config(),
                                        env={"BASIC_AUTH_USERNAME": "airbyte", "BASIC_AUTH_PASSWORD": "password"})
        self.assertEqual(code, 2, out)
        self.assertIn("AUTH_DEFAULT_CREDENTIALS", self.ids(doc, "critical"), out)

    def test_default_credentials_without_config_file(self):
        # the drop-in case: configured only by environment, default 0.0.0.0:8443 listener
        code, doc, out = self.selfcheck(env={"BASIC_AUTH_USERNAME": "airbyte", "BASIC_AUTH_PASSWORD": "password"})
        self.assertEqual(code, 2, out)
        self.assertIn("AUTH_DEFAULT_CREDENTIALS", self.ids(doc, "critical"), out)
        self.assertIn("TLS_SELF_SIGNED", self.ids(doc, "warning"), out)

    def test_auth_disabled_by_empty_env_is_critical(self):
        code, doc, out = self.selfcheck(env={"BASIC_AUTH_USERNAME": "", "BASIC_AUTH_PASSWORD": ""})
        self.assertEqual(code, 2, out)
        self.assertIn("AUTH_DISABLED_BY_ENV", self.ids(doc, "critical"), out)

    def test_allow_any_is_critical(self):
        code, doc, out = self.selfcheck(self.clean_config(auth={"allow": ["10.0.0.0/8", "0.0.0.0/0"],
                                                                "basic": {"users_file": self.users}}))
        self.assertEqual(code, 2, out)
        self.assertIn("ALLOW_ANY", self.ids(doc, "critical"), out)

    def test_short_env_password_is_a_warning_and_not_printed(self):
        code, doc, out = self.selfcheck(self.clean_config(),
                                        env={"BASIC_AUTH_USERNAME": "ops", "BASIC_AUTH_PASSWORD": "Tr0ub4dor"})
        self.assertEqual(code, 1, out)
        self.assertIn("AUTH_PASSWORD_SHORT", self.ids(doc, "warning"), out)
        self.assertNotIn("Tr0ub4dor", out)

    def test_group_readable_key_is_a_warning(self):
        key = os.path.join(self.tmp, "readable.key")
        shutil.copy(self.key, key)
        os.chmod(key, 0o644)
        cfg = self.clean_config(listen=[{"address": "127.0.0.1:0",
                                         "tls": {"certificate": self.cert, "private_key": key,
                                                 "min_version": "1.3"}}])
        code, doc, out = self.selfcheck(cfg)
        self.assertEqual(code, 1, out)
        self.assertIn("FILE_KEY_PERMISSIONS", self.ids(doc, "warning"), out)
        os.chmod(key, 0o600)
        code, doc, out = self.selfcheck(cfg)
        self.assertEqual(code, 0, out)

    def test_missing_certificate_is_critical_and_named(self):
        missing = os.path.join(self.tmp, "nope.crt")
        cfg = self.clean_config(listen=[{"address": "127.0.0.1:0",
                                         "tls": {"certificate": missing, "private_key": self.key}}])
        code, doc, out = self.selfcheck(cfg)
        if code == 1 and doc is None:
            self.skipTest("config loading rejects a missing certificate file itself: " + out)
        self.assertEqual(code, 2, out)
        self.assertIn("TLS_CERT_UNREADABLE", self.ids(doc, "critical"), out)
        self.assertIn(missing, out)

    def test_human_table(self):
        cfg = self.clean_config(auth={"allow": ["::/0"], "basic": {"users_file": self.users}},
                                admin={"address": "0.0.0.0:0"})
        code, _, out = self.selfcheck(cfg, json_output=False)
        self.assertEqual(code, 2, out)
        self.assertIn("ALLOW_ANY", out)
        self.assertIn("ADMIN_NOT_LOOPBACK", out)
        self.assertIn("CRITICAL", out)
        self.assertIn("fix:", out)
        self.assertRegex(out, r"\d+ critical, \d+ warning, \d+ info")
        self.assertNotIn("\033[", out)  # not a TTY: no colour
        self.assert_no_secrets(out)

    def test_config_errors_exit_1(self):
        path = write_config(self.tmp, "listen: 5\n")
        code, doc, out = self.selfcheck(path)
        self.assertEqual(code, 1, out)
        self.assertIn(path, out)

    def test_unexpected_argument_is_usage_error(self):
        p = run_cli(["selfcheck", "extra"])
        self.assertEqual(p.returncode, 1)

    # ------------------------------------------------------------------ at start

    def test_enforce_refuses_to_start_with_78(self):
        cfg = self.clean_config(auth={"allow": ["0.0.0.0/0"], "basic": {"users_file": self.users}},
                                security={"selfcheck": "enforce"})
        env = {k: v for k, v in os.environ.items() if k not in AIRGATE_ENV_VARS}
        p = subprocess.run([require_binary(), "run", "-c", cfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, env=env, timeout=30)
        out = (p.stdout + p.stderr).decode("utf-8", errors="replace")
        self.assertEqual(p.returncode, 78, out)
        self.assertIn("ALLOW_ANY", out)
        self.assertNotIn("listening on", out)

    def test_enforce_starts_when_clean(self):
        cfg_path = self.clean_config(security={"selfcheck": "enforce"})
        with open(cfg_path) as f:
            text = f.read()
        ag = Airgate(self.tmp, config=text, args=["run", "-c", cfg_path], expect_listeners=1, expect_admin=True)
        self.addCleanup(ag.stop)
        self.assertNotIn("selfcheck critical", ag.stderr() + ag.stdout())

    def test_warn_mode_logs_findings_and_starts(self):
        cfg_path = self.clean_config(auth={"allow": ["0.0.0.0/0"], "basic": {"users_file": self.users}})
        with open(cfg_path) as f:
            text = f.read()
        ag = Airgate(self.tmp, config=text, args=["run", "-c", cfg_path], expect_listeners=1, expect_admin=True)
        self.addCleanup(ag.stop)
        logs = ag.stderr() + ag.stdout()
        self.assertIn("ALLOW_ANY", logs)
        self.assertIn("selfcheck critical", logs)
        self.assert_no_secrets(logs)


if __name__ == "__main__":
    unittest.main()
