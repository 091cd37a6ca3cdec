'use strict';
// demo/backend.js over HTTP against a real redis-server + vent-server: valid
// POSTs publish exactly the seed's channel and payload (observed with a raw
// Redis subscriber); bad input gets 400 JSON errors; CORS only for the bridge
// origin; the CLI rejects unknown flags.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const http = require('node:http');
const path = require('node:path');
const { after, before, test } = require('node:test');

const stack = require('../../tests/js/lib/stack.js');

const ROOT = path.resolve(__dirname, '..', '..');
const BRIDGE = 'http://127.0.0.1:3999';

let server;
let backend;
let url;
let sub;

before(async () => {
  server = await stack.startVentServer();
  const port = await stack.freePort();
  url = `http://127.0.0.1:${port}`;
  backend = await stack.startProcess(process.execPath, [
    path.join(ROOT, 'demo', 'backend.js'), '--listen', `127.0.0.1:${port}`, '--bridge', BRIDGE,
  ], { env: { VENT_SERVER: server.grpcAddress }, readyHttp: `${url}/healthz` });
  sub = await stack.subscribeRaw(server.redis.port, ['threads::t1::new_message', 'payments::p-1::updated']);
});

after(async () => {
  if (sub) sub.close();
  if (backend) await backend.stop();
  if (server) await server.stop();
});

function request(method, p, { body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body));
    const h = { ...headers };
    if (data !== undefined && !h['content-type']) h['content-type'] = 'application/json';
    const req = http.request(`${url}${p}`, { method, headers: h, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json = null;
        try { json = JSON.parse(text); } catch (_) { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (data !== undefined) req.write(data);
    req.end();
  });
}

test('POST /api/messages emits threads::<id>::new_message {message}', async () => {
  const r = await request('POST', '/api/messages', { body: { threadId: 't1', message: 'hi "there"', extra: 1 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.ok, true);
  assert.ok(r.json.receivers >= 1);
  const m = await sub.next();
  assert.equal(m.channel, 'threads::t1::new_message');
  assert.equal(m.payload.toString(), '{"message":"hi \\"there\\""}');
});

test('POST /api/payments/:id/webhook emits payments::<id>::updated {status}', async () => {
  const r = await request('POST', '/api/payments/p-1/webhook', { body: { status: 'PAID' } });
  assert.equal(r.status, 200, r.text);
  const m = await sub.next();
  assert.equal(m.channel, 'payments::p-1::updated');
  assert.equal(m.payload.toString(), '{"status":"PAID"}');
});

test('bad input: 400 with a JSON error; nothing is published', async () => {
  const cases = [
    ['/api/messages', { threadId: 'bad id', message: 'x' }, /threadId/],
    ['/api/messages', { threadId: 't1' }, /message/],
    ['/api/messages', { threadId: 't1', message: '   ' }, /message/],
    ['/api/messages', { threadId: 't1', message: 'x'.repeat(2001) }, /longer/],
    ['/api/messages', '{not json', /JSON object/],
    ['/api/messages', '[1]', /JSON object/],
    ['/api/payments/p-1/webhook', { status: 'paid' }, /status/],
    ['/api/payments/p-1/webhook', {}, /status/],
    ['/api/payments/bad%20id/webhook', { status: 'PAID' }, /payment id/],
  ];
  for (const [p, body, re] of cases) {
    const r = await request('POST', p, { body });
    assert.equal(r.status, 400, `${p} ${JSON.stringify(body)}: ${r.text}`);
    assert.match(r.json.error, re);
  }
  const wrongType = await request('POST', '/api/messages', { body: 'x', headers: { 'content-type': 'text/plain' } });
  assert.equal(wrongType.status, 400);
  const big = await request('POST', '/api/messages', { body: JSON.stringify({ message: 'x'.repeat(20000) }) });
  assert.equal(big.status, 413);
  assert.equal((await request('GET', '/api/messages')).status, 405);
  assert.equal((await request('POST', '/nope', { body: {} })).status, 404);
  // A marker proves nothing from the bad requests reached Redis before it.
  await request('POST', '/api/messages', { body: { threadId: 't1', message: 'marker' } });
  const m = await sub.next();
  assert.equal(m.payload.toString(), '{"message":"marker"}');
  assert.equal(sub.pending(), 0);
});

test('CORS: the bridge origin (and its localhost spelling) only', async () => {
  const pre = await request('OPTIONS', '/api/messages', {
    headers: { origin: BRIDGE, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], BRIDGE);
  assert.match(pre.headers['access-control-allow-methods'], /POST/);
  assert.match(pre.headers['access-control-allow-headers'], /content-type/);
  const local = await request('OPTIONS', '/api/messages', { headers: { origin: 'http://localhost:3999' } });
  assert.equal(local.headers['access-control-allow-origin'], 'http://localhost:3999');
  const evil = await request('OPTIONS', '/api/messages', { headers: { origin: 'http://evil.example' } });
  assert.equal(evil.headers['access-control-allow-origin'], undefined);
  const post = await request('POST', '/api/payments/p-1/webhook', { body: { status: 'FAILED' }, headers: { origin: BRIDGE } });
  assert.equal(post.headers['access-control-allow-origin'], BRIDGE);
  await sub.next();
});

test('CLI: unknown flags are an error (exit 2)', async () => {
  const r = await new Promise((resolve) => {
    childProcess.execFile(process.execPath, [path.join(ROOT, 'demo', 'backend.js'), '--bogus', 'x'],
        { timeout: 10000 }, (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr }));
  });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown argument --bogus/);
});
