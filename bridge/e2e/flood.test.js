'use strict';
// Replies are bounded (issue 10): a client that floods messages each earning
// a reply — WebSocket pings, DDP pings, unknown methods, refused subs,
// unsubs — and never reads must not grow the bridge: its replies count
// against --max-outgoing like events, and past 64 KiB queued the bridge
// stops reading it (or closes it with 4008). Meanwhile a healthy client on
// the same bridge keeps receiving every event, in order.

const assert = require('node:assert/strict');
const fs = require('node:fs');
const {after, before, describe, test} = require('node:test');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId} = require('./lib/meteor_client.js');
const {clientFrame, textFrame, upgrade} = require('./lib/raw_socket.js');

const MiB = 1024 * 1024;

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

// One flood unit per reply kind (each a complete client frame).
const KINDS = {
  'websocket ping': () => clientFrame(0x9, Buffer.alloc(125, 0x61)),
  'ddp ping': () => textFrame('{"msg":"ping","id":"' + 'p'.repeat(60) + '"}'),
  'unknown method': () => textFrame('{"msg":"method","id":"1","method":"nope","params":[]}'),
  'refused sub': () => textFrame('{"msg":"sub","id":"s","name":"nope","params":["r"]}'),
  'unsub': () => textFrame('{"msg":"unsub","id":"u"}'),
};

describe('reply floods from clients that never read', () => {
  let env;
  let healthy;
  let healthySub;
  before(async () => {
    env = await startBridgeEnv({workers: 1});
    healthy = new MeteorClient(env.wsUrl());
    await healthy.connect();
    healthySub = healthy.subscribe('threadMessage', [{threadId: 'flood'}]);
    await healthySub.ready();
  });
  after(async () => {
    if (healthy) healthy.close();
    if (env) await env.stop();
  });

  let published = 0;
  for (const [kind, unit] of Object.entries(KINDS)) {
    test(`${kind}: bridge memory stays bounded, others keep every event`, async () => {
      const rssBefore = rssBytes(env.bridge.pid);
      const pausedBefore = await env.metric('vent_bridge_reads_paused_total');
      const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
      const {sock} = await upgrade(env.port, '/websocket', {pauseAfter: true});
      let closed = false;
      sock.on('close', () => { closed = true; });
      sock.on('error', () => {});
      sock.write(textFrame('{"msg":"connect","version":"1","support":["1"]}'));
      // 48 MB of requests in 1 MB writes (node buffers what the kernel refuses).
      const one = unit();
      const chunk = Buffer.concat(Array(Math.ceil(MiB / one.length)).fill(one));
      for (let sent = 0; sent < 48 * MiB; sent += chunk.length) sock.write(chunk);
      // The bridge either stops reading this client or closes it as slow.
      await stack.waitFor(async () => closed ||
          (await env.metric('vent_bridge_reads_paused_total')) > pausedBefore ||
          (await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore,
      {timeoutMs: 20000, what: `${kind}: paused or closed`});
      // The healthy client still gets everything, in order.
      const base = published;
      const pairs = [];
      for (let i = 0; i < 200; i++) {
        pairs.push(['threads::flood::new_message', JSON.stringify({i: base + i})]);
      }
      await env.publishMany(pairs);
      published += 200;
      const events = await healthySub.waitEvents(published, {timeoutMs: 15000});
      assert.deepEqual(events.slice(base).map((e) => e.i),
          Array.from({length: 200}, (_, i) => base + i));
      const grown = rssBytes(env.bridge.pid) - rssBefore;
      assert.ok(grown < 24 * MiB, `bridge RSS grew ${(grown / MiB).toFixed(1)} MiB`);
      sock.destroy();
    });
  }

  test('the paused flooders leave no queued bytes behind', async () => {
    await stack.waitFor(async () => (await env.metric('vent_bridge_connections')) === 1,
        {what: 'only the healthy client left'});
    await stack.waitFor(async () => (await env.metric('vent_bridge_outgoing_bytes')) === 0,
        {what: 'outgoing gauge back to 0', timeoutMs: 5000});
  });
});
