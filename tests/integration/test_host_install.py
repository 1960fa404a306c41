"""The files of the Debian package (packaging/, `make package`) against the
binary they ship with:

- the man page airgate(8) names every subcommand and option that
  `airgate --help` lists, and renders without roff warnings;
- the packaged /etc/airgate/airgate.yaml passes `airgate check` once a users
  file and a certificate are where it says, and fails (naming the file) while
  the certificate is missing;
- airgate.service runs what the package installs, as the airgate user with
  only CAP_NET_BIND_SERVICE, Type=notify, reload = SIGHUP, `airgate check`
  before the start;
- `airgate passwd` run by root keeps the owner of the users file it updates
  (the package's file is owned by the service user), root only.

The package itself, on a real systemd, is tests/package/run.
"""

import os
import re
import shutil
import subprocess
import unittest

from harness import Airgate, AirgateTestCase, run_cli

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
PACKAGING = os.path.join(ROOT, "packaging")


def man_text():
    with open(os.path.join(PACKAGING, "airgate.8")) as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text).replace("\\-", "-")
    return text


def help_tokens():
    out = run_cli(["--help"])
    assert out.returncode == 0, out
    text = out.stdout.decode()
    commands, options = set(), set()
    for line in text.splitlines():
        m = re.match(r"^\s+airgate\s+\[?([a-z]+)\]?", line)
        if m:
            commands.add(m.group(1))
        options.update(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", line))
    return commands, options


def unit_settings():
    settings = {}
    with open(os.path.join(PACKAGING, "airgate.service")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", "[")):
                continue
            key, _, value = line.partition("=")
            settings.setdefault(key, []).append(value)
    return settings


class ManPage(unittest.TestCase):
    def test_every_subcommand_and_option_of_help_is_in_the_man_page(self):
        commands, options = help_tokens()
        self.assertEqual(commands, {"run", "check", "selfcheck", "passwd", "version"})
        self.assertTrue({"-c", "-f", "--json"} <= options, options)
        text = man_text()
        for word in sorted(commands | options | {"help", "-h", "--help", "--config", "--file"}):
            with self.subTest(word=word):
                self.assertRegex(text, r"(?<![\w-])%s(?![\w-])" % re.escape(word),
                                 "airgate(8) does not mention %s" % word)
        for section in ("COMMANDS", "OPTIONS", "FILES", "EXIT STATUS"):
            self.assertIn(".SH " + section, text)

    def test_renders_without_warnings(self):
        if not shutil.which("man"):
            self.skipTest("man is not installed (scripts/install-deps installs man-db)")
        p = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", os.path.join(PACKAGING, "airgate.8")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                           env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stderr.decode().strip(), "", "roff warnings")
        self.assertIn("airgate passwd", p.stdout.decode())


class PackagedConfig(AirgateTestCase):
    def conffile_in(self, directory):
        """packaging/airgate.yaml with /etc/airgate/ moved to `directory`."""
        with open(os.path.join(PACKAGING, "airgate.yaml")) as f:
            text = f.read()
        self.assertIn("users_file: /etc/airgate/htpasswd", text)
        self.assertIn('address: "0.0.0.0:443"', text)
        self.assertIn('address: "0.0.0.0:80"', text)
        path = os.path.join(directory, "airgate.yaml")
        with open(path, "w") as f:
            f.write(text.replace("/etc/airgate/", directory + "/"))
        return path

    def test_check_accepts_it_with_a_user_and_a_certificate(self):
        etc = os.path.join(self.tmp, "etc-airgate")
        os.makedirs(os.path.join(etc, "tls"))
        conf = self.conffile_in(etc)
        p = run_cli(["passwd", "-f", os.path.join(etc, "htpasswd"), "admin"], stdin=b"a long enough password\n")
        self.assertEqual(p.returncode, 0, p.stderr)

        p = run_cli(["check", "-c", conf])
        self.assertNotEqual(p.returncode, 0, "check must fail while the certificate is missing")
        self.assertIn("fullchain.pem", p.stderr.decode())

        shutil.copy(self.pki.cert, os.path.join(etc, "tls", "fullchain.pem"))
        shutil.copy(self.pki.key, os.path.join(etc, "tls", "privkey.pem"))
        os.chmod(os.path.join(etc, "tls", "privkey.pem"), 0o600)
        p = run_cli(["check", "-c", conf])
        self.assertEqual(p.returncode, 0, p.stderr.decode() + p.stdout.decode())
        self.assertIn(conf + ": ok", p.stdout.decode())


    def test_self_signed_as_the_comments_say_is_tls(self):
        """The conffile's comment: `tls: {}` in place of the tls: block gives a
        self-signed TLS listener (an empty `tls:` would be plain HTTP)."""
        etc = os.path.join(self.tmp, "etc-airgate")
        os.makedirs(etc)
        conf = self.conffile_in(etc)
        with open(conf) as f:
            text = f.read()
        self.assertIn("write `tls: {}` instead of the three `tls:` lines", text)
        block = re.search(r"^    tls:\n      certificate: .*\n      private_key: .*\n", text, re.M)
        self.assertIsNotNone(block, "the tls: block of the first listener")
        text = text.replace(block.group(0), "    tls: {}\n")
        text = text.replace('"0.0.0.0:443"', '"127.0.0.1:0"').replace('"0.0.0.0:80"', '"127.0.0.1:0"')
        text = text.replace('"127.0.0.1:9901"', '"127.0.0.1:0"')
        with open(conf, "w") as f:
            f.write(text)
        p = run_cli(["passwd", "-f", os.path.join(etc, "htpasswd"), "admin"], stdin=b"a long enough password\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        workdir = os.path.join(self.tmp, "run")
        os.makedirs(workdir)
        ag = Airgate(workdir, args=["run", "-c", conf], expect_listeners=2, expect_admin=True, wait=False)
        self.addCleanup(ag.stop)
        ag.wait_ready()
        self.assertEqual([lst.scheme for lst in ag.listeners], ["https", "http"])
        self.assertIn("redirects to https://localhost", ag.stderr())


class ServiceUnit(unittest.TestCase):
    def test_unit_runs_the_installed_binary_unprivileged_and_sandboxed(self):
        s = unit_settings()
        one = {k: v[-1] for k, v in s.items()}
        self.assertEqual(one["Type"], "notify")
        self.assertEqual(one["ExecStart"], "/usr/sbin/airgate run -c /etc/airgate/airgate.yaml")
        self.assertEqual(one["ExecStartPre"], "/usr/sbin/airgate check -c /etc/airgate/airgate.yaml")
        self.assertEqual(one["ExecReload"], "/bin/kill -HUP $MAINPID")
        self.assertEqual(one["User"], "airgate")
        self.assertEqual(one["AmbientCapabilities"], "CAP_NET_BIND_SERVICE")
        self.assertEqual(one["CapabilityBoundingSet"], "CAP_NET_BIND_SERVICE")
        self.assertEqual(one["Restart"], "on-failure")
        self.assertEqual(one["RestrictAddressFamilies"], "AF_INET AF_INET6 AF_UNIX")
        self.assertIn("@system-service", s["SystemCallFilter"])
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                    "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
                    "ProtectHostname", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
                    "MemoryDenyWriteExecute", "LockPersonality"):
            with self.subTest(key=key):
                self.assertEqual(one.get(key), "yes")
        self.assertEqual(one["ProtectSystem"], "strict")
        self.assertNotIn("ReadWritePaths", one, "airgate writes nothing to disk")
        self.assertGreaterEqual(int(one["LimitNOFILE"]), 65536)


class PasswdKeepsOwner(unittest.TestCase):
    def test_root_updating_a_file_owned_by_another_user_keeps_that_owner(self):
        if os.geteuid() != 0:
            self.skipTest("needs root (chown)")
        import tempfile
        d = tempfile.mkdtemp(prefix="airgate-test-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "htpasswd")
        with open(path, "w") as f:
            f.write("")
        os.chown(path, 65534, 65534)
        p = run_cli(["passwd", "-f", path, "alice"], stdin=b"correct horse battery\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_gid, st.st_mode & 0o777), (65534, 65534, 0o600))
        with open(path) as f:
            self.assertTrue(f.read().startswith("alice:$2"))
        # A new file belongs to whoever made it, as before.
        fresh = os.path.join(d, "fresh")
        p = run_cli(["passwd", "-f", fresh, "bob"], stdin=b"correct horse battery\n")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(os.stat(fresh).st_uid, 0)


if __name__ == "__main__":
    unittest.main()
