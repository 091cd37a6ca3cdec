'use strict';
// Vent on Redis topologies (issue 11). Not a test: prints a table and writes
// bench/results/redis-topologies.json.
//
//   1. fan-out: vent-bench fanout (DDP clients on vent-bridge, events PUBLISHed
//      by vent-bench's Publisher) on one redis-server (the baseline) and on a
//      3-master + 3-replica Cluster in classic and in sharded mode: delivered
//      events/s, loss, latency, bridge CPU per million deliveries and Redis
//      CPU (all nodes, /proc) per 1,000 published events. Two loads: a paced
//      one (RATE events/s) and "as fast as possible" (rate 0).
//   2. failover gap, as a DDP client sees it: events emitted through
//      vent-server every 5 ms with a sequence number; the master serving the
//      channel is SIGKILLed; gap = first event received after the kill minus
//      the last one before it (Cluster sharded, Cluster classic, Sentinel).
//      Emits refused with UNAVAILABLE during the gap are counted.
// Everything runs on this machine (2 shared cores for Redis x6, the bridge,
// vent-server and the load generator): compare ratios within one run.
//
//   VENT_BIN_DIR=build/bin NODE_PATH=node_modules node bench/redis_topologies.js \
//     [--rate 5000] [--clients 1000] [--channels 100] [--seconds 10] [--repeat 3]
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const stack = require('../tests/js/lib/stack.js');
const {keySlot, startTopology} = require('../tests/js/lib/redis_topology.js');
const {startBridgeEnv} = require('../bridge/e2e/lib/bridge.js');
const {MeteorClient} = require('../bridge/e2e/lib/meteor_client.js');
const {VentClient} = require('../clients/node/vent-client.js');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RATE = arg('rate', 5000);
const CLIENTS = arg('clients', 1000);
const CHANNELS = arg('channels', 100);
const SECONDS = arg('seconds', 10);
const REPEAT = arg('repeat', 3);
const ROOT = path.resolve(__dirname, '..');
const BENCH_CONFIG = path.join(ROOT, 'bench', 'config', 'bench.yaml');

const cpuSeconds = (pid) => {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime (USER_HZ 100)
  } catch (_) {
    return 0; // exited
  }
};
process.setMaxListeners(200); // one exit hook per started process
const sum = (a) => a.reduce((x, y) => x + y, 0);
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

function vb(args) {
  const out = path.join(os.tmpdir(), `vent-bench-${process.pid}-${Date.now()}.json`);
  const r = childProcess.spawnSync(stack.binPath('vent-bench'), [...args, '--json', out, 'fanout'],
      {encoding: 'utf8', timeout: 300000});
  if (r.status !== 0) throw new Error(`vent-bench ${args.join(' ')}: ${r.stderr}`);
  const res = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, {force: true});
  return res;
}

// One fan-out run against `redis` ({url, pids}) with the bridge in `mode`.
// Redis CPU is reported above the nodes' idle CPU (cluster cron, gossip),
// measured for the same time just before.
async function fanout(label, redis, mode, rate, clients) {
  const env = await startBridgeEnv({
    redis: {url: redis.url, port: redis.port}, config: fs.readFileSync(BENCH_CONFIG, 'utf8'),
    bridgeArgs: ['--redis-pubsub', mode], workers: 1,
  });
  try {
    const idle0 = sum(redis.pids.map(cpuSeconds));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, SECONDS * 1000)); // idle sample
    const idlePerS = (sum(redis.pids.map(cpuSeconds)) - idle0) / ((performance.now() - t0) / 1000);
    const cpu0 = sum(redis.pids.map(cpuSeconds));
    const w0 = performance.now();
    const r = vb(['--url', env.wsUrl('/websocket'), '--redis', redis.url, '--redis-pubsub', mode,
      '--clients', String(clients), '--channels', String(CHANNELS), '--rate', String(rate),
      '--duration', `${SECONDS}s`, '--bridge-pid', String(env.bridge.pid), '--label', label]);
    const wall = (performance.now() - w0) / 1000;
    const redisCpu = Math.max(0, sum(redis.pids.map(cpuSeconds)) - cpu0 - idlePerS * wall);
    return {
      label, mode, rate, clients, redis_idle_cpu_per_s: idlePerS, published: r.published, published_per_s: r.published_per_s,
      delivered_per_s: r.delivered_per_s, lost: r.lost, p50_ms: r.latency_us.p50 / 1000,
      p99_ms: r.latency_us.p99 / 1000, bridge_cpu_s_per_million: r.bridge_cpu_s_per_million,
      redis_cpu_s: redisCpu, redis_cpu_ms_per_1000_published: 1e6 * redisCpu / Math.max(1, r.published),
    };
  } finally {
    await env.stop();
  }
}

// The failover gap seen by a DDP client: see the header.
async function gap(kind, mode) {
  const topo = await startTopology(kind === 'sentinel' ? 'sentinel' : 'cluster');
  const done = [];
  try {
    const first = kind === 'sentinel' ? (await topo.command('master-port')).port : topo.nodes[0].port;
    const redis = {url: topo.url, port: first};
    const args = ['--redis-pubsub', mode];
    const env = await startBridgeEnv({redis, bridgeArgs: args});
    done.push(() => env.stop());
    const server = await stack.startVentServer({redis, extraArgs: args});
    done.push(() => server.stop());
    const vent = new VentClient(server.grpcAddress, {deadlineMs: 2000});
    done.push(() => vent.close());
    const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
    await c.connect();
    done.push(() => c.close());
    const t = `gap${process.pid}${Date.now()}`;
    const ch = `threads::${t}::new_message`;
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    const received = []; // receive times (ms)
    const origin = sub.onVent.bind(sub);
    sub.onVent = (raw, msg) => { received.push(performance.now()); origin(raw, msg); };
    let victim;
    if (kind === 'sentinel') {
      victim = first;
    } else if (mode === 'sharded') {
      victim = await topo.masterOf(keySlot(ch));
    } else {
      // Classic: the node the bridge's subscriber is on (the worst case).
      for (const n of topo.nodes) {
        const l = await stack.redisCli(n.port, ['CLIENT', 'LIST', 'TYPE', 'pubsub']);
        if (l.includes('name=vent-bridge ')) victim = n.port;
      }
    }
    let seq = 0;
    let refused = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const next = performance.now() + 5;
        try {
          await vent.emit(ch, {seq: ++seq});
        } catch (e) {
          if (e.code === 14) refused++;
        }
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
    })();
    await stack.waitFor(() => received.length >= 50, {timeoutMs: 10000, what: 'steady events'});
    const killAt = performance.now();
    await topo.command('kill', victim);
    // Redis' own part: until the replacement master is in place.
    const promoted = kind === 'sentinel' ? topo.waitNewMaster(victim) :
      mode === 'sharded' ? topo.waitNewMaster(keySlot(ch), victim) : Promise.resolve(null);
    const promotedAt = await promoted.then((p) => (p ? performance.now() : null));
    await stack.waitFor(() => received.length > 0 && received[received.length - 1] > killAt + 1 &&
        received.filter((x) => x > killAt).length >= 20,
    {timeoutMs: 60000, intervalMs: 20, what: 'events resume'});
    running = false;
    await loop;
    let last = 0;
    let firstAfter = 0;
    for (let i = 1; i < received.length; i++) {
      const g = received[i] - received[i - 1];
      if (received[i] > killAt && g > firstAfter - last) {
        last = received[i - 1];
        firstAfter = received[i];
      }
    }
    return {kind, mode, gap_ms: firstAfter - last, refused, kill_to_resume_ms: firstAfter - killAt,
      kill_to_promoted_ms: promotedAt ? promotedAt - killAt : null};
  } finally {
    for (const f of done.reverse()) await f();
    await topo.stop();
  }
}

async function main() {
  const results = {rate: RATE, clients: CLIENTS, channels: CHANNELS, seconds: SECONDS, fanout: [], gaps: [],
    loadavg_before: os.loadavg()};
  if (!process.argv.includes('--gaps-only')) await fanouts(results);
  await gaps(results);
  results.loadavg_after = os.loadavg();
  const out = path.join(ROOT, 'bench', 'results', process.argv.includes('--gaps-only') ?
    'redis-topologies-gaps.json' : 'redis-topologies.json');
  fs.writeFileSync(out, JSON.stringify(results, null, 1));
  console.log(`\nwrote ${out} (load average before ${results.loadavg_before.map((x) => x.toFixed(1)).join(' ')}, ` +
    `after ${results.loadavg_after.map((x) => x.toFixed(1)).join(' ')})`);
}

async function fanouts(results) {
  // Fan-out: baseline single Redis, then the cluster in both modes.
  const single = await startTopology('single');
  const cluster = await startTopology('cluster');
  try {
    const s = {url: single.url, port: single.nodes[0].port, pids: single.nodes.map((n) => n.pid)};
    const c = {url: cluster.url, port: cluster.nodes[0].port, pids: cluster.nodes.map((n) => n.pid)};
    // Paced: CLIENTS over CHANNELS. As fast as possible: one client per
    // channel, so the publisher and Redis, not the bridge, set the pace.
    for (const [rate, clients] of [[RATE, CLIENTS], [0, CHANNELS]]) {
      const tag = rate ? `${rate}/s` : 'max';
      results.fanout.push(await fanout(`single classic ${tag}`, s, 'classic', rate, clients));
      results.fanout.push(await fanout(`cluster classic ${tag}`, c, 'classic', rate, clients));
      results.fanout.push(await fanout(`cluster sharded ${tag}`, c, 'sharded', rate, clients));
    }
  } finally {
    await single.stop();
    await cluster.stop();
  }
  console.log('\nfan-out (%d clients, %d channels, %d s, 200-byte events)', CLIENTS, CHANNELS, SECONDS);
  console.log('run                         published/s  delivered/s  lost  p50 ms  p99 ms  bridge CPU-s/M  Redis CPU ms/1000 pub (above idle)');
  for (const r of results.fanout) {
    console.log(`${r.label.padEnd(28)}${r.published_per_s.toFixed(0).padStart(11)}  ${r.delivered_per_s.toFixed(0).padStart(11)}  ` +
      `${String(r.lost).padStart(4)}  ${r.p50_ms.toFixed(1).padStart(6)}  ${r.p99_ms.toFixed(1).padStart(6)}  ` +
      `${r.bridge_cpu_s_per_million.toFixed(2).padStart(14)}  ${r.redis_cpu_ms_per_1000_published.toFixed(1).padStart(21)}`);
  }
}

async function gaps(results) {
  for (const [kind, mode] of [['cluster', 'sharded'], ['cluster', 'classic'], ['sentinel', 'classic']]) {
    for (let i = 0; i < REPEAT; i++) results.gaps.push(await gap(kind, mode));
  }
  console.log('\nfailover gap seen by a DDP client (events every 5 ms; %d runs each)', REPEAT);
  for (const [kind, mode] of [['cluster', 'sharded'], ['cluster', 'classic'], ['sentinel', 'classic']]) {
    const g = results.gaps.filter((x) => x.kind === kind && x.mode === mode);
    console.log(`${kind} ${mode}: gap ms ${g.map((x) => x.gap_ms.toFixed(0)).join(', ')} (median ` +
      `${median(g.map((x) => x.gap_ms)).toFixed(0)}); kill -> new master ms ` +
      `${g.map((x) => (x.kill_to_promoted_ms === null ? '-' : x.kill_to_promoted_ms.toFixed(0))).join(', ')}; ` +
      `emits refused UNAVAILABLE ${g.map((x) => x.refused).join(', ')}`);
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
