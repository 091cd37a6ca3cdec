'use strict';
// History and recovery at the DDP level (issue 12; docs/history.md), with a
// real Redis, vent-server (gRPC Emit, reading the same config) and
// vent-bridge(s):
//  * history frames carry ,"h":[channel, offset, epoch] after `e`; `ready`
//    carries every channel's position;
//  * a sub with `since` gets exactly the missed events, in order, then the
//    live ones, then ready {recovered:true} — no gap, no duplicate;
//  * window exceeded, keys lost (new epoch), ttl passed -> recovered:false,
//    then live events;
//  * recovery works against another bridge;
//  * a stock Vent client (28-byte prefix match) still works;
//  * bad positions get nosub 400; a position on a publication without
//    history is answered recovered:false.

const assert = require('node:assert/strict');
const path = require('node:path');
const {after, before, describe, test} = require('node:test');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {FrameReader, textFrame, upgrade} = require('./lib/raw_socket.js');

const {VentClient} = require(path.join(__dirname, '..', '..', 'clients', 'node', 'vent-client.js'));

const CONFIG = `publications:
  room:
    params: { r: { type: string } }
    channels: ["rooms::{r}"]
    auth: public
    history: { size: 20, ttl: 10m }
  busy:
    channels: ["busy"]
    auth: public
    history: { size: 10000, ttl: 10m }
  duo:
    channels: ["duo::a", "duo::b"]
    auth: public
    history: { size: 50, ttl: 10m }
  brief:
    channels: ["brief"]
    auth: public
    history: { size: 5, ttl: 2s }
  live:
    channels: ["live"]
    auth: public
`;

const CONNECT = {msg: 'connect', version: '1', support: ['1']};

async function open(env) {
  const {sock, rest} = await upgrade(env.port, '/websocket');
  const reader = new FrameReader(sock, rest);
  const c = {
    sock, reader,
    send: (...msgs) => sock.write(Buffer.concat(msgs.map((m) => textFrame(JSON.stringify(m))))),
    ready: (id, opts) => reader.ddp((m) => m.msg === 'ready' && m.subs.includes(id),
        {what: `ready ${id}`, ...opts}),
    nosub: (id) => reader.ddp((m) => m.msg === 'nosub' && m.id === id, {what: `nosub ${id}`}),
    // Parsed Vent frames of `rand` received so far (and taken).
    events: (rand) => {
      const out = [];
      for (let i = 0; i < reader.frames.length;) {
        const f = reader.frames[i];
        if (f.opcode === 1 && f.text.startsWith(`{"msg":"changed","__vent":"1","id":"${rand}.`)) {
          out.push({raw: f.text, ...JSON.parse(f.text)});
          reader.frames.splice(i, 1);
        } else {
          i++;
        }
      }
      return out;
    },
    // Waits until a frame containing `text` has arrived; takes nothing.
    seen: (text, what = text) => stack.waitFor(
        () => reader.frames.some((f) => f.text.includes(text)), {what, timeoutMs: 10000}),
    close: () => sock.destroy(),
  };
  c.send(CONNECT);
  await reader.ddp((m) => m.msg === 'connected');
  return c;
}

describe('history and recovery', () => {
  let env;
  let vent;
  before(async () => {
    env = await startBridgeEnv({config: CONFIG, withServer: true, serverWithConfig: true});
    vent = new VentClient(env.server.grpcAddress);
  });
  after(async () => {
    if (vent) vent.close();
    if (env) await env.stop();
  });

  test('frames carry positions; a resubscribe recovers exactly what was missed', async () => {
    const c = await open(env);
    c.send({msg: 'sub', id: 's1', name: 'room', params: ['ra', {r: 'one'}]});
    const ready = await c.ready('s1');
    // No event yet: offset 0 in the epoch the read gave the channel.
    assert.equal(ready.h.length, 1);
    assert.deepEqual(ready.h[0].slice(0, 2), [0, 0], 'no event yet');
    assert.match(ready.h[0][2], /^[0-9a-f]{15}[0-9A-Za-z]{6}$/, 'an epoch from the start');
    assert.equal(ready.recovered, undefined, 'a fresh sub is not a recovery');
    for (let i = 1; i <= 3; i++) await vent.emit('rooms::one', {i});
    await c.seen('"i":3');
    const first = c.events('ra');
    assert.equal(first.length, 3);
    const epoch = first[0].h[2];
    assert.match(epoch, /^[0-9a-f]{15}[0-9A-Za-z]{6}$/, 'Redis TIME + a random suffix');
    assert.deepEqual(first.map((m) => m.h), [[0, 1, epoch], [0, 2, epoch], [0, 3, epoch]]);
    assert.equal(first[0].raw, `{"msg":"changed","__vent":"1","id":"ra.room","e":{"i":1},` +
        `"h":[0,1,"${epoch}"]}`);
    c.close();
    // Missed while away.
    for (let i = 4; i <= 9; i++) await vent.emit('rooms::one', {i});
    const d = await open(env);
    d.send({msg: 'sub', id: 's1', name: 'room', params: ['ra', {r: 'one'}], since: [[0, 3, epoch]]});
    const again = await d.ready('s1');
    assert.equal(again.recovered, true);
    assert.deepEqual(again.h, [[0, 9, epoch]]);
    const missed = d.events('ra');
    assert.deepEqual(missed.map((m) => m.e.i), [4, 5, 6, 7, 8, 9], 'every missed event, in order');
    await vent.emit('rooms::one', {i: 10});
    await d.seen('"i":10');
    assert.ok(await env.metric('vent_bridge_recoveries_total{result="recovered"}') >= 1);
    d.close();
  });

  test('events emitted during the recovery are neither lost nor doubled', async () => {
    const c = await open(env);
    c.send({msg: 'sub', id: 'x', name: 'busy', params: ['rb']});
    await c.ready('x');
    await vent.emit('busy', {i: 0});
    await c.seen('"i":0');
    const epoch = c.events('rb')[0].h[2];
    c.close();
    const d = await open(env);
    let stop = false;
    let n = 0;
    const emitting = (async () => {
      while (!stop) await vent.emit('busy', {i: ++n});
    })();
    await stack.waitFor(() => n >= 5, {what: 'some emits while away'});
    d.send({msg: 'sub', id: 'x', name: 'busy', params: ['rb'], since: [[0, 1, epoch]]});
    const r = await d.ready('x', {timeoutMs: 10000});
    assert.equal(r.recovered, true);
    await stack.waitFor(() => n >= r.h[0][1] + 10, {what: 'emits after ready'});
    stop = true;
    await emitting;
    await d.seen(`"i":${n}}`, `last event ${n}`);
    const got = d.events('rb').map((m) => m.e.i);
    assert.deepEqual(got, Array.from({length: n}, (_, i) => i + 1), 'exactly once, in order');
    d.close();
  });

  test('a window exceeded, or a lost history, is not recovered; live events follow', async () => {
    const c = await open(env);
    c.send({msg: 'sub', id: 'w', name: 'room', params: ['rw', {r: 'win'}]});
    await c.ready('w');
    await vent.emit('rooms::win', {i: 1});
    await c.seen('"i":1');
    const epoch = c.events('rw')[0].h[2];
    c.close();
    for (let i = 2; i <= 30; i++) await vent.emit('rooms::win', {i});  // size 20
    const d = await open(env);
    d.send({msg: 'sub', id: 'w', name: 'room', params: ['rw', {r: 'win'}], since: [[0, 1, epoch]]});
    const r = await d.ready('w');
    assert.equal(r.recovered, false);
    assert.deepEqual(r.h, [[0, 30, epoch]]);
    assert.equal(d.events('rw').length, 0, 'no partial history');
    await vent.emit('rooms::win', {i: 31});
    await d.seen('"i":31');
    // Keys lost (eviction, restart without persistence): a new epoch.
    await stack.redisCommand(env.redis.port, ['DEL', 'vent:{rooms::win}:m:rooms::win']);
    await vent.emit('rooms::win', {i: 32});
    await d.seen('"i":32');
    const ev = d.events('rw').pop();
    const newEpoch = ev.h[2];
    assert.notEqual(newEpoch, epoch);
    assert.deepEqual(ev.h, [0, 1, newEpoch]);
    d.close();
    const e = await open(env);
    e.send({msg: 'sub', id: 'w', name: 'room', params: ['rw', {r: 'win'}], since: [[0, 31, epoch]]});
    assert.equal((await e.ready('w')).recovered, false, 'old epoch');
    e.close();
    assert.ok(await env.metric('vent_bridge_recoveries_total{result="not_recovered"}') >= 2);
  });

  test('ttl passed: the history is gone, not recovered', async () => {
    const c = await open(env);
    c.send({msg: 'sub', id: 'b', name: 'brief', params: ['rr']});
    await c.ready('b');
    await vent.emit('brief', {i: 1});
    await c.seen('"i":1');
    const epoch = c.events('rr')[0].h[2];
    c.close();
    await stack.waitFor(async () =>
      (await stack.redisCommand(env.redis.port, ['EXISTS', 'vent:{brief}:m:brief'])) === 0,
    {timeoutMs: 5000, what: 'history expired (ttl 2s)'});
    const d = await open(env);
    d.send({msg: 'sub', id: 'b', name: 'brief', params: ['rr'], since: [[0, 1, epoch]]});
    const r = await d.ready('b');
    assert.equal(r.recovered, false);
    assert.deepEqual(r.h[0].slice(0, 2), [0, 0]);
    assert.notEqual(r.h[0][2], epoch, 'a new epoch');
    d.close();
  });

  test('multi-channel publications keep one position per channel', async () => {
    const c = await open(env);
    c.send({msg: 'sub', id: 'd', name: 'duo', params: ['rd']});
    await c.ready('d');
    await vent.emit('duo::a', {a: 1});
    await vent.emit('duo::b', {b: 1});
    await vent.emit('duo::a', {a: 2});
    await c.seen('"a":2');
    const ev = c.events('rd');
    assert.deepEqual(ev.map((m) => [m.h[0], m.h[1]]), [[0, 1], [1, 1], [0, 2]]);
    const [ea, eb] = [ev[0].h[2], ev[1].h[2]];
    c.close();
    await vent.emit('duo::b', {b: 2});
    const d = await open(env);
    d.send({msg: 'sub', id: 'd', name: 'duo', params: ['rd'], since: [[0, 2, ea], [1, 1, eb]]});
    const r = await d.ready('d');
    assert.equal(r.recovered, true);
    assert.deepEqual(r.h, [[0, 2, ea], [1, 2, eb]]);
    assert.deepEqual(d.events('rd').map((m) => m.e), [{b: 2}]);
    d.close();
  });

  test('a stock Vent client (prefix match, then JSON.parse) works on history', async () => {
    const m = new MeteorClient(env.wsUrl());
    await m.connect();
    const sub = m.subscribe('room', [{r: 'stock'}]);
    await sub.ready();
    await vent.emit('rooms::stock', {hello: 'meteor'});
    const [e] = await sub.waitEvents(1);
    assert.deepEqual(e, {hello: 'meteor'});
    m.close();
  });

  test('bad positions get nosub 400; nothing else on the connection is hurt', async () => {
    const c = await open(env);
    const bad = [
      'nope', [[0, 1]], [[0, -1, 'e']], [[5, 1, 'e']], [[0, 1, 7]], [[0, 1.5, 'e']],
      [[0, 1, 'e'], [0, 2, 'e']], [[0, 1, 'x'.repeat(65)]], [[0, 1, 'e'], [1, 1, 'e']],
    ];
    bad.forEach((since, i) => c.send({msg: 'sub', id: `b${i}`, name: 'room',
      params: [`r${i}`, {r: 'bad'}], since}));
    for (let i = 0; i < bad.length; i++) {
      const n = await c.nosub(`b${i}`);
      assert.equal(n.error.error, 400, JSON.stringify(bad[i]));
      assert.equal(n.error.reason, 'Malformed position');
    }
    // A position from the future: not recovered (not an error).
    c.send({msg: 'sub', id: 'f', name: 'room', params: ['rf', {r: 'bad'}], since: [[0, 99, 'zz']]});
    assert.equal((await c.ready('f')).recovered, false);
    // A position on a publication without history: recovered:false, live.
    c.send({msg: 'sub', id: 'l', name: 'live', params: ['rl'], since: [[0, 1, 'e']]});
    const r = await c.ready('l');
    assert.equal(r.recovered, false);
    assert.equal(r.h, undefined);
    await env.publish('live', '{"still":"ok"}');
    await c.seen('"still":"ok"');
    c.close();
  });
});

test('recovery works against another bridge', async () => {
  const a = await startBridgeEnv({config: CONFIG, withServer: true, serverWithConfig: true});
  const b = await startBridgeEnv({config: CONFIG, redis: a.redis});
  const vent = new VentClient(a.server.grpcAddress);
  try {
    const c = await open(a);
    c.send({msg: 'sub', id: 'm', name: 'room', params: ['rm', {r: 'move'}]});
    await c.ready('m');
    await vent.emit('rooms::move', {i: 1});
    await c.seen('"i":1');
    const epoch = c.events('rm')[0].h[2];
    c.close();
    await vent.emit('rooms::move', {i: 2});
    await vent.emit('rooms::move', {i: 3});
    const d = await open(b);
    d.send({msg: 'sub', id: 'm', name: 'room', params: ['rm', {r: 'move'}], since: [[0, 1, epoch]]});
    const r = await d.ready('m');
    assert.equal(r.recovered, true);
    assert.deepEqual(d.events('rm').map((m) => m.e.i), [2, 3]);
    d.close();
  } finally {
    vent.close();
    await b.stop();
    await a.stop();
  }
});

test('history frames through permessage-deflate (--compression) keep their positions', async () => {
  const env = await startBridgeEnv({config: CONFIG, withServer: true, serverWithConfig: true,
                                    bridgeArgs: ['--compression']});
  const vent = new VentClient(env.server.grpcAddress);
  const WebSocket = require('ws');
  const connectWs = async () => {
    const ws = new WebSocket(env.wsUrl(), {perMessageDeflate: true});
    const msgs = [];
    ws.on('message', (d) => msgs.push(JSON.parse(d.toString())));
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const take = (pred, what) => stack.waitFor(() => {
      const i = msgs.findIndex(pred);
      return i >= 0 ? msgs.splice(i, 1)[0] : undefined;
    }, {what, timeoutMs: 10000});
    ws.send(JSON.stringify(CONNECT));
    await take((m) => m.msg === 'connected', 'connected');
    return {ws, take};
  };
  try {
    const text = 'compressible words '.repeat(40);
    const a = await connectWs();
    assert.match(a.ws.extensions, /permessage-deflate/);
    a.ws.send(JSON.stringify({msg: 'sub', id: 'z', name: 'room', params: ['rz', {r: 'zip'}]}));
    await a.take((m) => m.msg === 'ready', 'ready z');
    await vent.emit('rooms::zip', {i: 1, text});
    const first = await a.take((m) => m.__vent === '1', 'event 1');
    assert.deepEqual(first.e, {i: 1, text});
    assert.equal(first.h[0], 0);
    assert.equal(first.h[1], 1);
    a.ws.terminate();
    await vent.emit('rooms::zip', {i: 2, text});
    await vent.emit('rooms::zip', {i: 3, text});
    const b = await connectWs();
    b.ws.send(JSON.stringify({msg: 'sub', id: 'z', name: 'room', params: ['rz', {r: 'zip'}],
                              since: [first.h]}));
    const two = await b.take((m) => m.__vent === '1', 'replayed 2');
    const three = await b.take((m) => m.__vent === '1', 'replayed 3');
    assert.deepEqual([two.e.i, two.h[1], three.e.i, three.h[1]], [2, 2, 3, 3]);
    assert.equal(three.h[2], first.h[2]);
    assert.equal((await b.take((m) => m.msg === 'ready', 'ready')).recovered, true);
    b.ws.terminate();
  } finally {
    vent.close();
    await env.stop();
  }
});
