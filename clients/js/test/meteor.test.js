// The Meteor adapter (src/meteor.js) on a harness that behaves as Meteor's
// client connection (test/lib/meteor_connection.js: a `_stream` emitting raw
// messages, Meteor.subscribe's callbacks and ids, re-subscription with the
// same ids after a reconnect) over the real sockjs-client, against the real
// stack (redis-server + vent-server + vent-bridge). Also EJSON end to end:
// events emitted as EJSON text — by a redis-oplog-style publisher
// (Redis PUBLISH of EJSON.stringify(obj)) and through vent-server's Emit —
// reach listeners as Dates and Uint8Arrays, and byte for byte on the wire.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { VentError, attachToMeteor } from '../src/index.js';
import { MeteorConnection } from './lib/meteor_connection.js';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const stack = require(path.join(root, 'tests/js/lib/stack.js'));
const { Publisher } = require(path.join(root, 'bridge/e2e/lib/publisher.js'));
const { VentClient: EmitClient } = require(path.join(root, 'clients/node/vent-client.js'));
const EJSON = require('ejson');

let redis;
let server;
let bridge;
let base;
let emitter;
let publisher;
const conns = [];

before(async () => {
  redis = await stack.startRedis();
  server = await stack.startVentServer({ redis });
  const port = await stack.freePort();
  base = `http://127.0.0.1:${port}`;
  bridge = await stack.startProcess(stack.binPath('vent-bridge'), [
    '--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--config', path.join(root, 'config/vent.yaml'),
  ], { readyHttp: `${base}/healthz` });
  emitter = new EmitClient(server.grpcAddress);
  publisher = new Publisher(redis.port);
});

after(async () => {
  for (const c of conns) c.disconnect();
  if (publisher) publisher.close();
  if (emitter) emitter.close();
  if (bridge) await bridge.stop();
  if (server) await server.stop();
  if (redis) await redis.stop();
});

function meteor(opts) {
  const c = new MeteorConnection(base, opts);
  conns.push(c);
  return c;
}

// Resolves once pred(events) holds, with a deadline.
function until(events, pred, what, timeoutMs = 20000) {
  return stack.waitFor(() => pred(events), { timeoutMs, intervalMs: 20, what });
}

let seq = 0;
const uniq = (p) => `${p}${process.pid}x${++seq}`;

for (const transports of [undefined, ['xhr-streaming']]) {
  describe(`attachToMeteor on a Meteor-like connection (SockJS ${transports ? transports[0] : 'websocket'})`, () => {
    test('subscribe through Meteor.subscribe, listen() gets events, stop() unsubscribes', async () => {
      const conn = meteor({ transports });
      const vent = attachToMeteor(conn);
      const threadId = uniq('t');
      const got = [];
      const h = vent.subscribe('threadMessage', { threadId });
      h.listen((e) => got.push(e));
      await h.whenReady();
      // Meteor's own subscription carries the Vent rand first.
      const sub = conn.received.find((m) => m.msg === 'ready');
      assert.ok(sub);
      await emitter.emit(`threads::${threadId}::new_message`, { message: 'hi' });
      await until(got, (g) => g.length === 1, 'first event');
      assert.deepEqual(got, [{ message: 'hi' }]);
      // The Meteor-side ready arrived for the id Meteor chose.
      assert.equal(h.ready(), true);

      // stop(): Meteor's handle sends unsub; nothing reaches the listener
      // afterwards (bounded by a marker on another sub).
      const marker = vent.subscribe('threadMessage', { threadId });
      const markerGot = [];
      marker.listen((e) => markerGot.push(e));
      await marker.whenReady();
      h.stop();
      await emitter.emit(`threads::${threadId}::new_message`, { message: 'after stop' });
      await until(markerGot, (g) => g.length === 1, 'marker');
      assert.deepEqual(got, [{ message: 'hi' }]);
      assert.equal(h.state, 'unsubscribed');
    });

    test('refusal: Meteor onStop(error) ends the handle with the DDP error', async () => {
      const conn = meteor({ transports });
      const vent = attachToMeteor(conn);
      const h = vent.subscribe('noSuchPublication');
      const err = await h.whenReady().then(() => null, (e) => e);
      assert.ok(err instanceof VentError);
      assert.equal(err.error, 404);
      assert.equal(err.reason, "Subscription 'noSuchPublication' not found");
    });

    test('vent.call goes through connection.apply', async () => {
      const vent = attachToMeteor(meteor({ transports }));
      const err = await vent.call('nope', 1).then(() => null, (e) => e);
      assert.equal(err.error, 404);
    });

    test('after Meteor reconnects (same sub ids and params) events reach the same listener', async () => {
      const conn = meteor({ transports });
      const vent = attachToMeteor(conn);
      const threadId = uniq('r');
      const got = [];
      const h = vent.subscribe('threadMessage', { threadId });
      h.listen((e) => got.push(e));
      await h.whenReady();
      await emitter.emit(`threads::${threadId}::new_message`, { message: 'one' });
      await until(got, (g) => g.length === 1, 'before reconnect');
      const readies = () => conn.received.filter((m) => m.msg === 'ready').length;
      const before = readies();
      conn.reconnect();
      await stack.waitFor(() => readies() > before, { timeoutMs: 20000, what: 'ready after reconnect' });
      await emitter.emit(`threads::${threadId}::new_message`, { message: 'two' });
      await until(got, (g) => g.length === 2, 'after reconnect');
      assert.deepEqual(got, [{ message: 'one' }, { message: 'two' }]);
    });
  });
}

describe('EJSON end to end', () => {
  test('redis-oplog-style publisher (PUBLISH EJSON.stringify) and Emit: Dates and bytes reach listen()', async () => {
    const conn = meteor();
    const vent = attachToMeteor(conn);
    const raw = [];
    conn._stream.on('message', (m) => { if (m.startsWith('{"msg":"changed","__vent"')) raw.push(m); });
    const threadId = uniq('ej');
    const got = [];
    const h = vent.subscribe('threadMessage', { threadId });
    h.listen((e) => got.push(e));
    await h.whenReady();
    const when = new Date(1700000000777);
    // redis-oplog's Vent.emit(channel, obj) = PUBLISH channel EJSON.stringify(obj).
    const text = EJSON.stringify({ message: { when, bytes: new Uint8Array([9, 8, 7]) } });
    await publisher.publish(`threads::${threadId}::new_message`, text);
    // Emit with the same EJSON text as the payload.
    await emitter.emit(`threads::${threadId}::new_message`, JSON.parse(text));
    await until(got, (g) => g.length === 2, 'two EJSON events');
    for (const e of got) {
      assert.ok(e.message.when instanceof Date);
      assert.equal(e.message.when.getTime(), when.getTime());
      assert.ok(e.message.bytes instanceof Uint8Array);
      assert.deepEqual([...e.message.bytes], [9, 8, 7]);
    }
    // On the wire, byte for byte what was published (config/vent.yaml
    // projects to [message]: the projection writes JSON.stringify's form).
    assert.equal(raw[0], `{"msg":"changed","__vent":"1","id":"${h.rand}.threadMessage","e":${text}}`);
    assert.equal(raw[1], raw[0]);

    // {ejson: false}: the same frames, undecoded.
    const plain = attachToMeteor(meteor(), { ejson: false });
    const p = plain.subscribe('threadMessage', { threadId });
    const pgot = [];
    p.listen((e) => pgot.push(e));
    await p.whenReady();
    await publisher.publish(`threads::${threadId}::new_message`, text);
    await until(pgot, (g) => g.length === 1, 'undecoded event');
    assert.deepEqual(pgot[0], JSON.parse(text));
  });
});
