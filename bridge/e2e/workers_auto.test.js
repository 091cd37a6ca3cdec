'use strict';
// --workers 0 (the default): the worker count follows the load. New
// connections go to the first worker while it is under --worker-spill-busy;
// the placement rules themselves are unit- and model-tested
// (bridge/worker_placement_test.cc). Here: a default bridge serves a fan-out
// completely and in order from one active worker, --workers N activates all N
// at once, and bad values are refused at start.
const assert = require('node:assert/strict');
const {spawnSync} = require('node:child_process');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const stack = require('../../tests/js/lib/stack.js');

let env;
const clients = [];
before(async () => {
  env = await startBridgeEnv({workers: 0});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('default workers: 30 subscribers get a 200-event burst in order, one worker active', async () => {
  const thread = `wa${process.pid}`;
  const subs = [];
  for (let i = 0; i < 30; ++i) {
    const c = new MeteorClient(env.wsUrl('/websocket'));
    clients.push(c);
    await c.connect();
    const s = c.subscribe('threadMessage', [{threadId: thread}]);
    await s.ready();
    subs.push(s);
  }
  const pairs = [];
  for (let i = 0; i < 200; ++i) pairs.push([`threads::${thread}::new_message`, `{"i":${i}}`]);
  await env.publishMany(pairs);
  for (const s of subs) {
    const events = await s.waitEvents(200);
    assert.deepEqual(events.map((e) => e.i), pairs.map((_, i) => i));
  }
  // 30 connections keep a worker thread far below 75% of a core.
  assert.equal(await env.metric('vent_bridge_workers_active'), 1);
});

test('--workers 3: all three take connections from the start', async () => {
  const own = await startBridgeEnv({redis: env.redis, workers: 3});
  try {
    const c = new MeteorClient(own.wsUrl('/websocket'));
    await c.connect();
    c.close();
    assert.equal(await own.metric('vent_bridge_workers_active'), 3);
  } finally {
    await own.stop();
  }
});

test('bad worker settings are refused at start with a message', () => {
  for (const args of [['--worker-spill-busy', '0'], ['--worker-spill-busy', '101'], ['--workers', '-1']]) {
    const r = spawnSync(stack.binPath('vent-bridge'), ['--listen', '127.0.0.1:0', ...args],
        {encoding: 'utf8', timeout: 20000});
    assert.notEqual(r.status, 0, args.join(' '));
    assert.match(r.stderr, /worker-spill-busy in 1\.\.100|workers >= 0/, args.join(' '));
  }
});
