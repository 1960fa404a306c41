// Drives Debian's chromium (headless) with puppeteer-core for tests/browser.
// Usage: node drive.mjs '<json>' where json = {
//   url: the page to open, credentials: {username, password} | null (answers
//   the browser's native auth prompts; null cancels them),
//   wait_app: true to wait for the stand-in app's window.__results,
//   screenshot: path of a PNG to write, post_form: {action, field, size} to
//   navigate by submitting a form of that many bytes instead of opening url,
//   actions: a list run in order in the same page instead of url/post_form:
//     {goto: url}                     open a page
//     {login: {username, password}}   type into the login form, press the button
//     {wait_app: true}                wait for the stand-in app's window.__results
//     {screenshot: path}              a PNG of the page as it is
//     {save_cookie: name} / {restore_cookie: name}   keep a copy of a cookie,
//                                     put it back later (a replayed cookie)
//   each action records {status, url, text, results?} in out.steps }
// Prints one JSON line: {status, url, protocols, auth_challenges, results, text, cookies, steps}.
// protocols: every protocol the page's responses came over so far ("h2",
// "http/1.1"; from the DevTools protocol), also recorded per step.
// auth_challenges counts every authentication challenge the browser got
// (Fetch.authRequired over the DevTools protocol): each is a native
// "Sign in" dialog a user would have seen.
import puppeteer from 'puppeteer-core';

const args = JSON.parse(process.argv[2]);

const seen = new Set();
const protocols = () => [...seen].sort();
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
  await cdp.send('Network.enable');
  cdp.on('Network.responseReceived', (e) => { if (e.response.protocol) seen.add(e.response.protocol); });
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
  if (args.actions) {
    out.steps = [];
    const saved = {};
    for (const a of args.actions) {
      const step = {};
      if (a.goto) {
        const r = await page.goto(a.goto, {waitUntil: 'load', timeout: 15000});
        step.status = r ? r.status() : null;
      } else if (a.login) {
        await page.waitForSelector('#username', {timeout: 5000});
        await page.$eval('#username', (el) => { el.value = ''; });
        await page.type('#username', a.login.username);
        await page.type('#password', a.login.password);
        const [r] = await Promise.all([page.waitForNavigation({waitUntil: 'load', timeout: 15000}),
                                       page.click('button[type=submit]')]);
        step.status = r ? r.status() : null;
      } else if (a.wait_app) {
        await page.waitForFunction('window.__done === true', {timeout: 20000});
        step.results = await page.evaluate('window.__results');
      } else if (a.screenshot) {
        await page.screenshot({path: a.screenshot, fullPage: true});
      } else if (a.save_cookie) {
        saved[a.save_cookie] = (await page.cookies()).find((c) => c.name === a.save_cookie);
        step.saved = !!saved[a.save_cookie];
      } else if (a.restore_cookie) {
        await page.setCookie(saved[a.restore_cookie]);
      }
      step.url = page.url();
      step.protocols = protocols();
      step.text = await page.evaluate(() => document.body ? document.body.innerText : '');
      step.auth_challenges = out.auth_challenges;
      out.steps.push(step);
    }
    out.status = out.steps.length ? out.steps[out.steps.length - 1].status : null;
  } else if (args.post_form) {
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
  if (!args.actions) out.status = response ? response.status() : null;
  if (args.wait_app) {
    await page.waitForFunction('window.__done === true', {timeout: 20000});
    out.results = await page.evaluate('window.__results');
  }
  out.url = page.url();
  out.protocols = protocols();
  out.text = await page.evaluate(() => document.body ? document.body.innerText : '');
  out.cookies = (await page.cookies()).map((c) => ({name: c.name, httpOnly: c.httpOnly, secure: c.secure}));
  if (args.screenshot) await page.screenshot({path: args.screenshot, fullPage: true});
} catch (e) {
  out.error = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
