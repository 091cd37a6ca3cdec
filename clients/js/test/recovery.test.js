// Unit tests (fake WebSocket) of history and recovery in the client
// (src/history.js, docs/history.md): positions from `ready` and events,
// `since` on every kind of resubscribe (reconnect, 503 retry, refreshed
// login, host session), missed events before the ready reaching the same
// listener in order with their position, duplicates dropped, epochs
// replacing positions, a ready behind our position (history went back),
// loose positions after a gap re-ready, a publication that lost its history,
// a refused `since` (400 Malformed position), subscribeFrom(), and the wire
// of publications without history left exactly as it was.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VentClient } from '../src/index.js';
import { FakeSocket, fastRetry, fresh, last, meteorError, nextStatus, recordEvents } from './lib/fake.js';

const base = { WebSocket: FakeSocket, heartbeatMs: 0, networkEvents: false, reconnect: fastRetry };

// A Vent frame exactly as vent-bridge writes it (h after e).
const frame = (key, e, h) =>
  `{"msg":"changed","__vent":"1","id":"${key}","e":${JSON.stringify(e)}${h ? `,"h":${JSON.stringify(h)}` : ''}}`;

function record(h) {
  const got = [];
  h.listen((e, pos) => got.push(pos === undefined ? [e.i] : [e.i, pos.channel, pos.offset, pos.epoch]));
  return got;
}

// Resolves once pred() holds (checked every millisecond, for 2 s at most).
async function until(pred, what) {
  for (let i = 0; i < 2000 && !pred(); i++) await new Promise((r) => setTimeout(r, 1));
  if (!pred()) throw new Error(`no ${what} within 2 s`);
}

// Drops the socket and completes the next handshake; returns the new socket
// and the `sub` messages it carried.
async function reconnect(vent) {
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  last().serverClose(1006);
  await reopened;
  const ws = last();
  return { ws, subs: ws.handshake().filter((m) => m.msg === 'sub') };
}

test('a publication without history: the wire and the listener are exactly as before', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('plain', { a: 1 });
  const arity = [];
  h.listen(function (e) { arity.push([arguments.length, e]); });
  let ws = last();
  let subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.deepEqual(Object.keys(subs[0]), ['msg', 'id', 'name', 'params']);
  ws.recv({ msg: 'ready', subs: [h.id] });
  ws.recv(frame(h.key, { i: 1 }));
  assert.deepEqual(arity, [[1, { i: 1 }]], 'listener called with the event only');
  assert.equal(h.position(), null);
  ({ ws, subs } = await reconnect(vent));
  assert.deepEqual(Object.keys(subs[0]), ['msg', 'id', 'name', 'params'], 'no since for a publication without history');
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.recovered, false, 'no history: events may have been missed');
  vent.close();
});

test('positions from ready and events; a reconnect resubscribes with since; missed events arrive before ready {recovered:true}', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room', { r: 'a' });
  const got = record(h);
  const seen = recordEvents(h);
  let ws = last();
  let subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.equal(subs[0].since, undefined, 'a first subscribe has no position');
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 12, 'E1'], [1, 0, '']] });
  assert.deepEqual(h.position(), [{ channel: 0, offset: 12, epoch: 'E1' }, { channel: 1, offset: 0, epoch: '' }]);
  ws.recv(frame(h.key, { i: 13 }, [0, 13, 'E1']));
  ws.recv(frame(h.key, { i: 1 }, [1, 1, 'F1']));
  assert.deepEqual(h.position(), [{ channel: 0, offset: 13, epoch: 'E1' }, { channel: 1, offset: 1, epoch: 'F1' }]);
  ({ ws, subs } = await reconnect(vent));
  assert.equal(subs.length, 1);
  assert.deepEqual(subs[0].since, [[0, 13, 'E1'], [1, 1, 'F1']]);
  assert.deepEqual(subs[0].params, [h.rand, { r: 'a' }], 'same rand and params');
  // Missed events (replayed) come before the ready they belong to.
  ws.recv(frame(h.key, { i: 14 }, [0, 14, 'E1']));
  ws.recv(frame(h.key, { i: 2 }, [1, 2, 'F1']));
  assert.equal(h.state, 'subscribing');
  ws.recv({ msg: 'ready', subs: [h.id], recovered: true, h: [[0, 14, 'E1'], [1, 2, 'F1']] });
  assert.equal(h.recovered, true);
  assert.deepEqual(got, [[13, 0, 13, 'E1'], [1, 1, 1, 'F1'], [14, 0, 14, 'E1'], [2, 1, 2, 'F1']]);
  assert.deepEqual(seen.filter(([ev]) => ev === 'ready').map(([, x]) => x),
      [{ first: true, recovered: undefined }, { first: false, recovered: true }]);
  // Positions move on with live events after the ready.
  ws.recv(frame(h.key, { i: 15 }, [0, 15, 'E1']));
  ({ ws, subs } = await reconnect(vent));
  assert.deepEqual(subs[0].since, [[0, 15, 'E1'], [1, 2, 'F1']]);
  vent.close();
});

test('an event not above the position of its channel and epoch is dropped; another epoch replaces the position', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  const got = record(h);
  const ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 5, 'E1']] });
  ws.recv(frame(h.key, { i: 5 }, [0, 5, 'E1'])); // at the position: delivered already
  ws.recv(frame(h.key, { i: 4 }, [0, 4, 'E1'])); // below
  ws.recv(frame(h.key, { i: 6 }, [0, 6, 'E1']));
  ws.recv(frame(h.key, { i: 6 }, [0, 6, 'E1'])); // twice
  ws.recv(frame(h.key, { i: 1 }, [0, 1, 'E2'])); // the history was lost: a new epoch
  ws.recv(frame(h.key, { i: 2 }, [0, 2, 'E2']));
  ws.recv(frame(h.key, { i: 0 }, [0, 0, ''])); // no position (offset 0): delivered, position kept
  ws.recv(frame(h.key, { i: 99 })); // a raw PUBLISH on the channel: no position
  ws.recv(frame(h.key, { i: 98 }, [0, 'x', 'E2'])); // not a position: delivered as an event without one
  assert.deepEqual(got, [[6, 0, 6, 'E1'], [1, 0, 1, 'E2'], [2, 0, 2, 'E2'], [0], [99], [98]]);
  assert.deepEqual(h.position(), [{ channel: 0, offset: 2, epoch: 'E2' }]);
  assert.equal(h._history.dropped, 3);
  vent.close();
});

test('a ready replaces positions, also when behind ours (history went back): later events with those offsets flow', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  const got = record(h);
  let ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 0, '']] });
  for (let i = 1; i <= 9; i++) ws.recv(frame(h.key, { i }, [0, i, 'E1']));
  let subs;
  ({ ws, subs } = await reconnect(vent));
  assert.deepEqual(subs[0].since, [[0, 9, 'E1']]);
  // A failover to a replica that had only 6 entries: not recovered, position 6.
  ws.recv({ msg: 'ready', subs: [h.id], recovered: false, h: [[0, 6, 'E1']] });
  assert.equal(h.recovered, false);
  assert.deepEqual(h.position(), [{ channel: 0, offset: 6, epoch: 'E1' }]);
  ws.recv(frame(h.key, { i: 107 }, [0, 7, 'E1']));
  assert.deepEqual(got.at(-1), [107, 0, 7, 'E1'], 'a reused offset after the ready is a new event');
  vent.close();
});

test('a re-ready {recovered:false} without positions (gap) makes positions loose: the next event of each channel is taken', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  const got = record(h);
  const ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 0, ''], [1, 0, '']] });
  ws.recv(frame(h.key, { i: 1 }, [0, 8, 'E1']));
  ws.recv(frame(h.key, { i: 2 }, [1, 3, 'F1']));
  ws.recv({ msg: 'ready', subs: [h.id], recovered: false });
  assert.equal(h.recovered, false);
  assert.deepEqual(h.position(), [{ channel: 0, offset: 8, epoch: 'E1' }, { channel: 1, offset: 3, epoch: 'F1' }],
      'positions are kept');
  ws.recv(frame(h.key, { i: 3 }, [0, 5, 'E1'])); // the new master reuses offsets
  ws.recv(frame(h.key, { i: 4 }, [0, 5, 'E1'])); // ... but a duplicate is still one
  ws.recv(frame(h.key, { i: 5 }, [1, 4, 'F1']));
  assert.deepEqual(got.map(([i]) => i), [1, 2, 3, 5]);
  // A gap re-ready that carries positions replaces them.
  ws.recv({ msg: 'ready', subs: [h.id], recovered: true, h: [[0, 9, 'E1'], [1, 4, 'F1']] });
  ws.recv(frame(h.key, { i: 6 }, [0, 9, 'E1']));
  assert.deepEqual(got.map(([i]) => i), [1, 2, 3, 5], 'at the position of the ready: dropped');
  vent.close();
});

test('resubscribes after a 503 and after a refreshed login carry since', async () => {
  fresh();
  let n = 0;
  const vent = new VentClient('ws://h/websocket', {
    ...base, resubscribe: { initialMs: 1, maxMs: 1, jitter: 0 }, getToken: () => `tok${++n}`,
  });
  const h = vent.subscribe('room');
  const ws = last();
  ws.handshake();
  await until(() => ws.of('method').length > 0, 'the first login');
  const login = ws.of('method').at(-1);
  ws.recv({ msg: 'result', id: login.id, result: { id: 'u', token: 'tok1', tokenExpires: { $date: Date.now() + 3600e3 } } });
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 4, 'E1']] });
  ws.recv(frame(h.key, { i: 5 }, [0, 5, 'E1']));
  // The bridge lost Redis; the retried sub carries the position.
  ws.take();
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(503, 'Redis is unavailable, try again later') });
  await until(() => ws.of('sub').length > 0, 'the retried sub');
  let subs = ws.take().filter((m) => m.msg === 'sub');
  assert.deepEqual(subs.map((m) => m.since), [[[0, 5, 'E1']]]);
  ws.recv({ msg: 'ready', subs: [h.id], recovered: true, h: [[0, 6, 'E1']] });
  assert.equal(h.recovered, true);
  // The session expired: a new token, then the sub again, with its position.
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(403, 'Your session has expired. Please log in again.') });
  await until(() => ws.of('method').length > 0, 'the refreshed login');
  const relogin = ws.take();
  const m = relogin.find((x) => x.msg === 'method');
  assert.equal(m.params[0].resume, 'tok2');
  ws.recv({ msg: 'result', id: m.id, result: { id: 'u', token: 'tok2', tokenExpires: { $date: Date.now() + 3600e3 } } });
  subs = ws.take().filter((x) => x.msg === 'sub');
  assert.deepEqual(subs.map((x) => x.since), [[[0, 6, 'E1']]]);
  vent.close();
});

test('a ready without positions in answer to a since: the publication lost its history; positions are forgotten', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  let ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 4, 'E1']] });
  let subs;
  ({ ws, subs } = await reconnect(vent));
  assert.deepEqual(subs[0].since, [[0, 4, 'E1']]);
  ws.recv({ msg: 'ready', subs: [h.id], recovered: false });
  assert.equal(h.position(), null);
  ({ ws, subs } = await reconnect(vent));
  assert.equal(subs[0].since, undefined);
  vent.close();
});

test('nosub 400 "Malformed position" to a since: reported, subscribed again without it, ready says not recovered', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const errors = [];
  vent.on('error', (e) => errors.push(e));
  const h = vent.subscribeFrom([{ channel: 3, offset: 4, epoch: 'E1' }], 'room');
  const stops = [];
  h.onStop((e) => stops.push(e));
  const ws = last();
  let subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.deepEqual(subs[0].since, [[3, 4, 'E1']]);
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(400, 'Malformed position') });
  subs = ws.take().filter((m) => m.msg === 'sub');
  assert.equal(subs.length, 1);
  assert.equal(subs[0].since, undefined);
  assert.equal(h.state, 'subscribing');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error, 400);
  assert.equal(errors[0].subscription, h);
  const info = [];
  h.onReady((x) => info.push(x));
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 9, 'E1']] });
  assert.equal(h.state, 'subscribed');
  assert.deepEqual(info, [{ first: true, recovered: false }], 'the resume asked for was not possible');
  // A 400 to a sub WITHOUT since ends it as before.
  const other = vent.subscribe('room', { bad: true });
  other.onError(() => {});
  ws.recv({ msg: 'nosub', id: other.id, error: meteorError(400, 'Malformed position') });
  assert.equal(other.state, 'unsubscribed');
  assert.deepEqual(stops, []);
  vent.close();
});

test('subscribeFrom(): the first sub carries the saved position; its first ready says whether it was recovered', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const saved = [{ channel: 0, offset: 7, epoch: 'E1' }, { channel: 1, offset: 0, epoch: '' }];
  const h = vent.subscribeFrom(saved, 'room', { r: 'a' }, { onReady: () => {} });
  const got = record(h);
  const infos = [];
  h.onReady((x) => infos.push(x));
  const ws = last();
  const subs = ws.handshake().filter((m) => m.msg === 'sub');
  assert.deepEqual(subs[0].params, [h.rand, { r: 'a' }], 'the callbacks object is not a param');
  assert.deepEqual(subs[0].since, [[0, 7, 'E1'], [1, 0, '']]);
  ws.recv(frame(h.key, { i: 8 }, [0, 8, 'E1']));
  ws.recv(frame(h.key, { i: 7 }, [0, 7, 'E1'])); // already seen before the reload
  ws.recv({ msg: 'ready', subs: [h.id], recovered: true, h: [[0, 8, 'E1'], [1, 0, '']] });
  assert.deepEqual(infos, [{ first: true, recovered: true }]);
  assert.deepEqual(got, [[8, 0, 8, 'E1']]);
  const plain = vent.subscribeFrom(null, 'room');
  assert.equal(ws.take().find((m) => m.id === plain.id).since, undefined);
  for (const bad of ['x', [{ channel: -1, offset: 1, epoch: 'e' }], [{ channel: 0, offset: 1 }],
    [{ channel: 0, offset: 1.5, epoch: 'e' }], [{ channel: 0, offset: 1, epoch: 'e' }, { channel: 0, offset: 2, epoch: 'e' }]]) {
    assert.throws(() => vent.subscribeFrom(bad, 'room'), TypeError, JSON.stringify(bad));
  }
  vent.close();
});

test('position() is a copy; the listener gets a fresh position object per event', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  const positions = [];
  h.listen((e, pos) => positions.push(pos));
  const ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 0, '']] });
  ws.recv(frame(h.key, 1, [0, 1, 'E']));
  ws.recv(frame(h.key, 2, [0, 2, 'E']));
  const p = h.position();
  p[0].offset = 100;
  positions[0].offset = 100;
  assert.deepEqual(h.position(), [{ channel: 0, offset: 2, epoch: 'E' }]);
  assert.deepEqual(positions[1], { channel: 0, offset: 2, epoch: 'E' });
  vent.close();
});

test('attach() with link.send: the session after the host reconnects carries since', () => {
  const sent = [];
  let onMessage;
  let onConnected;
  const vent = VentClient.attach({
    send: (m) => sent.push(m), onMessage: (fn) => { onMessage = fn; }, onConnected: (fn) => { onConnected = fn; },
  });
  const h = vent.subscribe('room');
  const got = record(h);
  assert.equal(sent.at(-1).since, undefined);
  onMessage(JSON.stringify({ msg: 'ready', subs: [h.id], h: [[0, 3, 'E']] }));
  onMessage(frame(h.key, { i: 4 }, [0, 4, 'E']));
  sent.length = 0;
  onConnected();
  assert.deepEqual(sent.filter((m) => m.msg === 'sub').map((m) => m.since), [[[0, 4, 'E']]]);
  onMessage(frame(h.key, { i: 5 }, [0, 5, 'E']));
  onMessage(JSON.stringify({ msg: 'ready', subs: [h.id], recovered: true, h: [[0, 5, 'E']] }));
  assert.equal(h.recovered, true);
  assert.deepEqual(got.map(([i]) => i), [4, 5]);
  vent.close();
});

test('stop() during a replay: no listener call after it returns; position() stays readable', () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', base);
  const h = vent.subscribe('room');
  const got = [];
  h.listen((e) => { got.push(e); if (e === 2) h.stop(); });
  const ws = last();
  ws.handshake();
  ws.recv({ msg: 'ready', subs: [h.id], h: [[0, 0, '']] });
  for (let i = 1; i <= 4; i++) ws.recv(frame(h.key, i, [0, i, 'E']));
  assert.deepEqual(got, [1, 2]);
  assert.deepEqual(h.position(), [{ channel: 0, offset: 2, epoch: 'E' }], 'still readable (to save it) after stop()');
  vent.close();
});
