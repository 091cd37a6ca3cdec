// vent-client against real processes (redis-server, vent-server, vent-bridge)
// when things go wrong: a frozen bridge (SIGSTOP) detected by the heartbeat
// in time, a subscription the bridge closes on (1009) failed instead of
// looping, every promise settled with reconnect:false and on close(), state
// events across a bridge restart, 503 retried until Redis is back, the
// bridge's re-ready {recovered:false} after it lost Redis. Each test
// that stops or kills a bridge has its own. No sleeps, no fake timers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { VentError } from '../src/index.js';
import {
  EmitClient, closeClients, collector, connect, emitUntilDelivered, once, recordEvents, stack, startBridge, uniq,
} from './lib/e2e.js';

let redis;
let server;
let emitter;
const bridges = [];

before(async () => {
  redis = await stack.startRedis();
  server = await stack.startVentServer({ redis });
  emitter = new EmitClient(server.grpcAddress);
});

after(async () => {
  closeClients();
  if (emitter) emitter.close();
  for (const b of bridges) {
    if (b.proc.isRunning()) {
      b.proc.child.kill('SIGCONT');
      await b.proc.stop();
    }
  }
  if (server) await server.stop();
  if (redis) await redis.stop();
});

async function bridge(opts = {}) {
  const b = await startBridge({ redis: opts.redis || redis, ...opts });
  bridges.push(b);
  return b;
}

test('a frozen bridge (SIGSTOP) is detected within heartbeatMs + heartbeatTimeoutMs + 1 s', async (t) => {
  const b = await bridge();
  const heartbeatMs = 1500;
  const heartbeatTimeoutMs = 1500;
  const vent = connect(b.url(), { heartbeatMs, heartbeatTimeoutMs });
  const h = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await h.whenReady();
  const down = once(vent, 'status', (s) => s.status === 'waiting', { timeoutMs: 20000 });
  const stoppedAt = Date.now();
  b.proc.child.kill('SIGSTOP');
  const st = await down;
  const elapsed = Date.now() - stoppedAt;
  t.diagnostic(`frozen bridge detected after ${elapsed} ms`);
  assert.match(st.reason, /heartbeat timeout/);
  assert.ok(elapsed <= heartbeatMs + heartbeatTimeoutMs + 1000,
      `detected after ${elapsed} ms (bound ${heartbeatMs + heartbeatTimeoutMs + 1000} ms)`);
  assert.equal(h.state, 'subscribing');
  b.proc.child.kill('SIGCONT');
  await h.whenReady(20000);
  assert.equal(h.recovered, false, 'events may have been missed while frozen');
});

test('a subscription the bridge closes on (1009) is failed as too-big; the connection settles', async () => {
  const b = await bridge({ args: ['--max-message', '4096'] });
  const vent = connect(b.url(), { reconnect: { initialMs: 20, maxMs: 200, jitter: 0 } });
  const statuses = [];
  vent.on('status', (s) => statuses.push(s));
  const threadId = uniq('t');
  const good = vent.subscribe('threadMessage', { threadId });
  const readies = [];
  good.onReady((info) => readies.push(info));
  const big = vent.subscribe('threadMessage', { threadId: uniq('t'), blob: 'x'.repeat(8000) });
  const also = vent.subscribe('threadMessage', { threadId: uniq('t') });
  const stops = [];
  big.onStop((e) => stops.push(e));
  await assert.rejects(big.whenReady(), (e) => e instanceof VentError && e.error === 'too-big' && e.subscription === big);
  assert.equal(stops.length, 1);
  await good.whenReady(20000);
  await also.whenReady(20000);
  // Settled: events flow, and no further drop happened after the one 1009.
  const c = collector(good);
  await emitUntilDelivered(emitter, `threads::${threadId}::new_message`, c, { message: 'settled' });
  const drops = statuses.filter((s) => s.status === 'waiting');
  assert.equal(drops.length, 1, `one drop, got ${JSON.stringify(statuses)}`);
  assert.equal(drops[0].code, 1009);
  assert.equal(vent.status().status, 'connected');
  assert.ok(readies.length <= 2, `the healthy sub got ${readies.length} readies`);
});

test('reconnect:false: a lost link settles pending login(), whenReady(), call() and ends the subscriptions', async () => {
  const b = await bridge();
  const vent = connect(b.url(), { reconnect: false });
  const ok = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await ok.whenReady();
  b.proc.child.kill('SIGSTOP'); // nothing is answered from now on
  const pendingSub = vent.subscribe('threadMessage', { threadId: uniq('t') });
  const settled = Promise.allSettled([pendingSub.whenReady(), vent.login('any-token'), vent.call('anything')]);
  const stops = [];
  ok.onStop((e) => stops.push(e));
  const closed = once(vent, 'status', (s) => s.status === 'closed');
  await b.proc.kill('SIGKILL');
  const st = await closed;
  assert.match(st.reason, /socket closed/);
  for (const r of await settled) {
    assert.equal(r.status, 'rejected');
    assert.ok(r.reason instanceof VentError && r.reason.error === 'disconnected', String(r.reason));
  }
  assert.equal(stops[0].error, 'disconnected');
  assert.equal(ok.state, 'unsubscribed');
  vent.close(); // a no-op now
});

test("close() settles pending login() and whenReady() with 'closed' while the bridge answers nothing", async () => {
  const b = await bridge();
  const vent = connect(b.url());
  const first = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await first.whenReady();
  b.proc.child.kill('SIGSTOP');
  const h = vent.subscribe('threadMessage', { threadId: uniq('t') });
  const settled = Promise.allSettled([h.whenReady(), vent.login('any-token')]);
  vent.close();
  for (const r of await settled) assert.equal(r.status === 'rejected' && r.reason.error, 'closed');
  assert.equal(vent.status().status, 'closed');
  b.proc.child.kill('SIGCONT');
});

test('state events in order across a bridge restart; the re-ready says events may have been missed', async () => {
  const b = await bridge();
  const vent = connect(b.url());
  const threadId = uniq('t');
  const h = vent.subscribe('threadMessage', { threadId });
  const seen = recordEvents(h);
  const c = collector(h);
  await h.whenReady();
  await emitUntilDelivered(emitter, `threads::${threadId}::new_message`, c, { message: 'before' });
  const down = once(h, 'subscribing');
  await b.proc.kill('SIGKILL');
  assert.equal((await down).code, 'disconnected');
  const again = once(h, 'ready');
  const restarted = await bridge({ port: b.port });
  assert.deepEqual(await again, { first: false, recovered: false });
  await emitUntilDelivered(emitter, `threads::${threadId}::new_message`, c, { message: 'after' });
  h.stop();
  assert.deepEqual(seen.map(([ev, x]) => (ev === 'state' ? `${x.previous}>${x.state}` : ev)), [
    'subscribing>subscribed', 'ready',
    'subscribed>subscribing', 'subscribing',
    'subscribing>subscribed', 'ready',
    'subscribed>unsubscribed', 'unsubscribed',
  ]);
  assert.ok(restarted.proc.isRunning());
});

test('nosub 503 while Redis is down is retried until Redis is back', async () => {
  const ownRedis = await stack.startRedis();
  const b = await bridge({ redis: ownRedis, args: ['--sub-timeout', '300ms'] });
  const vent = connect(b.url(), { resubscribe: { initialMs: 100, maxMs: 500, jitter: 0.5 } });
  const warm = vent.subscribe('threadMessage', { threadId: uniq('t') });
  await warm.whenReady();
  await ownRedis.kill();
  const h = vent.subscribe('threadMessage', { threadId: uniq('t') });
  const temp = await once(h, 'subscribing', (x) => x.error && x.error.error === 503);
  assert.match(temp.reason, /Redis/);
  assert.equal(h.state, 'subscribing');
  await ownRedis.restart();
  try {
    await h.whenReady(30000);
    assert.equal(h.state, 'subscribed');
  } finally {
    vent.close();
    await b.proc.stop();
    await ownRedis.stop();
  }
});

test('the bridge lost its Redis subscription and made it again: ready {first:false, recovered:false}, never unsubscribed', async () => {
  const ownRedis = await stack.startRedis();
  const b = await bridge({ redis: ownRedis });
  const vent = connect(b.url());
  const threadId = uniq('t');
  const h = vent.subscribe('threadMessage', { threadId });
  const seen = recordEvents(h);
  const c = collector(h);
  try {
    await h.whenReady();
    const gap = once(h, 'ready', (x) => !x.first, { timeoutMs: 30000, what: 'the re-ready after Redis came back' });
    await ownRedis.kill();
    await ownRedis.restart();
    assert.deepEqual(await gap, { first: false, recovered: false });
    assert.equal(h.recovered, false);
    assert.equal(vent.status().status, 'connected');
    assert.deepEqual(seen.filter(([ev]) => ev === 'state').map(([, x]) => x.state), ['subscribed'],
        'the WebSocket stayed up: the subscription never left subscribed');
    // Events flow again (published straight into the restarted Redis).
    let n = 0;
    await stack.waitFor(async () => {
      if (c.events.length) return true;
      await stack.redisCommand(ownRedis.port, ['PUBLISH', `threads::${threadId}::new_message`,
        JSON.stringify({ message: `after-${++n}` })]);
      return c.events.length > 0;
    }, { timeoutMs: 20000, intervalMs: 100, what: 'an event after the gap' });
    assert.match(c.events[0].message, /^after-\d+$/);
  } finally {
    vent.close();
    await b.proc.stop();
    await ownRedis.stop();
  }
});
