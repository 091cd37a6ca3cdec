'use strict';
// Both binaries on redis-cluster:// (3 masters + 3 replicas) in sharded mode:
// a DDP client with channels on all three masters gets every event emitted
// through vent-server, over one bridge connection per master; when a master
// is killed, Emit to its slots answers UNAVAILABLE (and nothing reaches the
// client) until the replica takes over, then events resume on the same
// subscriptions without the client reconnecting; a resharded slot is
// followed. Also classic mode (redis-cli PUBLISH on any node reaches the
// client).

const assert = require('node:assert/strict');
const {after, test} = require('node:test');

const stack = require('../js/lib/stack.js');
const {keySlot, startTopology} = require('../js/lib/redis_topology.js');
const {bridgeOn, cleanupList, ddpClient, emitUntilDelivered, serverOn} = require('./lib/env.js');

const cleanups = cleanupList();
after(() => cleanups.run());

const channelOf = (t) => `threads::${t}::new_message`;
// The first `${prefix}${n}` threadId whose channel's slot satisfies pred.
function threadIdFor(prefix, pred) {
  for (let n = 0; ; n++) {
    const t = `${prefix}${n}`;
    if (pred(keySlot(channelOf(t)))) return t;
  }
}

async function pubsubClients(port, name) {
  const list = await stack.redisCli(port, ['CLIENT', 'LIST', 'TYPE', 'pubsub']);
  return list.split('\n').filter((l) => l.includes(` name=${name} `)).length;
}

test('sharded: every event over all masters, failover, reshard', async () => {
  const topo = await startTopology('cluster');
  cleanups.add(() => topo.stop());
  const redis = {url: topo.url, port: topo.nodes[0].port};
  const args = ['--redis-pubsub', 'sharded'];
  const env = await bridgeOn(redis, args, cleanups);
  const server = await serverOn(redis, args, cleanups);
  const c = await ddpClient(env, cleanups);
  const ws = c.ws;
  const ranges = [(s) => s < 5000, (s) => s > 6000 && s < 10000, (s) => s > 11000];
  const threads = ranges.map((r, i) => threadIdFor(`cl${i}x${process.pid}`, r));
  const subs = threads.map((t) => c.subscribe('threadMessage', [{threadId: t}]));
  await Promise.all(subs.map((s) => s.ready()));

  for (let k = 0; k < 20; k++) {
    for (let i = 0; i < 3; i++) await server.vent.emit(channelOf(threads[i]), {k});
  }
  for (const s of subs) {
    const ev = await s.waitEvents(20, {timeoutMs: 10000});
    assert.deepEqual(ev.map((e) => e.k), Array.from({length: 20}, (_, k) => k));
  }
  const masters = [];
  for (const t of threads) masters.push(await topo.masterOf(keySlot(channelOf(t))));
  assert.equal(new Set(masters).size, 3);
  for (const m of masters) assert.equal(await pubsubClients(m, 'vent-bridge'), 1, `master ${m}`);

  // Failover of the first channel's master.
  const victim = masters[0];
  await topo.command('kill', victim);
  const outcomes = await emitUntilDelivered(server.vent, channelOf(threads[0]), subs[0], 20,
      'events resume after the cluster failover', {timeoutMs: 40000});
  const failed = outcomes.filter((o) => !o.ok);
  assert.ok(failed.length > 0, 'some Emit was refused while the slot had no master');
  for (const f of failed) assert.equal(f.code, 14, JSON.stringify(f)); // UNAVAILABLE
  // Nothing refused was published, and every emit Redis delivered to a
  // subscriber (receivers >= 1) arrived. (An emit accepted by the new master
  // before the bridge subscribed there has 0 receivers: pub/sub is
  // at-most-once across the gap.)
  const reached = outcomes.filter((o) => o.ok && o.receivers >= 1).map((o) => o.n);
  await stack.waitFor(() => subs[0].events.length - 20 >= reached.length,
      {timeoutMs: 5000, what: 'every emit with a receiver delivered'});
  const delivered = subs[0].events.slice(20).map((e) => e.n);
  const accepted = new Set(outcomes.filter((o) => o.ok).map((o) => o.n));
  for (const n of delivered) assert.ok(accepted.has(n), `emit ${n} was refused but delivered`);
  for (const n of reached) assert.ok(delivered.includes(n), `emit ${n} had a receiver but never arrived`);
  const promoted = await topo.masterOf(keySlot(channelOf(threads[0])));
  assert.notEqual(promoted, victim);
  assert.equal(await pubsubClients(promoted, 'vent-bridge'), 1);
  // The other shards kept working.
  await server.vent.emit(channelOf(threads[1]), {k: 'other'});
  await subs[1].waitEvents(21);

  // Reshard the lowest slot of the third master to the second one.
  const from = masters[2];
  const to = masters[1];
  const lowest = await lowestSlotOf(from);
  const tm = threadIdFor(`mig${process.pid}x`, (s) => s === lowest);
  const msub = c.subscribe('threadMessage', [{threadId: tm}]);
  await msub.ready();
  await server.vent.emit(channelOf(tm), {n: 0});
  await msub.waitEvents(1);
  await topo.command('reshard', from, to, 1);
  assert.equal(await topo.masterOf(lowest), to);
  await emitUntilDelivered(server.vent, channelOf(tm), msub, 1, 'events after the reshard');
  await stack.waitFor(async () => (await stack.redisCli(to, ['PUBSUB', 'SHARDNUMSUB', channelOf(tm)]))
      .endsWith('\n1'), {timeoutMs: 10000, what: 'the bridge subscribed on the new owner'});
  assert.equal(c.ws, ws, 'the DDP client did not reconnect');
  assert.ok(c.isOpen);
});

// The lowest slot served by the master on `port` (CLUSTER NODES).
async function lowestSlotOf(port) {
  const nodes = await stack.redisCli(port, ['CLUSTER', 'NODES']);
  const me = nodes.split('\n').find((l) => l.includes('myself'));
  const ranges = me.split(' ').slice(8).filter((r) => /^\d/.test(r));
  return Math.min(...ranges.map((r) => Number(r.split('-')[0])));
}

test('classic mode on a cluster: PUBLISH on any node reaches the client', async () => {
  const topo = await startTopology('cluster', ['--masters', '3', '--replicas', '0']);
  cleanups.add(() => topo.stop());
  const redis = {url: topo.url, port: topo.nodes[0].port};
  const env = await bridgeOn(redis, [], cleanups);
  const server = await serverOn(redis, [], cleanups);
  const c = await ddpClient(env, cleanups);
  const t = `clc${process.pid}`;
  const sub = c.subscribe('threadMessage', [{threadId: t}]);
  await sub.ready();
  await server.vent.emit(channelOf(t), {via: 'emit'});
  await sub.waitEvents(1);
  let k = 1;
  for (const node of topo.nodes) {
    await stack.redisCli(node.port, ['PUBLISH', channelOf(t), JSON.stringify({via: node.port})]);
    await sub.waitEvents(++k);
  }
  assert.deepEqual(sub.events.slice(1).map((e) => e.via), topo.nodes.map((n) => n.port));
});
