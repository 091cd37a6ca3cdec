'use strict';
// Shared pieces of the Redis topology tests: vent-bridge + vent-server on a
// given Redis URL, DDP clients, readiness probes and "emit until delivered".

const path = require('node:path');

const {startBridgeEnv} = require('../../../bridge/e2e/lib/bridge.js');
const {MeteorClient} = require('../../../bridge/e2e/lib/meteor_client.js');
const stack = require('../../js/lib/stack.js');
const {healthCheck} = require('../../js/lib/grpc_health.js');

const {VentClient} = require(path.join(__dirname, '..', '..', '..', 'clients', 'node', 'vent-client.js'));

// Registers async cleanups, run in reverse order by runCleanups().
function cleanupList() {
  const list = [];
  return {
    add(f) { list.push(f); },
    async run() { for (const f of list.splice(0).reverse()) await f(); },
  };
}

// GET /readyz, or /healthz where /readyz is not served (404).
async function readiness(base) {
  const r = await stack.httpGet(`${base}/readyz`);
  if (r.status !== 404) return r.status;
  return (await stack.httpGet(`${base}/healthz`)).status;
}

// A bridge (listen port) on `redis` ({url, port}) with `args`.
async function bridgeOn(redis, args, cleanups, opts = {}) {
  const env = await startBridgeEnv({redis, bridgeArgs: args, ...opts});
  cleanups.add(() => env.stop());
  env.ready = () => readiness(env.base);
  return env;
}

// A vent-server on `redis` with `args`, plus a VentClient for it.
async function serverOn(redis, args, cleanups) {
  const server = await stack.startVentServer({redis, extraArgs: args});
  cleanups.add(() => server.stop());
  const vent = new VentClient(server.grpcAddress);
  cleanups.add(() => vent.close());
  server.vent = vent;
  server.ready = () => readiness(`http://127.0.0.1:${server.metricsPort}`);
  server.health = () => healthCheck(server.grpcAddress).catch((e) => `error ${e.code}`);
  return server;
}

async function ddpClient(env, cleanups) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
  cleanups.add(() => c.close());
  await c.connect();
  return c;
}

// Emits {n} on `channel` through `vent` until `sub` has more than `have`
// events; resolves the emit outcomes ({n, ok, receivers} or {n, ok: false,
// code, message}).
async function emitUntilDelivered(vent, channel, sub, have, what, {timeoutMs = 30000} = {}) {
  const outcomes = [];
  let n = 0;
  await stack.waitFor(async () => {
    if (sub.events.length > have) return true;
    const k = ++n;
    try {
      const res = await vent.emit(channel, {n: k, what});
      outcomes.push({n: k, ok: true, receivers: Number(res.receivers)});
    } catch (e) {
      outcomes.push({n: k, ok: false, code: e.code, message: e.details || e.message});
    }
    return sub.events.length > have;
  }, {timeoutMs, intervalMs: 100, what});
  return outcomes;
}

module.exports = {bridgeOn, cleanupList, ddpClient, emitUntilDelivered, readiness, serverOn};
