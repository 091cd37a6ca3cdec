'use strict';
// Emit path end to end from Node: real redis-server + vent-server, the
// clients/node VentClient, and a raw RESP subscriber that sees the exact bytes
// Redis delivers. Run: VENT_BIN_DIR=build/bin node --test tests/emit/node_emit.test.js

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const stack = require('../js/lib/stack');
const {healthCheck} = require('../js/lib/grpc_health');
const {VentClient, status} = require(path.join(__dirname, '..', '..', 'clients', 'node', 'vent-client'));

const codeName = (code) => Object.keys(status).find((k) => status[k] === code) || String(code);

// Asserts that promise rejects with gRPC `code` and a message matching `re`.
async function assertGrpcError(promise, code, re) {
  let err = null;
  try {
    await promise;
  } catch (e) {
    err = e;
  }
  assert.ok(err, `expected ${codeName(code)}, but the call succeeded`);
  assert.equal(codeName(err.code), codeName(code), `unexpected status: ${err.details || err.message}`);
  if (re) assert.match(err.details, re, `message does not say why: "${err.details}"`);
  return err;
}

// Proves nothing else reached `sub` before it: emits a sentinel and checks
// that it is the next message.
async function assertNothingPublished(client, sub, channel) {
  const sentinel = JSON.stringify({sentinel: Math.random()});
  await client.emit(channel, sentinel);
  const msg = await sub.next({timeoutMs: 5000});
  assert.equal(msg.payload.toString(), sentinel, 'something was published before the sentinel');
}

describe('vent-server emit (default limits)', {timeout: 180000}, () => {
  let vent;
  let client;
  before(async () => {
    vent = await stack.startVentServer();
    client = new VentClient(vent.grpcAddress);
  });
  after(async () => {
    if (client) client.close();
    if (vent) await vent.stop();
  });

  it('Emit publishes the JSON text byte for byte', async () => {
    const channel = 'threads::t1::new_message';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      // Spacing, key order, escapes, numbers and non-ASCII must survive untouched.
      const payload = '{ "z" : 1,\t"a": "h\u00e9llo w\u00f6rld \u2713 \ud83d\ude80",  ' +
          '"n": [1.50, -0, 1e3, null], "esc": "\\u00e9\\n\\"q\\"", "b": {"y": true, "x": false} }';
      const res = await client.emit(channel, payload);
      assert.equal(res.receivers, 1);
      assert.equal(res.duplicate, false);
      assert.equal(typeof res.id, 'string');
      assert.equal(res.id.length, 26, `id ${res.id} is not 26 chars`);
      const msg = await sub.next();
      assert.equal(msg.channel, channel);
      assert.deepEqual(msg.payload, Buffer.from(payload, 'utf8'));

      // Any JSON value is accepted, not only objects.
      for (const value of ['"just a string"', '42', '[1,2,3]', 'null', 'true']) {
        await client.emit(channel, value);
        assert.equal((await sub.next()).payload.toString(), value);
      }
      // Objects given to the client are serialized with JSON.stringify.
      const obj = {text: 'caf\u00e9', n: 3};
      await client.emit(channel, obj);
      assert.equal((await sub.next()).payload.toString(), JSON.stringify(obj));
    } finally {
      sub.close();
    }
  });

  it('Emit reports 0 receivers when nobody listens and ids are unique', async () => {
    const a = await client.emit('nobody::listens', '{}');
    const b = await client.emit('nobody::listens', '{}');
    assert.equal(a.receivers, 0);
    assert.notEqual(a.id, b.id);
  });

  it('Emit with an idempotency key publishes once', async () => {
    const channel = 'idem::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      const key = `k-${Date.now()}`;
      const first = await client.emit(channel, '{"n":1}', {idempotencyKey: key});
      const second = await client.emit(channel, '{"n":1}', {idempotencyKey: key});
      assert.equal(first.duplicate, false);
      assert.equal(second.duplicate, true);
      assert.equal(second.id, first.id);
      assert.equal((await sub.next()).payload.toString(), '{"n":1}');
      await assertNothingPublished(client, sub, channel);
    } finally {
      sub.close();
    }
  });

  it('EmitBatch of 1,000 events publishes all, in order', async () => {
    const channel = 'batch::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      const events = [];
      for (let i = 0; i < 1000; i++) events.push([channel, `{"i":${i},"pad":"\u00e9 x"}`]);
      const results = await client.emitBatch(events);
      assert.equal(results.length, 1000);
      assert.ok(results.every((r) => r.receivers === 1 && r.id.length === 26 && !r.duplicate));
      assert.equal(new Set(results.map((r) => r.id)).size, 1000, 'ids are not unique');
      const msgs = await sub.take(1000, {timeoutMs: 20000});
      msgs.forEach((m, i) => assert.equal(m.payload.toString(), `{"i":${i},"pad":"\u00e9 x"}`));
    } finally {
      sub.close();
    }
  });

  it('EmitStream of 100,000 events publishes all, exactly once', {timeout: 150000}, async () => {
    // 10 streams of 10,000, one after the other: stream order is part of
    // the contract (proto: "events are published in stream order").
    const channel = 'stream::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      const n = 100000;
      const perStream = 10000;
      let published = 0;
      for (let s = 0; s < n / perStream; s++) {
        const stream = client.emitStream();
        for (let i = s * perStream; i < (s + 1) * perStream; i++) {
          await stream.write(channel, `{"i":${i}}`);
        }
        const res = await stream.end();
        assert.equal(res.published, perStream);
        assert.equal(res.receivers, perStream);
        published += res.published;
      }
      assert.equal(published, n);
      const msgs = await sub.take(n, {timeoutMs: 60000});
      const seen = new Uint8Array(n);
      let outOfOrder = 0;
      msgs.forEach((m, pos) => {
        const text = m.payload.toString();
        const match = /^\{"i":(\d+)\}$/.exec(text);
        assert.ok(match, `altered payload: ${text}`);
        const i = Number(match[1]);
        assert.ok(i < n && !seen[i], `event ${i} published twice or unknown`);
        seen[i] = 1;
        if (i !== pos) outOfOrder++;
      });
      assert.equal(outOfOrder, 0, `${outOfOrder} of ${n} EmitStream events out of order`);
      await assertNothingPublished(client, sub, channel); // and no extras
    } finally {
      sub.close();
    }
  });

  // grpc-js once stalled ~40 s per MiB on one stream (one event per message).
  // ~3.5 MiB here: such a stall would blow the test's deadline.
  it('one EmitStream carrying several MiB completes', {timeout: 60000}, async () => {
    const n = 150000;
    const stream = client.emitStream();
    for (let i = 0; i < n; i++) await stream.write('stream::big', `{"i":${i}}`);
    assert.equal((await stream.end()).published, n);
  });

  it('Subscribe streams what redis-cli PUBLISH sends, byte for byte', async () => {
    const channel = 'sub::chan \u00e9';
    const got = [];
    const sub = client.subscribe([channel, 'sub::other'], (ev) => got.push(ev));
    try {
      await sub.ready;
      const payloads = ['{"x":1}', '{ "msg" : "\u00e9 \u2713 \ud83d\ude80",  "k":[ ] }'];
      for (const p of payloads) {
        assert.equal(await stack.redisCli(vent.redis.port, ['PUBLISH', channel, p]), '1');
      }
      await stack.waitFor(() => got.length >= payloads.length, {timeoutMs: 5000, what: 'events'});
      payloads.forEach((p, i) => {
        assert.equal(got[i].channel, channel);
        assert.deepEqual(Buffer.from(got[i].json, 'utf8'), Buffer.from(p, 'utf8'));
        assert.ok(got[i].emittedAt instanceof Date && !isNaN(got[i].emittedAt), 'emitted_at unset');
      });
      // An Emit through vent-server reaches a Subscribe through vent-server too.
      await client.emit('sub::other', '{"via":"emit"}');
      await stack.waitFor(() => got.length === 3, {timeoutMs: 5000, what: 'emitted event'});
      assert.equal(got[2].channel, 'sub::other');
      assert.equal(got[2].json, '{"via":"emit"}');
    } finally {
      sub.cancel();
      await sub.done;
    }
  });

  it('refuses invalid events with INVALID_ARGUMENT and says why', async () => {
    const channel = 'invalid::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      await assertGrpcError(client.emit('', '{}'), status.INVALID_ARGUMENT, /channel/i);
      await assertGrpcError(client.emit('bad\nchannel', '{}'), status.INVALID_ARGUMENT,
          /control/i);
      await assertGrpcError(client.emit('bad\x00channel', '{}'), status.INVALID_ARGUMENT,
          /control/i);
      await assertGrpcError(client.emit('bad\x7fchannel', '{}'), status.INVALID_ARGUMENT,
          /control/i);
      await assertGrpcError(client.emit('x'.repeat(1025), '{}'), status.INVALID_ARGUMENT,
          /channel/i);
      for (const bad of ['{"a":', '{a:1}', '', '{"a":1} trailing', "{'a':1}", '[1,2,]']) {
        await assertGrpcError(client.emit(channel, bad), status.INVALID_ARGUMENT, /json/i);
      }
      await assertGrpcError(client.emitBatch([]), status.INVALID_ARGUMENT, /empty|batch|event/i);
      // One bad event refuses the whole batch, naming its index; nothing is published.
      const err = await assertGrpcError(
          client.emitBatch([[channel, '{"ok":0}'], [channel, '{"ok":1}'], [channel, '{bad']]),
          status.INVALID_ARGUMENT, /json/i);
      assert.match(err.details, /\b2\b/, `message does not name index 2: "${err.details}"`);
      await assertNothingPublished(client, sub, channel);
    } finally {
      sub.close();
    }
  });

  it('is healthy over grpc.health.v1 and /healthz', async () => {
    assert.equal(await healthCheck(vent.grpcAddress, ''), 'SERVING');
    assert.equal((await vent.healthz()).status, 200);
  });
});

describe('vent-server with --max-payload 1KiB', {timeout: 60000}, () => {
  let vent;
  let client;
  before(async () => {
    vent = await stack.startVentServer({extraArgs: ['--max-payload', '1KiB']});
    client = new VentClient(vent.grpcAddress);
  });
  after(async () => {
    if (client) client.close();
    if (vent) await vent.stop();
  });

  it('accepts 1,024 bytes and refuses 1,025 with INVALID_ARGUMENT', async () => {
    const channel = 'size::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    try {
      const fits = `"${'a'.repeat(1022)}"`;
      assert.equal(Buffer.byteLength(fits), 1024);
      await client.emit(channel, fits);
      assert.equal((await sub.next()).payload.length, 1024);
      const tooBig = `"${'a'.repeat(1023)}"`;
      await assertGrpcError(client.emit(channel, tooBig), status.INVALID_ARGUMENT,
          /size|large|limit|exceed|byte|1024|1 ?KiB/i);
      // Non-ASCII counts in bytes, not characters: 600 x "é" = 1,200 bytes.
      await assertGrpcError(client.emit(channel, `"${'\u00e9'.repeat(600)}"`),
          status.INVALID_ARGUMENT, /size|large|limit|exceed|byte|1024|1 ?KiB/i);
      await assertGrpcError(client.emitBatch([[channel, '{}'], [channel, tooBig]]),
          status.INVALID_ARGUMENT, /\b1\b/);
      await assertNothingPublished(client, sub, channel);
    } finally {
      sub.close();
    }
  });
});

describe('vent-server when Redis dies and comes back', {timeout: 90000}, () => {
  let redis;
  let vent;
  let client;
  before(async () => {
    redis = await stack.startRedis();
    vent = await stack.startVentServer({redis});
    client = new VentClient(vent.grpcAddress, {deadlineMs: 5000});
  });
  after(async () => {
    if (client) client.close();
    if (vent) await vent.stop();
    if (redis) await redis.stop();
  });

  it('answers UNAVAILABLE while Redis is down and recovers without a restart', async () => {
    const channel = 'outage::chan';
    assert.equal((await client.emit(channel, '{"before":1}')).receivers, 0);

    await redis.kill(); // SIGKILL: no goodbye to vent-server
    await assertGrpcError(client.emit(channel, '{"during":1}'), status.UNAVAILABLE);
    await assertGrpcError(client.emitBatch([[channel, '{"during":2}']]), status.UNAVAILABLE);
    await stack.waitFor(async () => (await vent.healthz()).status === 503,
        {timeoutMs: 5000, what: '/healthz 503'});
    await stack.waitFor(async () => (await healthCheck(vent.grpcAddress, '')) === 'NOT_SERVING',
        {timeoutMs: 5000, what: 'grpc health NOT_SERVING'});
    assert.ok(vent.server.isRunning(), 'vent-server died with Redis');

    await redis.restart(); // same port
    await stack.waitFor(async () => {
      try {
        await client.emit(channel, '{"probe":1}');
        return true;
      } catch (e) {
        if (e.code !== status.UNAVAILABLE) throw e;
        return false;
      }
    }, {timeoutMs: 20000, intervalMs: 100, what: 'Emit to work again after Redis restart'});
    const sub = await stack.subscribeRaw(redis.port, [channel]);
    try {
      const res = await client.emit(channel, '{"after": "restart"}');
      assert.equal(res.receivers, 1);
      assert.equal((await sub.next()).payload.toString(), '{"after": "restart"}');
    } finally {
      sub.close();
    }
    await stack.waitFor(async () => (await vent.healthz()).status === 200,
        {timeoutMs: 5000, what: '/healthz 200 again'});
    assert.equal(await healthCheck(vent.grpcAddress, ''), 'SERVING');
  });
});

describe('vent-server with --api-keys', {timeout: 60000}, () => {
  const key = 'test-key-7f3a9c';
  let vent;
  before(async () => {
    vent = await stack.startVentServer({extraArgs: ['--api-keys', key]});
  });
  after(async () => {
    if (vent) await vent.stop();
  });

  it('refuses calls without a key or with a wrong key, accepts the right key', async () => {
    const channel = 'auth::chan';
    const sub = await stack.subscribeRaw(vent.redis.port, [channel]);
    const anon = new VentClient(vent.grpcAddress);
    const wrong = new VentClient(vent.grpcAddress, {apiKey: `${key}x`});
    const right = new VentClient(vent.grpcAddress, {apiKey: key});
    try {
      await assertGrpcError(anon.emit(channel, '{"anon":1}'), status.UNAUTHENTICATED);
      await assertGrpcError(anon.emitBatch([[channel, '{"anon":2}']]), status.UNAUTHENTICATED);
      await assertGrpcError(wrong.emit(channel, '{"wrong":1}'), status.UNAUTHENTICATED);
      const s = wrong.subscribe([channel], () => {});
      await assertGrpcError(s.done, status.UNAUTHENTICATED);
      const stream = wrong.emitStream();
      await assertGrpcError((async () => {
        await stream.write(channel, '{"wrong":2}');
        return stream.end();
      })(), status.UNAUTHENTICATED);

      const res = await right.emit(channel, '{"right": 1}');
      assert.equal(res.receivers, 1);
      // The first message Redis delivers is the authorised one: nothing leaked.
      assert.equal((await sub.next()).payload.toString(), '{"right": 1}');
    } finally {
      anon.close();
      wrong.close();
      right.close();
      sub.close();
    }
  });
});
