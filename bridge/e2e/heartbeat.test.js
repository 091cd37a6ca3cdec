'use strict';
// DDP heartbeats (docs/protocol.md "Heartbeats") and the handshake timeout, with
// short intervals: --heartbeat-interval 200ms --heartbeat-timeout 200ms
// --handshake-timeout 600ms. A silent client is pinged and then closed; a
// client that answers is kept; outgoing events do not suppress pings; pre1
// sessions get no heartbeats.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {upgrade} = require('./lib/raw_socket.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

let env;
const clients = [];
function client(opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0, ...opts});
  clients.push(c);
  return c;
}

before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--heartbeat-interval', '200ms', '--heartbeat-timeout', '200ms',
    '--handshake-timeout', '600ms']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('a silent client receives {"msg":"ping"} and is closed when it does not answer', async () => {
  const c = client({autoPong: false});
  const t0 = Date.now();
  await c.connect();
  const ping = await c.take((m) => m.msg === 'ping', {timeoutMs: 3000});
  assert.equal(ping.raw, '{"msg":"ping"}');
  await c.closed({timeoutMs: 3000});
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 300, `closed after ${elapsed} ms: earlier than interval + timeout`);
});

test('a heartbeat-timeout close is counted in vent_bridge_closed_total{reason="timeout"}', async () => {
  const before = await env.metric('vent_bridge_closed_total{reason="timeout"}');
  const c = client({autoPong: false});
  await c.connect();
  await c.closed({timeoutMs: 3000});
  await waitFor(async () => (await env.metric('vent_bridge_closed_total{reason="timeout"}')) > before,
      {what: 'closed_total{reason="timeout"} to grow'});
});

test('a client that answers pings is kept (5 pings answered) and still receives events', async () => {
  const c = client({autoPong: true});
  await c.connect();
  const sub = c.subscribe('threadMessage', [{threadId: `hb${process.pid}`}]);
  await sub.ready();
  await waitFor(() => c.pingsReceived >= 5, {timeoutMs: 6000, what: '5 server pings'});
  assert.equal(c.isOpen, true);
  await env.publish(`threads::hb${process.pid}::new_message`, '{"alive":1}');
  assert.deepEqual(await sub.waitEvents(1), [{alive: 1}]);
});

test('outgoing events do not suppress pings: a silent subscriber flooded with events is still closed', async () => {
  const c = client({autoPong: false});
  await c.connect();
  const t = `hbflood${process.pid}`;
  const sub = c.subscribe('threadMessage', [{threadId: t}]);
  await sub.ready();
  let closed = false;
  c.closed({timeoutMs: 10000}).then(() => { closed = true; }, () => {});
  const deadline = Date.now() + 5000;
  let i = 0;
  while (!closed && Date.now() < deadline) {
    await env.publish(`threads::${t}::new_message`, `{"i":${i++}}`);
    await new Promise((r) => setImmediate(r));
  }
  assert.ok(closed, `still open after ${i} events without answering pings`);
  assert.ok(c.pingsReceived >= 1);
});

test('pre1 sessions get no server pings (bounded by a version-1 client being closed)', async () => {
  const old = client({autoPong: false, version: 'pre1', support: ['pre1']});
  const cur = client({autoPong: false});
  await Promise.all([old.connect(), cur.connect()]);
  await cur.closed({timeoutMs: 3000});
  assert.equal(old.pingsReceived, 0);
  assert.equal(old.isOpen, true, 'pre1 client was closed');
});

test('no DDP connect after the upgrade -> closed after --handshake-timeout', async () => {
  const t0 = Date.now();
  const {sock} = await upgrade(env.port, '/websocket');
  await new Promise((resolve) => {
    sock.on('data', () => {}); // keep reading so the close frame arrives
    sock.on('close', resolve);
  });
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 500, `closed after ${elapsed} ms`);
  assert.ok(elapsed < 5000, `closed after ${elapsed} ms`);
});

test('a client that upgrades and connects is not closed by the handshake timer', async () => {
  const c = client({autoPong: true});
  await c.connect();
  // Bounded by the handshake-timeout case: a raw socket opened now is closed
  // by the handshake timer while this connected client stays open.
  const {sock} = await upgrade(env.port, '/websocket');
  await new Promise((resolve) => { sock.on('data', () => {}); sock.on('close', resolve); });
  assert.equal(c.isOpen, true);
  assert.equal((await c.ping('hs')).raw, '{"msg":"pong","id":"hs"}');
});
