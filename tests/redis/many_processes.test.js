'use strict';
// N vent-servers and N bridges on one Redis Cluster (sharded mode): 2 servers
// and 3 bridges, 2 DDP clients per bridge, each client on 3 channels spread
// over the masters (every channel shared by clients of several bridges).
// Every client of every bridge gets every event of its channels, in order,
// whichever server emitted it; killing one bridge closes only its clients,
// the others keep getting everything.

const assert = require('node:assert/strict');
const {after, test} = require('node:test');

const {keySlot, startTopology} = require('../js/lib/redis_topology.js');
const {bridgeOn, cleanupList, ddpClient, serverOn} = require('./lib/env.js');

const cleanups = cleanupList();
after(() => cleanups.run());

const channelOf = (t) => `threads::${t}::new_message`;
function threadIdFor(prefix, pred) {
  for (let n = 0; ; n++) {
    const t = `${prefix}${n}`;
    if (pred(keySlot(channelOf(t)))) return t;
  }
}

test('2 servers, 3 bridges, one cluster: every client gets every event; a dead bridge hurts only its clients', async () => {
  const topo = await startTopology('cluster');
  cleanups.add(() => topo.stop());
  const redis = {url: topo.url, port: topo.nodes[0].port};
  const args = ['--redis-pubsub', 'sharded'];
  const servers = [await serverOn(redis, args, cleanups), await serverOn(redis, args, cleanups)];
  const bridges = [];
  for (let i = 0; i < 3; i++) bridges.push(await bridgeOn(redis, args, cleanups));

  const ranges = [(s) => s < 5000, (s) => s > 6000 && s < 10000, (s) => s > 11000];
  // Six threads, two per master; client j of bridge b takes three of them.
  const threads = [];
  for (let k = 0; k < 6; k++) threads.push(threadIdFor(`mp${k}x${process.pid}`, ranges[k % 3]));
  const clients = []; // {bridge, c, subs: [{thread, sub}]}
  for (let b = 0; b < 3; b++) {
    for (let j = 0; j < 2; j++) {
      const c = await ddpClient(bridges[b], cleanups);
      const mine = [0, 1, 2].map((x) => threads[(b + j + x * 2) % 6]);
      const subs = mine.map((t) => ({thread: t, sub: c.subscribe('threadMessage', [{threadId: t}])}));
      await Promise.all(subs.map((s) => s.sub.ready()));
      clients.push({bridge: b, c, subs});
    }
  }

  const perThread = 10;
  async function emitRound(tag) {
    for (let k = 0; k < perThread; k++) {
      for (const [i, t] of threads.entries()) {
        await servers[(k + i) % 2].vent.emit(channelOf(t), {tag, k});
      }
    }
  }
  await emitRound('a');
  for (const {subs} of clients) {
    for (const {thread, sub} of subs) {
      const ev = await sub.waitEvents(perThread, {timeoutMs: 15000});
      assert.deepEqual(ev.map((e) => `${e.tag}${e.k}`),
          Array.from({length: perThread}, (_, k) => `a${k}`), thread);
    }
  }

  // Kill bridge 1: its clients are closed, the others are untouched.
  await bridges[1].bridge.kill();
  for (const cl of clients.filter((x) => x.bridge === 1)) {
    await cl.c.closed({timeoutMs: 10000});
  }
  await emitRound('b');
  for (const {bridge, c, subs} of clients) {
    if (bridge === 1) continue;
    assert.ok(c.isOpen);
    for (const {thread, sub} of subs) {
      const ev = await sub.waitEvents(2 * perThread, {timeoutMs: 15000});
      assert.deepEqual(ev.slice(perThread).map((e) => `${e.tag}${e.k}`),
          Array.from({length: perThread}, (_, k) => `b${k}`), thread);
    }
  }
});
