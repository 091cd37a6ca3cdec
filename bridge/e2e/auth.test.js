'use strict';
// Who may listen (issue 5): DDP login with JWTs verified by the bridge,
// `auth: user` publications and {userId} templates, `auth: authorizer`
// publications decided by the backend's vent.v1.Authorizer service (an
// in-test grpc-js server, and the Node and Python examples), tokens given at
// connect time, and per-IP connection limits. A refused subscription never
// receives an event: silence is checked against a marker on another sub.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const {after, before, describe, test} = require('node:test');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const WebSocket = require('ws');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId} = require('./lib/meteor_client.js');
const {rawHttp} = require('./lib/raw_socket.js');

const ROOT = path.resolve(__dirname, '../..');
const SECRET = 'test-secret-' + randomId(8);

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}
function jwt(payload, {alg = 'HS256', secret = SECRET, header = {}} = {}) {
  const h = b64url(JSON.stringify({alg, typ: 'JWT', ...header}));
  const p = b64url(JSON.stringify(payload));
  if (alg === 'none') return `${h}.${p}.`;
  const sig = crypto.createHmac('sha256', secret).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64url(sig)}`;
}
const now = () => Math.floor(Date.now() / 1000);
const token = (sub, extra = {}) => jwt({sub, exp: now() + 3600, ...extra});

function meteorError(code, reason) {
  return {isClientSafe: true, error: code, reason, message: `${reason} [${code}]`,
    errorType: 'Meteor.Error'};
}
const LOGGED_OUT = "You've been logged out by the server. Please log in again.";

// A controllable Authorizer: behaviour per test, counts calls.
function startAuthorizer() {
  const def = protoLoader.loadSync(path.join(ROOT, 'proto/vent/v1/authorizer.proto'),
      {keepCase: true, longs: String, defaults: true});
  const pkg = grpc.loadPackageDefinition(def).vent.v1;
  const state = {calls: [], mode: 'policy', delayMs: 0};
  const server = new grpc.Server();
  server.addService(pkg.Authorizer.service, {
    Authorize(call, cb) {
      state.calls.push(call.request);
      const answer = () => {
        if (state.mode === 'error') return cb({code: grpc.status.INTERNAL, details: 'boom'});
        const params = JSON.parse(call.request.params_json || '{}');
        const allow = call.request.user_id !== '' && String(params.threadId || '').startsWith(call.request.user_id);
        cb(null, {allow, reason: allow ? '' : `user ${call.request.user_id || '(none)'} may not read ${params.threadId}`,
          cache_seconds: state.cacheSeconds || 0});
      };
      if (state.delayMs) setTimeout(answer, state.delayMs); else answer();
    },
  });
  return new Promise((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
      if (err) return reject(err);
      resolve({state, port, address: `127.0.0.1:${port}`,
        stop: () => new Promise((r) => server.tryShutdown(r)), kill: () => server.forceShutdown()});
    });
  });
}

const CONFIG = `publications:
  mine:
    channels: ["users::{userId}::events"]
    auth: user
  open:
    params: { room: { type: string } }
    channels: ["rooms::{room}"]
    auth: public
  threadMessage:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: authorizer
`;

let env;
let authz;
const clients = [];
async function connected(url) {
  const c = new MeteorClient(url || env.wsUrl('/websocket'));
  clients.push(c);
  await c.connect();
  return c;
}
let seq = 0;
const uniq = (p) => `${p}${process.pid}x${++seq}`;

// Asserts `sub` got nothing: publishes `channel` then a marker on a public
// room the same client listens to; the marker arriving bounds the silence.
async function assertSilent(c, sub, channel) {
  const room = uniq('marker');
  const marker = c.subscribe('open', [{room}]);
  await marker.ready();
  await env.publish(channel, '{"leak":1}');
  await env.publish(`rooms::${room}`, '{"marker":1}');
  assert.deepEqual(await marker.waitEvents(1), [{marker: 1}]);
  assert.equal(sub.events.length, 0, 'refused subscription received an event');
}

before(async () => {
  authz = await startAuthorizer();
  env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
    '--jwt-hs256-secret', SECRET, '--authorizer', authz.address, '--authorizer-timeout', '500ms']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
  if (authz) authz.kill();
});

describe('login with a JWT', () => {
  test('valid token: Meteor result shape, {userId} channel delivers, other users stay silent', async () => {
    const user = uniq('u');
    const c = await connected();
    const t = token(user);
    const {result} = await c.call('login', [{resume: t}]);
    assert.equal(result.msg.result.id, user);
    assert.equal(result.msg.result.token, t);
    assert.equal(result.msg.result.type, 'resume');
    assert.equal(typeof result.msg.result.tokenExpires.$date, 'number');
    const sub = c.subscribe('mine');
    await sub.ready();
    await env.publish(`users::${user}::events`, '{"hello":1}');
    assert.deepEqual(await sub.waitEvents(1), [{hello: 1}]);
    // Another user's channel never reaches this subscription.
    await assertSilent(c, {events: sub.events.slice(1)}, `users::${user}x::events`);
  });

  const refusals = [
    ['expired', () => jwt({sub: 'u', exp: now() - 3600}), "Your session has expired. Please log in again."],
    ['not yet valid', () => jwt({sub: 'u', exp: now() + 3600, nbf: now() + 3600}), LOGGED_OUT],
    ['wrong signature', () => jwt({sub: 'u', exp: now() + 3600}, {secret: 'other'}), LOGGED_OUT],
    ['alg none', () => jwt({sub: 'u', exp: now() + 3600}, {alg: 'none'}), LOGGED_OUT],
    ['alg RS256 with an HMAC signature', () => jwt({sub: 'u', exp: now() + 3600}, {header: {alg: 'RS256'}}), LOGGED_OUT],
    ['malformed', () => 'not-a-jwt', LOGGED_OUT],
    ['missing exp', () => jwt({sub: 'u'}), LOGGED_OUT],
    ['oversized', () => jwt({sub: 'u', exp: now() + 3600, pad: 'x'.repeat(20000)}), LOGGED_OUT],
  ];
  for (const [name, make, reason] of refusals) {
    test(`refused: ${name} -> 403`, async () => {
      const c = await connected();
      const {result} = await c.call('login', [{resume: make()}]);
      assert.deepEqual(result.msg.error, meteorError(403, reason));
      const sub = c.subscribe('mine');
      assert.equal((await sub.nosub()).msg.error.error, 403);
    });
  }

  test('unrecognized login options -> 400', async () => {
    const c = await connected();
    const {result} = await c.call('login', [{password: 'x'}]);
    assert.deepEqual(result.msg.error, meteorError(400, 'Unrecognized options for login request'));
  });

  test('not logged in: auth user -> nosub 403, and the refused sub never receives', async () => {
    const c = await connected();
    const sub = c.subscribe('mine');
    const nosub = await sub.nosub();
    assert.equal(nosub.msg.error.error, 403);
    await assertSilent(c, sub, 'users::::events');
  });

  test('login pipelined before subs (Meteor order) authenticates them', async () => {
    const user = uniq('p');
    const c = new MeteorClient(env.wsUrl('/websocket'));
    clients.push(c);
    const sub = c.subscribe('mine', [], {send: false});
    await c.open({pipeline: [
      {msg: 'method', id: '1', method: 'login', params: [{resume: token(user)}]},
      {msg: 'sub', id: sub.id, name: 'mine', params: [sub.rand]},
    ]});
    await sub.ready();
    await env.publish(`users::${user}::events`, '{"p":1}');
    assert.deepEqual(await sub.waitEvents(1), [{p: 1}]);
  });

  test('login re-runs existing subscriptions (ready again); logout refuses user subs', async () => {
    const user = uniq('r');
    const c = await connected();
    const open = c.subscribe('open', [{room: uniq('room')}]);
    await open.ready();
    await c.call('login', [{resume: token(user)}]);
    await c.take((m) => m.msg === 'ready' && m.subs.includes(open.id), {what: 'second ready'});
    const mine = c.subscribe('mine');
    await mine.ready();
    const {result} = await c.call('logout', []);
    assert.equal(result.msg.error, undefined);
    assert.equal((await mine.nosub()).msg.error.error, 403);
  });

  test('token at connect time (?token=) authenticates the first subscriptions', async () => {
    const user = uniq('c');
    const c = await connected(env.wsUrl(`/websocket?token=${token(user)}`));
    const sub = c.subscribe('mine');
    await sub.ready();
    await env.publish(`users::${user}::events`, '{"c":1}');
    assert.deepEqual(await sub.waitEvents(1), [{c: 1}]);
  });

  test('a bad token at connect time refuses the upgrade (401)', async () => {
    const bad = jwt({sub: 'u', exp: now() - 3600});
    const text = await rawHttp(env.port, `GET /websocket?token=${bad} HTTP/1.1\r\nHost: x\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n' +
        `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.match(text, /token expired/);
  });
});

describe('auth: authorizer', () => {
  test('allow: ready and events; the backend saw user, publication, params, channels', async () => {
    authz.state.mode = 'policy';
    const user = uniq('a');
    const c = await connected();
    await c.call('login', [{resume: token(user)}]);
    const threadId = `${user}-chat`;
    const sub = c.subscribe('threadMessage', [{threadId}]);
    await sub.ready();
    const call = authz.state.calls.at(-1);
    assert.equal(call.user_id, user);
    assert.equal(call.publication, 'threadMessage');
    assert.deepEqual(JSON.parse(call.params_json), {threadId});
    assert.deepEqual(call.channels, [`threads::${threadId}::new_message`]);
    assert.ok(call.connection.remote.startsWith('127.0.0.1:'));
    await env.publish(`threads::${threadId}::new_message`, '{"ok":1}');
    assert.deepEqual(await sub.waitEvents(1), [{ok: 1}]);
  });

  test('deny: nosub 403 with the backend reason, and silence', async () => {
    authz.state.mode = 'policy';
    const c = await connected();
    await c.call('login', [{resume: token(uniq('d'))}]);
    const sub = c.subscribe('threadMessage', [{threadId: 'someone-else'}]);
    const nosub = await sub.nosub();
    assert.equal(nosub.msg.error.error, 403);
    assert.match(nosub.msg.error.reason, /may not read someone-else/);
    await assertSilent(c, sub, 'threads::someone-else::new_message');
  });

  test('timeout and backend errors deny with 503, never allow', async () => {
    const c = await connected();
    const user = uniq('t');
    await c.call('login', [{resume: token(user)}]);
    authz.state.delayMs = 2000;
    try {
      const sub = c.subscribe('threadMessage', [{threadId: `${user}-slow`}]);
      assert.deepEqual((await sub.nosub({timeoutMs: 4000})).msg.error, meteorError(503, 'Authorizer unavailable'));
    } finally {
      authz.state.delayMs = 0;
    }
    authz.state.mode = 'error';
    try {
      const sub = c.subscribe('threadMessage', [{threadId: `${user}-err`}]);
      assert.equal((await sub.nosub()).msg.error.error, 503);
    } finally {
      authz.state.mode = 'policy';
    }
  });

  test('cache: an answer with cache_seconds is reused', async () => {
    authz.state.cacheSeconds = 60;
    try {
      const user = uniq('k');
      const c = await connected();
      await c.call('login', [{resume: token(user)}]);
      const before = authz.state.calls.length;
      const a = c.subscribe('threadMessage', [{threadId: `${user}-k`}]);
      await a.ready();
      const b = c.subscribe('threadMessage', [{threadId: `${user}-k`}]);
      await b.ready();
      assert.equal(authz.state.calls.length - before, 1, 'second sub should be answered from the cache');
    } finally {
      authz.state.cacheSeconds = 0;
    }
  });
});

describe('example authorizers end to end', () => {
  for (const [lang, cmd] of [
    ['node', (port) => ['node', [path.join(ROOT, 'examples/authorizer/node/authorizer.js'), '--listen', `127.0.0.1:${port}`]]],
    ['python', (port) => ['/usr/bin/python3', [path.join(ROOT, 'examples/authorizer/python/authorizer.py'), '--listen', `127.0.0.1:${port}`]]],
  ]) {
    test(`${lang} example: allow and deny with reason over DDP`, async () => {
      const port = await stack.freePort();
      const [bin, args] = cmd(port);
      const proc = await stack.startProcess(bin, args, {readyPort: port});
      const own = await startBridgeEnv({config: CONFIG, redis: env.redis, bridgeArgs: [
        '--jwt-hs256-secret', SECRET, '--authorizer', `127.0.0.1:${port}`]});
      try {
        const user = uniq('e');
        const c = new MeteorClient(own.wsUrl('/websocket'));
        clients.push(c);
        await c.connect();
        await c.call('login', [{resume: token(user)}]);
        const ok = c.subscribe('threadMessage', [{threadId: `${user}-x`}]);
        await ok.ready();
        await own.publish(`threads::${user}-x::new_message`, '{"e":1}');
        assert.deepEqual(await ok.waitEvents(1), [{e: 1}]);
        const no = c.subscribe('threadMessage', [{threadId: 'zzz-other'}]);
        const nosub = await no.nosub();
        assert.equal(nosub.msg.error.error, 403);
        assert.ok(nosub.msg.error.reason.length > 0);
      } finally {
        await own.bridge.stop();
        own.publisher.close();
        await proc.stop();
      }
    });
  }
});

describe('edge protection', () => {
  // Clients come from 127.0.0.2 so the harness's own HTTP polling (from
  // 127.0.0.1, possibly kept alive) does not use the limited IP's slots.
  function openFrom(url, localAddress) {
    return new Promise((resolve) => {
      const ws = new WebSocket(url, {localAddress});
      ws.on('open', () => resolve({ws, status: 101}));
      ws.on('unexpected-response', (req, res) => { resolve({ws, status: res.statusCode}); req.destroy(); });
      ws.on('error', (e) => resolve({ws, status: 0, error: e}));
    });
  }

  test('per-IP connection count: the third connection gets 429, counted; a close frees a slot', async () => {
    const own = await startBridgeEnv({config: CONFIG, redis: env.redis,
      bridgeArgs: ['--max-connections-per-ip', '2', '--authorizer', authz.address]});
    try {
      const url = own.wsUrl('/websocket');
      const before = await own.metric('vent_bridge_refused_total{reason="per_ip"}');
      const a = await openFrom(url, '127.0.0.2');
      const b = await openFrom(url, '127.0.0.2');
      assert.equal(a.status, 101);
      assert.equal(b.status, 101);
      const c = await openFrom(url, '127.0.0.2');
      assert.equal(c.status, 429);
      assert.equal(await own.metric('vent_bridge_refused_total{reason="per_ip"}'), before + 1);
      // Another IP is not affected.
      const other = await openFrom(url, '127.0.0.3');
      assert.equal(other.status, 101);
      other.ws.close();
      a.ws.close();
      await stack.waitFor(async () => {
        const d = await openFrom(url, '127.0.0.2');
        d.ws.close();
        return d.status === 101;
      }, {what: 'a slot freed after a close'});
      b.ws.close();
    } finally {
      await own.bridge.stop();
      own.publisher.close();
    }
  });

  test('per-IP connection rate: past the burst new connections get 429', async () => {
    const own = await startBridgeEnv({config: CONFIG, redis: env.redis,
      bridgeArgs: ['--connection-rate-per-ip', '2', '--authorizer', authz.address]});
    try {
      const url = own.wsUrl('/websocket');
      const statuses = [];
      for (let i = 0; i < 8; ++i) {
        const r = await openFrom(url, '127.0.0.4');
        statuses.push(r.status);
        r.ws.close();
      }
      // Burst is 2 x rate = 4; eight back-to-back connections cannot all pass.
      assert.ok(statuses.filter((s) => s === 429).length >= 1, `statuses: ${statuses}`);
      assert.equal(statuses[0], 101);
    } finally {
      await own.bridge.stop();
      own.publisher.close();
    }
  });
});
