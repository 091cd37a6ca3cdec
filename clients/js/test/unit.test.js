// Unit tests of vent-client against a fake WebSocket (no network): the
// 28-character fast path and routing by "<rand>.<name>", DDP handshake and
// pipelining, pings, nosub errors, stop(), reconnect re-sending the same subs
// (login first), heartbeat timeout, attach().
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VentClient, VentError, VENT_PREFIX, randomId, attachToMeteor } from '../src/index.js';

import { FakeSocket, fastRetry, fresh, last, nextStatus } from './lib/fake.js';

test('prefix constant is the 28 characters Meteor compares', () => {
  assert.equal(VENT_PREFIX.length, 28);
  assert.equal(VENT_PREFIX, '{"msg":"changed","__vent":"1');
  const id = randomId();
  assert.match(id, /^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/);
  assert.notEqual(randomId(), id);
});

test('connect, pipelined subs, ready, fast-path routing by rand.name', () => {
  fresh();
  const vent = new VentClient('http://h:1/websocket', { WebSocket: FakeSocket, heartbeatMs: 0 });
  assert.equal(last().url, 'ws://h:1/websocket');
  const a = vent.subscribe('threadMessage', { threadId: 't1' });
  const b = vent.subscribe('threadMessage', { threadId: 't1' });
  const ws = last();
  ws.open();
  const sent = ws.take();
  assert.deepEqual(sent[0], { msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1'] });
  assert.deepEqual(sent[1], { msg: 'sub', id: a.id, name: 'threadMessage', params: [a.rand, { threadId: 't1' }] });
  assert.deepEqual(sent[2], { msg: 'sub', id: b.id, name: 'threadMessage', params: [b.rand, { threadId: 't1' }] });
  assert.notEqual(a.rand, b.rand);
  assert.equal(a.rand.length, 17);

  ws.recv({ msg: 'connected', session: 'S' });
  assert.equal(vent.status().connected, true);
  assert.equal(a.ready(), false);
  ws.recv({ msg: 'ready', subs: [a.id] });
  assert.equal(a.ready(), true);
  assert.equal(b.ready(), false);

  const gotA = [];
  const gotB = [];
  a.listen((e) => gotA.push(e));
  b.listen((e) => gotB.push(e));
  ws.recv(`{"msg":"changed","__vent":"1","id":"${a.rand}.threadMessage","e":{"message":"x"}}`);
  ws.recv(`{"msg":"changed","__vent":"1","id":"${b.rand}.threadMessage","e":{"message":"y"}}`);
  // Not Vent frames for the fast path: key order, number "1", whitespace.
  ws.recv(`{"__vent":"1","msg":"changed","id":"${a.rand}.threadMessage","e":{"message":"bad1"}}`);
  ws.recv(`{"msg":"changed","__vent":1,"id":"${a.rand}.threadMessage","e":{"message":"bad2"}}`);
  ws.recv(`{"msg": "changed","__vent":"1","id":"${a.rand}.threadMessage","e":{"message":"bad3"}}`);
  // Unknown id, wrong publication name: dropped.
  ws.recv(`{"msg":"changed","__vent":"1","id":"${a.rand}.paymentStatus","e":{"message":"bad4"}}`);
  ws.recv(`{"msg":"changed","__vent":"1","id":"zzz.threadMessage","e":{"message":"bad5"}}`);
  assert.deepEqual(gotA, [{ message: 'x' }]);
  assert.deepEqual(gotB, [{ message: 'y' }]);

  // listen() replaces the listener.
  const gotA2 = [];
  a.listen((e) => gotA2.push(e));
  ws.recv(`{"msg":"changed","__vent":"1","id":"${a.rand}.threadMessage","e":{"n":2}}`);
  assert.deepEqual(gotA, [{ message: 'x' }]);
  assert.deepEqual(gotA2, [{ n: 2 }]);
  vent.close();
});

test('fast path does not parse other messages as Vent frames (JSON.parse count)', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0 });
  const s = vent.subscribe('p', {});
  const ws = last();
  ws.open();
  let n = 0;
  s.listen(() => n++);
  const orig = JSON.parse;
  let parses = 0;
  JSON.parse = (...args) => { parses++; return orig(...args); };
  try {
    ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":{}}`);
  } finally {
    JSON.parse = orig;
  }
  assert.equal(n, 1);
  assert.equal(parses, 1, 'a Vent frame is parsed exactly once');
  vent.close();
});

test('ping is answered (id echoed only when present); unsub on stop; no events after stop', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0 });
  const s = vent.subscribe('p', { x: 1 });
  const ws = last();
  ws.open();
  ws.take();
  ws.recv({ msg: 'ping' });
  ws.recv({ msg: 'ping', id: 'abc' });
  assert.deepEqual(ws.take(), [{ msg: 'pong' }, { msg: 'pong', id: 'abc' }]);
  const got = [];
  s.listen((e) => got.push(e));
  ws.recv({ msg: 'ready', subs: [s.id] });
  s.stop();
  assert.deepEqual(ws.take(), [{ msg: 'unsub', id: s.id }]);
  assert.equal(s.ready(), false);
  ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":{"late":true}}`);
  ws.recv({ msg: 'nosub', id: s.id });
  assert.deepEqual(got, []);
  s.stop(); // idempotent
  assert.deepEqual(ws.take(), []);
  vent.close();
});

test('nosub with error rejects whenReady and calls onError with a VentError', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0 });
  const s = vent.subscribe('nope', {});
  const errs = [];
  s.onError((e) => errs.push(e));
  const ws = last();
  ws.open();
  const error = { isClientSafe: true, error: 404, reason: "Subscription 'nope' not found",
    message: "Subscription 'nope' not found [404]", errorType: 'Meteor.Error' };
  ws.recv({ msg: 'nosub', id: s.id, error });
  await assert.rejects(s.whenReady(), (e) => e instanceof VentError && e.error === 404 &&
    e.reason === "Subscription 'nope' not found" && e.message === "Subscription 'nope' not found [404]");
  assert.equal(errs.length, 1);
  assert.equal(errs[0].error, 404);
  // A failed sub is not re-sent after a reconnect.
  ws.take();
  ws.serverClose();
  vent.close();
});

test('reconnect: status events, login first, then the SAME subs (ids and rand)', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0, reconnect: fastRetry });
  const statuses = [];
  vent.on('status', (s) => statuses.push(s.status));
  const s = vent.subscribe('threadMessage', { threadId: 't' });
  let ws = last();
  ws.open();
  ws.recv({ msg: 'connected', session: 'a' });
  ws.recv({ msg: 'ready', subs: [s.id] });
  const login = vent.login('tok');
  const first = ws.take();
  const loginMsg = first.find((m) => m.method === 'login');
  assert.deepEqual(loginMsg.params, [{ resume: 'tok' }]);
  ws.recv({ msg: 'result', id: loginMsg.id, result: { id: 'u1', token: 'tok', type: 'resume' } });
  assert.deepEqual(await login, { id: 'u1', token: 'tok', type: 'resume' });

  const got = [];
  s.listen((e) => got.push(e));
  const reopened = nextStatus(vent, (st) => st.status === 'connecting');
  ws.serverClose();
  assert.equal(s.ready(), false);
  assert.equal(vent.status().connected, false);
  assert.equal(vent.status().retryCount, 1);
  await reopened;
  ws = last();
  assert.equal(FakeSocket.instances.length, 2);
  ws.open();
  const again = ws.take();
  assert.equal(again[0].msg, 'connect');
  assert.equal(again[1].method, 'login', 'login is the first message after connect');
  assert.deepEqual(again[1].params, [{ resume: 'tok' }]);
  assert.deepEqual(again[2], { msg: 'sub', id: s.id, name: 'threadMessage', params: [s.rand, { threadId: 't' }] });
  ws.recv({ msg: 'connected', session: 'b' });
  ws.recv({ msg: 'ready', subs: [s.id] });
  assert.equal(s.ready(), true);
  ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.threadMessage","e":{"after":1}}`);
  assert.deepEqual(got, [{ after: 1 }]);
  assert.deepEqual(statuses, ['connected', 'waiting', 'connecting', 'connected']);
  vent.close();
  assert.equal(vent.status().status, 'closed');
});

test('login error rejects with VentError and the token is not re-sent', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0, reconnect: fastRetry });
  const p = vent.login('tok');
  let ws = last();
  ws.open();
  const m = ws.take().find((x) => x.method === 'login');
  assert.ok(m, 'login queued until open, then sent');
  ws.recv({ msg: 'result', id: m.id, error: { error: 404, reason: "Method 'login' not found",
    message: "Method 'login' not found [404]", errorType: 'Meteor.Error' } });
  await assert.rejects(p, (e) => e instanceof VentError && e.error === 404 && /login/.test(e.reason));
  const reopened = nextStatus(vent, (st) => st.status === 'connecting');
  ws.serverClose();
  await reopened;
  ws = last();
  ws.open();
  assert.deepEqual(ws.take().map((x) => x.msg), ['connect']);
  vent.close();
});

test('heartbeat: idle client pings, and reconnects when the ping is not answered', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', {
    WebSocket: FakeSocket, heartbeatMs: 20, heartbeatTimeoutMs: 20, reconnect: fastRetry,
  });
  const ws = last();
  ws.open();
  ws.recv({ msg: 'connected', session: 'a' });
  ws.take();
  const dropped = nextStatus(vent, (st) => st.status === 'waiting');
  const st = await dropped;
  assert.match(st.reason, /heartbeat timeout/);
  assert.ok(ws.sent.some((m) => m.msg === 'ping'), 'a ping was sent before giving up');
  assert.equal(ws.closedWith, 4000);
  await nextStatus(vent, (s) => s.status === 'connecting');
  assert.equal(FakeSocket.instances.length, 2);
  vent.close();
});

test('heartbeat timing (mocked clock): a ping heartbeatMs (+ at most one tick) after the LAST message, a drop heartbeatTimeoutMs later', (t) => {
  // The client counts messages and checks the count on a timer tick of
  // min(heartbeatMs/4, 1 s) = 250 ms here; the clock and timers are mocked.
  let clock = 1000;
  t.mock.method(globalThis.performance, 'now', () => clock);
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const advance = (ms) => {
    for (let i = 0; i < ms; i++) { clock += 1; t.mock.timers.tick(1); }
  };
  fresh();
  const vent = new VentClient('ws://h/websocket', {
    WebSocket: FakeSocket, heartbeatMs: 1000, heartbeatTimeoutMs: 500, connectTimeoutMs: 0, networkEvents: false,
    reconnect: { initialMs: 60000, maxMs: 60000, jitter: 0 },
  });
  const ws = last();
  ws.handshake();
  const pings = () => ws.sent.filter((m) => m.msg === 'ping').length;
  // Traffic every 300 ms for 3 s: never a ping.
  for (let i = 0; i < 10; i++) { advance(300); ws.recv({ msg: 'ping' }); }
  assert.equal(pings(), 0);
  // Silence: no ping before 1000 ms after the last message, one by 1250 ms.
  advance(999);
  assert.equal(pings(), 0);
  advance(251);
  assert.equal(pings(), 1);
  // Any message answers it; the next ping comes 1000..1250 ms after that message.
  advance(200);
  ws.recv({ msg: 'pong' });
  advance(999);
  assert.equal(pings(), 1);
  let waited = 999;
  while (pings() === 1 && waited < 2000) { advance(1); waited++; }
  assert.ok(pings() === 2 && waited <= 1250, `second ping ${waited} ms after the pong`);
  // Unanswered: dropped exactly 500 ms after the ping.
  advance(499);
  assert.equal(vent.status().status, 'connected');
  advance(1);
  assert.equal(vent.status().status, 'waiting');
  assert.match(vent.status().reason, /heartbeat timeout/);
  vent.close();
});

test('backoff grows exponentially and is capped; jitter stays within bounds', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', {
    WebSocket: FakeSocket, heartbeatMs: 0, reconnect: { initialMs: 1, maxMs: 8, jitter: 0.5 },
  });
  const delays = [];
  vent.on('status', (s) => { if (s.status === 'waiting') delays.push(s.retryInMs); });
  for (let i = 0; i < 6; i++) {
    const next = nextStatus(vent, (s) => s.status === 'connecting');
    last().serverClose();
    await next;
  }
  const caps = [1, 2, 4, 8, 8, 8];
  delays.forEach((d, i) => assert.ok(d <= caps[i] && d >= Math.floor(caps[i] / 2), `delay ${i} = ${d}`));
  vent.close();
});

test('attach(): generic link (send/onMessage/onConnected) and Meteor adapter', () => {
  const sent = [];
  let deliver = null;
  let reconnected = null;
  const vent = VentClient.attach({
    send: (m) => sent.push(m), onMessage: (fn) => { deliver = fn; }, onConnected: (fn) => { reconnected = fn; },
  });
  const s = vent.subscribe('p', { a: 1 });
  assert.deepEqual(sent.splice(0), [{ msg: 'sub', id: s.id, name: 'p', params: [s.rand, { a: 1 }] }]);
  deliver(`{"msg":"ready","subs":["${s.id}"]}`);
  assert.equal(s.ready(), true);
  const got = [];
  s.listen((e) => got.push(e));
  deliver(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":1}`);
  assert.deepEqual(got, [1]);
  reconnected();
  assert.deepEqual(sent.splice(0), [{ msg: 'sub', id: s.id, name: 'p', params: [s.rand, { a: 1 }] }]);
  s.stop();
  assert.deepEqual(sent.splice(0), [{ msg: 'unsub', id: s.id }]);

  // Meteor-shaped connection: subs go through connection.subscribe.
  const calls = [];
  let streamFn = null;
  const conn = {
    _stream: { on: (ev, fn) => { assert.equal(ev, 'message'); streamFn = fn; } },
    _send: () => assert.fail('not used'),
    subscribe: (name, ...args) => {
      calls.push([name, ...args]);
      return { stop: () => calls.push(['stop', name]) };
    },
    apply: () => {},
  };
  const mv = attachToMeteor(conn);
  const ms = mv.subscribe('threadMessage', { threadId: 'x' });
  assert.equal(calls[0][0], 'threadMessage');
  assert.equal(calls[0][1], ms.rand);
  assert.deepEqual(calls[0][2], { threadId: 'x' });
  calls[0][3].onReady();
  assert.equal(ms.ready(), true);
  const mgot = [];
  ms.listen((e) => mgot.push(e));
  streamFn(`{"msg":"changed","__vent":"1","id":"${ms.rand}.threadMessage","e":{"message":"m"}}`);
  assert.deepEqual(mgot, [{ message: 'm' }]);
  ms.stop();
  assert.deepEqual(calls[1], ['stop', 'threadMessage']);
});

test('dist/vent-client.js and dist/vent-client.min.js are standalone and behave the same', async () => {
  const src = await import('../src/index.js');
  for (const file of ['../dist/vent-client.js', '../dist/vent-client.min.js']) {
    const m = await import(file);
    assert.deepEqual(Object.keys(m).sort(), Object.keys(src).sort(), file);
    fresh();
    const vent = new m.VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0 });
    const s = vent.subscribe('p', { a: 1 });
    const got = [];
    s.listen((e) => got.push(e));
    const ws = last();
    ws.open();
    assert.deepEqual(ws.take().map((x) => x.msg), ['connect', 'sub']);
    ws.recv({ msg: 'ready', subs: [s.id] });
    ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":{"ok":1}}`);
    assert.equal(s.ready(), true);
    assert.deepEqual(got, [{ ok: 1 }], file);
    vent.close();
  }
});
