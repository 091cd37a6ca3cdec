'use strict';
// What TLS costs vent-bridge: plain ws:// against wss:// (--tls-cert/--tls-key
// with a fresh self-signed certificate), each on its own redis-server and
// vent-bridge (bridge/e2e/lib/bridge.js).
//   1. memory: N idle connections, each subscribed (ready), bridge RSS growth
//      per connection;
//   2. CPU: FANOUT of them on one channel, RATE events/s (200 B) for 5 s,
//      bridge CPU-seconds (/proc) per million deliveries.
// Node `ws` clients: keep RATE x FANOUT modest (default 100 x 500/s). Not a test.
//
//   VENT_BIN_DIR=build/bin NODE_PATH=node_modules node bench/tls_cost.js [N [FANOUT [RATE]]]
const fs = require('node:fs');
const WebSocket = require('ws');
const {makeTestCert, startBridgeEnv} = require('../bridge/e2e/lib/bridge.js');

const N = Number(process.argv[2] || 2000);
const FANOUT = Number(process.argv[3] || 100);
const RATE = Number(process.argv[4] || 500);
const SECONDS = 5;
const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;  // utime + stime, clock ticks (USER_HZ 100)
};
const rss = (pid) =>
  Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;

function open(env, tls, i, thread = `t${i % 100}`) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.wsUrl('/websocket'), tls ? {ca: tls.ca} : {});
    ws.on('open', () => {
      ws.send('{"msg":"connect","version":"1","support":["1"]}');
      ws.send(`{"msg":"sub","id":"s","name":"threadMessage",` +
              `"params":["rand0000000000001",{"threadId":"${thread}"}]}`);
    });
    ws.on('message', (d) => {
      const t = String(d);
      if (t.includes('"ready"')) resolve(ws);
      else if (t.includes('nosub')) reject(new Error(t));
    });
    ws.on('error', reject);
  });
}

async function run(tls) {
  const mode = tls ? 'wss' : 'ws ';
  const env = await startBridgeEnv({tls, workers: 2});
  const base = rss(env.bridge.pid);
  const socks = [];
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 100); j++) batch.push(open(env, tls, j));
    socks.push(...await Promise.all(batch));
    process.stderr.write(`\r${mode}: ${socks.length}/${N}`);
  }
  const mem = (rss(env.bridge.pid) - base) / N;
  process.stderr.write('\n');
  for (const s of socks) s.terminate();

  // Fan-out: FANOUT clients on one channel.
  const fan = [];
  for (let i = 0; i < FANOUT; i++) fan.push(await open(env, tls, i, 'fan'));
  let received = 0;
  for (const ws of fan) ws.on('message', () => { received++; });
  const pad = 'x'.repeat(180);
  const cpu0 = cpuSeconds(env.bridge.pid);
  const perTick = RATE / 100;
  let sent = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor((Date.now() - t0) / 10) * perTick;
    const pairs = [];
    for (; sent < due; sent++) pairs.push(['threads::fan::new_message', `{"i":${sent},"p":"${pad}"}`]);
    if (pairs.length) await env.publishMany(pairs);
    await new Promise((r) => setTimeout(r, 5));
  }
  const want = sent * FANOUT;
  const deadline = Date.now() + 10000;
  while (received < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const cpu = (cpuSeconds(env.bridge.pid) - cpu0) / (received / 1e6);
  console.log(`${mode}: ${N} idle subscribed connections: bridge RSS +${Math.round(mem)} B per ` +
              `connection; fan-out ${FANOUT} x ${RATE}/s: ${received} of ${want} delivered, ` +
              `bridge ${cpu.toFixed(2)} CPU-s per million deliveries`);
  for (const ws of fan) ws.terminate();
  await env.stop();
  return {mem, cpu};
}

(async () => {
  const plain = await run(null);
  const tls = await run(makeTestCert());
  console.log(`ratio wss/ws: memory ${(tls.mem / plain.mem).toFixed(2)}, ` +
              `CPU per delivery ${(tls.cpu / plain.cpu).toFixed(2)}`);
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
