// Unit tests (fake WebSocket) of subscription states and of every promise
// settling: state/ready/subscribing/unsubscribed events in order, re-ready
// after reconnect (first:false, recovered:false), nosub after a reconnect
// reaching whenReady callers, error and onStop, whenReady(timeout),
// temporary errors retried, Meteor-style callbacks, close 1009 blamed on the
// culprit, backoff that only a healthy connection resets, reconnect:false,
// close(), 'failed', autoConnect:false, offline/online.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VentClient, VentError, VentSubscription } from '../src/index.js';
import {
  FakeNetwork, FakeSocket, fastRetry, fresh, last, meteorError, nextSocket, nextStatus, recordEvents,
} from './lib/fake.js';

const base = { WebSocket: FakeSocket, heartbeatMs: 0, networkEvents: false };

test('state events in order: subscribing → subscribed → subscribing (disconnected) → subscribed (re-ready) → unsubscribed', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  const h = vent.subscribe('p', { a: 1 });
  const seen = recordEvents(h);
  const stops = [];
  h.onStop((...args) => stops.push(args));
  assert.equal(h.state, 'subscribing');
  let ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.state, 'subscribed');
  assert.equal(h.recovered, undefined);
  // The bridge lost Redis and subscribed again: a ready with recovered:false.
  ws.recv({ msg: 'ready', subs: [h.id], recovered: false });
  assert.equal(h.state, 'subscribed');
  assert.equal(h.recovered, false);
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose(1006);
  assert.equal(h.state, 'subscribing');
  await reopened;
  ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id] });
  h.stop();
  assert.deepEqual(seen.map(([ev, x]) => [ev, ev === 'state' ? `${x.previous}>${x.state}` : x.code ?? x.first]), [
    ['state', 'subscribing>subscribed'], ['ready', true],
    ['ready', false],
    ['state', 'subscribed>subscribing'], ['subscribing', 'disconnected'],
    ['state', 'subscribing>subscribed'], ['ready', false],
    ['state', 'subscribed>unsubscribed'], ['unsubscribed', 'stopped'],
  ]);
  const readies = seen.filter(([ev]) => ev === 'ready').map(([, x]) => x);
  assert.deepEqual(readies, [
    { first: true, recovered: undefined },
    { first: false, recovered: false }, // the server said so
    { first: false, recovered: false }, // after the client's own reconnect
  ]);
  assert.deepEqual(stops, [[]], 'onStop() once, without an error, after stop()');
  assert.equal(h.error, null);
  vent.close();
});

test('a nosub after a reconnect reaches whenReady callers, error listeners, onStop and the client', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  const clientErrors = [];
  vent.on('error', (e) => clientErrors.push(e));
  // The README pattern: await whenReady(), then nothing else.
  const quiet = vent.subscribe('quiet', {});
  const watched = vent.subscribe('watched', {});
  const handleErrors = [];
  const stops = [];
  watched.onError((e) => handleErrors.push(e));
  watched.onStop((e) => stops.push(e));
  let ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [quiet.id, watched.id] });
  await quiet.whenReady();
  await watched.whenReady();
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  const pending = watched.whenReady(); // waits for the resubscription
  ws = last();
  ws.handshake();
  const denied = meteorError(403, 'You must be logged in to subscribe to this publication');
  ws.recv({ msg: 'nosub', id: quiet.id, error: denied });
  ws.recv({ msg: 'nosub', id: watched.id, error: denied });
  await assert.rejects(pending, (e) => e instanceof VentError && e.error === 403 && e.subscription === watched);
  await assert.rejects(watched.whenReady(), (e) => e.error === 403, 'whenReady() after the end rejects');
  await assert.rejects(quiet.whenReady(), (e) => e.error === 403);
  assert.equal(quiet.ready(), false);
  assert.equal(quiet.state, 'unsubscribed');
  assert.equal(handleErrors.length, 1);
  assert.equal(stops.length, 1);
  assert.equal(stops[0].error, 403);
  // Nobody listened on `quiet`: the client's 'error' hears it, naming the subscription.
  assert.equal(clientErrors.length, 1);
  assert.equal(clientErrors[0].subscription, quiet);
  assert.equal(clientErrors[0].subscription.name, 'quiet');
  // Not re-sent on the next reconnect.
  const again = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await again;
  assert.deepEqual(last().handshake().filter((m) => m.msg === 'sub'), []);
  vent.close();
});

test('whenReady(timeoutMs) rejects with code timeout; the subscription goes on and a later call resolves', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('p', {});
  const ws = last();
  ws.handshake();
  await assert.rejects(h.whenReady(5), (e) => e instanceof VentError && e.error === 'timeout' && e.subscription === h);
  assert.equal(h.state, 'subscribing');
  const p = h.whenReady(10000);
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(await p, h);
  assert.equal(await h.whenReady(1), h, 'resolves at once while subscribed');
  vent.close();
});

test('503 and 429 are retried with the subscription backoff (same id and rand); 400/403/404 end it', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, resubscribe: { initialMs: 1, maxMs: 4, jitter: 0 } });
  const h = vent.subscribe('p', { a: 1 });
  const seen = recordEvents(h);
  const ws = last();
  const first = ws.handshake().find((m) => m.msg === 'sub');
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(503, 'Redis is unavailable, try again later') });
  assert.equal(h.state, 'subscribing');
  const waitSub = async () => {
    for (let i = 0; i < 1000 && !ws.sent.some((m) => m.msg === 'sub'); i++) await new Promise((r) => setTimeout(r, 1));
    return ws.take().find((m) => m.msg === 'sub');
  };
  assert.deepEqual(await waitSub(), first, 'the same sub message again');
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(429, 'Too many subscriptions') });
  assert.deepEqual(await waitSub(), first);
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.state, 'subscribed');
  const sub = seen.filter(([ev]) => ev === 'subscribing').map(([, x]) => [x.code, x.error.error]);
  assert.deepEqual(sub, [[503, 503], [429, 429]]);
  assert.deepEqual(seen.filter(([ev]) => ev === 'ready').map(([, x]) => x), [{ first: true, recovered: undefined }]);

  for (const code of [400, 403, 404]) {
    const s = vent.subscribe('p', { code });
    const errs = [];
    s.onError((e) => errs.push(e));
    ws.take();
    ws.recv({ msg: 'nosub', id: s.id, error: meteorError(code, 'no') });
    assert.equal(s.state, 'unsubscribed');
    assert.equal(errs[0].error, code);
    await assert.rejects(s.whenReady(), (e) => e.error === code);
  }
  vent.close();
});

test('Meteor-style callbacks: {onReady, onStop} and a trailing function are not sent as params', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  const calls = [];
  const a = vent.subscribe('p', { x: 1 }, { onReady: (info) => calls.push(['a.ready', info]), onStop: (e) => calls.push(['a.stop', e]) });
  const b = vent.subscribe('p', { x: 2 }, () => calls.push(['b.ready']));
  const c = vent.subscribe('p', { onStop: 'not a function' });
  const d = vent.subscribe('p', { x: 4 }, { onStop: (e) => calls.push(['d.stop', e && e.error]) });
  let ws = last();
  const subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.deepEqual(subs.map((m) => m.params.slice(1)), [[{ x: 1 }], [{ x: 2 }], [{ onStop: 'not a function' }], [{ x: 4 }]]);
  ws.recv({ msg: 'ready', subs: [a.id, b.id, c.id] });
  ws.recv({ msg: 'nosub', id: d.id, error: meteorError(400, 'Match failed') });
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [a.id, b.id] });
  a.stop();
  assert.deepEqual(calls, [
    ['a.ready', { first: true, recovered: undefined }], ['b.ready'], ['d.stop', 400], ['a.stop', undefined],
  ], 'onReady once (as Meteor), onStop for every end');
  vent.close();
});

test('close 1009: the largest unanswered request is failed as too-big, the others are re-sent, the link settles', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: { initialMs: 1, maxMs: 1000, jitter: 0 } });
  const statuses = [];
  vent.on('status', (s) => statuses.push(s));
  const good = vent.subscribe('p', { ok: 1 });
  const big = vent.subscribe('p', { blob: 'x'.repeat(5000) });
  const errs = [];
  big.onError((e) => errs.push(e));
  let ws = last();
  ws.handshake();
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose(1009, 'message too big');
  assert.equal(big.state, 'unsubscribed');
  assert.equal(errs[0].error, 'too-big');
  assert.match(errs[0].reason, /too big for the server \(\d+ bytes\)/);
  await assert.rejects(big.whenReady(), (e) => e.error === 'too-big');
  assert.equal(good.state, 'subscribing');
  const waiting = statuses.find((s) => s.status === 'waiting');
  assert.equal(waiting.code, 1009);
  await reopened;
  ws = last();
  const subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.deepEqual(subs.map((m) => m.id), [good.id]);
  ws.recv({ msg: 'ready', subs: [good.id] });
  assert.equal(good.ready(), true);
  vent.close();
});

test('only a healthy connection resets the backoff: connections dropped before every answer keep growing it', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: { initialMs: 1, maxMs: 64, jitter: 0 } });
  const h = vent.subscribe('p', {});
  const delays = [];
  vent.on('status', (s) => { if (s.status === 'waiting') delays.push(s.retryInMs); });
  for (let i = 0; i < 4; i++) {
    const next = nextStatus(vent, (s) => s.status === 'connecting');
    last().handshake(); // connected, but the sub is never answered
    last().serverClose(1006);
    await next;
  }
  assert.deepEqual(delays, [1, 2, 4, 8]);
  // Healthy (every request answered), then a plain drop: back to the first delay.
  let next = nextStatus(vent, (s) => s.status === 'connecting');
  last().handshake();
  last().recv({ msg: 'ready', subs: [h.id] });
  last().serverClose(1006);
  await next;
  assert.equal(delays.at(-1), 1);
  // Healthy, but closed as a slow client (4008): the backoff does not reset.
  next = nextStatus(vent, (s) => s.status === 'connecting');
  last().handshake();
  last().recv({ msg: 'ready', subs: [h.id] });
  last().serverClose(4008, 'slow client');
  await next;
  assert.equal(delays.at(-1), 2);
  vent.close();
});

test('reconnect:false: a lost link settles login(), whenReady(), methods and subscriptions; close() after it is a no-op', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: false });
  const h = vent.subscribe('p', {});
  const stops = [];
  h.onStop((e) => stops.push(e));
  const ws = last();
  ws.handshake();
  const login = vent.login('tok');
  const ready = h.whenReady();
  const call = vent.call('m');
  const statuses = [];
  vent.on('status', (s) => statuses.push(s));
  ws.serverClose(1006);
  await assert.rejects(login, (e) => e.error === 'disconnected');
  await assert.rejects(ready, (e) => e.error === 'disconnected');
  await assert.rejects(call, (e) => e.error === 'disconnected');
  assert.equal(h.state, 'unsubscribed');
  assert.equal(stops.length, 1);
  assert.equal(stops[0].error, 'disconnected');
  assert.deepEqual(statuses.map((s) => s.status), ['closed']);
  assert.match(statuses[0].reason, /socket closed \(1006\)/);
  vent.close();
  await assert.rejects(vent.login('x'), (e) => e.error === 'closed');
  assert.equal(FakeSocket.instances.length, 1);
});

test("close() settles everything pending with 'closed'; onStop() runs without an error", async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  const h = vent.subscribe('p', {});
  const stops = [];
  h.onStop((...a) => stops.push(a));
  const ready = h.whenReady();
  const login = vent.login('tok'); // queued: never sent
  const call = vent.call('m');
  vent.close();
  await assert.rejects(ready, (e) => e instanceof VentError && e.error === 'closed');
  await assert.rejects(login, (e) => e.error === 'closed');
  await assert.rejects(call, (e) => e.error === 'closed');
  assert.deepEqual(stops, [[]]);
  assert.equal(vent.status().status, 'closed');
  assert.throws(() => vent.subscribe('p'), (e) => e.error === 'closed');
});

test("'failed' (DDP version refused) emits one status 'failed' and ends the subscriptions", async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('p', {});
  const statuses = [];
  vent.on('status', (s) => statuses.push(s.status));
  const ws = last();
  ws.open();
  ws.recv({ msg: 'failed', version: '2' });
  assert.deepEqual(statuses, ['failed']);
  await assert.rejects(h.whenReady(), (e) => e.error === 'failed');
});

test("autoConnect:false reports 'disconnected' until connect()", async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, autoConnect: false });
  assert.equal(vent.status().status, 'disconnected');
  assert.equal(FakeSocket.instances.length, 0);
  vent.connect();
  assert.equal(vent.status().status, 'connecting');
  assert.equal(FakeSocket.instances.length, 1);
  vent.connect(); // idempotent
  assert.equal(FakeSocket.instances.length, 1);
  vent.close();
});

test('a throwing listener becomes a VentError "listener" on the client, naming the subscription', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const errs = [];
  vent.on('error', (e) => errs.push(e));
  const h = vent.subscribe('p', {});
  const other = vent.subscribe('p', {});
  const got = [];
  h.listen(() => { throw new Error('boom'); });
  other.listen((e) => got.push(e));
  const ws = last();
  ws.handshake();
  ws.recv(`{"msg":"changed","__vent":"1","id":"${h.key}","e":1}`);
  ws.recv(`{"msg":"changed","__vent":"1","id":"${other.key}","e":2}`);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].error, 'listener');
  assert.equal(errs[0].subscription, h);
  assert.equal(errs[0].cause.message, 'boom');
  assert.deepEqual(got, [2]);
  vent.close();
});

test('new VentSubscription() is refused', () => {
  assert.throws(() => new VentSubscription(), TypeError);
});

test("'offline' drops the socket; 'online' connects at once instead of waiting out the backoff", async () => {
  fresh();
  const network = new FakeNetwork();
  const vent = new VentClient('ws://h/websocket', {
    ...base, networkEvents: network, reconnect: { initialMs: 60000, maxMs: 60000, jitter: 0 },
  });
  const h = vent.subscribe('p', {});
  const ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id] });
  network.fire('offline');
  assert.equal(vent.status().status, 'waiting');
  assert.equal(vent.status().reason, 'offline');
  assert.equal(ws.closedWith, 4000);
  assert.equal(h.state, 'subscribing');
  assert.equal(FakeSocket.instances.length, 1);
  network.fire('online');
  assert.equal(FakeSocket.instances.length, 2, 'online: a new socket at once');
  assert.equal(vent.status().status, 'connecting');
  last().handshake();
  vent.close();
  assert.equal(network.listeners.online.size, 0, 'close() removes the listeners');
  await nextSocket(0);
});
