'use strict';
// The whole path: gRPC Emit (clients/node/vent-client.js) -> vent-server ->
// Redis -> vent-bridge -> DDP client. Payload bytes survive verbatim into the
// Vent frame's `e`; EmitBatch preserves order; projection applies.

const assert = require('node:assert/strict');
const path = require('node:path');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');

const {VentClient} = require(path.join(__dirname, '..', '..', 'clients', 'node', 'vent-client.js'));

let env;
let vent;
const clients = [];
before(async () => {
  env = await startBridgeEnv({withServer: true});
  vent = new VentClient(env.server.grpcAddress);
});
after(async () => {
  for (const c of clients) c.close();
  if (vent) vent.close();
  if (env) await env.stop();
});

async function connected() {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
  clients.push(c);
  await c.connect();
  return c;
}

test('Emit reaches a subscribed DDP client byte for byte', async () => {
  const c = await connected();
  const t = `ge${process.pid}`;
  const sub = c.subscribe('threadMessage', [{threadId: t}]);
  await sub.ready();
  const payload = '{ "text" : "h\u00e9llo \u2713", "n": [1.50, 1e3], "esc": "\\"q\\"" }';
  const res = await vent.emit(`threads::${t}::new_message`, payload);
  assert.equal(res.receivers, 1);
  await sub.waitEvents(1);
  assert.equal(sub.raws[0], `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":${payload}}`);
});

test('Emit with an object payload, EmitBatch of 100 in order, two clients', async () => {
  const c1 = await connected();
  const c2 = await connected();
  const t = `geb${process.pid}`;
  const ch = `threads::${t}::new_message`;
  const a = c1.subscribe('threadMessage', [{threadId: t}]);
  const b = c2.subscribe('threadMessage', [{threadId: t}]);
  await Promise.all([a.ready(), b.ready()]);
  await vent.emit(ch, {first: true});
  await vent.emitBatch(Array.from({length: 100}, (_, i) => [ch, {seq: i}]));
  for (const s of [a, b]) {
    const ev = await s.waitEvents(101, {timeoutMs: 10000});
    assert.deepEqual(ev[0], {first: true});
    assert.deepEqual(ev.slice(1).map((e) => e.seq), Array.from({length: 100}, (_, i) => i));
  }
});

test('projection through the full path', async () => {
  const c = await connected();
  const id = `gp${process.pid}`;
  const sub = c.subscribe('projected', [{id}]);
  await sub.ready();
  await vent.emit(`p::${id}`, {message: 'visible', token: 'secret'});
  await vent.emit(`p::${id}`, {nothing: 1});
  await vent.emit(`p::${id}`, {message: 'end'});
  assert.deepEqual(await sub.waitEvents(2), [{message: 'visible'}, {message: 'end'}]);
  assert.ok(sub.raws.every((r) => !r.includes('secret')));
});
