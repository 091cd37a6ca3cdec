// Randomized test of history and recovery in the client against a small
// reference model. A fake server keeps a two-channel history (bounded
// window, epochs that can be lost) and answers `sub` with `since` as
// vent-bridge does (docs/history.md): the missed events if the window still
// covers them, then ready {recovered, h}. A seeded sequence of operations —
// emits, socket drops, reconnects, subs answered or refused with 503, the
// server losing Redis (events lost, re-ready {recovered:false}), a channel's
// history lost (new epoch) or set back (a failover to a replica behind: its
// offsets used again), and frames the server sends twice — drives
// VentClient over a fake WebSocket with mocked timers. After every step:
//  * the listener got exactly the frames the server sent minus the
//    duplicates, in order, each with its position;
//  * every `sub` carried `since` = the positions the model expects;
//  * every ready payload is what the model predicts;
//  * after a ready {recovered:true}, every event emitted on each channel
//    since the subscription last started from scratch was delivered exactly
//    once (an independent check of the whole pipeline).
// VENT_MODEL_SEED=<n> replays one sequence.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VentClient } from '../src/index.js';
import { FakeSocket, fresh, last, meteorError } from './lib/fake.js';

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHANNELS = 2;
const SIZE = 6; // the history window

// The server's history of each channel: {epoch ('' = none), last, entries: [{offset, id}]}.
class History {
  constructor() {
    this.ch = Array.from({ length: CHANNELS }, () => ({ epoch: '', last: 0, entries: [] }));
    this.epochs = 0;
  }

  append(c, id) {
    const ch = this.ch[c];
    if (!ch.epoch) Object.assign(ch, { epoch: `E${++this.epochs}`, last: 0, entries: [] });
    ch.last++;
    ch.entries.push({ offset: ch.last, id });
    if (ch.entries.length > SIZE) ch.entries.shift();
    return [c, ch.last, ch.epoch];
  }

  // A failover to a replica that had not caught up: the last k entries are
  // gone, and their offsets will be used again in the same epoch.
  // Returns the ids of the lost entries.
  rewind(c, k) {
    const ch = this.ch[c];
    const n = Math.min(k, ch.entries.length);
    const lost = ch.entries.splice(ch.entries.length - n, n).map((x) => x.id);
    ch.last -= n;
    return lost;
  }

  lose(c) {
    Object.assign(this.ch[c], { epoch: '', last: 0, entries: [] });
  }

  // The positions of a ready. A channel without history gets its epoch now
  // (as Centrifugo's history read does): a client told "no history" could
  // not tell, later, whether a whole epoch came and went meanwhile.
  top() {
    return this.ch.map((ch, c) => {
      if (!ch.epoch) Object.assign(ch, { epoch: `E${++this.epochs}`, last: 0, entries: [] });
      return [c, ch.last, ch.epoch];
    });
  }

  // vent-bridge's decision per channel (bridge/ddp_host_history.cc): the
  // entries to replay, or null when the position cannot be recovered.
  replay(c, p) {
    const ch = this.ch[c];
    const first = ch.entries.length ? ch.entries[0].offset : 0;
    if (!p) return null;
    const [, offset, epoch] = p;
    if (!ch.epoch) return epoch === '' && offset === 0 ? [] : null;
    if (epoch === '') return offset === 0 && (ch.last === 0 || first === 1) ? ch.entries : null;
    if (epoch !== ch.epoch || offset > ch.last) return null;
    if (offset === ch.last || offset + 1 >= first) return ch.entries.filter((x) => x.offset > offset);
    return null;
  }
}

function runSequence(t, seed, steps) {
  const rnd = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  fresh();
  const vent = new VentClient('ws://h/websocket', {
    WebSocket: FakeSocket, heartbeatMs: 0, connectTimeoutMs: 0, networkEvents: false,
    reconnect: { initialMs: 10, maxMs: 100, jitter: 0 }, resubscribe: { initialMs: 10, maxMs: 100, jitter: 0 },
  });
  vent.on('error', () => {});
  const h = vent.subscribe('room');
  const got = []; // [id, channel, offset, epoch]
  h.listen((e, pos) => got.push([e, pos.channel, pos.offset, pos.epoch]));
  const readies = [];
  h.on('ready', (x) => readies.push(x));

  const hist = new History();
  let nextId = 1;
  // Server side of the current connection.
  let up = false;
  let server = 'none'; // none | pending (a sub to answer) | active | gap (lost Redis: events not delivered)
  let pendingSince = null;
  let sentFrames = []; // frames sent on this connection (candidates to send twice)
  let rewound = false; // history set back during the current gap
  const rewoundAway = new Set(); // channels set back while the sub is not on the server
  // Model of the client.
  const want = []; // what the listener must have got
  const wantReadies = [];
  let everReady = false;
  let gapSinceReady = false; // not active on the server since the last ready
  let pos = null; // [[c, offset, epoch, loose]] once a ready gave positions
  const emitted = Array.from({ length: CHANNELS }, () => []); // ids since the last fresh start
  const delivered = Array.from({ length: CHANNELS }, () => []);
  // Events lost in a server gap (re-ready {recovered:false}): a later
  // recovery replays them if the channel's position is still before them.
  const optional = new Set();
  const log = [];
  // delivered[c] must be emitted[c] in order, exactly once, less optional
  // events that were not delivered.
  const complete = (c, what) => {
    const d = new Set(delivered[c]);
    assert.equal(d.size, delivered[c].length, `${what}: channel ${c}: no event twice`);
    assert.deepEqual(delivered[c], emitted[c].filter((id) => !optional.has(id) || d.has(id)),
        `${what}: channel ${c}: every event, in order`);
  };

  const send = (id, h3) => {
    const text = `{"msg":"changed","__vent":"1","id":"${h.key}","e":${id},"h":${JSON.stringify(h3)}}`;
    last().recv(text);
    sentFrames.push({ id, h3, text });
    // The client's rule, from the model's positions: a duplicate is dropped.
    const [c, offset, epoch] = h3;
    const p = pos && pos[c];
    if (p && p[2] === epoch && offset <= p[1] && !p[3]) return;
    if (pos) pos[c] = [c, offset, epoch, false];
    want.push([id, c, offset, epoch]);
    delivered[c].push(id);
  };
  const freshStart = () => {
    for (let c = 0; c < CHANNELS; c++) { emitted[c] = []; delivered[c] = []; }
  };
  const handshake = () => {
    const ws = last();
    ws.open();
    ws.recv({ msg: 'connected', session: 's' });
    up = true;
    sentFrames = [];
  };
  const takeSubs = (what) => {
    const subs = last().take().filter((m) => m.msg === 'sub');
    for (const s of subs) {
      // Loose positions (after a gap re-ready) are not sent.
      const known = pos ? pos.filter((p) => !p[3]).map(([c, o, e]) => [c, o, e]) : [];
      const since = known.length ? known : undefined;
      assert.deepEqual(s.since, since, `${what}: since`);
      server = 'pending';
      pendingSince = s.since;
    }
    return subs.length;
  };
  handshake();
  takeSubs('start');

  for (let step = 0; step < steps; step++) {
    const ops = ['emit', 'emit', 'emit', 'emit', 'lose'];
    if (server === 'gap' || server === 'none' || server === 'pending') ops.push('rewind');
    if (up) {
      if (!rewound) ops.push('close');
      if (server === 'pending') ops.push('answer', 'answer', 'answer', 'nosub503');
      if (server === 'active') ops.push('gap');
      if (server === 'gap') ops.push('regain', 'regain');
      if (sentFrames.length && (server === 'active' || server === 'gap')) ops.push('twice', 'twice');
    } else {
      ops.push('reconnect', 'reconnect', 'reconnect');
    }
    if (server === 'none' && up && h.state === 'subscribing') ops.push('tick', 'tick', 'tick');
    const op = pick(ops);
    log.push(op);
    const what = `seed ${seed} step ${step} (${log.slice(-8).join(" ")})`;
    if (process.env.VENT_MODEL_TRACE) console.log(step, op, JSON.stringify({ server, pos, emitted, delivered }));
    switch (op) {
      case 'emit': {
        const c = Math.floor(rnd() * CHANNELS);
        if (rewoundAway.has(c)) break; // see 'rewind'
        const id = nextId++;
        const h3 = hist.append(c, id);
        emitted[c].push(id);
        if (up && server === 'active') send(id, h3);
        break;
      }
      case 'lose': // the channel's history is gone (ttl, eviction, a Redis restart)
        hist.lose(Math.floor(rnd() * CHANNELS));
        break;
      case 'rewind': {
        // In a gap of the live subscription, which then ends with the
        // re-ready (a failover is a gap the server sees); or while the
        // client is away, where it is only detectable (a position from the
        // future: not recovered) until new offsets pass the client's — so
        // the channel gets no event until the sub is answered. (Past that,
        // in the same epoch, no client can tell: the server must change the
        // epoch.)
        const c = Math.floor(rnd() * CHANNELS);
        // Lost by the server: delivered or not, both are right.
        for (const id of hist.rewind(c, 1 + Math.floor(rnd() * 3))) optional.add(id);
        if (server === 'gap') rewound = true;
        else rewoundAway.add(c);
        sentFrames = []; // frames of the history before: not duplicates of what comes
        break;
      }
      case 'close':
        last().serverClose(1006);
        up = false;
        if (server === 'active' || server === 'gap' || server === 'pending') gapSinceReady = everReady;
        server = 'none';
        break;
      case 'reconnect': {
        const n = FakeSocket.instances.length;
        t.mock.timers.tick(1000);
        assert.equal(FakeSocket.instances.length, n + 1, `${what}: one new socket`);
        handshake();
        assert.equal(takeSubs(what), 1, `${what}: the sub is sent again`);
        break;
      }
      case 'tick':
        t.mock.timers.tick(1000);
        assert.equal(takeSubs(what), 1, `${what}: the sub is retried`);
        break;
      case 'nosub503':
        last().recv({ msg: 'nosub', id: h.id, error: meteorError(503, 'Redis is unavailable, try again later') });
        server = 'none';
        if (everReady) gapSinceReady = true;
        break;
      case 'answer': {
        const asked = pendingSince !== undefined;
        let recovered = asked;
        for (let c = 0; c < CHANNELS; c++) {
          if (!asked) continue;
          const p = pendingSince.find(([pc]) => pc === c);
          const entries = hist.replay(c, p);
          if (entries === null) { recovered = false; continue; }
          for (const x of entries) send(x.id, [c, x.offset, hist.ch[c].epoch]);
        }
        const top = hist.top();
        const ready = { msg: 'ready', subs: [h.id], h: top };
        if (asked) ready.recovered = recovered;
        last().recv(ready);
        pos = top.map(([c, o, e]) => [c, o, e, false]);
        wantReadies.push({ first: !everReady, recovered: asked ? recovered : (everReady && gapSinceReady ? false : undefined) });
        if (recovered) {
          for (let c = 0; c < CHANNELS; c++) complete(c, `${what}: recovered`);
        } else {
          freshStart();
        }
        everReady = true;
        gapSinceReady = false;
        rewoundAway.clear();
        server = 'active';
        break;
      }
      case 'gap':
        server = 'gap'; // events emitted now are lost for this subscription
        break;
      case 'regain':
        last().recv({ msg: 'ready', subs: [h.id], recovered: false });
        wantReadies.push({ first: false, recovered: false });
        for (const p of pos) p[3] = true;
        rewound = false;
        for (let c = 0; c < CHANNELS; c++) {
          const d = new Set(delivered[c]);
          for (const id of emitted[c]) if (!d.has(id)) optional.add(id);
        }
        server = 'active';
        break;
      case 'twice': {
        const f = pick(sentFrames);
        const p = pos[f.h3[0]];
        // A loose position takes the next event whatever it is; a frame of
        // an older epoch would replace the position (an epoch change).
        if (p[3] || p[2] !== f.h3[2]) break;
        last().recv(f.text);
        break;
      }
      default:
        throw new Error(op);
    }
    assert.deepEqual(got, want, `${what}: events delivered`);
    assert.deepEqual(readies, wantReadies, `${what}: ready payloads`);
    if (up && server === 'active') {
      for (let c = 0; c < CHANNELS; c++) complete(c, `${what}: live`);
    }
  }
  vent.close();
  return { events: got.length, readies: readies.length, recovered: readies.filter((r) => r.recovered === true).length };
}

test('history positions, since and recovered follow the reference model over random operation sequences', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const only = process.env.VENT_MODEL_SEED;
  const seeds = only ? [Number(only)] : Array.from({ length: 300 }, (_, i) => 5000 + i);
  const total = { events: 0, readies: 0, recovered: 0 };
  for (const seed of seeds) {
    const r = runSequence(t, seed, 150);
    for (const k of Object.keys(total)) total[k] += r[k];
  }
  t.diagnostic(`${total.events} events delivered, ${total.readies} readies, ${total.recovered} recovered`);
  assert.ok(total.recovered > 100 && total.readies - total.recovered > 100, 'both outcomes are exercised');
});
