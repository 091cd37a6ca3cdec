'use strict';
// Subscription lifecycle under pipelined client scripts (issue 10): every
// message of a test is written in ONE socket write, so the bridge handles
// them back to back, the way an attacker (or Meteor's "blast" on reconnect)
// sends them. Each case was a crash, a leak or a wrong answer before the
// DdpHost rework; silence is always checked against a marker event on
// another subscription published after the one that must not arrive.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {after, before, describe, test} = require('node:test');

const WebSocket = require('ws');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {randomId} = require('./lib/meteor_client.js');
const {FrameReader, rawHttp, textFrame, upgrade} = require('./lib/raw_socket.js');

const SECRET = 'lifecycle-secret-' + randomId(8);
const CONFIG = `publications:
  mine:
    channels: ["users::{userId}::events"]
    auth: user
  open:
    params: { room: { type: string, pattern: "^[a-z0-9]{1,16}$" } }
    channels: ["rooms::{room}"]
    auth: public
`;
const EXPIRED = 'Your session has expired. Please log in again.';
const NEEDS_LOGIN = 'You must be logged in to subscribe to this publication';

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-')
      .replace(/\//g, '_');
}
function jwt(payload) {
  const h = b64url(JSON.stringify({alg: 'HS256', typ: 'JWT'}));
  const p = b64url(JSON.stringify(payload));
  const sig = crypto.createHmac('sha256', SECRET).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64url(sig)}`;
}
const nowS = () => Math.floor(Date.now() / 1000);
const token = (sub, ttlS = 3600) => jwt({sub, exp: nowS() + ttlS});

const CONNECT = {msg: 'connect', version: '1', support: ['1']};
const sub = (id, name, args = []) => ({msg: 'sub', id, name, params: [`r${id}`, ...args]});
const login = (id, tok) => ({msg: 'method', id, method: 'login', params: [{resume: tok}]});

// A raw DDP connection: send(...msgs) writes them all in one write.
async function open(env, path = '/websocket') {
  const {sock, rest} = await upgrade(env.port, path);
  const reader = new FrameReader(sock, rest);
  const conn = {
    sock, reader,
    send: (...msgs) => sock.write(Buffer.concat(msgs.map((m) => textFrame(JSON.stringify(m))))),
    ddp: (pred, opts) => reader.ddp(pred, opts),
    ready: (id, opts) => reader.ddp((m) => m.msg === 'ready' && m.subs.includes(id),
        {what: `ready ${id}`, ...opts}),
    nosub: (id, opts) => reader.ddp((m) => m.msg === 'nosub' && m.id === id,
        {what: `nosub ${id}`, ...opts}),
    result: (id, opts) => reader.ddp((m) => m.msg === 'result' && m.id === id,
        {what: `result ${id}`, ...opts}),
    vents: (rand) => reader.frames.filter((f) => f.opcode === 1 &&
        f.text.startsWith(`{"msg":"changed","__vent":"1","id":"${rand}.`)),
    close: () => sock.destroy(),
  };
  return conn;
}

// Publishes `payload` on `channel`, then a marker on `markerChannel` that
// `conn` (subscribed there with rand `markerRand`) must receive: once the
// marker is in, anything the first publish was going to deliver is in too.
async function publishThenMarker(env, conn, channel, payload, markerChannel, markerRand) {
  await env.publish(channel, payload);
  const marker = `{"marker":"${randomId(6)}"}`;
  await env.publish(markerChannel, marker);
  await conn.reader.take((f) => f.opcode === 1 &&
      f.text === `{"msg":"changed","__vent":"1","id":"${markerRand}.open","e":${marker}}`,
  {what: 'marker event'});
}

describe('subscription lifecycle (pipelined scripts)', () => {
  let env;
  before(async () => {
    env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
      '--jwt-hs256-secret', SECRET, '--max-subscriptions', '64']});
  });
  after(async () => { if (env) await env.stop(); });

  test('sub refused while logged out, then login in the same write: no live ' +
       'ghost, re-sub works, the bridge survives an event (was a use-after-free)', async () => {
    const c = await open(env);
    c.send(CONNECT, sub('X', 'mine'), login('1', token('u1')));
    const nosub = await c.nosub('X');
    assert.equal(nosub.error.error, 403);
    assert.equal(nosub.error.reason, NEEDS_LOGIN);
    const res = await c.result('1');
    assert.equal(res.result.id, 'u1');
    // X is not active: the login re-ran nothing. A new sub X is a new life.
    c.send(sub('X', 'mine'), sub('M', 'open', [{room: 'mk1'}]));
    await c.ready('X');
    await c.ready('M');
    await publishThenMarker(env, c, 'users::u1::events', '{"n":1}', 'rooms::mk1', 'rM');
    assert.equal(c.vents('rX').length, 1, 'exactly one event for X');
    assert.equal((await env.http('/livez')).status, 200);
    c.close();
  });

  test('bad sub / unsub / good sub triples respect --max-subscriptions and ' +
       'leak nothing', async () => {
    const c = await open(env);
    const n = 200;
    const msgs = [CONNECT];
    for (let i = 0; i < n; i++) {
      const id = `t${i}`;
      msgs.push(sub(id, 'open', [{room: 'BAD ROOM'}]), {msg: 'unsub', id},
          sub(id, 'open', [{room: `r${i}`}]));
    }
    c.send(...msgs, {msg: 'ping', id: 'end'});
    // Once 64 are active, both subs of every later triple get 429 (the bad
    // one is refused for the limit before its params are looked at).
    let ready = 0;
    while (ready < 64) ready += (await c.ddp((x) => x.msg === 'ready', {what: 'ready'})).subs.length;
    await c.ddp((x) => x.msg === 'pong' && x.id === 'end');
    const rest = c.reader.pendingDdp();
    assert.equal(rest.filter((x) => x.msg === 'ready').length, 0, 'no ready past the limit');
    const tooMany = rest.filter((x) => x.msg === 'nosub' && x.error && x.error.error === 429);
    assert.equal(tooMany.length, 2 * (n - 64));
    assert.equal(await env.metric('vent_bridge_redis_channels'), 64);
    assert.equal(await env.metric('vent_bridge_subscriptions'), 64);
    c.close();
    await stack.waitFor(async () => (await env.metric('vent_bridge_redis_channels')) === 0 &&
        (await env.metric('vent_bridge_subscriptions')) === 0, {what: 'gauges back to 0'});
  });

  test('no event after unsub, after nosub and after logout', async () => {
    const c = await open(env);
    c.send(CONNECT, login('1', token('u2')), sub('A', 'open', [{room: 'a1'}]),
        sub('U', 'mine'), sub('M', 'open', [{room: 'mk2'}]));
    await c.ready('A');
    await c.ready('U');
    await c.ready('M');
    c.send({msg: 'unsub', id: 'A'}, {msg: 'method', id: '2', method: 'logout', params: []});
    await c.nosub('A');
    const u = await c.nosub('U');  // re-run after logout: 403
    assert.equal(u.error.error, 403);
    await c.result('2');
    await publishThenMarker(env, c, 'rooms::a1', '{"n":1}', 'rooms::mk2', 'rM');
    await publishThenMarker(env, c, 'users::u2::events', '{"n":2}', 'rooms::mk2', 'rM');
    assert.equal(c.vents('rA').length, 0);
    assert.equal(c.vents('rU').length, 0);
    c.close();
  });

  test('login re-run keeps an unchanged sub live and ready again', async () => {
    const c = await open(env);
    c.send(CONNECT, sub('P', 'open', [{room: 'p1'}]));
    await c.ready('P');
    c.send(login('1', token('u3')));
    await c.result('1');
    await c.ready('P');  // Meteor re-sends ready after login
    await env.publish('rooms::p1', '{"after":"login"}');
    await c.reader.take((f) => f.text.includes('"after":"login"'), {what: 'event after login'});
    c.close();
  });
});

describe('login expiry', () => {
  let env;
  before(async () => {
    env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
      '--jwt-hs256-secret', SECRET, '--jwt-leeway', '0s']});
  });
  after(async () => { if (env) await env.stop(); });

  test('a DDP login ends at exp: auth:user subs get nosub 403 expired, ' +
       'no more private events', async () => {
    const c = await open(env);
    c.send(CONNECT, login('1', token('u5', 2)), sub('U', 'mine'),
        sub('M', 'open', [{room: 'mk5'}]));
    await c.result('1');
    await c.ready('U');
    await c.ready('M');
    const nosub = await c.nosub('U', {timeoutMs: 8000});
    assert.equal(nosub.error.error, 403);
    assert.equal(nosub.error.reason, EXPIRED);
    await publishThenMarker(env, c, 'users::u5::events', '{"n":1}', 'rooms::mk5', 'rM');
    assert.equal(c.vents('rU').length, 0);
    c.send(sub('V', 'mine'));
    assert.equal((await c.nosub('V')).error.error, 403);
    assert.ok(await env.metric('vent_bridge_logins_total{result="expired"}') >= 1);
    c.close();
  });

  test('a token given at connect ends at exp too', async () => {
    const c = await open(env, `/websocket?token=${token('u6', 2)}`);
    c.send(CONNECT, sub('U', 'mine'));
    await c.ready('U');
    const nosub = await c.nosub('U', {timeoutMs: 8000});
    assert.equal(nosub.error.reason, EXPIRED);
    c.close();
  });
});

describe('closing', () => {
  let env;
  before(async () => { env = await startBridgeEnv({config: CONFIG}); });
  after(async () => { if (env) await env.stop(); });

  test('the close code survives unread input (600 KB message -> 1009, 20 times, ' +
       'no reset)', async () => {
    const codes = await Promise.all(Array.from({length: 20}, async () => {
      const ws = new WebSocket(env.wsUrl());
      ws.on('error', () => {});
      await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
      const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
      ws.send('{"msg":"connect","version":"1","support":["1"],"pad":"' +
          'x'.repeat(600 * 1024) + '"}');
      return closed;
    }));
    assert.deepEqual(codes, Array(20).fill(1009));
  });
});

describe('HTTP and logs', () => {
  let env;
  before(async () => {
    env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
      '--jwt-hs256-secret', SECRET, '--log-level', 'info']});
  });
  after(async () => { if (env) await env.stop(); });

  for (const te of ['identity', 'xchunked', 'chunked, gzip', 'gzip']) {
    test(`Transfer-Encoding: ${te} is refused with 400 (no smuggled request)`, async () => {
      const smuggled = 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n';
      const text = await rawHttp(env.port,
          `POST /livez HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ${te}\r\n\r\n${smuggled}`);
      assert.match(text, /^HTTP\/1\.1 400/);
      assert.doesNotMatch(text, /vent_bridge_/, 'the body was not served as a request');
    });
  }

  test('chunked bodies still work', async () => {
    const text = await rawHttp(env.port, 'POST /livez HTTP/1.1\r\nHost: x\r\n' +
        'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 (200|405)/);
  });

  test('/livez and /readyz', async () => {
    assert.equal((await env.http('/livez')).status, 200);
    assert.equal((await env.http('/readyz')).status, 200);
    assert.equal((await env.http('/healthz')).status, 200);
  });

  test('3,000 refused logins in one write log at most a few lines', async () => {
    const c = await open(env);
    const before = env.bridge.stderr().split('login refused').length;
    const msgs = [CONNECT];
    for (let i = 0; i < 3000; i++) msgs.push(login(`b${i}`, 'not.a.token'));
    c.send(...msgs);
    await c.result('b2999', {timeoutMs: 10000});
    const lines = env.bridge.stderr().split('login refused').length - before;
    assert.ok(lines <= 2, `${lines} log lines`);
    c.close();
  });
});

describe('--metrics-listen', () => {
  let env;
  let adminPort;
  before(async () => {
    adminPort = await stack.freePort();
    env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
      '--metrics-listen', `127.0.0.1:${adminPort}`]});
  });
  after(async () => { if (env) await env.stop(); });

  test('metrics move to the admin port; health is on both', async () => {
    const admin = (p) => stack.httpGet(`http://127.0.0.1:${adminPort}${p}`);
    assert.equal((await env.http('/metrics')).status, 404);
    const m = await admin('/metrics');
    assert.equal(m.status, 200);
    assert.match(m.body, /vent_bridge_connections /);
    for (const p of ['/livez', '/readyz']) {
      assert.equal((await env.http(p)).status, 200);
      assert.equal((await admin(p)).status, 200);
    }
    assert.equal((await admin('/websocket')).status, 404);
    assert.equal((await admin('/')).status, 404);
  });
});
