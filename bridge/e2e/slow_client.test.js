'use strict';
// Slow consumers (docs/protocol.md "Limits"): with --max-outgoing 64KiB, one
// client that upgrades by hand, subscribes and then never reads is closed
// (counted as vent_bridge_closed_total{reason="slow_client"}), while 100
// ordinary clients on the same channel keep receiving every event in order.

const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {textFrame, upgrade} = require('./lib/raw_socket.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

const GOOD_CLIENTS = 100;
const EVENT_BYTES = 1024; // shared-channel events every client gets
const FILL_BYTES = 32 * 1024; // filler events only the slow client gets
const MAX_FILL = 2000; // 64 MiB: far more than kernel buffers + --max-outgoing

let env;
const clients = [];
before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--max-outgoing', '64KiB']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('a client that stops reading is closed; 100 others receive every event', async () => {
  const t = `slow${process.pid}`;
  const ch = `threads::${t}::new_message`;
  const good = [];
  for (let i = 0; i < GOOD_CLIENTS; i++) {
    const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
    clients.push(c);
    good.push(c);
  }
  await Promise.all(good.map((c) => c.connect()));
  const subs = good.map((c) => c.subscribe('threadMessage', [{threadId: t}]));
  await Promise.all(subs.map((s) => s.ready()));

  // The slow client: WS upgrade by hand, connect + two subs (the shared
  // channel and a filler channel only it listens to, so its kernel buffers
  // fill without pushing hundreds of MB through the 100 good clients), read
  // until both are ready, then stop reading.
  const filler = `threads::${t}_fill::new_message`;
  const {sock, rest} = await upgrade(env.port, '/websocket');
  let seen = rest.toString('latin1');
  sock.write(textFrame('{"msg":"connect","version":"1","support":["1","pre2","pre1"]}'));
  sock.write(textFrame(`{"msg":"sub","id":"slowSub000000001","name":"threadMessage","params":["slowRand000000001",{"threadId":"${t}"}]}`));
  sock.write(textFrame(`{"msg":"sub","id":"slowSub000000002","name":"threadMessage","params":["slowRand000000002",{"threadId":"${t}_fill"}]}`));
  await new Promise((resolve, reject) => {
    const check = () => {
      if (seen.includes('slowSub000000001"]') && seen.includes('slowSub000000002"]')) {
        sock.off('data', onData); sock.pause(); resolve();
      }
    };
    const onData = (chunk) => { seen += chunk.toString('latin1'); check(); };
    sock.on('data', onData);
    sock.once('close', () => reject(new Error('slow client closed before ready')));
    check();
  });
  let slowClosed = false;
  sock.once('close', () => { slowClosed = true; });

  const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  const pad = 'x'.repeat(EVENT_BYTES);
  const fillPad = 'f'.repeat(FILL_BYTES);
  let sent = 0;
  let filled = 0;
  const t0 = Date.now();
  while (filled < MAX_FILL) {
    const batch = [env.publish(ch, `{"seq":${sent++},"pad":"${pad}"}`)];
    for (let i = 0; i < 8; i++, filled++) batch.push(env.publish(filler, `{"fill":"${fillPad}"}`));
    await Promise.all(batch);
    if ((await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore) break;
  }
  const slowAfter = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  assert.equal(slowAfter, slowBefore + 1, `slow client not closed after ${filled} filler events of ${FILL_BYTES} B`);
  console.log(`# slow client closed after ${(filled * FILL_BYTES / 1048576).toFixed(1)} MiB of filler ` +
              `+ ${sent} shared events, in ${Date.now() - t0} ms`);

  // 100 more events after the close, then a marker: all must reach all.
  await env.publishMany(Array.from({length: 100}, () => [ch, `{"seq":${sent++},"pad":"${pad}"}`]));
  await env.publish(ch, `{"seq":${sent++},"marker":true}`);
  try {
    await Promise.all(subs.map((s) => s.waitEvents(sent, {timeoutMs: 20000})));
  } catch (e) {
    const m = await env.metrics();
    const counts = subs.map((s) => s.events.length);
    const pick = [...m].filter(([k]) => k.startsWith('vent_bridge_') && !k.includes('bucket'))
        .map(([k, v]) => `${k}=${v}`).join('\n  ');
    throw new Error(`${e.message}\nper-client counts (min ${Math.min(...counts)}, max ${Math.max(...counts)}) ` +
                    `of ${sent}; open clients ${good.filter((c) => c.isOpen).length}\nmetrics:\n  ${pick}`);
  }
  for (const [i, s] of subs.entries()) {
    assert.equal(s.events.length, sent, `client ${i}`);
    for (let k = 0; k < sent; k++) {
      if (s.events[k].seq !== k) assert.fail(`client ${i}: event ${k} has seq ${s.events[k].seq}`);
    }
  }
  assert.ok(good.every((c) => c.isOpen), 'a good client was closed');

  // The slow socket is really gone: once we read again, it ends.
  sock.resume();
  sock.on('data', () => {});
  await waitFor(() => slowClosed, {timeoutMs: 10000, what: 'slow socket to close'});
  const m = await env.metrics();
  assert.equal(m.get('vent_bridge_connections'), GOOD_CLIENTS);
});

test('a burst larger than --max-outgoing to clients that do read is delivered, nobody is closed', async () => {
  const t = `burst${process.pid}`;
  const ch = `threads::${t}::new_message`;
  const cs = [];
  for (let i = 0; i < 5; i++) {
    const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
    clients.push(c);
    cs.push(c);
  }
  await Promise.all(cs.map((c) => c.connect()));
  const subs = cs.map((c) => c.subscribe('threadMessage', [{threadId: t}]));
  await Promise.all(subs.map((s) => s.ready()));
  const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  // 200 x ~1 KiB = ~200 KiB published in one write: more than the 64 KiB
  // budget arrives at once, but every client reads as fast as loopback allows.
  const pad = 'y'.repeat(1000);
  await env.publishMany(Array.from({length: 200}, (_, i) => [ch, `{"seq":${i},"pad":"${pad}"}`]));
  try {
    await Promise.all(subs.map((s) => s.waitEvents(200, {timeoutMs: 10000})));
  } catch (e) {
    const slow = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
    throw new Error(`${e.message}; counts ${subs.map((s) => s.events.length).join(',')}; ` +
                    `closed as slow: ${slow - slowBefore}; open: ${cs.filter((c) => c.isOpen).length}/5`);
  }
  assert.equal(await env.metric('vent_bridge_closed_total{reason="slow_client"}'), slowBefore);
});
