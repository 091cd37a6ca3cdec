'use strict';
// The demo chat in headless Chromium with WebSocket DISABLED (the page's
// window.WebSocket removed before any script runs, as behind a proxy that
// blocks upgrades): the page uses sockjs-client (demo.js ?transport=sockjs),
// which falls back to SockJS's HTTP transports, served by vent-bridge. Once
// with sockjs-client's own choice (Meteor's situation: it falls back to
// xhr-streaming), then forced onto xhr-polling, eventsource and htmlfile
// (a browser-only transport: an iframe whose script calls the page). Two
// pages on one thread, one posts, both show the message. Asserts that no
// WebSocket was opened and that the bridge served SockJS HTTP requests.
// sockjs-client's browser build is routed to the page from node_modules.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, test } = require('node:test');

const { chromium } = require('playwright-core');

const stack = require('../../tests/js/lib/stack.js');
const { parseMetrics } = require('../../bridge/e2e/lib/bridge.js');

const ROOT = path.resolve(__dirname, '..', '..');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const CHROMIUM = process.env.VENT_CHROMIUM || '/usr/bin/chromium';
const SOCKJS_JS = fs.readFileSync(require.resolve('sockjs-client/dist/sockjs.min.js'));
const UI_TIMEOUT = 30000; // deadlines, not sleeps (a loaded 2-core machine)

let server;
let bridge;
let backend;
let browser;
let base;
let backendUrl;
const pageErrors = [];

async function metrics() {
  const r = await fetch(`${base}/metrics`);
  return parseMetrics(await r.text());
}

before(async () => {
  server = await stack.startVentServer();
  const port = await stack.freePort();
  base = `http://127.0.0.1:${port}`;
  bridge = await stack.startProcess(stack.binPath('vent-bridge'), [
    '--listen', `127.0.0.1:${port}`, '--redis', server.redis.url,
    '--config', path.join(ROOT, 'config', 'vent.yaml'),
    '--static-dir', path.join(ROOT, 'demo', 'public'),
  ], { readyHttp: `${base}/healthz` });
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

// A page with WebSocket removed; records every request it makes.
async function open(urlPath, requests) {
  const context = await browser.newContext({ viewport: { width: 720, height: 640 } });
  await context.addInitScript(() => {
    // No WebSocket at all: sockjs-client must use an HTTP transport.
    Object.defineProperty(window, 'WebSocket', { value: undefined, configurable: false });
    Object.defineProperty(window, 'MozWebSocket', { value: undefined, configurable: false });
  });
  await context.route('**/sockjs.min.js', (route) =>
    route.fulfill({ status: 200, contentType: 'application/javascript', body: SOCKJS_JS }));
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${urlPath}: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`${urlPath}: ${m.text()}`); });
  page.on('websocket', (ws) => requests.push(`WEBSOCKET ${ws.url()}`));
  page.on('request', (r) => requests.push(`${r.method()} ${new URL(r.url()).pathname}`));
  const res = await page.goto(`${base}/${urlPath}`);
  assert.equal(res.status(), 200, `GET ${urlPath}`);
  return page;
}

async function whenReady(page) {
  await page.waitForSelector('body[data-ready="true"]', { timeout: UI_TIMEOUT });
  await page.waitForSelector('#connection.ok', { timeout: UI_TIMEOUT });
}

// [label, ?sockjs= value, the request path each page must use]
const CASES = [
  ['fallback (sockjs-client chooses)', '', /\/xhr_streaming$/],
  ['xhr-polling', 'xhr-polling', /\/xhr$/],
  ['eventsource', 'eventsource', /\/eventsource$/],
  ['htmlfile', 'htmlfile', /\/htmlfile$/],
];

for (const [label, transports, usedPath] of CASES) {
  test(`chat over SockJS with WebSocket disabled: ${label}`, async () => {
    const before = await metrics();
    const thread = `sj${process.pid}${transports.replace(/[^a-z]/g, '')}`;
    const url = `chat.html?thread=${thread}&transport=sockjs${transports ? `&sockjs=${transports}` : ''}` +
      `&backend=${encodeURIComponent(backendUrl)}`;
    const reqA = [];
    const reqB = [];
    const alice = await open(url, reqA);
    const bob = await open(url, reqB);
    await Promise.all([whenReady(alice), whenReady(bob)]);
    assert.equal(await alice.evaluate(() => typeof window.WebSocket), 'undefined');

    await alice.fill('#message', `Hello over ${label}`);
    await alice.click('#send');
    for (const page of [alice, bob]) {
      await page.waitForSelector(`#messages li:not(.empty) >> text=Hello over ${label}`, { timeout: UI_TIMEOUT });
    }
    await bob.fill('#message', 'and back');
    await bob.press('#message', 'Enter');
    for (const page of [alice, bob]) {
      await page.waitForFunction(() => document.querySelectorAll('#messages li:not(.empty)').length === 2,
          null, { timeout: UI_TIMEOUT });
    }
    for (const reqs of [reqA, reqB]) {
      assert.deepEqual(reqs.filter((r) => r.startsWith('WEBSOCKET')), [], 'no WebSocket opened');
      assert.ok(reqs.some((r) => usedPath.test(r)), `a request to ${usedPath}: ${reqs.join(', ')}`);
      assert.ok(reqs.some((r) => /^POST \/sockjs\/[^/]+\/[^/]+\/xhr_send$/.test(r)), 'messages sent with xhr_send');
    }
    const after = await metrics();
    const served = (m) => m.get('vent_bridge_sockjs_requests_total') || 0;
    assert.ok(served(after) > served(before), 'the bridge served SockJS HTTP requests');
    await alice.screenshot({ path: path.join(ARTIFACTS, `demo-chat-sockjs-${transports || 'fallback'}.png`) });
    for (const p of [alice, bob]) await p.context().close();
  });
}

test('no page errors', () => {
  // sockjs-client gives an htmlfile iframe 15 s to call back (then cleans
  // it up and tries again); on a heavily loaded machine a late iframe's
  // script then finds its callback gone. That is the library's own retry,
  // not an error of the page or the bridge (the messages above arrived).
  const unexpected = pageErrors.filter((e) =>
    !/sockjs=htmlfile.*Cannot read properties of undefined \(reading '(start|message|stop)'\)/.test(e));
  assert.deepEqual(unexpected, []);
});
