// Randomized test of the subscription state machine against a small
// reference model. A seeded sequence of operations — subscribe, stop, the
// server's ready / re-ready {recovered:false} / nosub (temporary, permanent,
// no error), socket closes (1006, 1000, 4008, 1009), reconnects, retry
// timers firing — drives VentClient over a fake WebSocket with mocked
// timers; after every step the handles' states, the `sub`/`unsub` messages
// sent and the 'ready' payloads must match what the model predicts.
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

function runSequence(t, seed, steps) {
  const rnd = mulberry32(seed);
  const pick = (arr) => arr[Math.floor(rnd() * arr.length)];
  fresh();
  const vent = new VentClient('ws://h/websocket', {
    WebSocket: FakeSocket, heartbeatMs: 0, connectTimeoutMs: 0, networkEvents: false,
    reconnect: { initialMs: 10, maxMs: 100, jitter: 0 }, resubscribe: { initialMs: 10, maxMs: 100, jitter: 0 },
  });
  vent.on('error', () => {}); // permanent errors without listeners land here
  const model = new Map(); // id -> {h, state, everReady, gap, server: 'none'|'pending'|'active', retry, size, events}
  let up = false;
  let size = 0;
  const log = [];

  const handshake = () => {
    const ws = last();
    ws.open();
    ws.recv({ msg: 'connected', session: 's' });
    up = true;
    for (const m of model.values()) {
      m.retry = false;
      if (m.state !== 'unsubscribed') m.server = 'pending';
    }
  };
  handshake();
  last().take();

  // The sub/unsub ids the client sent since the last check.
  const drain = () => {
    const out = { sub: [], unsub: [] };
    for (const m of last().take()) if (m.msg === 'sub' || m.msg === 'unsub') out[m.msg].push(m.id);
    return out;
  };
  const check = (what, expectSub, expectUnsub) => {
    const got = drain();
    assert.deepEqual(got.sub.sort(), [...expectSub].sort(), `${what}: sub messages`);
    assert.deepEqual(got.unsub.sort(), [...expectUnsub].sort(), `${what}: unsub messages`);
    for (const [id, m] of model) {
      assert.equal(m.h.state, m.state, `${what}: state of ${id}`);
      assert.equal(m.h.ready(), m.state === 'subscribed');
      assert.deepEqual(m.events.got, m.events.want, `${what}: ready payloads of ${id}`);
    }
  };
  const live = () => [...model.values()].filter((m) => m.state !== 'unsubscribed');
  const onServer = (kind) => [...model.values()].filter((m) => m.server === kind);

  for (let step = 0; step < steps; step++) {
    const ops = ['subscribe', 'subscribe'];
    if (live().length) ops.push('stop');
    if (up) {
      if (onServer('pending').length) ops.push('ready', 'ready', 'ready', 'nosub', 'nosub');
      if (onServer('active').length) ops.push('reready', 'nosub-active');
      ops.push('close');
      if (live().some((m) => m.retry)) ops.push('tick', 'tick');
    } else {
      ops.push('reconnect', 'reconnect', 'reconnect');
    }
    const op = pick(ops);
    log.push(op);
    const what = `seed ${seed} step ${step} (${log.slice(-8).join(' ')})`;
    const expectSub = [];
    const expectUnsub = [];
    switch (op) {
      case 'subscribe': {
        size++;
        const h = vent.subscribe('p', { pad: 'x'.repeat(size) }); // strictly growing message sizes
        const m = { h, state: 'subscribing', everReady: false, gap: false, server: 'none', retry: false, size,
          events: { got: [], want: [] } };
        h.on('ready', (info) => m.events.got.push(info));
        model.set(h.id, m);
        if (up) { m.server = 'pending'; expectSub.push(h.id); }
        break;
      }
      case 'stop': {
        const m = pick(live());
        if (up && m.server !== 'none') expectUnsub.push(m.h.id);
        m.h.stop();
        m.state = 'unsubscribed';
        m.server = 'none';
        break;
      }
      case 'ready': {
        const m = pick(onServer('pending'));
        last().recv({ msg: 'ready', subs: [m.h.id] });
        m.events.want.push({ first: !m.everReady, recovered: m.everReady && m.gap ? false : undefined });
        m.everReady = true;
        m.gap = false;
        m.state = 'subscribed';
        m.server = 'active';
        break;
      }
      case 'reready': {
        const m = pick(onServer('active'));
        last().recv({ msg: 'ready', subs: [m.h.id], recovered: false });
        m.events.want.push({ first: false, recovered: false });
        break;
      }
      case 'nosub':
      case 'nosub-active': {
        const m = pick(onServer(op === 'nosub' ? 'pending' : 'active'));
        const code = pick([503, 429, 400, 404, 403, null]);
        last().recv(code === null ? { msg: 'nosub', id: m.h.id } : { msg: 'nosub', id: m.h.id, error: meteorError(code, 'x') });
        m.server = 'none';
        if (code === 503 || code === 429) {
          if (m.everReady) m.gap = true;
          m.state = 'subscribing';
          m.retry = true;
        } else {
          m.state = 'unsubscribed';
        }
        break;
      }
      case 'close': {
        const code = pick([1006, 1000, 4008, 1009]);
        if (code === 1009) {
          // The largest unanswered sub is the one failed as too big.
          const pending = onServer('pending');
          if (pending.length) {
            const worst = pending.reduce((a, b) => (b.size > a.size ? b : a));
            worst.state = 'unsubscribed';
            worst.server = 'none';
          }
        }
        last().serverClose(code);
        up = false;
        for (const m of live()) {
          if (m.state === 'subscribed') { m.state = 'subscribing'; m.gap = true; }
          m.server = 'none';
          m.retry = false;
        }
        for (const m of model.values()) m.server = 'none';
        break;
      }
      case 'reconnect': {
        const n = FakeSocket.instances.length;
        t.mock.timers.tick(1000);
        assert.equal(FakeSocket.instances.length, n + 1, `${what}: one new socket`);
        handshake();
        for (const m of live()) expectSub.push(m.h.id);
        break;
      }
      case 'tick': {
        t.mock.timers.tick(1000);
        for (const m of live()) {
          if (m.retry) { m.retry = false; m.server = 'pending'; expectSub.push(m.h.id); }
        }
        break;
      }
      default:
        throw new Error(op);
    }
    check(what, expectSub, expectUnsub);
  }
  vent.close();
  for (const m of model.values()) assert.equal(m.h.state, 'unsubscribed');
}

test('subscription states follow the reference model over random operation sequences', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const only = process.env.VENT_MODEL_SEED;
  const seeds = only ? [Number(only)] : Array.from({ length: 300 }, (_, i) => 1000 + i);
  for (const seed of seeds) runSequence(t, seed, 120);
});
