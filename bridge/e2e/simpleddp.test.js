'use strict';
// simpleddp 2.2.4 + ws against vent-bridge (docs/protocol.md "Compatibility"):
// subscribe with a Vent rand, ready(), `changed` events carry the Vent frame,
// sub.stop() resolves (needs nosub), refused subs reject ready(), and after a
// server-side close the client's unsub-then-sub restart completes and events
// flow again.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');
const WebSocket = require('ws');
const simpleDDP = require('simpleddp');

const {ddpSubscription} = require('simpleddp/lib/classes/ddpSubscription.js');

const {startBridgeEnv} = require('./lib/bridge.js');

// simpleddp quirk: the subscription constructor calls start(), which returns
// ready() and drops it — a refused sub (nosub with error) then becomes an
// unhandled rejection. Keep the promise but mark it handled; callers of
// sub.ready() still see the rejection.
const originalStart = ddpSubscription.prototype.start;
ddpSubscription.prototype.start = function start(...args) {
  const p = originalStart.apply(this, args);
  p.catch(() => {});
  return p;
};
const {randomId, withTimeout} = require('./lib/meteor_client.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

let env;
const servers = [];
function newServer() {
  const s = new simpleDDP({endpoint: env.wsUrl('/websocket'), SocketConstructor: WebSocket,
    reconnectInterval: 200});
  servers.push(s);
  return s;
}
// Collects Vent frames seen through simpleddp's 'changed' event, by id.
function collectVent(server) {
  const byId = new Map();
  server.on('changed', (m) => {
    if (m.__vent !== '1') return;
    if (!byId.has(m.id)) byId.set(m.id, []);
    byId.get(m.id).push(m);
  });
  return byId;
}

before(async () => { env = await startBridgeEnv(); });
after(async () => {
  for (const s of servers) {
    s.willTryToReconnect = false;
    try { s.ddpConnection.disconnect(); } catch (_) { /* closed */ }
  }
  if (env) await env.stop();
});

test('subscribe, ready, changed events carry __vent frames, stop() resolves', async () => {
  const server = newServer();
  const vent = collectVent(server);
  await withTimeout(server.connect(), 5000, 'simpleddp connect');
  const rand = randomId();
  const t = `sd${process.pid}`;
  const sub = server.subscribe('threadMessage', rand, {threadId: t});
  await withTimeout(sub.ready(), 5000, 'sub.ready()');
  await env.publish(`threads::${t}::new_message`, '{"text":"Hello!","n":[1,2]}');
  await env.publish(`threads::${t}::new_message`, '{"text":"second"}');
  const key = `${rand}.threadMessage`;
  await waitFor(() => (vent.get(key) || []).length >= 2, {what: 'two Vent frames via simpleddp'});
  const frames = vent.get(key);
  assert.equal(frames[0].msg, 'changed');
  assert.equal(frames[0].__vent, '1');
  assert.deepEqual(frames[0].e, {text: 'Hello!', n: [1, 2]});
  assert.deepEqual(frames[1].e, {text: 'second'});
  await withTimeout(sub.stop(), 5000, 'sub.stop()');
  assert.equal(sub.isStopped(), true);
});

test('EJSON in the event reaches simpleddp as a typed value (it EJSON-parses whole messages)', async () => {
  const server = newServer();
  const vent = collectVent(server);
  await withTimeout(server.connect(), 5000, 'connect');
  const rand = randomId();
  const t = `sdej${process.pid}`;
  const sub = server.subscribe('threadMessage', rand, {threadId: t});
  await withTimeout(sub.ready(), 5000, 'ready');
  await env.publish(`threads::${t}::new_message`, '{"at":{"$date":1700000000000}}');
  await waitFor(() => vent.has(`${rand}.threadMessage`), {what: 'frame'});
  const e = vent.get(`${rand}.threadMessage`)[0].e;
  assert.ok(e.at instanceof Date, `e.at = ${JSON.stringify(e.at)}`);
  assert.equal(e.at.getTime(), 1700000000000);
});

test('EJSON-typed params are decoded by the bridge and refused by validation: ready() rejects with 400', async () => {
  const server = newServer();
  await withTimeout(server.connect(), 5000, 'connect');
  const sub = server.subscribe('threadMessage', randomId(), {threadId: new Date(0)});
  const err = await withTimeout(sub.ready().then(() => null, (e) => e), 5000, 'ready() rejection');
  assert.ok(err, 'ready() resolved for a Date param');
  assert.equal(err.error, 400);
  assert.equal(err.reason, 'Match failed');
});

test('unknown publication: ready() rejects with the 404 Meteor.Error', async () => {
  const server = newServer();
  await withTimeout(server.connect(), 5000, 'connect');
  const sub = server.subscribe('nope', randomId());
  const err = await withTimeout(sub.ready().then(() => null, (e) => e), 5000, 'ready() rejection');
  assert.deepEqual(err, {isClientSafe: true, error: 404, reason: "Subscription 'nope' not found",
    message: "Subscription 'nope' not found [404]", errorType: 'Meteor.Error'});
});

test('unknown method: call() rejects with 404', async () => {
  const server = newServer();
  await withTimeout(server.connect(), 5000, 'connect');
  const err = await withTimeout(server.call('nothere', 1).then(() => null, (e) => e), 5000, 'call');
  assert.equal(err.error, 404);
  assert.equal(err.reason, "Method 'nothere' not found");
});

test('after a server-side close (1009) simpleddp reconnects, unsubs, re-subs and events flow again', async () => {
  const server = newServer();
  const vent = collectVent(server);
  let disconnects = 0;
  let connects = 0;
  server.on('disconnected', () => { disconnects++; });
  server.on('connected', () => { connects++; });
  await withTimeout(server.connect(), 5000, 'connect');
  const rand = randomId();
  const t = `sdrc${process.pid}`;
  const ch = `threads::${t}::new_message`;
  const sub = server.subscribe('threadMessage', rand, {threadId: t});
  await withTimeout(sub.ready(), 5000, 'ready');
  const firstId = sub.subscriptionId;
  // A method call larger than --max-message makes the bridge close with 1009.
  server.call('x', 'p'.repeat(70 * 1024)).catch(() => {});
  await waitFor(() => disconnects >= 1, {what: 'server-side close'});
  await waitFor(() => connects >= 2 && sub.isReady(), {timeoutMs: 10000, what: 'reconnect + sub restart'});
  assert.notEqual(sub.subscriptionId, firstId, 'simpleddp re-subscribes with a new id');
  const key = `${rand}.threadMessage`;
  let n = 0;
  await waitFor(async () => {
    if ((vent.get(key) || []).length > 0) return true;
    await env.publish(ch, JSON.stringify({again: ++n}));
    return false;
  }, {timeoutMs: 10000, what: 'an event after the restart'});
  assert.equal(vent.get(key)[0].id, key);
});
