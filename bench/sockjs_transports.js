'use strict';
// What SockJS's HTTP fallbacks cost vent-bridge against a plain WebSocket:
// FANOUT clients on one channel, RATE events/s (200 B) for SECONDS, per
// transport — raw WebSocket (the baseline, `ws`), then sockjs-client forced
// onto xhr-streaming, eventsource and xhr-polling. Prints deliveries, lost
// events, bridge CPU-seconds per million deliveries and the ratio to the
// baseline measured in the same run. Each transport gets its own
// redis-server and vent-bridge (bridge/e2e/lib/bridge.js). Node clients in
// the same process: keep FANOUT x RATE modest. Not a test.
//
//   VENT_BIN_DIR=build/bin NODE_PATH=node_modules node bench/sockjs_transports.js [FANOUT [RATE [SECONDS]]]
const fs = require('node:fs');
const WebSocket = require('ws');
const {startBridgeEnv} = require('../bridge/e2e/lib/bridge.js');
const {SockJsDdp} = require('../bridge/e2e/lib/sockjs_ddp.js');

const FANOUT = Number(process.argv[2] || 50);
const RATE = Number(process.argv[3] || 200);
const SECONDS = Number(process.argv[4] || 5);
const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime (USER_HZ 100)
};

// One subscribed client; calls onEvent() per Vent frame. Resolves {close}.
async function openClient(env, transport, onEvent) {
  if (transport === 'websocket') {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(env.wsUrl('/websocket'));
      ws.on('open', () => {
        ws.send('{"msg":"connect","version":"1","support":["1"]}');
        ws.send('{"msg":"sub","id":"s","name":"threadMessage","params":["r",{"threadId":"bench"}]}');
      });
      ws.on('message', (d) => {
        const t = String(d);
        if (t.startsWith('{"msg":"changed","__vent"')) onEvent();
        else if (t.includes('"ready"')) resolve({close: () => ws.terminate()});
        else if (t.startsWith('{"msg":"ping"')) ws.send('{"msg":"pong"}');
      });
      ws.on('error', reject);
    });
  }
  const c = new SockJsDdp(env.base, {transport});
  await c.connect();
  const sub = c.subscribe('threadMessage', [{threadId: 'bench'}]);
  await sub.ready();
  // Count frames as they arrive; do not keep them.
  c.onDdp = (raw) => {
    if (raw.startsWith('{"msg":"changed","__vent"')) onEvent();
    else if (raw.startsWith('{"msg":"ping"')) c.send({msg: 'pong'});
  };
  return {close: () => c.close()};
}

async function run(transport) {
  const env = await startBridgeEnv({workers: 2});
  let received = 0;
  const clients = [];
  for (let i = 0; i < FANOUT; i += 10) {
    const batch = [];
    for (let j = i; j < Math.min(FANOUT, i + 10); j++) batch.push(openClient(env, transport, () => { received++; }));
    clients.push(...await Promise.all(batch));
  }
  const payload = JSON.stringify({message: 'x'.repeat(180)});
  const cpu0 = cpuSeconds(env.bridge.pid);
  const t0 = Date.now();
  let sent = 0;
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * RATE);
    const pairs = [];
    for (; sent < due; sent++) pairs.push(['threads::bench::new_message', payload]);
    if (pairs.length) await env.publishMany(pairs);
    await new Promise((r) => setTimeout(r, 5)); // pacing the generator, not a synchronisation
  }
  const want = sent * FANOUT;
  const deadline = Date.now() + 30000;
  while (received < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = cpuSeconds(env.bridge.pid) - cpu0;
  for (const c of clients) c.close();
  await env.stop();
  return {transport, deliveries: received, lost: want - received, seconds: elapsed,
    cpuPerMillion: (cpu / Math.max(received, 1)) * 1e6};
}

(async () => {
  console.log(`FANOUT ${FANOUT}, RATE ${RATE}/s, ${SECONDS} s, 200-byte events`);
  const rows = [];
  for (const t of ['websocket', 'xhr-streaming', 'eventsource', 'xhr-polling']) rows.push(await run(t));
  const base = rows[0];
  for (const r of rows) {
    console.log(`${r.transport.padEnd(14)} deliveries ${String(r.deliveries).padStart(8)} lost ${r.lost}` +
      `  bridge CPU-s per million ${r.cpuPerMillion.toFixed(2).padStart(7)}` +
      `  (${(r.cpuPerMillion / base.cpuPerMillion).toFixed(2)}x the WebSocket baseline)`);
  }
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
