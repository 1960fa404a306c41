// Drives Debian's chromium (headless) with puppeteer-core for tests/browser.
// Usage: node drive.mjs '<json>' where json = {
//   url: the page to open, credentials: {username, password} | null (answers
//   the browser's native auth prompts; null cancels them),
//   wait_app: true to wait for the stand-in app's window.__results,
//   screenshot: path of a PNG to write, post_form: {action, field, size} to
//   navigate by submitting a form of that many bytes instead of opening url }
// Prints one JSON line: {status, url, auth_challenges, results, text, cookies}.
// auth_challenges counts every authentication challenge the browser got
// (Fetch.authRequired over the DevTools protocol): each is a native
// "Sign in" dialog a user would have seen.
import puppeteer from 'puppeteer-core';

const args = JSON.parse(process.argv[2]);
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--ignore-certificate-errors', '--disable-gpu', '--no-first-run',
         '--disable-dev-shm-usage', '--window-size=1024,768'],
  defaultViewport: {width: 1024, height: 768},
});
const out = {auth_challenges: 0};
try {
  const page = await browser.newPage();
  const cdp = await page.createCDPSession();
  await cdp.send('Fetch.enable', {handleAuthRequests: true, patterns: [{urlPattern: '*'}]});
  cdp.on('Fetch.requestPaused', (e) => cdp.send('Fetch.continueRequest', {requestId: e.requestId}).catch(() => {}));
  cdp.on('Fetch.authRequired', (e) => {
    out.auth_challenges += 1;
    const response = args.credentials
      ? {response: 'ProvideCredentials', username: args.credentials.username, password: args.credentials.password}
      : {response: 'CancelAuth'};
    cdp.send('Fetch.continueWithAuth', {requestId: e.requestId, authChallengeResponse: response}).catch(() => {});
  });
  let response;
  if (args.post_form) {
    await page.goto('about:blank');
    const nav = page.waitForNavigation({waitUntil: 'load', timeout: 15000});
    await page.evaluate((f) => {
      const form = document.createElement('form');
      form.method = 'POST';
      form.action = f.action;
      const t = document.createElement('textarea');
      t.name = f.field;
      t.value = 'x'.repeat(f.size);
      form.appendChild(t);
      document.body.appendChild(form);
      form.submit();
    }, args.post_form);
    response = await nav;
  } else {
    response = await page.goto(args.url, {waitUntil: 'load', timeout: 15000});
  }
  out.status = response ? response.status() : null;
  if (args.wait_app) {
    await page.waitForFunction('window.__done === true', {timeout: 20000});
    out.results = await page.evaluate('window.__results');
  }
  out.url = page.url();
  out.text = await page.evaluate(() => document.body ? document.body.innerText : '');
  out.cookies = (await page.cookies()).map((c) => ({name: c.name, httpOnly: c.httpOnly, secure: c.secure}));
  if (args.screenshot) await page.screenshot({path: args.screenshot, fullPage: true});
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
