'use strict';
// Both binaries on redis-sentinel:// (master, replica, three Sentinels):
// killing the master makes both report not-ready (bridge /readyz, server
// /readyz and gRPC health) during the gap, then follow the new master; the DDP
// client stays connected and events resume on the same subscriptions.

const assert = require('node:assert/strict');
const {after, test} = require('node:test');

const stack = require('../js/lib/stack.js');
const {startTopology} = require('../js/lib/redis_topology.js');
const {bridgeOn, cleanupList, ddpClient, emitUntilDelivered, serverOn} = require('./lib/env.js');

const cleanups = cleanupList();
after(() => cleanups.run());

for (const mode of ['classic', 'sharded']) {
  test(`Sentinel failover (${mode}): not ready during the gap, then events resume`, async () => {
    const topo = await startTopology('sentinel');
    cleanups.add(() => topo.stop());
    const master = (await topo.command('master-port')).port;
    const redis = {url: topo.url, port: master};
    const args = ['--redis-pubsub', mode];
    const env = await bridgeOn(redis, args, cleanups);
    const server = await serverOn(redis, args, cleanups);
    const c = await ddpClient(env, cleanups);
    const ws = c.ws;
    const t = `sen${mode}${process.pid}`;
    const ch = `threads::${t}::new_message`;
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    const multi = c.subscribe('multi', []);
    await Promise.all([sub.ready(), multi.ready()]);
    await server.vent.emit(ch, {before: true});
    await sub.waitEvents(1);
    assert.equal(await server.health(), 'SERVING');

    await topo.command('kill', master);
    // Not ready while there is no master (polled; the gap lasts seconds).
    const seen = {bridge: false, server: false, grpc: false};
    await stack.waitFor(async () => {
      if ((await env.ready()) === 503) seen.bridge = true;
      if ((await server.ready()) === 503) seen.server = true;
      if ((await server.health()) === 'NOT_SERVING') seen.grpc = true;
      return seen.bridge && seen.server && seen.grpc;
    }, {timeoutMs: 10000, intervalMs: 20, what: 'both binaries not ready after the master died'});
    const fresh = await topo.waitNewMaster(master);
    assert.notEqual(fresh, master);
    await stack.waitFor(async () => (await env.ready()) === 200 && (await server.ready()) === 200 &&
        (await server.health()) === 'SERVING',
    {timeoutMs: 30000, what: 'both binaries ready on the new master'});
    await emitUntilDelivered(server.vent, ch, sub, 1, 'events resume after the failover');
    await server.vent.emit('m::a', {multi: true});
    await multi.waitEvents(1, {timeoutMs: 10000});
    assert.equal(c.ws, ws, 'the DDP client did not reconnect');
    assert.ok(c.isOpen);
    const clients = await stack.redisCli(fresh, ['CLIENT', 'LIST']);
    assert.match(clients, /name=vent-bridge /);
    assert.match(clients, /name=vent-server /);
  });
}
