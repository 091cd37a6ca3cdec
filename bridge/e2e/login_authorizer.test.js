'use strict';
// --login authorizer: DDP logins checked by the backend's Authenticate RPC,
// here the Node example (examples/authorizer/node) verifying Meteor resume
// tokens against a users file shaped like Meteor's users collection
// (hashedToken = base64(SHA-256(token))). A valid token logs in ({userId}
// channels work), unknown / expired / malformed / vetoed tokens get Meteor's
// 403 shapes, messages pipelined after `login` see its result, and a backend
// that is down or never answers is a 403 (never a login) counted as
// vent_bridge_logins_total{result="error"}.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, before, describe, test} = require('node:test');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const WebSocket = require('ws');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId} = require('./lib/meteor_client.js');

const ROOT = path.resolve(__dirname, '../..');
const DAY = 24 * 3600 * 1000;
const CONFIG = `
publications:
  mine:
    channels: ["u::{userId}"]
    auth: user
  news:
    channels: ["news"]
    auth: public
`;
const LOGGED_OUT = "You've been logged out by the server. Please log in again.";
const EXPIRED = 'Your session has expired. Please log in again.';

const hash = (t) => crypto.createHash('sha256').update(t).digest('base64');
function meteorError(code, reason) {
  return {isClientSafe: true, error: code, reason, message: `${reason} [${code}]`, errorType: 'Meteor.Error'};
}

// Meteor user documents, as mongoexport --jsonArray writes them.
const WHEN = Date.now() - 1000;
const TOKENS = {good: randomId(43), old: randomId(43), banned: randomId(43)};
const USERS = [
  {_id: 'm1', services: {resume: {loginTokens: [
    {hashedToken: hash(TOKENS.good), when: {$date: WHEN}},
    {hashedToken: hash(TOKENS.old), when: {$date: '2001-01-01T00:00:00.000Z'}},
  ]}}},
  {_id: 'b1', deactivated: true, services: {resume: {loginTokens: [
    {hashedToken: hash(TOKENS.banned), when: {$date: WHEN}},
  ]}}},
];

let authz; // the example authorizer process
let authzPort;
let env;
const clients = [];
function client(e = env) {
  const c = new MeteorClient(e.wsUrl('/websocket'), {clientPingMs: 0});
  clients.push(c);
  return c;
}

before(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-login-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const users = path.join(dir, 'users.json');
  fs.writeFileSync(users, JSON.stringify(USERS));
  authzPort = await stack.freePort();
  authz = await stack.startProcess('node', [path.join(ROOT, 'examples/authorizer/node/authorizer.js'),
    '--listen', `127.0.0.1:${authzPort}`, '--users', users], {readyPort: authzPort});
  env = await startBridgeEnv({config: CONFIG, bridgeArgs: [
    '--login', 'authorizer', '--authorizer', `127.0.0.1:${authzPort}`, '--authorizer-timeout', '2s']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
  if (authz) await authz.stop();
});

describe('Meteor resume tokens through the example authorizer', () => {
  test('a valid token logs in with Meteor\'s result shape; {userId} channels work', async () => {
    const c = client();
    await c.connect();
    const {result, updated} = await c.call('login', [{resume: TOKENS.good}]);
    const expires = WHEN + 90 * DAY;
    assert.equal(result.raw, `{"msg":"result","id":"1","result":{"id":"m1","token":"${TOKENS.good}",` +
        `"tokenExpires":{"$date":${expires}},"type":"resume"}}`);
    assert.equal(updated.raw, '{"msg":"updated","methods":["1"]}');
    const sub = c.subscribe('mine');
    await sub.ready();
    await env.publish('u::m1', '{"for":"m1"}');
    assert.deepEqual(await sub.waitEvents(1), [{for: 'm1'}]);
  });

  test('messages pipelined after login see its result (sub of auth: user is ready, pong after the result)', async () => {
    const c = client();
    const sub = c.subscribe('mine', [], {send: false});
    await c.open({pipeline: [
      {msg: 'method', id: 'L', method: 'login', params: [{resume: TOKENS.good}]},
      {msg: 'sub', id: sub.id, name: 'mine', params: sub.params()},
      {msg: 'ping', id: 'after'},
    ]});
    await sub.ready();
    await c.take((m) => m.msg === 'pong' && m.id === 'after');
    // The login's result comes first; `ready` may come after the pong (it
    // waits for Redis to confirm the channel), but the sub was not refused.
    const order = c.messages.map((m) => m.msg.msg).filter((m) => ['result', 'ready', 'pong', 'nosub'].includes(m));
    assert.equal(order[0], 'result');
    assert.deepEqual([...order].sort(), ['pong', 'ready', 'result']);
    assert.equal(c.messages.find((m) => m.msg.msg === 'result').msg.result.id, 'm1');
  });

  const refusals = [
    ['an unknown token', () => [{resume: randomId(43)}], meteorError(403, LOGGED_OUT)],
    ['an expired token', () => [{resume: TOKENS.old}], meteorError(403, EXPIRED)],
    ['a vetoed user\'s token', () => [{resume: TOKENS.banned}], meteorError(403, 'Login forbidden')],
    ['an oversized token (not asked)', () => [{resume: 'x'.repeat(5000)}], meteorError(403, LOGGED_OUT)],
    ['an empty token', () => [{resume: ''}], meteorError(403, LOGGED_OUT)],
    ['a non-string token', () => [{resume: 5}], meteorError(400, 'Unrecognized options for login request')],
  ];
  for (const [what, params, error] of refusals) {
    test(`${what} is refused with ${error.error} "${error.reason}"`, async () => {
      const c = client();
      await c.connect();
      const {result} = await c.call('login', params());
      assert.deepEqual(result.msg, {msg: 'result', id: '1', error});
      const sub = c.subscribe('mine');
      assert.equal((await sub.nosub()).msg.error.error, 403, 'still logged out');
    });
  }

  test('a failed login keeps the previous one (Meteor)', async () => {
    const c = client();
    await c.connect();
    await c.call('login', [{resume: TOKENS.good}]);
    const sub = c.subscribe('mine');
    await sub.ready();
    const {result} = await c.call('login', [{resume: 'nope'}]);
    assert.equal(result.msg.error.error, 403);
    await env.publish('u::m1', '{"still":1}');
    assert.deepEqual(await sub.waitEvents(1), [{still: 1}]);
  });

  test('a token on the connect URL is refused with 401 (log in with the DDP method)', async () => {
    const status = await new Promise((resolve) => {
      const ws = new WebSocket(env.wsUrl(`/websocket?token=${TOKENS.good}`));
      ws.on('open', () => { ws.close(); resolve(101); });
      ws.on('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
    });
    assert.equal(status, 401);
  });
});

describe('backend failures are refusals, never logins', () => {
  test('authorizer that never answers: 403 at --authorizer-timeout, queued messages follow', async () => {
    const def = protoLoader.loadSync(path.join(ROOT, 'proto/vent/v1/authorizer.proto'),
        {keepCase: true, longs: String, defaults: true});
    const pkg = grpc.loadPackageDefinition(def).vent.v1;
    const held = [];
    const server = new grpc.Server();
    server.addService(pkg.Authorizer.service, {
      Authorize(call, cb) { cb(null, {allow: false}); },
      Authenticate(call, cb) { held.push(cb); },
    });
    const port = await new Promise((resolve, reject) => server.bindAsync('127.0.0.1:0',
        grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
    const own = await startBridgeEnv({config: CONFIG, redis: env.redis, bridgeArgs: [
      '--login', 'authorizer', '--authorizer', `127.0.0.1:${port}`, '--authorizer-timeout', '300ms']});
    try {
      const errorsBefore = await own.metric('vent_bridge_logins_total{result="error"}');
      const c = client(own);
      await c.open({pipeline: [
        {msg: 'method', id: 'L', method: 'login', params: [{resume: 'whatever'}]},
        {msg: 'ping', id: 'queued'},
      ]});
      const result = await c.take((m) => m.msg === 'result' && m.id === 'L');
      assert.deepEqual(result.msg.error, meteorError(403, LOGGED_OUT));
      await c.take((m) => m.msg === 'pong' && m.id === 'queued');
      const idx = (pred) => c.messages.findIndex((m) => pred(m.msg));
      assert.ok(idx((m) => m.msg === 'result') < idx((m) => m.msg === 'pong'), 'pong after the login result');
      assert.equal(held.length, 1);
      // The late answer changes nothing.
      held[0](null, {user_id: 'late', expires_at_ms: String(Date.now() + DAY)});
      const sub = c.subscribe('mine');
      assert.equal((await sub.nosub()).msg.error.error, 403);
      assert.ok(await own.metric('vent_bridge_logins_total{result="error"}') > errorsBefore);
    } finally {
      await own.bridge.stop();
      own.publisher.close();
      server.forceShutdown();
    }
  });

  test('authorizer down: 403 and vent_bridge_logins_total{result="error"}', async () => {
    const c = client();
    await c.connect();
    await authz.stop();
    const before = await env.metric('vent_bridge_logins_total{result="error"}');
    // A token not cached by the earlier tests.
    const {result} = await c.call('login', [{resume: randomId(43)}]);
    assert.deepEqual(result.msg.error, meteorError(403, LOGGED_OUT));
    assert.equal(await env.metric('vent_bridge_logins_total{result="error"}'), before + 1);
    const news = c.subscribe('news');
    await news.ready(); // the connection is fine
  });
});
