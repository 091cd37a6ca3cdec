// Replay speed: events per second a reconnecting vent-client receives from
// a publication with history (docs/history.md), against a baseline measured
// in the same run on the same stack: a bare `ws` socket sending the same
// `sub` with `since` and only counting frames until `ready` (the bridge's
// Redis read + the transfer, no client work). Real redis-server, vent-server
// (--config, gRPC EmitBatch) and vent-bridge on 127.0.0.1.
//
// Each round: N events are in the channel's history after the position P;
//  * baseline: raw socket, sub since P -> ready;
//  * client:   VentClient.subscribeFrom(P) -> ready (every event through the
//              fast path, position bookkeeping and the listener);
//  * reconnect: a subscribed VentClient whose link a proxy cuts while the N
//              events are emitted; timed from its re-sent `sub` to the
//              re-ready (the same work as "client" plus the reconnect).
// Prints per-round rates and medians, and client/baseline ratios.
//
//   VENT_BIN_DIR=build/bin node clients/js/bench/replay.mjs [events=20000] [rounds=5] [payloadBytes=100]
import WebSocket from 'ws';

import { VentClient } from '../src/index.js';
import { EmitClient, configFile, stack, startBridge } from '../test/lib/e2e.js';
import { CutProxy } from '../test/lib/proxy.js';

const N = Number(process.argv[2] || 20000);
const ROUNDS = Number(process.argv[3] || 5);
const PAYLOAD = Number(process.argv[4] || 100);

const config = configFile(`publications:
  feed:
    params: { f: { type: string } }
    channels: ["feed::{f}"]
    auth: public
    history: { size: ${N}, ttl: 10m }
`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function emitN(emitter, channel, from, n) {
  const pad = 'x'.repeat(Math.max(0, PAYLOAD - 20));
  for (let i = 0; i < n; i += 500) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 500); j++) batch.push([channel, { i: from + j, pad }]);
    await emitter.emitBatch(batch);
  }
}

function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); });
  return { p, clear: () => clearTimeout(timer) };
}

// Raw socket: connect, then (clock) sub with since, count Vent frames until ready.
async function baseline(url, f, since) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify({ msg: 'connect', version: '1', support: ['1'] }));
  let frames = 0;
  const d = deadline(120000, 'baseline');
  const t0 = now();
  const done = new Promise((resolve) => {
    ws.on('message', (data) => {
      const text = data.toString();
      if (text.startsWith('{"msg":"changed","__vent":"1')) frames++;
      else if (text.startsWith('{"msg":"ready"')) resolve(JSON.parse(text));
    });
  });
  ws.send(JSON.stringify({ msg: 'sub', id: 's', name: 'feed', params: ['r', { f }], since }));
  const ready = await Promise.race([done, d.p]);
  const ms = now() - t0;
  d.clear();
  ws.close();
  if (ready.recovered !== true || frames !== N) throw new Error(`baseline: recovered ${ready.recovered}, ${frames} frames`);
  return ms;
}

// VentClient.subscribeFrom(position) until its first ready.
async function client(url, f, position) {
  const vent = new VentClient(url, { WebSocket, networkEvents: false });
  // Connected first, as the baseline's socket is before its clock starts.
  await new Promise((resolve) => { const off = vent.on('status', (s) => { if (s.connected) { off(); resolve(); } }); });
  let got = 0;
  let last = 0;
  const d = deadline(120000, 'client');
  const t0 = now();
  const h = vent.subscribeFrom(position, 'feed', { f });
  h.listen((e) => { got++; last = e.i; });
  const info = await Promise.race([new Promise((resolve) => h.onReady(resolve)), d.p]);
  const ms = now() - t0;
  d.clear();
  vent.close();
  if (info.recovered !== true || got !== N) throw new Error(`client: recovered ${info.recovered}, ${got} events (last ${last})`);
  return ms;
}

// A subscribed client cut by the proxy while N events are emitted; timed
// from the re-sent sub to the re-ready.
async function reconnect(proxy, emitter, f, from) {
  let subAt = 0;
  class Timed extends WebSocket {
    send(data, ...rest) {
      if (data.includes('"since"')) subAt = now();
      return super.send(data, ...rest);
    }
  }
  const vent = new VentClient(proxy.url(), {
    WebSocket: Timed, networkEvents: false, reconnect: { initialMs: 10, maxMs: 10, jitter: 0 },
  });
  const h = vent.subscribe('feed', { f });
  let got = 0;
  h.listen(() => { got++; });
  await h.whenReady(20000);
  const down = new Promise((resolve) => { const off = vent.on('status', (s) => { if (!s.connected) { off(); resolve(); } }); });
  proxy.block();
  await down;
  await emitN(emitter, `feed::${f}`, from, N);
  const d = deadline(120000, 'reconnect');
  const ready = new Promise((resolve) => h.on('ready', resolve));
  proxy.release();
  const info = await Promise.race([ready, d.p]);
  const ms = now() - subAt;
  d.clear();
  vent.close();
  if (info.recovered !== true || got !== N) throw new Error(`reconnect: recovered ${info.recovered}, ${got} events`);
  return ms;
}

const redis = await stack.startRedis();
const server = await stack.startVentServer({ redis, extraArgs: ['--config', config] });
const bridge = await startBridge({ redis, config });
const proxy = await CutProxy.start(bridge.port);
const emitter = new EmitClient(server.grpcAddress);
const rates = { baseline: [], client: [], reconnect: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    const f = `bench${process.pid}r${round}`;
    const channel = `feed::${f}`;
    await emitN(emitter, channel, 0, 1); // the channel's epoch and position P
    const probe = new VentClient(bridge.url(), { WebSocket, networkEvents: false });
    const ph = probe.subscribe('feed', { f });
    await ph.whenReady(20000);
    const position = ph.position();
    probe.close();
    await emitN(emitter, channel, 1, N);
    const since = position.map((p) => [p.channel, p.offset, p.epoch]);
    // Alternate the order so that neither side always runs on a warmer cache.
    const order = round % 2 ? ['client', 'baseline'] : ['baseline', 'client'];
    const ms = {};
    for (const which of order) {
      ms[which] = which === 'baseline' ? await baseline(bridge.url(), f, since) : await client(bridge.url(), f, position);
    }
    ms.reconnect = await reconnect(proxy, emitter, `${f}x`, 0);
    for (const k of Object.keys(rates)) rates[k].push(N / (ms[k] / 1000));
    console.log(`round ${round + 1}: baseline ${Math.round(N / ms.baseline * 1000)} ev/s (${ms.baseline.toFixed(0)} ms), ` +
        `client ${Math.round(N / ms.client * 1000)} ev/s (${ms.client.toFixed(0)} ms), ` +
        `reconnect ${Math.round(N / ms.reconnect * 1000)} ev/s (${ms.reconnect.toFixed(0)} ms)`);
  }
  const m = Object.fromEntries(Object.entries(rates).map(([k, v]) => [k, median(v)]));
  console.log(`\n${N} events of ~${PAYLOAD} bytes, median of ${ROUNDS} rounds:`);
  console.log(`  baseline (raw socket, count frames)  ${Math.round(m.baseline)} events/s`);
  console.log(`  vent-client subscribeFrom()          ${Math.round(m.client)} events/s   ${(m.client / m.baseline).toFixed(2)}x baseline`);
  console.log(`  vent-client reconnect (proxy cut)    ${Math.round(m.reconnect)} events/s   ${(m.reconnect / m.baseline).toFixed(2)}x baseline`);
} finally {
  emitter.close();
  await proxy.close();
  await bridge.proc.stop();
  await server.stop();
  await redis.stop();
}
