'use strict';
// Bad input and faults (issue 11), against the real binaries: each gives one
// clear log line naming the address and the cause (not one per retry), a
// not-ready health status, retries with capped exponential backoff, and
// never a crash or a busy loop. Startup errors (unknown scheme, missing
// master name) stop the binary with a message naming the problem.
//
// After the first log line of a fault, each case watches the process for a
// 3 s window: the cause is not logged again (the backoff makes ~5 attempts
// in that time; every one used to log), the process stays alive and not
// ready, and uses little CPU (a busy loop would use the whole window).

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const {after, describe, test} = require('node:test');

const stack = require('../js/lib/stack.js');
const {startTopology} = require('../js/lib/redis_topology.js');

const WINDOW_MS = 3000;
const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const matching = (text, needle) => text.split('\n').filter((l) => l.includes(needle));
// Lines with `needle`, and how many distinct (connection role, cause) pairs
// they carry (vent-server has a publisher and a subscriber: one line each).
const causes = (text, needle) => {
  const lines = matching(text, needle);
  const key = (l) => `${(l.match(/role=\S+/) || [''])[0]} ${l.replace(/^.*error=/, '')}`;
  return {lines: lines.length, distinct: new Set(lines.map(key)).size};
};

// Starts `bin` on `url` (+args), waits for `cause` in its log, then watches
// it for WINDOW_MS. Returns {proc, line}.
async function watchFault(bin, url, cause, args = []) {
  const port = await stack.freePort();
  const listen = bin === 'vent-bridge' ?
    ['--listen', `127.0.0.1:${port}`] :
    ['--listen', `127.0.0.1:${await stack.freePort()}`, '--metrics-listen', `127.0.0.1:${port}`,
      '--http-listen', ''];
  const proc = await stack.startProcess(stack.binPath(bin), [...listen, '--redis', url, ...args],
      {readyPort: port});
  cleanups.push(() => proc.stop());
  await stack.waitFor(() => proc.stderr().includes(cause),
      {timeoutMs: 15000, what: `${bin} logs "${cause}"`});
  const line = proc.stderr().split('\n').find((l) => l.includes(cause));
  const cpu0 = cpuSeconds(proc.pid);
  await new Promise((r) => setTimeout(r, WINDOW_MS)); // the observation window
  const cpu = cpuSeconds(proc.pid) - cpu0;
  assert.ok(proc.isRunning(), `${bin} exited:\n${proc.stderr()}`);
  // Each distinct cause once (a peer that hangs up shows as EOF or as RST,
  // depending on timing: two causes, each logged once).
  const c = causes(proc.stderr(), cause);
  assert.equal(c.lines, c.distinct, `a cause was logged twice within ${WINDOW_MS} ms:\n${proc.stderr()}`);
  assert.ok(c.lines <= 4, `${c.lines} causes logged:\n${proc.stderr()}`);
  assert.ok(cpu < 0.5, `${bin} used ${cpu} CPU-s in ${WINDOW_MS} ms (busy loop?)`);
  const r = await stack.httpGet(`http://127.0.0.1:${port}/readyz`);
  assert.equal(r.status, 503, `${bin} /readyz`);
  assert.match(line, /level=warn/);
  return {proc, line};
}

// A TCP server that accepts and closes at once; counts connections.
async function slammingServer() {
  let n = 0;
  const srv = net.createServer((s) => { n++; s.destroy(); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => srv.close(r)));
  return {port: srv.address().port, connections: () => n};
}

describe('startup errors', () => {
  for (const [url, want] of [
    ['http://127.0.0.1:6379', /unknown scheme "http"/],
    ['redis-sentinel://127.0.0.1:26379', /missing master name/],
    ['redis-cluster://127.0.0.1:7000/2', /only database 0/],
    ['redis://a:1,b:2', /redis-sentinel:\/\/ or redis-cluster:\/\//],
  ]) {
    test(`${url} is refused at startup`, () => {
      for (const bin of ['vent-bridge', 'vent-server']) {
        const r = childProcess.spawnSync(stack.binPath(bin), ['--redis', url], {timeout: 10000});
        assert.equal(r.status, 2, `${bin} ${url}: exit ${r.status}`);
        assert.match(r.stderr.toString(), want);
      }
    });
  }
});

describe('faults at run time', () => {
  test('unreachable cluster seeds (both binaries)', async () => {
    const [a, b] = [await stack.freePort(), await stack.freePort()];
    const url = `redis-cluster://127.0.0.1:${a},127.0.0.1:${b}`;
    for (const bin of ['vent-bridge', 'vent-server']) {
      const {line} = await watchFault(bin, url, 'no cluster node answered', ['--redis-pubsub', 'sharded']);
      assert.ok(line.includes(`127.0.0.1:${a}`) && line.includes(`127.0.0.1:${b}`), line);
      assert.match(line, /Connection refused/);
    }
  });

  test('a seed that accepts and hangs up: backoff, not a busy loop', async () => {
    const srv = await slammingServer();
    await watchFault('vent-bridge', `redis-cluster://127.0.0.1:${srv.port}`, 'no cluster node answered',
        ['--redis-pubsub', 'sharded']);
    // 100 ms doubling, capped at 5 s: about 6 attempts in the first ~4 s.
    assert.ok(srv.connections() >= 2 && srv.connections() <= 12, `${srv.connections()} connections`);
  });

  test('a cluster without full slot coverage', async () => {
    const topo = await startTopology('single', ['--', '--cluster-enabled', 'yes',
      '--cluster-config-file', 'nodes.conf']);
    cleanups.push(() => topo.stop());
    const port = topo.nodes[0].port;
    await stack.redisCli(port, ['CLUSTER', 'ADDSLOTSRANGE', '0', '9999']);
    const {line} = await watchFault('vent-bridge', `redis-cluster://127.0.0.1:${port}`,
        'slots without a master', ['--redis-pubsub', 'sharded']);
    assert.match(line, new RegExp(`from 127\\.0\\.0\\.1:${port}\\) leaves 6384 of 16384 slots`));
  });

  test('a Sentinel that names a master refusing connections; an unknown master name', async () => {
    const topo = await startTopology('sentinel');
    cleanups.push(() => topo.stop());
    const master = (await topo.command('master-port')).port;
    const {line} = await watchFault('vent-bridge', topo.url.replace(/\/mymaster$/, '/nosuch'),
        'knows no master named');
    assert.match(line, /nosuch/);
    assert.ok(line.includes(`127.0.0.1:${topo.sentinels[0].port}`), line);
    for (const n of topo.nodes) await topo.command('kill', n.port);
    const r = await watchFault('vent-server', topo.url, `cannot connect to 127.0.0.1:${master}`);
    assert.match(r.line, /Connection refused/);
  });

  test('an unreachable Sentinel', async () => {
    const p = await stack.freePort();
    const {line} = await watchFault('vent-bridge', `redis-sentinel://127.0.0.1:${p}/mymaster`,
        'no Sentinel gave the address');
    assert.ok(line.includes(`127.0.0.1:${p}`), line);
  });

  test('a wrong password', async () => {
    const topo = await startTopology('single', ['--', '--requirepass', 's3cret']);
    cleanups.push(() => topo.stop());
    const port = topo.nodes[0].port;
    for (const bin of ['vent-bridge', 'vent-server']) {
      const {line} = await watchFault(bin, `redis://:wrong@127.0.0.1:${port}`, 'WRONGPASS');
      assert.ok(line.includes(`AUTH at 127.0.0.1:${port}`), line);
      assert.ok(!line.includes('wrong'), 'the password is never logged');
    }
  });

  test('a TLS error (untrusted certificate)', async () => {
    const dir = fs.mkdtempSync(`${require('node:os').tmpdir()}/vent-faults-`);
    cleanups.push(() => fs.rmSync(dir, {recursive: true, force: true}));
    const topo = await startTopology('single', ['--tls', dir]);
    cleanups.push(() => topo.stop());
    const port = topo.nodes[0].tls_port;
    const {line} = await watchFault('vent-bridge', `rediss://127.0.0.1:${port}`,
        'certificate verify failed', ['--redis-tls-ca', `${dir}/other-ca.pem`]);
    assert.ok(line.includes(`127.0.0.1:${port}`), line);
  });
});
