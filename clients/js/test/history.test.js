// vent-client against real processes — redis-server, vent-server (gRPC
// EmitBatch, reading the bridge's config so it keeps history) and
// vent-bridge(s) — through a TCP proxy the test cuts (lib/proxy.js):
// publications with history recover every missed event after a reconnect
// (docs/history.md).
//  * 10,000 events emitted while connected, the link cut for 2 s in the
//    middle while events keep being emitted: the listener sees every event
//    exactly once, in emit order; the re-ready says recovered:true;
//  * window exceeded, ttl passed, Redis restarted without persistence: the
//    handle and its ready event say recovered:false, no partial history is
//    delivered, live events follow;
//  * a second bridge: the client reconnects there (the first one stopped,
//    the proxy retargeted) and recovers the same way;
//  * a two-channel publication: one position per channel;
//  * old code paths: a publication without history on the same client keeps
//    its wire (no `since`) and its one-argument listener calls; the Meteor
//    adapter (subscriptions owned by a Meteor-like connection over SockJS,
//    re-sent by it without positions) gets history frames like any other.
// No sleeps as synchronisation: waits are on events and conditions with
// deadlines (the 2 s outage is the scenario, not a wait for something).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import WebSocket from 'ws';

import { attachToMeteor } from '../src/index.js';
import { EmitClient, closeClients, configFile, connect, once, stack, startBridge, uniq } from './lib/e2e.js';
import { MeteorConnection } from './lib/meteor_connection.js';
import { CutProxy } from './lib/proxy.js';

const F = '{ f: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }';
const CONFIG = `publications:
  feed:
    params: ${F}
    channels: ["feed::{f}"]
    auth: public
    history: { size: 10000, ttl: 10m }
  small:
    params: ${F}
    channels: ["small::{f}"]
    auth: public
    history: { size: 20, ttl: 10m }
  brief:
    params: ${F}
    channels: ["brief::{f}"]
    auth: public
    history: { size: 100, ttl: 2s }
  duo:
    params: ${F}
    channels: ["duo::{f}::a", "duo::{f}::b"]
    auth: public
    history: { size: 100, ttl: 10m }
  live:
    params: ${F}
    channels: ["live::{f}"]
    auth: public
`;

// A stack: redis, vent-server --config, vent-bridge(s) with the same file.
async function startStack({ bridges = 1 } = {}) {
  const config = configFile(CONFIG);
  const redis = await stack.startRedis();
  const server = await stack.startVentServer({ redis, extraArgs: ['--config', config] });
  const list = [];
  for (let i = 0; i < bridges; i++) list.push(await startBridge({ redis, config }));
  const emitter = new EmitClient(server.grpcAddress);
  return {
    redis, server, bridges: list, emitter, config,
    async stop() {
      emitter.close();
      for (const b of list) if (b.proc.isRunning()) await b.proc.stop();
      await server.stop();
      await redis.stop();
    },
  };
}

// Emits {i} for i in [from, to] on channel, in order (batches of 100, each
// published in order before the next is sent).
async function emitRange(emitter, channel, from, to) {
  for (let i = from; i <= to; i += 100) {
    const batch = [];
    for (let j = i; j <= Math.min(to, i + 99); j++) batch.push([channel, { i: j }]);
    await emitter.emitBatch(batch);
  }
}

// Records a handle's events ({i} payloads and their positions) and readies;
// until(pred) waits with a deadline.
function watch(h) {
  const w = { got: [], positions: [], readies: [], gotAtReady: [], waiters: new Set() };
  const wake = () => { for (const fn of [...w.waiters]) fn(); };
  h.listen((e, pos) => { w.got.push(e.i); w.positions.push(pos); wake(); });
  h.on('ready', (x) => { w.readies.push(x); w.gotAtReady.push(w.got.length); wake(); });
  w.until = (pred, what, timeoutMs = 60000) => new Promise((resolve, reject) => {
    const check = () => {
      if (!pred(w)) return;
      clearTimeout(timer);
      w.waiters.delete(check);
      resolve(w);
    };
    const timer = setTimeout(() => {
      w.waiters.delete(check);
      reject(new Error(`no ${what} within ${timeoutMs} ms (events ${w.got.length}, last ${w.got.at(-1)}, ` +
          `readies ${JSON.stringify(w.readies)})`));
    }, timeoutMs);
    w.waiters.add(check);
    check();
  });
  return w;
}

const range = (from, to) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

// Waits until the client lost its connection (the proxy cut it).
const lost = (vent) => (vent.status().connected ? once(vent, 'status', (s) => !s.connected, { what: 'disconnect' }) : null);

describe('one bridge behind a proxy', () => {
  let s;
  let proxy;
  before(async () => {
    s = await startStack();
    proxy = await CutProxy.start(s.bridges[0].port);
  });
  after(async () => {
    closeClients();
    if (proxy) await proxy.close();
    if (s) await s.stop();
  });

  test('10,000 events, the link cut for 2 s in the middle while events keep coming: each exactly once, in order, recovered', async (t) => {
    const f = uniq('f');
    const channel = `feed::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('feed', { f });
    const w = watch(h);
    await h.whenReady(20000);
    const statuses = [];
    vent.on('status', (st) => statuses.push(st.status));
    // Connected: 1..4000.
    await emitRange(s.emitter, channel, 1, 4000);
    await w.until((x) => x.got.length >= 4000, 'the first 4000 events');
    // Cut; 4001..6000 while the link is down (at least 2 s of outage).
    const down = lost(vent);
    const cutAt = Date.now();
    proxy.block();
    await down;
    await emitRange(s.emitter, channel, 4001, 6000);
    const emittedWhileDown = 2000;
    await new Promise((r) => setTimeout(r, Math.max(0, 2000 - (Date.now() - cutAt))));
    const gotAtRelease = w.got.length;
    proxy.release();
    // 6001.. batch after batch while the client reconnects and recovers (up
    // to 9000), the rest after its re-ready.
    let next = 6001;
    for (; next <= 9000 && w.readies.length < 2; next += 100) await emitRange(s.emitter, channel, next, next + 99);
    await w.until((x) => x.readies.length >= 2, 'the re-ready');
    await emitRange(s.emitter, channel, next, 10000);
    await w.until((x) => x.got.length >= 10000 && x.readies.length >= 2, 'all 10,000 events and the re-ready');
    const beforeReady = w.got.length; // read now: further events would be duplicates
    assert.equal(beforeReady, 10000);
    assert.deepEqual(w.got, range(1, 10000), 'every event exactly once, in emit order');
    assert.deepEqual(w.readies, [{ first: true, recovered: undefined }, { first: false, recovered: true }]);
    assert.equal(h.recovered, true);
    assert.equal(gotAtRelease, 4000, 'nothing arrived while the link was down');
    const epoch = w.positions[0].epoch;
    assert.deepEqual(w.positions.map((p) => p.offset), range(1, 10000), 'positions: offsets 1..10000');
    assert.ok(w.positions.every((p) => p.channel === 0 && p.epoch === epoch));
    assert.deepEqual(h.position(), [{ channel: 0, offset: 10000, epoch }]);
    assert.ok(statuses.includes('waiting') && statuses.at(-1) === 'connected', statuses.join(' '));
    t.diagnostic(`${emittedWhileDown} events emitted while the link was down; ` +
        `${w.gotAtReady[1] - gotAtRelease} delivered between the release and the re-ready (replayed, or emitted ` +
        `during the recovery), ${10000 - w.gotAtReady[1]} after it; ${Date.now() - cutAt} ms from the cut to ` +
        `the last event; proxy ${JSON.stringify(proxy.stats)}`);
  });

  test('a window exceeded (more than size events while away): recovered:false, nothing of the gap, then live events', async () => {
    const f = uniq('f');
    const channel = `small::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('small', { f });
    const w = watch(h);
    await h.whenReady(20000);
    await s.emitter.emit(channel, { i: 1 });
    await w.until((x) => x.got.length === 1, 'the first event');
    const down = lost(vent);
    proxy.block();
    await down;
    await emitRange(s.emitter, channel, 2, 31); // size 20
    const ready = once(h, 'ready', () => true, { what: 're-ready' });
    proxy.release();
    assert.deepEqual(await ready, { first: false, recovered: false });
    assert.equal(h.recovered, false);
    assert.deepEqual(w.got, [1], 'no partial history');
    assert.equal(h.position()[0].offset, 31, "the ready's position");
    await s.emitter.emit(channel, { i: 32 });
    await w.until((x) => x.got.includes(32), 'a live event');
    assert.deepEqual(w.got, [1, 32]);
  });

  test('the ttl passed while away: recovered:false, the expired events are not delivered, live events follow', async () => {
    const f = uniq('f');
    const channel = `brief::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('brief', { f });
    const w = watch(h);
    await h.whenReady(20000);
    await s.emitter.emit(channel, { i: 1 });
    await w.until((x) => x.got.length === 1, 'the first event');
    const down = lost(vent);
    proxy.block();
    await down;
    await emitRange(s.emitter, channel, 2, 4);
    // ttl 2s of silence: wait until Redis holds nothing for the channel.
    await stack.waitFor(async () => (await stack.redisCommand(s.redis.port, ['KEYS', `*${channel}*`])).length === 0,
        { timeoutMs: 20000, intervalMs: 100, what: `${channel} history expired` });
    const ready = once(h, 'ready', () => true, { what: 're-ready' });
    proxy.release();
    assert.deepEqual(await ready, { first: false, recovered: false });
    assert.equal(h.recovered, false);
    assert.deepEqual(w.got, [1]);
    await s.emitter.emit(channel, { i: 5 });
    await w.until((x) => x.got.includes(5), 'a live event');
    assert.deepEqual(w.got, [1, 5]);
    assert.notEqual(w.positions[1].epoch, w.positions[0].epoch, 'a new epoch');
    assert.equal(w.positions[1].offset, 1);
  });

  // A channel without history when subscribed: the bridge's read gives it
  // its epoch, so the position names it and an epoch that came and went
  // while away is a change (a `since` of [c, 0, ""] could not tell).
  test('a channel without history when subscribed, whose first epoch came and went while away: recovered:false', async () => {
    const f = uniq('f');
    const channel = `brief::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('brief', { f });
    const w = watch(h);
    await h.whenReady(20000);
    const [start] = h.position();
    const down = lost(vent);
    proxy.block();
    await down;
    await s.emitter.emit(channel, { i: 1 }); // a first epoch ...
    await stack.waitFor(async () => (await stack.redisCommand(s.redis.port, ['KEYS', `*${channel}*`])).length === 0,
        { timeoutMs: 20000, intervalMs: 100, what: `${channel} history expired` });
    await s.emitter.emit(channel, { i: 2 }); // ... gone; a second one, from offset 1
    const ready = once(h, 'ready', () => true, { what: 're-ready' });
    proxy.release();
    const info = await ready;
    assert.deepEqual(info, { first: false, recovered: false },
        `event 1 is lost: not recovered (position at subscribe ${JSON.stringify(start)}, got ${JSON.stringify(w.got)})`);
  });

  test('a two-channel publication keeps one position per channel and recovers both', async () => {
    const f = uniq('f');
    const vent = connect(proxy.url());
    const h = vent.subscribe('duo', { f });
    const w = watch(h);
    await h.whenReady(20000);
    await s.emitter.emit(`duo::${f}::a`, { i: 1 });
    await w.until((x) => x.got.length === 1, 'the first event');
    const down = lost(vent);
    proxy.block();
    await down;
    // Channel b never had an event until now (position [1, 0, epoch of the read]).
    await s.emitter.emitBatch([[`duo::${f}::b`, { i: 2 }], [`duo::${f}::a`, { i: 3 }], [`duo::${f}::b`, { i: 4 }]]);
    const ready = once(h, 'ready', () => true, { what: 're-ready' });
    proxy.release();
    assert.deepEqual(await ready, { first: false, recovered: true });
    assert.deepEqual([...w.got].sort(), [1, 2, 3, 4]);
    const on = (c) => w.got.filter((_, k) => w.positions[k].channel === c);
    assert.deepEqual(on(0), [1, 3], 'channel a in order');
    assert.deepEqual(on(1), [2, 4], 'channel b in order');
    assert.deepEqual(h.position().map((p) => [p.channel, p.offset]), [[0, 2], [1, 2]]);
  });

  test('old code paths: a publication without history on the same client keeps its wire and one-argument listener', async () => {
    const sent = [];
    class RecordingSocket extends WebSocket {
      send(data, ...rest) {
        sent.push(JSON.parse(data));
        return super.send(data, ...rest);
      }
    }
    const f = uniq('f');
    const vent = connect(proxy.url(), { WebSocket: RecordingSocket });
    const plain = vent.subscribe('live', { f });
    const calls = [];
    plain.listen(function (e) { calls.push(arguments.length === 1 ? e.i : 'two arguments'); });
    const hist = vent.subscribe('feed', { f });
    const w = watch(hist);
    await plain.whenReady(20000);
    await hist.whenReady(20000);
    await s.emitter.emitBatch([[`live::${f}`, { i: 1 }], [`feed::${f}`, { i: 1 }]]);
    await w.until((x) => x.got.length === 1 && calls.length === 1, 'one event on each');
    assert.equal(plain.position(), null);
    const down = lost(vent);
    proxy.block();
    await down;
    await s.emitter.emitBatch([[`live::${f}`, { i: 2 }], [`feed::${f}`, { i: 2 }]]);
    sent.length = 0;
    const plainReady = once(plain, 'ready', () => true, { what: 'plain re-ready' });
    const histReady = once(hist, 'ready', () => true, { what: 'history re-ready' });
    proxy.release();
    assert.deepEqual(await plainReady, { first: false, recovered: false }, 'no history: a possible gap, as before');
    assert.deepEqual(await histReady, { first: false, recovered: true });
    const subs = sent.filter((m) => m.msg === 'sub');
    const plainSub = subs.find((m) => m.id === plain.id);
    assert.deepEqual(Object.keys(plainSub), ['msg', 'id', 'name', 'params'], 'no since without history');
    assert.ok(subs.find((m) => m.id === hist.id).since, 'since with history');
    await s.emitter.emitBatch([[`live::${f}`, { i: 3 }], [`feed::${f}`, { i: 3 }]]);
    await w.until((x) => x.got.length === 3 && calls.length === 2, 'live events on both');
    assert.deepEqual(calls, [1, 3], 'the event missed without history is gone; one argument per call');
    assert.deepEqual(w.got, [1, 2, 3]);
  });

  test('old code paths: the Meteor adapter over SockJS gets history frames; Meteor re-sends its subs without since', async () => {
    const conn = new MeteorConnection(`http://127.0.0.1:${s.bridges[0].port}`);
    try {
      const vent = attachToMeteor(conn);
      const f = uniq('f');
      const channel = `feed::${f}`;
      const h = vent.subscribe('feed', { f });
      const w = watch(h);
      await h.whenReady(20000);
      await emitRange(s.emitter, channel, 1, 3);
      await w.until((x) => x.got.length === 3, 'three events');
      assert.deepEqual(w.positions.map((p) => p.offset), [1, 2, 3]);
      const readies = () => conn.received.filter((m) => m.msg === 'ready');
      const before = readies().length;
      conn.reconnect();
      await stack.waitFor(() => readies().length > before, { timeoutMs: 20000, what: 'ready after the reconnect' });
      assert.equal(readies().at(-1).recovered, undefined, 'Meteor sent no since');
      await s.emitter.emit(channel, { i: 4 });
      await w.until((x) => x.got.length === 4, 'an event after the reconnect');
      assert.deepEqual(w.got, [1, 2, 3, 4]);
      assert.equal(w.positions[3].offset, 4);
      vent.close();
    } finally {
      conn.disconnect();
    }
  });
});

test('Redis restarted without persistence while away: a new epoch, recovered:false, then live events', async () => {
  const s = await startStack();
  const proxy = await CutProxy.start(s.bridges[0].port);
  try {
    const f = uniq('f');
    const channel = `feed::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('feed', { f });
    const w = watch(h);
    await h.whenReady(20000);
    await emitRange(s.emitter, channel, 1, 10);
    await w.until((x) => x.got.length === 10, 'the first events');
    const down = lost(vent);
    proxy.block();
    await down;
    await s.redis.restart();
    // vent-server reconnects to the new Redis: emit until one is accepted.
    let i = 10;
    await stack.waitFor(async () => {
      try {
        await s.emitter.emit(channel, { i: i + 1 });
        i++;
        return true;
      } catch (_) {
        return false;
      }
    }, { timeoutMs: 30000, intervalMs: 100, what: 'an emit after the Redis restart' });
    await emitRange(s.emitter, channel, i + 1, i + 5);
    i += 5;
    const ready = once(h, 'ready', () => true, { what: 're-ready', timeoutMs: 30000 });
    proxy.release();
    assert.deepEqual(await ready, { first: false, recovered: false });
    assert.equal(h.recovered, false);
    assert.deepEqual(w.got, range(1, 10), 'nothing of the new epoch replayed to a client of the old one');
    const oldEpoch = w.positions[0].epoch;
    assert.notEqual(h.position()[0].epoch, oldEpoch, "the ready's position is in the new epoch");
    await s.emitter.emit(channel, { i: i + 1 });
    await w.until((x) => x.got.includes(i + 1), 'a live event');
    assert.notEqual(w.positions.at(-1).epoch, oldEpoch);
  } finally {
    closeClients();
    await proxy.close();
    await s.stop();
  }
});

test('two bridges: the first one stops, the proxy sends the client to the other, which recovers every missed event', async () => {
  const s = await startStack({ bridges: 2 });
  const [a, b] = s.bridges;
  const proxy = await CutProxy.start(a.port);
  try {
    const f = uniq('f');
    const channel = `feed::${f}`;
    const vent = connect(proxy.url());
    const h = vent.subscribe('feed', { f });
    const w = watch(h);
    await h.whenReady(20000);
    await emitRange(s.emitter, channel, 1, 500);
    await w.until((x) => x.got.length === 500, 'the first 500 events');
    const down = lost(vent);
    proxy.block();
    await down;
    await a.proc.stop(); // a deploy takes bridge A away
    await emitRange(s.emitter, channel, 501, 1500);
    proxy.retarget(b.port);
    const ready = once(h, 'ready', () => true, { what: 're-ready on bridge B' });
    proxy.release();
    assert.deepEqual(await ready, { first: false, recovered: true });
    await emitRange(s.emitter, channel, 1501, 2000);
    await w.until((x) => x.got.length >= 2000, 'all 2000 events');
    assert.deepEqual(w.got, range(1, 2000), 'every event exactly once, in order, across the two bridges');
    assert.equal(h.recovered, true);
  } finally {
    closeClients();
    await proxy.close();
    await s.stop();
  }
});
