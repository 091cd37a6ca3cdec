'use strict';
// Redis topologies for the JS integration tests, started by the
// `vent-test-redis` tool (vent/testing/test_redis_main.cc: the same fixtures
// the C++ tests use): a single server with TLS and/or a Unix socket, a
// Cluster (3 masters + 3 replicas by default), or a Sentinel set (master,
// replica, 3 Sentinels). The tool prints the topology as JSON and then takes
// commands on stdin; it kills every process when stdin closes, which also
// happens when this Node process exits for any reason.
//
//   const c = await startTopology('cluster');
//   c.url                          'redis-cluster://127.0.0.1:P1,...'
//   c.nodes                        [{port, pid, tls_port, unix, dir}]
//   await c.command('kill', port)  {ok: true, ...} (throws on ok: false)
//   await c.masterOf(slot)         port of the master serving slot
//   await c.stop()

const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const stack = require('./stack.js');

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGTERM'); } catch (_) { /* gone */ }
  }
});

async function startTopology(kind, args = [], {timeoutMs = 60000} = {}) {
  const child = childProcess.spawn(stack.binPath('vent-test-redis'), [kind, ...args],
      {stdio: ['pipe', 'pipe', 'pipe']});
  live.add(child);
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c.toString(); });
  const lines = readline.createInterface({input: child.stdout});
  const queue = [];
  const waiters = [];
  lines.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l); else queue.push(l);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
    for (const w of waiters.splice(0)) w(null);
  });
  const nextLine = (ms) => new Promise((resolve, reject) => {
    if (queue.length) return resolve(queue.shift());
    if (exited) return reject(new Error(`vent-test-redis exited: ${stderr}`));
    const timer = setTimeout(() => reject(new Error(`vent-test-redis: no answer in ${ms} ms`)), ms);
    waiters.push((l) => {
      clearTimeout(timer);
      if (l === null) reject(new Error(`vent-test-redis exited: ${stderr}`)); else resolve(l);
    });
  });
  const info = JSON.parse(await nextLine(timeoutMs));
  let busy = Promise.resolve();
  const topo = {
    ...info,
    child,
    stderr: () => stderr,
    // Sends one command; resolves its JSON answer (commands run in order).
    command(...words) {
      const run = busy.then(async () => {
        child.stdin.write(`${words.join(' ')}\n`);
        const r = JSON.parse(await nextLine(60000));
        if (!r.ok) throw new Error(`vent-test-redis ${words.join(' ')}: ${r.error}`);
        return r;
      });
      busy = run.catch(() => {});
      return run;
    },
    async masterOf(slot) { return (await topo.command('master-of', slot)).port; },
    async waitNewMaster(...a) { return (await topo.command('wait-new-master', ...a)).port; },
    async stop() {
      if (exited) return;
      child.stdin.end();
      await new Promise((r) => child.once('exit', r));
    },
  };
  return topo;
}

// A PKI (CA, server and client certificates, an unrelated CA) in a temp dir.
function makePki() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-pki-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const out = childProcess.execFileSync(stack.binPath('vent-test-redis'), ['pki', dir]);
  return {dir, ...JSON.parse(out.toString())};
}

// CRC16/XMODEM of the key (or of its first non-empty {hash tag}) mod 16384:
// the Redis Cluster slot of a key or sharded channel.
function keySlot(key) {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const b of Buffer.from(key)) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = (crc & 0x8000) ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc & 16383;
}

// The first `prefix + n` (n = 0, 1, ...) whose slot satisfies `pred`.
function nameWithSlot(prefix, pred) {
  for (let n = 0; ; n++) {
    const name = `${prefix}${n}`;
    if (pred(keySlot(name))) return name;
  }
}

module.exports = {keySlot, makePki, nameWithSlot, startTopology};
