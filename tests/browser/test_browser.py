"""A real browser through airgate (headless Debian chromium driven by
puppeteer-core, see drive.mjs) in front of an Airbyte-like single-page app
(app.py). Counts the browser's native authentication prompts over the
DevTools protocol, and writes screenshots of what a user sees to
$AIRGATE_BROWSER_ARTIFACTS (the build folder's browser/ under CTest).

Needs tests/browser/install-deps (chromium, puppeteer-core in a cache folder);
CTest runs it as "browser: test_browser"."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

from harness import AirgateTestCase  # noqa: E402
from app import AirbyteLikeApp  # noqa: E402

DEPS = os.environ.get("AIRGATE_BROWSER_DEPS", os.path.expanduser("~/.cache/airgate/browser"))
ARTIFACTS = os.environ.get("AIRGATE_BROWSER_ARTIFACTS", os.path.join(HERE, "..", "..", "build", "browser"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
VECTORS = os.path.join(HERE, "..", "integration", "vectors")
USER = "bcrypt_2y"
with open(os.path.join(VECTORS, "passwords.json")) as _f:
    PASSWORD = json.load(_f)[USER]


def missing_deps():
    if not os.path.exists(CHROMIUM):
        return "no chromium at %s (run tests/browser/install-deps)" % CHROMIUM
    if not os.path.exists(os.path.join(DEPS, "node_modules", "puppeteer-core", "package.json")):
        return "no puppeteer-core in %s (run tests/browser/install-deps)" % DEPS
    return None


class BrowserTestCase(AirgateTestCase):
    def setUp(self):
        super().setUp()
        why = missing_deps()
        if why:
            # Under CTest the dependencies are installed first: missing ones are a failure there.
            if os.environ.get("AIRGATE_BROWSER_REQUIRED"):
                self.fail(why)
            self.skipTest(why)
        # ES modules resolve imports next to the script, so the driver runs
        # from a folder whose node_modules is the cache's.
        self.driver_dir = tempfile.mkdtemp(dir=self.tmp, prefix="driver-")
        shutil.copy(os.path.join(HERE, "drive.mjs"), self.driver_dir)
        os.symlink(os.path.join(DEPS, "node_modules"), os.path.join(self.driver_dir, "node_modules"))
        os.makedirs(ARTIFACTS, exist_ok=True)

    def drive(self, **args):
        proc = subprocess.run(["node", os.path.join(self.driver_dir, "drive.mjs"), json.dumps(args)],
                              capture_output=True, text=True, timeout=90, cwd=self.driver_dir)
        self.assertEqual(proc.returncode, 0, "driver failed:\n%s\n%s" % (proc.stdout, proc.stderr))
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        self.assertNotIn("error", out, out.get("error"))
        return out

    def start_app(self, http2=True, **sections):
        up = AirbyteLikeApp(name="airbyte").start()
        self.addCleanup(up.stop)
        users = os.path.join(self.tmp, "users")
        with open(os.path.join(VECTORS, "users.htpasswd")) as src, open(users, "w") as dst:
            dst.write(src.read())
        os.chmod(users, 0o600)
        auth = {"basic": {"users_file": users}, "throttle": {"max_failures": 1000}}
        auth.update(sections.pop("auth", {}))
        cfg = self.config(up, auth=auth, **sections)
        cfg["listen"][0]["tls"]["http2"] = http2
        ag = self.start_airgate(cfg)
        lst = ag.listeners[0]
        return up, ag, "https://%s:%d" % (lst.host, lst.port)

    def shot(self, name):
        return os.path.join(ARTIFACTS, name)


class FormLoginTest(BrowserTestCase):
    def test_form_login_then_the_app_then_logout(self):
        up, ag, base = self.start_app()
        steps = self.drive(credentials=None, actions=[
            {"goto": base + "/connections?tab=1"},
            {"screenshot": self.shot("login-page.png")},
            {"login": {"username": USER, "password": "wrong password"}},
            {"screenshot": self.shot("login-wrong.png")},
            {"login": {"username": USER, "password": PASSWORD}},
            {"goto": base + "/"},
            {"wait_app": True},
            {"save_cookie": "__Host-airgate_session"},
            {"goto": base + "/.airgate/logout"},
            {"restore_cookie": "__Host-airgate_session"},
            {"goto": base + "/"},
        ])["steps"]
        opened, _, wrong, _, signed_in, app, r, saved, logout, _, replay = steps
        # No credentials: the login page, never the browser's dialog.
        self.assertEqual(opened["status"], 200, opened)
        self.assertTrue(opened["url"].startswith(base + "/.airgate/login?rd=%2Fconnections%3Ftab%3D1"), opened)
        self.assertIn("Sign in", opened["text"])
        self.assertEqual(wrong["status"], 401, wrong)
        self.assertIn("Wrong username or password.", wrong["text"])
        # Right password: back where the user was going.
        self.assertEqual(signed_in["url"], base + "/connections?tab=1", signed_in)
        self.assertEqual(signed_in["status"], 200, signed_in)
        results = r["results"]
        self.assertEqual(results["plain_fetch"], {"status": 200}, results)
        self.assertEqual(results["bearer_fetch"]["status"], 200, results)
        self.assertEqual(results["upstream_challenge"],
                         {"status": 401, "www_authenticate": 'Bearer realm="upstream"'}, results)
        self.assertEqual(results["upload"]["status"], 200, results)
        self.assertEqual(results["websocket"], {"echo": "ping from the app"}, results)
        self.assertEqual(r["auth_challenges"], 0, "a native sign-in dialog appeared")
        # The browser chose HTTP/2; the app's fetches, upload and cookies went
        # over it, its WebSocket over HTTP/1.1 on the same listener.
        self.assertEqual(app["protocols"], ["h2"], app)
        probe = [rec for rec in up.requests() if rec.path == "/api/v1/users/get"]
        self.assertEqual([rec.header("authorization") for rec in probe], ["Bearer app-token-123"])
        for rec in up.requests():
            self.assertNotIn("__Host-airgate_session", rec.header("cookie") or "", rec)
            self.assertFalse(rec.path.startswith("/.airgate/"), rec)
        # Logout: back to the login page; the old cookie, put back, no longer works.
        self.assertTrue(saved["saved"], saved)
        self.assertTrue(logout["url"].startswith(base + "/.airgate/login"), logout)
        self.assertTrue(replay["url"].startswith(base + "/.airgate/login"), replay)
        self.assertEqual(replay["auth_challenges"], 0)
        for name in ("login-page.png", "login-wrong.png"):
            self.assertGreater(os.path.getsize(self.shot(name)), 1000, name)

    def test_throttle_answers_with_the_form(self):
        up, ag, base = self.start_app(auth={"throttle": {"max_failures": 2, "window": "1m", "block": "1m"}})
        steps = self.drive(credentials=None, actions=[
            {"goto": base + "/"},
            {"login": {"username": USER, "password": "wrong 1"}},
            {"login": {"username": USER, "password": "wrong 2"}},
            {"login": {"username": USER, "password": PASSWORD}},
            {"screenshot": self.shot("login-throttled.png")},
        ])["steps"]
        self.assertEqual([s["status"] for s in steps[1:4]], [401, 401, 429], steps)
        self.assertIn("Too many failed sign-ins", steps[3]["text"])
        self.assertTrue(steps[3]["url"].startswith(base + "/.airgate/login"), steps[3])


class BasicLoginTest(BrowserTestCase):
    def test_app_works_after_the_native_basic_prompt(self):
        # auth.login: basic keeps the browser's own dialog for the page; run
        # over HTTP/1.1 (tls.http2: false), so the browser path of both
        # protocols is covered.
        up, ag, base = self.start_app(http2=False, auth={"login": "basic"})
        out = self.drive(url=base + "/", credentials={"username": USER, "password": PASSWORD}, wait_app=True,
                         screenshot=self.shot("app-basic.png"))
        self.assertEqual(out["status"], 200, out)
        self.assertEqual(out["protocols"], ["http/1.1"], out)
        r = out["results"]
        # One native prompt, for the page itself; none for the app's requests,
        # not even when the upstream answers one with 401 + Basic.
        self.assertEqual(out["auth_challenges"], 1, r)
        self.assertEqual(r["plain_fetch"], {"status": 200}, r)
        # The app's own Bearer after a Basic login: the session cookie carries the login.
        self.assertEqual(r["bearer_fetch"]["status"], 200, r)
        self.assertEqual(r["upstream_challenge"], {"status": 401, "www_authenticate": 'Bearer realm="upstream"'}, r)
        self.assertIn("__Host-airgate_session", [c["name"] for c in out["cookies"]], out["cookies"])
        session = [c for c in out["cookies"] if c["name"] == "__Host-airgate_session"][0]
        self.assertTrue(session["httpOnly"] and session["secure"], session)
        self.assertNotIn("__Host-airgate_session", r["cookie"]["document_cookie"], "HttpOnly cookie visible to JS")
        self.assertEqual(r["cookie"]["status"], 200, r)
        self.assertIn("airbyte_ui=1", r["cookie"]["document_cookie"], r)
        self.assertEqual(r["cookie"]["sent"], ["airbyte_ui=1"], "cookies not passed through byte for byte")
        self.assertEqual(r["upload"]["status"], 200, r)
        self.assertEqual(r["upload"]["body"]["bytes"], 1024 * 1024, r)
        self.assertEqual(r["websocket"], {"echo": "ping from the app"}, r)
        # The browser's Basic credential and the session cookie reached airgate,
        # not the app; the app's Bearer reached the app.
        for rec in up.requests():
            auth = rec.header("authorization")
            self.assertTrue(auth is None or auth.startswith("Bearer "), "credential forwarded upstream: %r" % rec)
            self.assertNotIn("__Host-airgate_session", rec.header("cookie") or "", rec)
        probe = [rec for rec in up.requests() if rec.path == "/api/v1/users/get"]
        self.assertEqual([rec.header("authorization") for rec in probe], ["Bearer app-token-123"])
        self.assertTrue(any(rec.path == "/upload" for rec in up.requests()))


class ErrorPagesTest(BrowserTestCase):
    def test_error_pages_as_a_browser_shows_them(self):
        up, ag, base = self.start_app(auth={"login": "basic"}, limits={"max_body_size": "1k"},
                                      routes=[{"path_prefix": "/down/", "upstream": {"url": "http://127.0.0.1:9"}}])
        creds = {"username": USER, "password": PASSWORD}
        out = self.drive(url=base + "/", credentials=None, screenshot=self.shot("error-401.png"))
        self.assertEqual(out["status"], 401, out)
        self.assertIn("401", out["text"])
        out = self.drive(post_form={"action": base + "/upload", "field": "data", "size": 4096}, credentials=creds,
                         screenshot=self.shot("error-413.png"))
        self.assertEqual(out["status"], 413, out)
        self.assertIn("413", out["text"])
        out = self.drive(url=base + "/down/x", credentials=creds, screenshot=self.shot("error-502.png"))
        self.assertEqual(out["status"], 502, out)
        self.assertIn("502", out["text"])
        for name in ("error-401.png", "error-413.png", "error-502.png"):
            self.assertGreater(os.path.getsize(self.shot(name)), 1000, name)


if __name__ == "__main__":
    unittest.main()
