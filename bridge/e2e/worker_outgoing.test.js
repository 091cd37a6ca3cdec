'use strict';
// The worker-wide outgoing cap (--max-worker-outgoing): with a per-connection
// limit far away (64 MiB) and the worker's total capped at 1 MiB, two clients
// that stop reading are closed as slow (4008, counted) once the worker's
// queues pass the cap (counted; the close frame is sent only when no frame
// is half-written), while a client that reads keeps receiving everything.
// Without the cap they would each hold up to 64 MiB.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');

let env;
const clients = [];
before(async () => {
  env = await startBridgeEnv({workers: 1,
    bridgeArgs: ['--max-outgoing', '64MiB', '--max-worker-outgoing', '1MiB']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('clients that stop reading are shed at the worker cap; a reader keeps up', async () => {
  const make = () => {
    const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
    clients.push(c);
    return c;
  };
  const good = make();
  const slow = [make(), make()];
  await Promise.all([good, ...slow].map((c) => c.connect()));
  const gsub = good.subscribe('threadMessage', [{threadId: 'wcap'}]);
  const ssubs = slow.map((c) => c.subscribe('threadMessage', [{threadId: 'wcap'}]));
  await Promise.all([gsub.ready(), ...ssubs.map((s) => s.ready())]);
  const before = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  for (const c of slow) c.ws._socket.pause(); // kernel buffers, then the bridge's queues fill

  const pad = 'w'.repeat(16 * 1024);
  let sent = 0;
  const MAX = 3000; // 48 MiB of events: below the 64 MiB per-connection limit
  while (sent < MAX) {
    const batch = [];
    for (let i = 0; i < 50; i++) batch.push(['threads::wcap::new_message', `{"i":${sent++},"pad":"${pad}"}`]);
    await env.publishMany(batch);
    await gsub.waitEvents(sent, {timeoutMs: 10000}); // the reader keeps up
    if ((await env.metric('vent_bridge_closed_total{reason="slow_client"}')) >= before + 2) break;
  }
  assert.equal(await env.metric('vent_bridge_closed_total{reason="slow_client"}'), before + 2,
      `not both shed after ${sent} events of 16 KiB`);
  assert.ok(sent < MAX);
  // The reader is unaffected and still receives.
  await env.publish('threads::wcap::new_message', '{"i":"last"}');
  const events = await gsub.waitEvents(sent + 1);
  assert.equal(events[sent].i, 'last');
  assert.ok((await env.metrics()).has('vent_bridge_outgoing_bytes'));
});
