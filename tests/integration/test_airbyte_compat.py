"""Drop-in compatibility with Airbyte's own proxy (issue 3, "Airbyte
compatibility"): the behaviour checked by airbyte-proxy/test.sh in the
Airbyte repository, reproduced with our binary and its environment variables.

test.sh, in order:
  start with BASIC_AUTH_USERNAME=airbyte BASIC_AUTH_PASSWORD=password
    no credentials            -> "401 Unauthorized"
    airbyte:password          -> "502 Bad Gateway" (no upstream listening)
  restart with BASIC_AUTH_PASSWORD=pa55w0rd
    airbyte:password          -> "401 Unauthorized"
    airbyte:pa55w0rd          -> "502 Bad Gateway"
  restart with both variables empty
    no credentials            -> "502 Bad Gateway" (auth disabled)
  start with PROXY_PASS_WEB=<another backend> -> the answer comes from that backend
"""

import os
import unittest

from harness import free_port, write_config
from test_access_basic import AccessBase, basic

USER = "airbyte"
PASSWORD = "password"
UPDATED_PASSWORD = "pa55w0rd"


class AirbyteProxyScriptTest(AccessBase):
    def setUp(self):
        super().setUp()
        # The configured upstream: nothing listens there (like test.sh, which has no Airbyte behind it).
        self.dead_url = "http://127.0.0.1:%d" % free_port()

    def start_env(self, env, upstream=None):
        cfg = self.config(upstream or self.dead_url, admin=None)
        return self.start_airgate(cfg, env=env)

    def fetch(self, ag, headers=(), path="/"):
        return self.get(ag, None, headers, path=path)[0]

    def assert_status_line(self, resp, status, reason, ag):
        self.assertEqual((resp.status, resp.reason), (status, reason),
                         "test.sh greps the status line for %d %s; got %d %s\n%s" % (
                             status, reason, resp.status, resp.reason, ag.logs()))

    def test_airbyte_proxy_script(self):
        # 1. username/password from the environment
        ag = self.start_env({"BASIC_AUTH_USERNAME": USER, "BASIC_AUTH_PASSWORD": PASSWORD})
        resp = self.fetch(ag)
        self.assert_status_line(resp, 401, "Unauthorized", ag)
        self.assertEqual(resp.header("WWW-Authenticate"), 'Basic realm="Welcome to Airbyte", charset="UTF-8"')
        resp = self.fetch(ag, [("Authorization", basic(USER, PASSWORD))])
        self.assert_status_line(resp, 502, "Bad Gateway", ag)
        self.assertEqual(ag.stop(), 0)

        # 2. restarted with an updated password
        ag = self.start_env({"BASIC_AUTH_USERNAME": USER, "BASIC_AUTH_PASSWORD": UPDATED_PASSWORD})
        resp = self.fetch(ag, [("Authorization", basic(USER, PASSWORD))])
        self.assert_status_line(resp, 401, "Unauthorized", ag)
        resp = self.fetch(ag, [("Authorization", basic(USER, UPDATED_PASSWORD))])
        self.assert_status_line(resp, 502, "Bad Gateway", ag)
        self.assertEqual(ag.stop(), 0)

        # 3. both variables empty: auth disabled
        ag = self.start_env({"BASIC_AUTH_USERNAME": "", "BASIC_AUTH_PASSWORD": ""})
        resp = self.fetch(ag)
        self.assert_status_line(resp, 502, "Bad Gateway", ag)
        self.assertEqual(ag.stop(), 0)

        # 4. PROXY_PASS_WEB changes the backend (test.sh sets only PROXY_PASS_WEB)
        up = self.start_upstream(name="proxy-pass-web")
        ag = self.start_env({"PROXY_PASS_WEB": up.url})
        resp, rec = self.get(ag, up)
        self.assertEqual(resp.status, 200, ag.logs())
        self.assertIsNotNone(rec, "the request did not reach the PROXY_PASS_WEB upstream")

    def test_no_auth_with_upstream_passes(self):
        up = self.start_upstream()
        ag = self.start_env({"BASIC_AUTH_USERNAME": "", "BASIC_AUTH_PASSWORD": ""}, upstream=up.url)
        resp, rec = self.get(ag, up, path="/api/v1/workspaces/list")
        self.assertEqual(resp.status, 200)
        self.assertIsNotNone(rec)

    def test_proxy_pass_web_with_credentials(self):
        """PROXY_PASS_WEB overrides upstream.url of the file; auth still applies."""
        up = self.start_upstream()
        ag = self.start_env({"BASIC_AUTH_USERNAME": USER, "BASIC_AUTH_PASSWORD": UPDATED_PASSWORD,
                             "PROXY_PASS_WEB": up.url})
        resp, rec = self.get(ag, up)
        self.assertEqual(resp.status, 401)
        self.assertIsNone(rec)
        resp, rec = self.get(ag, up, [("Authorization", basic(USER, UPDATED_PASSWORD))])
        self.assertEqual(resp.status, 200)
        self.assertIsNotNone(rec)
        self.assertEqual(rec.header_values("Authorization"), [], "the basic credential must not go upstream")

    def test_proxy_pass_web_invalid_refuses_start(self):
        ag = self.start_airgate(self.config(self.dead_url, admin=None), env={"PROXY_PASS_WEB": "ftp://x"},
                                wait=False)
        code = ag.wait_exit(15)
        self.assertIsNotNone(code, "airgate started with PROXY_PASS_WEB=ftp://x\n%s" % ag.logs())
        self.assertNotEqual(code, 0)
        self.assertIn("PROXY_PASS_WEB", ag.stderr())

    def test_basic_auth_proxy_timeout(self):
        """BASIC_AUTH_PROXY_TIMEOUT (seconds) sets the upstream timeouts: a slow upstream -> 504."""
        up = self.start_upstream()
        ag = self.start_env({"BASIC_AUTH_PROXY_TIMEOUT": "1"}, upstream=up.url)
        resp, _ = self.get(ag, up, path="/slow?seconds=4")
        self.assertEqual(resp.status, 504, ag.logs())

    def test_airgate_config_variable(self):
        """AIRGATE_CONFIG names the config file when -c is not given."""
        up = self.start_upstream()
        cfg_dir = os.path.join(self.tmp, "cfg")
        os.makedirs(cfg_dir)
        path = write_config(cfg_dir, self.config(up.url, admin=None))
        ag = self.start_airgate(None, args=["run"], expect_listeners=1, expect_admin=False,
                                env={"AIRGATE_CONFIG": path, "BASIC_AUTH_USERNAME": USER,
                                     "BASIC_AUTH_PASSWORD": PASSWORD})
        self.assertEqual(self.get(ag, up)[0].status, 401)
        self.assertEqual(self.get(ag, up, [("Authorization", basic(USER, PASSWORD))])[0].status, 200)


if __name__ == "__main__":
    unittest.main()
