"""Per-route access policy and request path normalisation against the real
binary: every spelling of a protected path is refused (400) or matched in its
canonical form, so a user outside `users` or an address outside `allow` never
reaches the upstream (it records every request) while `admin` does, and the
upstream receives the canonical form with the query kept; method filters;
`public: true`; a session user is subject to `users`; a reload changes the
policy for a keep-alive connection opened before it; `airgate check` names
unknown users and shadowed routes; the worked example of
docs/access-control.md is config/examples/airbyte-routes.yaml, and works."""

import base64
import hashlib
import itertools
import json
import os
import re
import signal
import time
import unittest

import yaml

from harness import RawConn, request_bytes, run_cli, to_yaml
from test_access_basic import AccessBase

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
EXAMPLE = os.path.join(ROOT, "config", "examples", "airbyte-routes.yaml")
NAV = [("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")]
COOKIE = "__Host-airgate_session"
RELOAD_OK = "configuration reloaded"

TAGS = itertools.count(1)
PASSWORDS = {"admin": "admin-pass-1", "alice": "alice-pass-1"}


def sha_hash(password):
    return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()


def basic(user):
    return "Basic " + base64.b64encode(("%s:%s" % (user, PASSWORDS[user])).encode()).decode()


PROTECTED = {"path_prefix": "/api/v1/sources/", "methods": ["POST", "PUT", "PATCH", "DELETE"],
             "access": {"users": ["admin"]}}

# Spellings of POST /api/v1/sources/create and what airgate makes of them.
CANONICAL = "/api/v1/sources/create"
SAME_PATH = [
    "/api/v1/sources/create",
    "//api/v1/sources/create",
    "/api//v1///sources/create",
    "/api/v1/./sources/create",
    "/api/v1/x/../sources/create",
    "/api/v1/%73ources/create",
    "/api/v1/sources/%63%72%65%61%74%65",
    "/api/%2e%2e/api/v1/sources/create",
    "/api/v1/sources/%2E/create",
    "/api/v1/sources/x/.%2e/create",
]
REFUSED = [
    "/api/v1%2fsources/create",
    "/api/v1%2Fsources/create",
    "/api%2Fv1%2Fsources%2Fcreate",
    "/api/v1%5csources/create",
    "/api/v1%5Csources/create",
    "/api/v1\\sources/create",
    "/api/v1/sources;x/create",
    "/api/v1/sources;/create",
    "/api/v1/sources%3B/create",
    "/api/v1/sources/create%00",
    "/../api/v1/sources/create",
    "/api/%2e%2e/%2e%2e/api/v1/sources/create",
    "/api/v1/sources/%zzcreate",
    "/api/v1/sources/create%2",
    "/api/v1/%c0%ae/api/v1/sources/create",
    "/api/v1/sources%C0%AF/create",
]
# A case variant is a different path (Airbyte's server routes case-sensitively):
# it is not the protected route, and goes upstream exactly as sent.
CASE_VARIANTS = ["/API/v1/sources/create", "/api/v1/Sources/create", "/api/V1/sources/create"]


class RoutesBase(AccessBase):
    def setUp(self):
        super().setUp()
        self.up = self.start_upstream()
        self.users = self.users_file("".join("%s:%s\n" % (u, sha_hash(p)) for u, p in PASSWORDS.items()))

    def route_config(self, routes, **auth):
        auth = dict({"basic": {"users_file": self.users}, "throttle": {"max_failures": 1000000}}, **auth)
        return self.config(self.up, routes=routes, auth=auth)

    def start_routes(self, routes, **auth):
        return self.start_airgate(self.route_config(routes, **auth))

    def send(self, ag, method, path, headers=(), conn=None):
        """(Response, the upstream's record of this request or None). The
        target gets a unique query, by which the record is found whatever
        path airgate sent upstream."""
        tag = "tag=r%d-%d" % (os.getpid(), next(TAGS))
        target = path + ("&" if "?" in path else "?") + tag
        c = conn or self.raw(ag)
        c.send(request_bytes(method, target, list(headers)))
        resp = c.read_response(method)
        if conn is None:
            c.close()

        def mine(u):
            return [r for r in u.requests() if r.target.endswith("?" + tag) or r.target.endswith("&" + tag)]
        if resp.status < 400:
            recs = self.up.wait_for(mine, timeout=5) or []
        else:
            time.sleep(0.05)
            recs = mine(self.up)
        return resp, (recs[-1] if recs else None)


class NormalisationTest(RoutesBase):
    def test_every_spelling_of_a_protected_path(self):
        ag = self.start_routes([PROTECTED])
        for path in SAME_PATH:
            with self.subTest(path=path):
                resp, rec = self.send(ag, "POST", path, [("Authorization", basic("alice"))])
                self.assertEqual(resp.status, 403, "%s: %r\n%s" % (path, resp, resp.body[:300]))
                self.assertEqual(resp.json()["error"], "forbidden_user")
                self.assertIsNone(rec, "alice's request reached the upstream")
                resp, rec = self.send(ag, "POST", path, [("Authorization", basic("admin"))])
                self.assertEqual(resp.status, 200, path)
                self.assertIsNotNone(rec)
                # Upstream gets the canonical path, query kept.
                self.assertTrue(rec.target.startswith(CANONICAL + "?tag="), rec.target)
        for path in REFUSED:
            with self.subTest(path=path):
                for user in ("alice", "admin"):
                    resp, rec = self.send(ag, "POST", path, [("Authorization", basic(user))])
                    json_expected = path.startswith("/api/")
                    self.assertErrorResponse(resp, 400, json_expected=json_expected,
                                             must_mention=("invalid request path",))
                    if json_expected:
                        self.assertEqual(resp.json()["error"], "bad_path")
                    self.assertIsNone(rec)
        # No request of a refused spelling reached the upstream at all.
        self.assertEqual([r.target for r in self.up.requests() if not r.target.startswith(CANONICAL + "?")], [])
        line = self.log_line(ag, "sources;x")
        self.assertEqual(self.reason_of(line), "bad_path", line)

    def test_case_variants_are_other_paths_and_go_upstream_unchanged(self):
        ag = self.start_routes([PROTECTED])
        for path in CASE_VARIANTS:
            with self.subTest(path=path):
                resp, rec = self.send(ag, "POST", path, [("Authorization", basic("alice"))])
                self.assertEqual(resp.status, 200)
                self.assertTrue(rec.target.startswith(path + "?tag="), rec.target)

    def test_public_paths_use_the_canonical_form(self):
        ag = self.start_routes([], public_paths=["/api/v1/health"])
        for path in ("/api/v1/health", "//api/v1/health", "/api/v1/./health", "/api/v1/%68ealth"):
            with self.subTest(path=path):
                resp, rec = self.send(ag, "GET", path)
                self.assertEqual(resp.status, 200, path)
                self.assertTrue(rec.target.startswith("/api/v1/health?tag="), rec.target)
        resp, _ = self.send(ag, "GET", "/api/v1/health/")
        self.assertEqual(resp.status, 401, "public_paths are exact")
        resp, _ = self.send(ag, "GET", "/api/v1/health;x")
        self.assertEqual(resp.status, 400)

    def test_refused_path_with_a_body_closes_and_html_outside_api(self):
        ag = self.start_routes([PROTECTED])
        c = self.raw(ag)
        c.send(request_bytes("POST", "/a%2fb", [("Content-Length", "5")], b"hello"))
        resp = c.read_response("POST")
        self.assertErrorResponse(resp, 400, json_expected=False, must_mention=("encoded",))
        self.assertTrue(c.closed_by_peer(), "connection kept open with an unread body")
        # Without a body the connection stays usable.
        c2 = self.raw(ag)
        c2.send(request_bytes("GET", "/a/../../b"))
        self.assertEqual(c2.read_response().status, 400)
        c2.send(request_bytes("GET", "/echo?after=1", [("Authorization", basic("alice"))]))
        self.assertEqual(c2.read_response().status, 200)


class RouteAccessTest(RoutesBase):
    def test_methods_filter(self):
        ag = self.start_routes([PROTECTED])
        for method in ("GET", "HEAD", "OPTIONS"):
            resp, rec = self.send(ag, method, "/api/v1/sources/list", [("Authorization", basic("alice"))])
            self.assertEqual(resp.status, 200, method)
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            resp, rec = self.send(ag, method, "/api/v1/sources/x", [("Authorization", basic("alice"))])
            self.assertEqual(resp.status, 403, method)
            self.assertIsNone(rec)
            resp, rec = self.send(ag, method, "/api/v1/sources/x", [("Authorization", basic("admin"))])
            self.assertEqual(resp.status, 200, method)
        # Authentication stays global: no credential is 401, a wrong one too.
        resp, _ = self.send(ag, "POST", "/api/v1/sources/x")
        self.assertEqual(resp.status, 401)
        resp, _ = self.send(ag, "POST", "/api/v1/sources/x", [("Authorization", "Basic " + base64.b64encode(
            b"admin:wrong").decode())])
        self.assertEqual(resp.status, 401)
        # Logged with the user, counted in the metrics.
        resp, _ = self.send(ag, "DELETE", "/api/v1/sources/logged", [("Authorization", basic("alice"))])
        line = self.log_line(ag, "/api/v1/sources/logged")
        self.assertEqual(self.reason_of(line), "forbidden_user", line)
        self.assertIn('"alice"', line)
        _, metrics = self.admin_get(ag, "/metrics")
        m = re.search(r'^airgate_auth_failures_total\{reason="forbidden_user"\} (\d+)$', metrics, re.M)
        self.assertIsNotNone(m, metrics[:2000])
        self.assertGreaterEqual(int(m.group(1)), 5)

    def test_allow_satisfy_all_from_the_office_only(self):
        routes = [dict(PROTECTED, access={"users": ["admin"], "allow": ["10.20.0.0/16"], "satisfy": "all"})]
        ag = self.start_airgate(dict(self.route_config(routes), trusted_proxies=["127.0.0.1"]))
        office, home = [("X-Forwarded-For", "10.20.3.4")], [("X-Forwarded-For", "198.51.100.7")]
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", [("Authorization", basic("admin"))] + home)
        self.assertEqual(resp.status, 403)
        self.assertEqual(resp.json()["error"], "ip_not_allowed")
        self.assertIsNone(rec)
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", [("Authorization", basic("alice"))] + office)
        self.assertEqual(resp.json()["error"], "forbidden_user")
        self.assertIsNone(rec)
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", [("Authorization", basic("admin"))] + office)
        self.assertEqual(resp.status, 200)
        self.assertIsNotNone(rec)
        # Elsewhere the global policy: alice from home may read.
        resp, _ = self.send(ag, "POST", "/api/v1/workspaces/list", [("Authorization", basic("alice"))] + home)
        self.assertEqual(resp.status, 200)

    def test_public_route(self):
        routes = [{"path_prefix": "/api/v1/health", "access": {"public": True}}, PROTECTED]
        ag = self.start_routes(routes)
        resp, rec = self.send(ag, "GET", "/api/v1/health")
        self.assertEqual(resp.status, 200)
        self.assertIsNotNone(rec)
        resp, rec = self.send(ag, "GET", "//api/v1/./health")
        self.assertEqual(resp.status, 200)
        self.assertTrue(rec.target.startswith("/api/v1/health?"), rec.target)
        resp, _ = self.send(ag, "GET", "/api/v1/other")
        self.assertEqual(resp.status, 401)

    def test_session_user_is_subject_to_users(self):
        ag = self.start_routes([PROTECTED])
        cookies = {}
        for user in ("alice", "admin"):
            resp, _ = self.send(ag, "GET", "/", [("Authorization", basic(user))] + NAV)
            self.assertEqual(resp.status, 200)
            value = [v for v in resp.header_values("Set-Cookie") if v.startswith(COOKIE + "=")]
            self.assertTrue(value, "no session cookie for %s" % user)
            cookies[user] = value[0].split(";", 1)[0]
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", [("Cookie", cookies["alice"])])
        self.assertEqual(resp.status, 403)
        self.assertEqual(resp.json()["error"], "forbidden_user")
        self.assertIsNone(rec)
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", [("Cookie", cookies["admin"])])
        self.assertEqual(resp.status, 200)
        line = self.log_line(ag, rec.target)
        self.assertEqual(self.reason_of(line), "session", line)
        # Alice's session still serves her elsewhere.
        resp, _ = self.send(ag, "POST", "/api/v1/workspaces/list", [("Cookie", cookies["alice"])])
        self.assertEqual(resp.status, 200)

    def test_reload_changes_the_policy_on_an_open_keepalive_connection(self):
        ag = self.start_routes([PROTECTED])
        keep = RawConn(ag.port, ctx=self.ctx())
        self.addCleanup(keep.close)
        alice = [("Authorization", basic("alice"))]
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", alice, conn=keep)
        self.assertEqual(resp.status, 403)
        with open(ag.config_path + ".tmp", "w") as f:
            f.write(to_yaml(self.route_config([dict(PROTECTED, access={"users": ["admin", "alice"]})])))
        os.replace(ag.config_path + ".tmp", ag.config_path)
        before = ag.stderr().count(RELOAD_OK)
        ag.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while ag.stderr().count(RELOAD_OK) == before:
            self.assertLess(time.monotonic(), deadline, "no reload within 10 s\n" + ag.logs())
            time.sleep(0.05)
        resp, rec = self.send(ag, "POST", "/api/v1/sources/create", alice, conn=keep)
        self.assertEqual(resp.status, 200, "the policy did not change on the open connection")
        self.assertIsNotNone(rec)
        # The same connection, still open.
        resp, _ = self.send(ag, "GET", "/echo", alice, conn=keep)
        self.assertEqual(resp.status, 200)


class RoutesCheckTest(RoutesBase):
    def check(self, routes):
        path = os.path.join(self.tmp, "check.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(self.route_config(routes)))
        p = run_cli(["check", "-c", path])
        return p.returncode, p.stdout.decode(), p.stderr.decode(), path

    def test_unknown_user_is_an_error_with_its_line(self):
        code, out, err, path = self.check([dict(PROTECTED, access={"users": ["admin", "mallory"]})])
        self.assertNotEqual(code, 0, out)
        self.assertRegex(err, re.escape(path) + r':\d+:\d+: routes\[0\]\.access\.users\[1\]: unknown user "mallory"')
        # And a reload to it is rejected (the old policy keeps serving).
        ag = self.start_routes([PROTECTED])
        with open(ag.config_path + ".tmp", "w") as f:
            f.write(to_yaml(self.route_config([dict(PROTECTED, access={"users": ["mallory"]})])))
        os.replace(ag.config_path + ".tmp", ag.config_path)
        ag.signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "unknown user" not in ag.stderr():
            self.assertLess(time.monotonic(), deadline, "reload not rejected\n" + ag.logs())
            time.sleep(0.05)
        resp, _ = self.send(ag, "POST", "/api/v1/sources/create", [("Authorization", basic("admin"))])
        self.assertEqual(resp.status, 200)

    def test_shadowed_route_is_reported(self):
        code, out, err, path = self.check([{"path_prefix": "/api/"}, PROTECTED,
                                           {"path_prefix": "/api/v2/", "methods": ["GET"]}])
        self.assertEqual(code, 0, err)
        self.assertIn("routes[1]: path_prefix \"/api/v1/sources/\" can never match: routes[0]", err)
        self.assertIn("routes[2]: path_prefix \"/api/v2/\" can never match", err)
        code, out, err, _ = self.check([PROTECTED, {"path_prefix": "/api/"}])
        self.assertEqual(code, 0, err)
        self.assertNotIn("can never match", err)


class WorkedExampleTest(RoutesBase):
    def test_docs_show_the_example_file_as_written(self):
        with open(EXAMPLE) as f:
            example = f.read()
        with open(os.path.join(ROOT, "docs", "access-control.md")) as f:
            docs = f.read()
        self.assertIn("```yaml\n" + example + "```", docs,
                      "docs/access-control.md must show config/examples/airbyte-routes.yaml verbatim")

    def test_selfcheck_warns_until_the_configuration_api_is_restricted(self):
        def finding_ids(routes):
            path = os.path.join(self.tmp, "selfcheck.yaml")
            with open(path, "w") as f:
                f.write(to_yaml(self.route_config(routes)))
            p = run_cli(["selfcheck", "-c", path, "--json"], timeout=60)
            doc = json.loads(p.stdout.decode())
            return {f["id"] for f in doc["findings"]}, doc
        ids, doc = finding_ids([])  # two users, no route: everyone may change connectors
        self.assertIn("ROUTES_CONFIG_API_OPEN", ids, doc)
        with open(EXAMPLE) as f:
            routes = yaml.safe_load(f)["routes"]
        ids, doc = finding_ids(routes)
        self.assertNotIn("ROUTES_CONFIG_API_OPEN", ids, doc)
        self.assertNotIn("ROUTES_SHADOWED", ids, doc)

    def test_the_example_works(self):
        with open(EXAMPLE) as f:
            text = f.read()
        # As written, with only the users file pointed at this test's.
        text = text.replace("/etc/airgate/users", self.users)
        example = yaml.safe_load(text)
        cfg = self.config(self.up, **example)
        cfg["trusted_proxies"] = ["127.0.0.1"]
        cfg["auth"]["throttle"] = {"max_failures": 1000000}
        ag = self.start_airgate(cfg)
        office, home = [("X-Forwarded-For", "10.20.3.4")], [("X-Forwarded-For", "198.51.100.7")]
        team_reads = [("POST", "/api/v1/sources/list"), ("POST", "/api/v1/connections/get"),
                      ("POST", "/api/v1/workspaces/list"), ("GET", "/"), ("GET", "/api/public/v1/sources"),
                      ("GET", "/api/public/v1/connections/abc")]
        changes = [("POST", "/api/v1/sources/create"), ("POST", "/api/v1/destinations/update"),
                   ("POST", "/api/v1/connections/delete"), ("POST", "/api/v1/sources/partial_update"),
                   ("POST", "/api/v1/web_backend/connections/create"), ("POST", "/api/public/v1/sources"),
                   ("PATCH", "/api/public/v1/destinations/abc"), ("DELETE", "/api/public/v1/connections/abc"),
                   ("POST", "//api/v1/./sources/create")]
        for method, path in team_reads:
            with self.subTest(read=path):
                resp, _ = self.send(ag, method, path, [("Authorization", basic("alice"))] + home)
                self.assertEqual(resp.status, 200, "%s %s" % (method, path))
        for method, path in changes:
            with self.subTest(change=path):
                for who, where, status in (("alice", office, 403), ("admin", home, 403), ("alice", home, 403)):
                    resp, rec = self.send(ag, method, path, [("Authorization", basic(who))] + where)
                    self.assertEqual(resp.status, status, "%s %s by %s" % (method, path, who))
                    self.assertIsNone(rec)
                resp, rec = self.send(ag, method, path, [("Authorization", basic("admin"))] + office)
                self.assertEqual(resp.status, 200, "%s %s by admin from the office" % (method, path))
                self.assertIsNotNone(rec)


if __name__ == "__main__":
    unittest.main()
