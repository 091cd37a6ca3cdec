'use strict';
// N idle subscribed wss:// connections (Node `ws` over TLS) against a server
// serving bench/config/bench.yaml's `bench` publication, each on its own
// channel; prints the server's RSS growth per connection as JSON. Used by
// bench/idle_memory.sh (vent-bench speaks only ws://). Not a test.
//
//   node bench/wss_idle.js URL N CA_FILE SERVER_PID
const fs = require('node:fs');
const WebSocket = require('ws');

const [URL, N, CA, PID] = [process.argv[2], Number(process.argv[3]), process.argv[4], Number(process.argv[5])];
const ca = fs.readFileSync(CA, 'utf8');
const rss = () => Number(fs.readFileSync(`/proc/${PID}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(URL, {ca, perMessageDeflate: false});
    ws.on('open', () => {
      ws.send('{"msg":"connect","version":"1","support":["1"]}');
      ws.send(`{"msg":"sub","id":"s","name":"bench","params":["r1",{"ch":"w${i}"}]}`);
    });
    ws.on('message', (d) => {
      const t = String(d);
      if (t.includes('"ready"')) resolve(ws);
      else if (t.includes('"ping"')) ws.send('{"msg":"pong"}');
      else if (t.includes('nosub')) reject(new Error(t));
    });
    ws.on('error', reject);
  });
}

(async () => {
  const before = rss();
  const socks = [];
  const t0 = Date.now();
  for (let i = 0; i < N; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 200); j++) batch.push(open(j));
    socks.push(...await Promise.all(batch));
    if (i % 2000 === 0) process.stderr.write(`\rwss: ${socks.length}/${N}`);
  }
  process.stderr.write(`\rwss: ${socks.length}/${N} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await sleep(2500);  // as vent-bench idle: let the server settle (sweep)
  const after = rss();
  console.log(JSON.stringify({ready: socks.length, rss_before: before, rss_after: after,
                              bytes_per_connection: (after - before) / socks.length}));
  for (const s of socks) s.terminate();
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
