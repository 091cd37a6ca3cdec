'use strict';
// Connection-level limits and lifecycle: --max-connections (HTTP 503 past it,
// counted), --allowed-origins (403), /metrics gauges following real
// connections and subscriptions, and SIGTERM closing clients with 1001.

const assert = require('node:assert/strict');
const {after, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {rawHttp} = require('./lib/raw_socket.js');
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
function client(env, opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0, ...opts});
  clients.push(c);
  return c;
}

test('--max-connections 3: the 4th upgrade gets HTTP 503 and is counted; a slot frees on close', async () => {
  const env = await newEnv(['--max-connections', '3']);
  // The readiness poll (global keep-alive agent) may still hold a slot: drop
  // it and retry each of the 3 connects until the bridge has released it.
  require('node:http').globalAgent.destroy();
  const cs = [];
  for (let i = 0; i < 3; i++) {
    cs.push(await waitFor(async () => {
      const c = client(env);
      try {
        await c.connect();
        return c;
      } catch (_) {
        c.close();
        return null;
      }
    }, {what: `connection ${i + 1} of 3`}));
  }
  const extra = client(env);
  await assert.rejects(extra.open(), /503/);
  extra.close();
  cs[0].close();
  await cs[0].closed();
  // (At the limit /metrics itself is refused with 503, so read it after a close.)
  await waitFor(async () => (await env.metric('vent_bridge_refused_total{reason="limit"}')) >= 1,
      {what: 'refused_total{reason="limit"} to count the refusal'});
  await waitFor(async () => {
    const c = client(env);
    try {
      await c.connect();
      return true;
    } catch (_) {
      c.close();
      return false;
    }
  }, {what: 'a new connection after one closed'});
});

test('--allowed-origins: other origins get 403, listed origin and no Origin are accepted', async () => {
  const env = await newEnv(['--allowed-origins', 'https://app.example.com']);
  const bad = client(env, {wsOptions: {origin: 'https://evil.example.com'}});
  await assert.rejects(bad.open(), /403/);
  const good = client(env, {wsOptions: {origin: 'https://app.example.com'}});
  await good.connect();
  const none = client(env);
  await none.connect();
  assert.equal(await env.metric('vent_bridge_refused_total{reason="origin"}'), 1);
});

test('/metrics gauges follow connections and subscriptions', async () => {
  const env = await newEnv([]);
  const c = client(env);
  await c.connect();
  const subs = [1, 2, 3].map((i) => c.subscribe('threadMessage', [{threadId: `mg${process.pid}_${i}`}]));
  await Promise.all(subs.map((s) => s.ready()));
  let m = await env.metrics();
  assert.equal(m.get('vent_bridge_connections'), 1);
  assert.equal(m.get('vent_bridge_subscriptions'), 3);
  assert.equal(m.get('vent_bridge_redis_channels'), 3);
  assert.equal(m.get('vent_bridge_redis_up'), 1);
  await env.publish(`threads::mg${process.pid}_1::new_message`, '{"a":1}');
  await subs[0].waitEvents(1);
  await subs[1].stop();
  m = await env.metrics();
  assert.equal(m.get('vent_bridge_subscriptions'), 2);
  assert.equal(m.get('vent_bridge_deliveries_total'), 1);
  c.close();
  await waitFor(async () => {
    const x = await env.metrics();
    return x.get('vent_bridge_connections') === 0 && x.get('vent_bridge_subscriptions') === 0 &&
        x.get('vent_bridge_redis_channels') === 0;
  }, {what: 'gauges back to 0 after close'});
});

test('/healthz body and unknown paths', async () => {
  const env = await newEnv([]);
  const h = await env.http('/healthz');
  assert.equal(h.status, 200);
  assert.equal((await env.http('/no/such/path')).status, 404);
  const text = await rawHttp(env.port, 'GARBAGE\r\n\r\n');
  assert.match(text, /^HTTP\/1\.1 400 /);
});

test('SIGTERM: connected clients get close 1001 and the bridge exits 0', async () => {
  const env = await startBridgeEnv({bridgeArgs: []});
  const c = client(env);
  await c.connect();
  const sub = c.subscribe('multi', []);
  await sub.ready();
  env.bridge.child.kill('SIGTERM');
  const {code} = await c.closed({timeoutMs: 10000});
  assert.equal(code, 1001);
  const exit = await env.bridge.exited;
  assert.equal(exit.code, 0, env.bridge.stderr().slice(-2000));
  env.publisher.close();
  await env.redis.stop();
});
