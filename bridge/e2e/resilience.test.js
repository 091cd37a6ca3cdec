'use strict';
// Redis outages (docs/protocol.md "Subscriptions", docs/operations.md "Health"):
// redis-server is killed and restarted on the same port; /healthz goes 503
// then 200; events resume on the SAME subscriptions without the client
// reconnecting; a sub sent while Redis is down gets `ready` once Redis is
// back; with a short --sub-timeout it gets nosub 503 instead.

const assert = require('node:assert/strict');
const {after, describe, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

const envs = [];
const clients = [];
after(async () => {
  for (const c of clients) c.close();
  for (const e of envs) await e.stop();
});

async function newEnv(args) {
  const env = await startBridgeEnv({bridgeArgs: args});
  envs.push(env);
  return env;
}
async function connected(env) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
  clients.push(c);
  await c.connect();
  return c;
}

// Publishes `payload` on `channel` until sub has more than `have` events.
async function publishUntilDelivered(env, sub, channel, have, what) {
  let n = 0;
  await waitFor(async () => {
    if (sub.events.length > have) return true;
    await env.publish(channel, JSON.stringify({resumed: ++n}));
    return sub.events.length > have;
  }, {timeoutMs: 20000, intervalMs: 100, what});
}

describe('Redis restart', () => {
  test('healthz 503 while down, 200 after; events resume on the same subscriptions', async () => {
    const env = await newEnv([]);
    const c = await connected(env);
    const t = `rr${process.pid}`;
    const ch = `threads::${t}::new_message`;
    const a = c.subscribe('threadMessage', [{threadId: t}]);
    const m = c.subscribe('multi', []);
    await Promise.all([a.ready(), m.ready()]);
    await env.publish(ch, '{"before":1}');
    await a.waitEvents(1);
    assert.equal((await env.http('/healthz')).status, 200);

    await env.redis.kill();
    const downAt = Date.now();
    await waitFor(async () => (await env.http('/healthz')).status === 503,
        {timeoutMs: 3000, what: '/healthz 503 within 3 s of Redis going down'});
    const redisUp = await env.metric('vent_bridge_redis_up');
    assert.equal(redisUp, 0, 'vent_bridge_redis_up while Redis is down');
    assert.ok(c.isOpen, 'client must stay connected while Redis is down');

    await env.redis.restart();
    await waitFor(async () => (await env.http('/healthz')).status === 200,
        {timeoutMs: 15000, what: '/healthz 200 after Redis is back'});
    await publishUntilDelivered(env, a, ch, 1, 'an event on the old threadMessage sub');
    await publishUntilDelivered(env, m, 'm::b', 0, 'an event on the old multi sub');
    assert.equal(a.raws.at(-1).startsWith(`{"msg":"changed","__vent":"1","id":"${a.rand}.threadMessage","e":`), true);
    // Same socket, no second handshake, no nosub.
    assert.equal(c.messages.filter((x) => x.msg.msg === 'connected').length, 1);
    assert.equal(c.messages.filter((x) => x.msg.msg === 'nosub').length, 0);
    assert.ok(c.isOpen);
    console.log(`# redis restart: healthz 503 after ${Date.now() - downAt} ms total outage cycle`);

    // And the whole burst guarantee holds again.
    const base = a.events.length;
    await Promise.all(Array.from({length: 100}, (_, i) => env.publish(ch, `{"seq":${i}}`)));
    await a.waitEvents(base + 100, {timeoutMs: 10000});
    assert.deepEqual(a.events.slice(base).map((e) => e.seq), Array.from({length: 100}, (_, i) => i));
  });

  test('a sub sent while Redis is down gets ready once Redis is back, then events', async () => {
    const env = await newEnv(['--sub-timeout', '20s']);
    const c = await connected(env);
    await env.redis.kill();
    await waitFor(async () => (await env.http('/healthz')).status === 503, {timeoutMs: 3000, what: 'healthz 503'});
    const t = `rd${process.pid}`;
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    // No ready while down: bounded by a ping/pong round trip sent after the sub.
    assert.equal((await c.ping('down')).raw, '{"msg":"pong","id":"down"}');
    assert.equal(sub.isReady, false, 'ready sent while Redis is down');
    await env.redis.restart();
    await sub.ready({timeoutMs: 15000});
    const receivers = await env.publish(`threads::${t}::new_message`, '{"x":1}');
    assert.equal(receivers, 1, 'ready before the SUBSCRIBE was acknowledged');
    assert.deepEqual(await sub.waitEvents(1), [{x: 1}]);
  });

  test('with --sub-timeout 500ms a sub sent while Redis is down gets nosub 503', async () => {
    const env = await newEnv(['--sub-timeout', '500ms']);
    const c = await connected(env);
    await env.redis.kill();
    await waitFor(async () => (await env.http('/healthz')).status === 503, {timeoutMs: 3000, what: 'healthz 503'});
    const sub = c.subscribe('threadMessage', [{threadId: `st${process.pid}`}]);
    const r = await sub.nosub({timeoutMs: 5000});
    assert.equal(r.msg.error.error, 503, r.raw);
    assert.equal(r.msg.error.isClientSafe, true);
    assert.equal(r.msg.error.errorType, 'Meteor.Error');
    assert.equal(r.msg.error.message, `${r.msg.error.reason} [503]`);
    assert.ok(c.isOpen);
    await env.redis.restart();
    await waitFor(async () => (await env.http('/healthz')).status === 200, {timeoutMs: 15000, what: 'healthz 200'});
    const again = c.subscribe('threadMessage', [{threadId: `st${process.pid}`}]);
    await again.ready();
  });
});
