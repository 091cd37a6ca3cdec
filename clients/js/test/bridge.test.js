// vent-client against the real stack: redis-server + vent-server (gRPC Emit)
// + vent-bridge (config/vent.yaml), all on free ports (tests/js/lib/stack.js).
// Events are emitted through clients/node/vent-client.js. No fixed sleeps:
// every wait is on an event or a polled condition with a deadline.
import crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { VentClient, VentError } from '../src/index.js';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const stack = require(path.join(root, 'tests/js/lib/stack.js'));
const { VentClient: EmitClient } = require(path.join(root, 'clients/node/vent-client.js'));

let redis;
let server;
let bridge;
let bridgePort;
let emitter;
const clients = [];

const JWT_SECRET = 'js-client-test-secret';
function hs256(payload) {
  const b64 = (x) => Buffer.from(x).toString('base64url');
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64(JSON.stringify(payload));
  const sig = crypto.createHmac('sha256', JWT_SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

async function startBridge() {
  return stack.startProcess(stack.binPath('vent-bridge'), [
    '--listen', `127.0.0.1:${bridgePort}`, '--redis', redis.url,
    '--config', path.join(root, 'config/vent.yaml'), '--jwt-hs256-secret', JWT_SECRET,
  ], { readyHttp: `http://127.0.0.1:${bridgePort}/healthz` });
}

before(async () => {
  redis = await stack.startRedis();
  server = await stack.startVentServer({ redis });
  bridgePort = await stack.freePort();
  bridge = await startBridge();
  emitter = new EmitClient(server.grpcAddress);
});

after(async () => {
  for (const c of clients) c.close();
  if (emitter) emitter.close();
  if (bridge) await bridge.stop();
  if (server) await server.stop();
  if (redis) await redis.stop();
});

function connect(opts = {}) {
  const vent = new VentClient(`ws://127.0.0.1:${bridgePort}/websocket`, {
    WebSocket, reconnect: { initialMs: 50, maxMs: 500, jitter: 0.5 }, ...opts,
  });
  clients.push(vent);
  return vent;
}

// Resolves the next event on handle (the listener is replaced), or rejects.
function collector(handle) {
  const events = [];
  const waiters = [];
  handle.listen((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) w();
  });
  return {
    events,
    // Resolves once pred(events) holds; rejects after timeoutMs.
    until(pred, timeoutMs = 30000, what = 'event') {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pred(events)) { clearTimeout(timer); resolve(events); return true; }
          return false;
        };
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
        const loop = () => { if (!check()) waiters.push(loop); };
        loop();
      });
    },
  };
}

let seq = 0;
const uniq = (p) => `${p}${process.pid}x${++seq}`;

test('subscribe → whenReady → events emitted through vent-server reach listen()', async () => {
  const vent = connect();
  const threadId = uniq('t');
  const h = vent.subscribe('threadMessage', { threadId });
  assert.equal(h.ready(), false);
  const c = collector(h);
  await h.whenReady();
  assert.equal(h.ready(), true);
  assert.equal(vent.status().connected, true);
  const r = await emitter.emit(`threads::${threadId}::new_message`, { message: 'hello', extra: 'x' });
  assert.ok(r.receivers >= 1, `Redis receivers ${r.receivers}`);
  await emitter.emit(`threads::${threadId}::new_message`, { message: 'world' });
  await c.until((ev) => ev.length >= 2);
  // config/vent.yaml projects threadMessage to [message].
  assert.deepEqual(c.events, [{ message: 'hello' }, { message: 'world' }]);

  const p = vent.subscribe('paymentStatus', { paymentId: uniq('p') });
  const pc = collector(p);
  await p.whenReady();
  await emitter.emit(`payments::${p.params[0].paymentId}::updated`, { status: 'PAID' });
  await pc.until((ev) => ev.length === 1);
  assert.deepEqual(pc.events, [{ status: 'PAID' }]);
});

test('two handles to the same publication are independent; stop() ends only one', async () => {
  const vent = connect();
  const threadId = uniq('t');
  const other = uniq('t');
  const a = vent.subscribe('threadMessage', { threadId });
  const b = vent.subscribe('threadMessage', { threadId });
  const o = vent.subscribe('threadMessage', { threadId: other });
  assert.notEqual(a.rand, b.rand);
  const ca = collector(a);
  const cb = collector(b);
  const co = collector(o);
  await Promise.all([a.whenReady(), b.whenReady(), o.whenReady()]);
  await emitter.emit(`threads::${threadId}::new_message`, { message: 'both' });
  await ca.until((ev) => ev.length === 1);
  await cb.until((ev) => ev.length === 1);
  assert.deepEqual(ca.events, [{ message: 'both' }]);
  assert.deepEqual(cb.events, [{ message: 'both' }]);

  // After a.stop(), nothing more reaches a: bounded by a marker that b gets.
  a.stop();
  assert.equal(a.ready(), false);
  await emitter.emit(`threads::${threadId}::new_message`, { message: 'after-stop' });
  await emitter.emit(`threads::${other}::new_message`, { message: 'other' });
  await emitter.emit(`threads::${threadId}::new_message`, { message: 'marker' });
  await cb.until((ev) => ev.some((e) => e.message === 'marker'));
  await co.until((ev) => ev.length === 1);
  assert.deepEqual(ca.events, [{ message: 'both' }]);
  assert.deepEqual(cb.events.map((e) => e.message), ['both', 'after-stop', 'marker']);
  assert.deepEqual(co.events, [{ message: 'other' }]);

  // stop() inside the listener: frames already on the wire (a burst emitted in
  // one EmitBatch) never reach the stopped handle; b, on the same channel, gets all.
  const d = vent.subscribe('threadMessage', { threadId });
  const dGot = [];
  d.listen((e) => { dGot.push(e); d.stop(); });
  await d.whenReady();
  const burst = Array.from({ length: 20 }, (_, i) => [`threads::${threadId}::new_message`, { message: `burst-${i}` }]);
  await emitter.emitBatch(burst);
  await cb.until((ev) => ev.some((e) => e.message === 'burst-19'));
  assert.deepEqual(dGot, [{ message: 'burst-0' }]);
});

test('nosub errors: unknown publication (404) and bad params (400) reject whenReady and call onError', async () => {
  const vent = connect();
  const unknown = vent.subscribe('noSuchPublication', { x: 1 });
  const errs = [];
  unknown.onError((e) => errs.push(e));
  await assert.rejects(unknown.whenReady(), (e) => {
    assert.ok(e instanceof VentError);
    assert.equal(e.error, 404);
    assert.equal(e.reason, "Subscription 'noSuchPublication' not found");
    assert.match(e.message, /not found \[404\]/);
    return true;
  });
  assert.equal(errs.length, 1);
  assert.equal(unknown.ready(), false);

  const bad = vent.subscribe('threadMessage', { threadId: 'not valid!' });
  await assert.rejects(bad.whenReady(), (e) => e instanceof VentError && e.error === 400 && e.reason === 'Match failed');
  const missing = vent.subscribe('paymentStatus');
  await assert.rejects(missing.whenReady(), (e) => e instanceof VentError && e.error === 400);
  // The connection is still fine afterwards.
  const ok = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await ok.whenReady();
});

test('login sends DDP login {resume}: a refused token rejects with 403, a valid one resolves', async () => {
  const sent = [];
  // Observe the wire with a recording WebSocket subclass.
  class RecordingWebSocket extends WebSocket {
    send(text, ...rest) {
      sent.push(JSON.parse(text));
      return super.send(text, ...rest);
    }
  }
  const vent = connect({ WebSocket: RecordingWebSocket });
  await assert.rejects(vent.login('some-resume-token'), (e) => {
    assert.ok(e instanceof VentError, String(e));
    assert.equal(e.error, 403);
    assert.equal(e.reason, "You've been logged out by the server. Please log in again.");
    return true;
  });
  const login = sent.find((m) => m.msg === 'method' && m.method === 'login');
  assert.deepEqual(login.params, [{ resume: 'some-resume-token' }]);
  assert.equal(typeof login.id, 'string');
  const token = hs256({ sub: 'user-1', exp: Math.floor(Date.now() / 1000) + 600 });
  const result = await vent.login(token);
  assert.equal(result.id, 'user-1');
  assert.equal(result.type, 'resume');
  // Connection stays usable.
  const h = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await h.whenReady();
});

test('reconnect: bridge killed and restarted on the same port → same subscription gets events again', async () => {
  const vent = connect();
  const statuses = [];
  vent.on('status', (s) => statuses.push(s));
  const threadId = uniq('t');
  const h = vent.subscribe('threadMessage', { threadId });
  const c = collector(h);
  const readies = [];
  h.onReady(() => readies.push(Date.now()));
  await h.whenReady();
  const { id, rand } = h;
  await emitter.emit(`threads::${threadId}::new_message`, { message: 'before' });
  await c.until((ev) => ev.length === 1);

  const down = new Promise((resolve) => {
    const off = vent.on('status', (s) => { if (!s.connected) { off(); resolve(s); } });
  });
  await bridge.kill('SIGKILL');
  const st = await down;
  assert.equal(st.connected, false);
  assert.equal(h.ready(), false);

  bridge = await startBridge();
  await stack.waitFor(() => vent.status().connected && h.ready(), { timeoutMs: 20000, what: 'resubscribed' });
  assert.equal(h.id, id);
  assert.equal(h.rand, rand);
  assert.ok(readies.length >= 2, 'onReady fired again after the re-subscription');
  // Events published now reach the SAME handle (publish until one arrives).
  let n = 0;
  await stack.waitFor(async () => {
    if (c.events.length > 1) return true;
    await emitter.emit(`threads::${threadId}::new_message`, { message: `after-${++n}` });
    return c.events.length > 1;
  }, { timeoutMs: 20000, intervalMs: 100, what: 'event after reconnect' });
  assert.match(c.events[1].message, /^after-\d+$/);

  const seen = statuses.map((s) => (s.connected ? 'connected' : 'disconnected'));
  const firstDown = seen.indexOf('disconnected');
  assert.ok(firstDown >= 0 && seen.indexOf('connected', firstDown) > firstDown, `status sequence ${seen}`);
  const waiting = statuses.find((s) => s.status === 'waiting');
  assert.ok(waiting.retryCount >= 1 && waiting.retryInMs >= 0);
});
