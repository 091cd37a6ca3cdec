'use strict';
// The demo in headless Chromium: redis-server + vent-server + vent-bridge
// (serving demo/public, config/vent.yaml) + demo/backend.js, all on free
// ports. Two chat pages on one thread: one posts, BOTH show the message. The
// payment page shows PENDING and flips to PAID when the webhook button makes
// the backend emit. Screenshots go to tests/artifacts/ (git-ignored).
// Every wait is on a DOM condition or a readiness probe with a deadline.
// With VENT_DEMO_TLS=1 (ctest demo_browser_tls) the bridge serves the pages
// over https and DDP over wss with a fresh self-signed certificate
// (--tls-cert/--tls-key); Chromium is told to accept it.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { chromium } = require('playwright-core');

const stack = require('../../tests/js/lib/stack.js');
const { httpRequest, makeTestCert } = require('../../bridge/e2e/lib/bridge.js');

const TLS = process.env.VENT_DEMO_TLS === '1' ? makeTestCert() : null;

const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const CHROMIUM = process.env.VENT_CHROMIUM || '/usr/bin/chromium';
// Generous: Chromium is slow on a loaded 2-core machine; these are deadlines, not sleeps.
const UI_TIMEOUT = 30000;

let server;
let bridge;
let backend;
let browser;
let base; // http://127.0.0.1:<bridge port>
let backendUrl;
let bridgePort;
const pageErrors = [];

function startBridge() {
  return stack.startProcess(stack.binPath('vent-bridge'), [
    '--listen', `127.0.0.1:${bridgePort}`, '--redis', server.redis.url,
    '--config', path.join(ROOT, 'config', 'vent.yaml'),
    '--static-dir', path.join(ROOT, 'demo', 'public'),
    ...(TLS ? ['--tls-cert', TLS.certFile, '--tls-key', TLS.keyFile] : []),
  ], TLS ? { readyFn: async () => (await httpRequest(`${base}/healthz`, { ca: TLS.ca })).status === 200 } :
    { readyHttp: `${base}/healthz` });
}

before(async () => {
  server = await stack.startVentServer();
  bridgePort = await stack.freePort();
  base = `${TLS ? 'https' : 'http'}://127.0.0.1:${bridgePort}`;
  bridge = await startBridge();
  const backendPort = await stack.freePort();
  backendUrl = `http://127.0.0.1:${backendPort}`;
  backend = await stack.startProcess(process.execPath, [
    path.join(ROOT, 'demo', 'backend.js'), '--listen', `127.0.0.1:${backendPort}`, '--bridge', base,
  ], { env: { VENT_SERVER: server.grpcAddress }, readyHttp: `${backendUrl}/healthz` });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  if (browser) await browser.close();
  if (backend) await backend.stop();
  if (bridge) await bridge.stop();
  if (server) await server.stop();
});

async function open(urlPath) {
  const context = await browser.newContext({ viewport: { width: 720, height: 640 },
    ignoreHTTPSErrors: !!TLS });
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${urlPath}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${urlPath}: ${m.text()}`); });
  const res = await page.goto(`${base}/${urlPath}`);
  assert.equal(res.status(), 200, `GET ${urlPath}`);
  if (TLS) assert.equal(await page.evaluate(() => location.protocol), 'https:');
  return page;
}

async function whenReady(page) {
  // Set by the page once handle.whenReady() resolved (the bridge confirmed the sub).
  await page.waitForSelector('body[data-ready="true"]', { timeout: UI_TIMEOUT });
  await page.waitForSelector('#connection.ok', { timeout: UI_TIMEOUT });
}

test('index page links to both examples', async () => {
  const page = await open(`index.html?backend=${encodeURIComponent(backendUrl)}`);
  assert.match(await page.textContent('h1'), /Vent demo/);
  assert.match(await page.getAttribute('#chat-link', 'href'), /chat\.html\?thread=lobby&backend=/);
  assert.match(await page.getAttribute('#payment-link', 'href'), /payment\.html\?backend=/);
  await page.context().close();
});

test('chat: two pages on one thread, one posts, both show the message', async () => {
  const thread = `t${process.pid}`;
  const url = `chat.html?thread=${thread}&backend=${encodeURIComponent(backendUrl)}`;
  const alice = await open(url);
  const bob = await open(url);
  await Promise.all([whenReady(alice), whenReady(bob)]);
  assert.equal(await alice.textContent('#thread'), thread);

  await alice.fill('#message', 'Hello from Alice');
  await alice.click('#send');
  for (const page of [alice, bob]) {
    await page.waitForSelector('#messages li:not(.empty) >> text=Hello from Alice', { timeout: UI_TIMEOUT });
  }
  await bob.fill('#message', 'Hi Alice, Bob here');
  await bob.press('#message', 'Enter');
  for (const page of [alice, bob]) {
    await page.waitForFunction(() => document.querySelectorAll('#messages li:not(.empty)').length === 2,
        null, { timeout: UI_TIMEOUT });
    const items = await page.$$eval('#messages li:not(.empty)', (lis) => lis.map((li) => li.textContent));
    assert.deepEqual(items, ['Hello from Alice', 'Hi Alice, Bob here']);
  }
  assert.equal(await alice.inputValue('#message'), '', 'input cleared after a successful send');

  // A page on another thread sees none of it.
  const other = await open(`chat.html?thread=${thread}x&backend=${encodeURIComponent(backendUrl)}`);
  await whenReady(other);
  await alice.fill('#message', 'third');
  await alice.click('#send');
  await bob.waitForSelector('#messages li >> text=third', { timeout: UI_TIMEOUT });
  assert.equal(await other.$$eval('#messages li:not(.empty)', (l) => l.length), 0);

  await bob.screenshot({ path: path.join(ARTIFACTS, `demo-chat${TLS ? '-tls' : ''}.png`) });
  for (const p of [alice, bob, other]) await p.context().close();
});

test('payment: PENDING, then PAID when the webhook makes the backend emit', async () => {
  const paymentId = `pay${process.pid}`;
  const page = await open(`payment.html?payment=${paymentId}&backend=${encodeURIComponent(backendUrl)}`);
  const watcher = await open(`payment.html?payment=${paymentId}&backend=${encodeURIComponent(backendUrl)}`);
  await Promise.all([whenReady(page), whenReady(watcher)]);
  assert.equal(await page.textContent('#payment-status'), 'PENDING');
  assert.equal(await page.textContent('#payment-id'), paymentId);

  await page.selectOption('#new-status', 'PAID');
  await page.click('#simulate');
  for (const p of [page, watcher]) {
    await p.waitForSelector('#payment-status.PAID', { timeout: UI_TIMEOUT });
    assert.equal(await p.textContent('#payment-status'), 'PAID');
  }
  await page.screenshot({ path: path.join(ARTIFACTS, `demo-payment${TLS ? '-tls' : ''}.png`) });

  // Without ?payment= the page makes one up and puts it in the URL.
  const fresh = await open(`payment.html?backend=${encodeURIComponent(backendUrl)}`);
  await whenReady(fresh);
  assert.match(new URL(fresh.url()).searchParams.get('payment'), /^pay-[a-z0-9]+$/);
  assert.equal(await fresh.textContent('#payment-status'), 'PENDING');
  for (const p of [page, watcher, fresh]) await p.context().close();
});

test('chat page reconnects by itself after the bridge restarts and keeps its subscription', async () => {
  const thread = `r${process.pid}`;
  const page = await open(`chat.html?thread=${thread}&backend=${encodeURIComponent(backendUrl)}`);
  await whenReady(page);
  await bridge.kill('SIGKILL');
  await page.waitForSelector('#connection.down', { timeout: UI_TIMEOUT });
  bridge = await startBridge();
  await page.waitForSelector('#connection.ok', { timeout: UI_TIMEOUT });
  // Events sent before the page has re-subscribed are lost (no replay): post until one shows.
  let n = 0;
  await stack.waitFor(async () => {
    if (await page.$('#messages li:not(.empty)')) return true;
    const res = await fetch(`${backendUrl}/api/messages`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ threadId: thread, message: `after restart ${++n}` }),
    });
    assert.equal(res.status, 200);
    return false;
  }, { timeoutMs: UI_TIMEOUT, intervalMs: 200, what: 'message after bridge restart' });
  await page.waitForSelector('#messages li >> text=/after restart \\d+/', { timeout: UI_TIMEOUT });
  await page.context().close();
});

test('no page errors', () => {
  // While the restart test has the bridge down, Chromium logs the refused
  // reconnect attempts; those are expected, nothing else is.
  const unexpected = pageErrors.filter(
      (e) => !/WebSocket connection to .* failed: .*ERR_CONNECTION_REFUSED/.test(e));
  assert.deepEqual(unexpected, []);
});
