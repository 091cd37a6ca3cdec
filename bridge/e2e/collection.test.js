'use strict';
// `delivery: collection` (vent/pub/README.md): redis-oplog's first Vent form,
// for DDP clients that only track collections. For a sub with params
// [rand, ...] the bridge sends `added` for document "i" of collection
// "__vent.<rand>.<pub>" before `ready`, one `changed` with fields {"e":event}
// per event, and `removed` before the nosub that ends the sub (unsub, logout
// re-run). Checked byte for byte with the Meteor-like raw client, and with
// two npm clients that keep collections: `ddp` (node-ddp, with its
// observers and EJSON) and `simpleddp` (collections + onChange). Projection,
// falsy-drop, auth and slow-client handling behave as for `vent` delivery.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {after, before, describe, test} = require('node:test');
const DDPClient = require('ddp');
const EJSON = require('ejson');
const WebSocket = require('ws');
const simpleDDP = require('simpleddp');
const {ddpSubscription} = require('simpleddp/lib/classes/ddpSubscription.js');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId, withTimeout} = require('./lib/meteor_client.js');
const {textFrame, upgrade} = require('./lib/raw_socket.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

// simpleddp drops the promise of its constructor's start(): keep refusals
// from becoming unhandled rejections (see simpleddp.test.js).
const originalStart = ddpSubscription.prototype.start;
ddpSubscription.prototype.start = function start(...args) {
  const p = originalStart.apply(this, args);
  p.catch(() => {});
  return p;
};

const SECRET = 'collection-secret-' + randomId(8);
const CONFIG = `
publications:
  chat:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: public
    delivery: collection
  chatVent:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: public
  projected:
    params: { id: { type: string } }
    channels: ["p::{id}"]
    auth: public
    fields: [message]
    delivery: collection
  mine:
    channels: ["u::{userId}"]
    auth: user
    delivery: collection
`;

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}
function token(sub) {
  const h = b64url(JSON.stringify({alg: 'HS256', typ: 'JWT'}));
  const p = b64url(JSON.stringify({sub, exp: Math.floor(Date.now() / 1000) + 3600}));
  return `${h}.${p}.${b64url(crypto.createHmac('sha256', SECRET).update(`${h}.${p}`).digest())}`;
}

const added = (sub, name) =>
  `{"msg":"added","collection":"__vent.${sub.rand}.${name}","id":"i","fields":{}}`;
const changed = (sub, name, e) =>
  `{"msg":"changed","collection":"__vent.${sub.rand}.${name}","id":"i","fields":{"e":${e}}}`;
const removed = (sub, name) => `{"msg":"removed","collection":"__vent.${sub.rand}.${name}","id":"i"}`;

let env;
const closers = [];
function client(opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0, ...opts});
  closers.push(() => c.close());
  return c;
}
// The collection frames for `sub` in arrival order (raw texts).
function framesOf(c, sub, name) {
  const col = `"collection":"__vent.${sub.rand}.${name}"`;
  return c.messages.filter((m) => m.raw.includes(col)).map((m) => m.raw);
}

before(async () => {
  env = await startBridgeEnv({config: CONFIG, bridgeArgs: ['--jwt-hs256-secret', SECRET, '--max-outgoing', '64KiB']});
});
after(async () => {
  for (const close of closers) close();
  if (env) await env.stop();
});

describe('wire form (Meteor-like raw client)', () => {
  test('added before ready, one changed per event (identical ones too), removed before nosub', async () => {
    const c = client();
    await c.connect();
    const t = `col${randomId(6)}`;
    const sub = c.subscribe('chat', [{threadId: t}]);
    await sub.ready();
    // added is the message right before ready.
    const readyIdx = c.messages.findIndex((m) => m.msg.msg === 'ready');
    assert.equal(c.messages[readyIdx - 1].raw, added(sub, 'chat'));
    assert.equal(c.messages[readyIdx].raw, `{"msg":"ready","subs":["${sub.id}"]}`);
    const payloads = ['{"text":"Hello!"}', '{"text":"Hello!"}', '{"n": 1.50, "z":[0]}', '"str\\u2028"'];
    for (const p of payloads) await env.publish(`threads::${t}::new_message`, p);
    // Falsy and invalid events are not sent (as for vent delivery); a marker bounds the silence.
    for (const p of ['0', 'null', 'false', '""', '{oops']) await env.publish(`threads::${t}::new_message`, p);
    await env.publish(`threads::${t}::new_message`, '{"marker":1}');
    await c.take((m, raw) => raw === changed(sub, 'chat', '{"marker":1}'), {what: 'marker'});
    assert.deepEqual(framesOf(c, sub, 'chat'), [
      added(sub, 'chat'),
      ...payloads.map((p) => changed(sub, 'chat', p)),
      changed(sub, 'chat', '{"marker":1}'),
    ]);
    // No Vent fast-path frames for a collection sub.
    assert.equal(c.messages.filter((m) => m.raw.startsWith('{"msg":"changed","__vent"')).length, 0);
    const before = c.messages.length;
    c.send({msg: 'unsub', id: sub.id});
    await c.take((m) => m.msg === 'nosub' && m.id === sub.id, {what: 'nosub'});
    assert.deepEqual(c.messages.slice(before).map((m) => m.raw),
        [removed(sub, 'chat'), `{"msg":"nosub","id":"${sub.id}"}`]);
    // Nothing after the nosub.
    await env.publish(`threads::${t}::new_message`, '{"late":1}');
    const mark = c.subscribe('chatVent', [{threadId: t}]);
    await mark.ready();
    await env.publish(`threads::${t}::new_message`, '{"after":1}');
    await mark.waitEvents(1);
    assert.deepEqual(framesOf(c, sub, 'chat').slice(-1), [removed(sub, 'chat')]);
  });

  test('a vent sub and a collection sub on one channel each get their own form', async () => {
    const c = client();
    await c.connect();
    const t = `both${randomId(6)}`;
    const col = c.subscribe('chat', [{threadId: t}]);
    const vent = c.subscribe('chatVent', [{threadId: t}]);
    await Promise.all([col.ready(), vent.ready()]);
    await env.publish(`threads::${t}::new_message`, '{"m":"x"}');
    const [e] = await vent.waitEvents(1);
    assert.deepEqual(e, {m: 'x'});
    assert.equal(vent.raws[0], `{"msg":"changed","__vent":"1","id":"${vent.rand}.chatVent","e":{"m":"x"}}`);
    await c.take((m, raw) => raw === changed(col, 'chat', '{"m":"x"}'), {what: 'collection frame'});
  });

  test('projection applies inside fields.e', async () => {
    const c = client();
    await c.connect();
    const id = `pr${randomId(6)}`;
    const sub = c.subscribe('projected', [{id}]);
    await sub.ready();
    await env.publish(`p::${id}`, '{"secret":"s","message":"hi","x":0}');
    await env.publish(`p::${id}`, '{"secret":"only"}'); // nothing selected: not sent
    await env.publish(`p::${id}`, '{"message":0}'); // selected falsy value: sent
    await c.take((m, raw) => raw === changed(sub, 'projected', '{"message":0}'), {what: 'last event'});
    assert.deepEqual(framesOf(c, sub, 'projected'), [
      added(sub, 'projected'), changed(sub, 'projected', '{"message":"hi"}'), changed(sub, 'projected', '{"message":0}'),
    ]);
  });

  test('auth: user — refused without login (no document), removed + nosub 403 on logout', async () => {
    const c = client();
    await c.connect();
    const early = c.subscribe('mine');
    const refused = await early.nosub();
    assert.equal(refused.msg.error.error, 403);
    assert.equal(framesOf(c, early, 'mine').length, 0, 'no added/removed for a refused sub');
    const user = `u${randomId(6)}`;
    const login = await c.call('login', [{resume: token(user)}]);
    assert.equal(login.result.msg.result.id, user);
    const sub = c.subscribe('mine');
    await sub.ready();
    await env.publish(`u::${user}`, '{"hello":1}');
    await c.take((m, raw) => raw === changed(sub, 'mine', '{"hello":1}'), {what: 'event'});
    // Logging in again as the same user keeps the sub and its document.
    await c.call('login', [{resume: token(user)}]);
    await c.take((m) => m.msg === 'ready' && m.subs.includes(sub.id), {what: 'ready after re-run'});
    const before = c.messages.length;
    await c.call('logout');
    await c.take((m) => m.msg === 'nosub' && m.id === sub.id, {what: 'nosub after logout'});
    const after = c.messages.slice(before).map((m) => m.raw);
    const r = after.indexOf(removed(sub, 'mine'));
    const n = after.findIndex((raw) => raw.startsWith(`{"msg":"nosub","id":"${sub.id}","error":{"isClientSafe":true,"error":403`));
    assert.ok(r >= 0 && n > r, `removed before nosub: ${after.join(' | ')}`);
    assert.equal(framesOf(c, sub, 'mine').filter((x) => x.startsWith('{"msg":"added"')).length, 1, 'one added in all');
  });
});

describe('npm clients that track collections', () => {
  test('ddp (node-ddp): document appears, observers see each event (EJSON decoded), removed on unsubscribe', async () => {
    const ddp = new DDPClient({host: '127.0.0.1', port: env.port, autoReconnect: false, maintainCollections: true});
    closers.push(() => { try { ddp.close(); } catch (_) { /* closed */ } });
    await withTimeout(new Promise((resolve, reject) => ddp.connect((err) => (err ? reject(err) : resolve()))),
        5000, 'ddp connect');
    const t = `ddp${randomId(6)}`;
    const rand = randomId();
    const name = `__vent.${rand}.chat`;
    const seen = [];
    let removedDoc = null;
    ddp.observe(name, undefined, (id, oldFields, cleared, newFields) => seen.push({id, e: newFields.e}),
        (id, old) => { removedDoc = {id, old}; });
    let subId;
    await withTimeout(new Promise((resolve, reject) => {
      subId = ddp.subscribe('chat', [rand, {threadId: t}], (err) => (err ? reject(err) : resolve()));
    }), 5000, 'ddp ready');
    assert.deepEqual(ddp.collections[name], {i: {_id: 'i'}});
    const when = new Date(1700000000123);
    await env.publish(`threads::${t}::new_message`, EJSON.stringify({when, bytes: new Uint8Array([1, 2, 3])}));
    await env.publish(`threads::${t}::new_message`, '{"same":true}');
    await env.publish(`threads::${t}::new_message`, '{"same":true}');
    await waitFor(() => seen.length === 3, {timeoutMs: 5000, what: '3 changed'});
    assert.ok(seen[0].e.when instanceof Date && seen[0].e.when.getTime() === when.getTime(), 'EJSON $date decoded');
    assert.deepEqual([...seen[0].e.bytes], [1, 2, 3]);
    assert.deepEqual(seen.slice(1).map((s) => s.e), [{same: true}, {same: true}], 'identical events both delivered');
    assert.deepEqual(ddp.collections[name].i.e, {same: true});
    ddp.unsubscribe(subId);
    await waitFor(() => removedDoc !== null, {timeoutMs: 5000, what: 'removed'});
    assert.equal(removedDoc.id, 'i');
    assert.deepEqual(ddp.collections[name], {});
  });

  test('simpleddp: collection(...).fetch() and onChange, document gone after stop()', async () => {
    const server = new simpleDDP({endpoint: env.wsUrl('/websocket'), SocketConstructor: WebSocket, reconnectInterval: 200});
    closers.push(() => { server.willTryToReconnect = false; try { server.ddpConnection.disconnect(); } catch (_) { /* closed */ } });
    await withTimeout(server.connect(), 5000, 'simpleddp connect');
    const t = `sdp${randomId(6)}`;
    const rand = randomId();
    const coll = server.collection(`__vent.${rand}.chat`);
    const changes = [];
    coll.onChange(({changed: ch}) => { if (ch) changes.push(ch.fieldsChanged.e); });
    const sub = server.subscribe('chat', rand, {threadId: t});
    await withTimeout(sub.ready(), 5000, 'simpleddp ready');
    assert.deepEqual(coll.fetch(), [{id: 'i'}]);
    await env.publish(`threads::${t}::new_message`, '{"a":1}');
    await env.publish(`threads::${t}::new_message`, EJSON.stringify({at: new Date(5)}));
    await waitFor(() => changes.length === 2, {timeoutMs: 5000, what: '2 changes'});
    assert.deepEqual(changes[0], {a: 1});
    assert.ok(changes[1].at instanceof Date && changes[1].at.getTime() === 5);
    assert.ok(coll.fetch()[0].e.at instanceof Date);
    await withTimeout(sub.stop(), 5000, 'simpleddp stop');
    assert.deepEqual(coll.fetch(), []);
  });
});

test('slow client on a collection sub is closed (4008) while a reader gets every event', async () => {
  const t = `slowc${randomId(6)}`;
  const ch = `threads::${t}::new_message`;
  const good = client();
  await good.connect();
  const goodSub = good.subscribe('chat', [{threadId: t}]);
  await goodSub.ready();
  const {sock, rest} = await upgrade(env.port, '/websocket');
  closers.push(() => sock.destroy());
  let seen = rest.toString('latin1');
  sock.write(textFrame('{"msg":"connect","version":"1","support":["1"]}'));
  sock.write(textFrame(`{"msg":"sub","id":"slowC","name":"chat","params":["slowR",{"threadId":"${t}"}]}`));
  await withTimeout(new Promise((resolve) => {
    const onData = (chunk) => {
      seen += chunk.toString('latin1');
      if (seen.includes('"subs":["slowC"]')) { sock.off('data', onData); sock.pause(); resolve(); }
    };
    sock.on('data', onData);
  }), 5000, 'slow client ready');
  const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  const pad = 'y'.repeat(16 * 1024);
  let sent = 0;
  while (sent < 2000) {
    await Promise.all(Array.from({length: 8}, () => env.publish(ch, `{"seq":${sent++},"pad":"${pad}"}`)));
    if (sent % 64 === 0 && (await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore) break;
    // The reader keeps up (bounded lag), so only the stalled client is slow.
    await waitFor(() => good.messages.length >= sent - 64, {timeoutMs: 10000, what: 'reader catching up'});
  }
  assert.equal(await env.metric('vent_bridge_closed_total{reason="slow_client"}'), slowBefore + 1);
  await waitFor(() => framesOf(good, goodSub, 'chat').length === sent + 1, {timeoutMs: 20000, what: 'every event'});
  const seqs = framesOf(good, goodSub, 'chat').slice(1).map((raw) => JSON.parse(raw).fields.e.seq);
  assert.deepEqual(seqs, Array.from({length: sent}, (_, i) => i));
});
