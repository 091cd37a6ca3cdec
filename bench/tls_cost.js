'use strict';
// vent-bridge memory per idle subscribed connection, plain ws:// against
// wss:// (--tls-cert/--tls-key with a fresh self-signed certificate). Starts
// its own redis-server and vent-bridge per mode (bridge/e2e/lib/bridge.js),
// opens N connections that each subscribe and wait for `ready`, and prints
// the bridge's RSS growth per connection. Not a test.
//
//   VENT_BIN_DIR=build/bin NODE_PATH=node_modules node bench/tls_memory.js [N]
const fs = require('node:fs');
const WebSocket = require('ws');
const {makeTestCert, startBridgeEnv} = require('../bridge/e2e/lib/bridge.js');

const N = Number(process.argv[2] || 2000);
const rss = (pid) =>
  Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;

function open(env, tls, i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.wsUrl('/websocket'), tls ? {ca: tls.ca} : {});
    ws.on('open', () => {
      ws.send('{"msg":"connect","version":"1","support":["1"]}');
      ws.send(`{"msg":"sub","id":"s","name":"threadMessage",` +
              `"params":["rand0000000000001",{"threadId":"t${i % 100}"}]}`);
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
  const env = await startBridgeEnv({tls, workers: 2});
  const base = rss(env.bridge.pid);
  const socks = [];
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 100); j++) batch.push(open(env, tls, j));
    socks.push(...await Promise.all(batch));
    process.stderr.write(`\r${tls ? 'wss' : 'ws'}: ${socks.length}/${N}`);
  }
  const per = (rss(env.bridge.pid) - base) / N;
  process.stderr.write('\n');
  console.log(`${tls ? 'wss' : 'ws '}: ${N} idle subscribed connections: ` +
              `bridge RSS +${Math.round(per)} B per connection`);
  for (const s of socks) s.terminate();
  await env.stop();
  return per;
}

(async () => {
  const plain = await run(null);
  const tls = await run(makeTestCert());
  console.log(`ratio wss/ws: ${(tls / plain).toFixed(2)}`);
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
