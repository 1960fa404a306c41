"""An Airbyte-like single-page app for the browser tests, served by the
integration tests' recording upstream (tests/tools/test_upstream.py), which
records every request it gets.

  /              index.html (sets the cookie `airbyte_ui=1`); loads /app.js
  /app.js        the app: runs each step below and writes the results to
                 window.__results (and the page), then sets window.__done
  /api/v1/users/get   Airbyte 2.x's session probe: JSON with a Bearer token,
                 else 401 + `WWW-Authenticate: Basic` (as Airbyte answers)
  anything else  the recording upstream's own endpoints (/echo, /upload, /ws, ...)

The app's steps: a plain fetch (the browser adds what it holds), a fetch with
the app's own `Authorization: Bearer`, a fetch the upstream answers with 401 +
`WWW-Authenticate: Basic`, a cookie round trip, a 1 MiB upload and a
WebSocket echo.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

from test_upstream import Upstream  # noqa: E402

INDEX = b"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Airbyte stand-in</title></head>
<body><h1>Airbyte stand-in</h1><pre id="out">running</pre><script src="/app.js"></script></body></html>
"""

APP_JS = b"""
(async () => {
  const r = {};
  const step = async (name, fn) => {
    try { r[name] = await fn(); } catch (e) { r[name] = {error: String(e)}; }
  };
  await step('plain_fetch', async () => {
    const res = await fetch('/echo?step=plain');
    return {status: res.status};
  });
  await step('bearer_fetch', async () => {
    const res = await fetch('/api/v1/users/get', {method: 'POST', headers: {
      'Authorization': 'Bearer app-token-123', 'Content-Type': 'application/json'}, body: '{}'});
    return {status: res.status, www_authenticate: res.headers.get('WWW-Authenticate')};
  });
  await step('upstream_challenge', async () => {
    const res = await fetch('/challenge', {headers: {'Authorization': 'Bearer app-token-123'}});
    return {status: res.status, www_authenticate: res.headers.get('WWW-Authenticate')};
  });
  await step('cookie', async () => {
    const res = await fetch('/echo?step=cookie');
    const body = await res.json();
    const sent = (body.headers || []).filter(h => h[0].toLowerCase() === 'cookie').map(h => h[1]);
    return {status: res.status, document_cookie: document.cookie, sent};
  });
  await step('upload', async () => {
    const data = new Uint8Array(1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = i % 251;
    const res = await fetch('/upload', {method: 'POST', body: data});
    return {status: res.status, body: res.status === 200 ? await res.json() : null};
  });
  await step('websocket', () => new Promise((resolve) => {
    const ws = new WebSocket('wss://' + location.host + '/ws');
    const timer = setTimeout(() => resolve({error: 'timeout'}), 5000);
    ws.onopen = () => ws.send('ping from the app');
    ws.onmessage = (m) => { clearTimeout(timer); resolve({echo: m.data}); ws.close(); };
    ws.onerror = () => { clearTimeout(timer); resolve({error: 'websocket error'}); };
  }));
  window.__results = r;
  document.getElementById('out').textContent = JSON.stringify(r, null, 2);
  window.__done = true;
})();
"""


class AirbyteLikeApp(Upstream):
    def _handle(self, sock, reader, rec):
        path = rec.path
        if path in ("/", "/index.html"):
            self._read_body(sock, reader, rec)
            return self._send(sock, rec, 200, INDEX, [("Set-Cookie", "airbyte_ui=1; Path=/; SameSite=Lax")],
                              ctype="text/html; charset=utf-8")
        if path == "/app.js":
            self._read_body(sock, reader, rec)
            return self._send(sock, rec, 200, APP_JS, ctype="text/javascript")
        if path == "/api/v1/users/get":
            self._read_body(sock, reader, rec)
            auth = rec.header("authorization", "")
            if auth.startswith("Bearer "):
                return self._json(sock, rec, {"userId": "u-1", "token": auth[7:]})
            return self._send(sock, rec, 401, b'{"message":"Unauthorized"}',
                              [("WWW-Authenticate", 'Basic realm="Airbyte"')])
        return super()._handle(sock, reader, rec)
