'use strict';
// ddp.js 2.2.1 + ws against vent-bridge (docs/protocol.md "Compatibility"): plain
// JSON client with support ["1"]; sub, ready, Vent `changed` events; server
// pings answered keep it connected; after a reconnect, re-sending `sub` with
// the SAME id (as Meteor does) gets a fresh ready and events.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');
const WebSocket = require('ws');
const DDP = require('ddp.js').default;

const {startBridgeEnv} = require('./lib/bridge.js');
const {randomId, withTimeout} = require('./lib/meteor_client.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

let env;
const ddps = [];

function newDdp() {
  const ddp = new DDP({endpoint: env.wsUrl('/websocket'), SocketConstructor: WebSocket, reconnectInterval: 200});
  ddps.push(ddp);
  const state = {ready: new Set(), nosub: new Map(), vent: [], pings: 0, connects: 0, disconnects: 0, inbound: []};
  ddp.on('connected', () => { state.connects++; });
  ddp.on('disconnected', () => { state.disconnects++; });
  ddp.on('ready', (m) => { for (const id of m.subs) state.ready.add(id); });
  ddp.on('nosub', (m) => { state.nosub.set(m.id, m); });
  ddp.on('changed', (m) => { if (m.__vent === '1') state.vent.push(m); });
  ddp.socket.on('message:in', (m) => {
    state.inbound.push(m);
    if (m.msg === 'ping') state.pings++;
  });
  return {ddp, state};
}

before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--heartbeat-interval', '200ms', '--heartbeat-timeout', '300ms']});
});
after(async () => {
  for (const d of ddps) d.disconnect();
  if (env) await env.stop();
});

test('support ["1"] handshake, sub, ready, Vent events', async () => {
  const {ddp, state} = newDdp();
  await waitFor(() => state.connects === 1, {what: 'connected'});
  const rand = randomId();
  const t = `dj${process.pid}`;
  const id = ddp.sub('threadMessage', [rand, {threadId: t}]);
  await waitFor(() => state.ready.has(id), {what: 'ready'});
  for (let i = 0; i < 10; i++) await env.publish(`threads::${t}::new_message`, `{"i":${i}}`);
  await waitFor(() => state.vent.length >= 10, {what: '10 events'});
  assert.deepEqual(state.vent.map((m) => m.e.i), [...Array(10).keys()]);
  assert.ok(state.vent.every((m) => m.id === `${rand}.threadMessage`));
  ddp.unsub(id);
  await waitFor(() => state.nosub.has(id), {what: 'nosub'});
  assert.equal(state.nosub.get(id).error, undefined);
});

test('server pings are answered by ddp.js and keep the connection (5 pings, no disconnect)', async () => {
  const {state} = newDdp();
  await waitFor(() => state.connects === 1, {what: 'connected'});
  await waitFor(() => state.pings >= 5, {timeoutMs: 8000, what: '5 server pings'});
  assert.equal(state.disconnects, 0);
});

test('re-sending sub with the same id on a new connection gets a fresh ready and events', async () => {
  const {ddp, state} = newDdp();
  await waitFor(() => state.connects === 1, {what: 'connected'});
  const rand = randomId();
  const subId = randomId();
  const t = `djrc${process.pid}`;
  const ch = `threads::${t}::new_message`;
  ddp.sub('threadMessage', [rand, {threadId: t}], subId);
  await waitFor(() => state.ready.has(subId), {what: 'first ready'});
  // Drop the socket from the client side; ddp.js reconnects after 200 ms.
  ddp.socket.rawSocket.terminate();
  await waitFor(() => state.connects === 2, {timeoutMs: 5000, what: 'reconnect'});
  state.ready.clear();
  const eventsBefore = state.vent.length;
  ddp.sub('threadMessage', [rand, {threadId: t}], subId);
  await waitFor(() => state.ready.has(subId), {what: 'fresh ready for the same id'});
  await env.publish(ch, '{"after":"reconnect"}');
  await waitFor(() => state.vent.length > eventsBefore, {what: 'event after reconnect'});
  assert.deepEqual(state.vent.at(-1), {msg: 'changed', __vent: '1', id: `${rand}.threadMessage`, e: {after: 'reconnect'}});
});

test('unknown publication -> nosub event with the 404 error', async () => {
  const {ddp, state} = newDdp();
  await waitFor(() => state.connects === 1, {what: 'connected'});
  const id = ddp.sub('nope', [randomId()]);
  await waitFor(() => state.nosub.has(id), {what: 'nosub'});
  assert.equal(state.nosub.get(id).error.error, 404);
});

test('method on ddp.js: result 404 and updated', async () => {
  const {ddp, state} = newDdp();
  const results = [];
  ddp.on('result', (m) => results.push(m));
  ddp.on('updated', (m) => results.push(m));
  await waitFor(() => state.connects === 1, {what: 'connected'});
  const id = ddp.method('x', []);
  await waitFor(() => results.length >= 2, {what: 'result + updated'});
  assert.equal(results[0].msg, 'result');
  assert.equal(results[0].id, id);
  assert.equal(results[0].error.error, 404);
  assert.deepEqual(results[1], {msg: 'updated', methods: [id]});
});
