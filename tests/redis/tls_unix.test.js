'use strict';
// Both binaries on a managed-style Redis: rediss:// with a private CA
// (--redis-tls-ca), mutual TLS (--redis-tls-cert/--redis-tls-key), an
// untrusted certificate (clear log line, not ready), a TLS Redis restart, and
// unix:// — each with a real redis-server, vent-server, vent-bridge and a
// Meteor-like DDP client; events go gRPC Emit -> Redis -> bridge -> client.

const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, describe, test} = require('node:test');

const {startBridgeEnv} = require('../../bridge/e2e/lib/bridge.js');
const {MeteorClient} = require('../../bridge/e2e/lib/meteor_client.js');
const stack = require('../js/lib/stack.js');
const {healthCheck} = require('../js/lib/grpc_health.js');
const {startTopology} = require('../js/lib/redis_topology.js');

const {VentClient} = require(path.join(__dirname, '..', '..', 'clients', 'node', 'vent-client.js'));

const cleanups = [];
after(async () => {
  for (const f of cleanups.reverse()) await f();
});

// A fresh folder for vent-test-redis's PKI (removed at the end).
function pkiDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-tls-e2e-'));
  cleanups.push(() => fs.rmSync(dir, {recursive: true, force: true}));
  return dir;
}

async function ddpClient(env) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
  cleanups.push(() => c.close());
  await c.connect();
  return c;
}

// bridge + server on `redis` ({url, port}: port is the plain control port),
// both with `args`; resolves {env, server, vent}.
async function stackOn(redis, args) {
  const env = await startBridgeEnv({redis, bridgeArgs: args});
  cleanups.push(() => env.stop());
  const server = await stack.startVentServer({redis, extraArgs: args});
  cleanups.push(() => server.stop());
  const vent = new VentClient(server.grpcAddress);
  cleanups.push(() => vent.close());
  return {env, server, vent};
}

async function emitReachesClient({env, vent}, tag) {
  const c = await ddpClient(env);
  const ch = `threads::${tag}::new_message`;
  const sub = c.subscribe('threadMessage', [{threadId: tag}]);
  await sub.ready();
  const res = await vent.emit(ch, {tag});
  assert.equal(res.receivers, 1);
  const ev = await sub.waitEvents(1);
  assert.deepEqual(ev[0], {tag});
  return {c, sub, ch};
}

// Starts `bin` expecting it NOT to become ready: waits for its listen port,
// then for `line` in its log.
async function startUnready(bin, args, port, line) {
  const p = await stack.startProcess(stack.binPath(bin), args, {readyPort: port});
  cleanups.push(() => p.stop());
  await stack.waitFor(() => p.stderr().includes(line),
      {timeoutMs: 10000, what: `${bin} logs "${line}"`});
  return p;
}

describe('rediss://', () => {
  test('with --redis-tls-ca: Emit -> bridge -> DDP client; restart of the TLS Redis', async () => {
    const dir = pkiDir();
    const topo = await startTopology('single', ['--tls', dir]);
    cleanups.push(() => topo.stop());
    const node = topo.nodes[0];
    const ca = `${dir}/ca.pem`;
    const redis = {url: `rediss://127.0.0.1:${node.tls_port}`, port: node.port};
    const s = await stackOn(redis, ['--redis-tls-ca', ca]);
    const {sub, ch} = await emitReachesClient(s, `tls${process.pid}`);

    await topo.command('restart', node.port);
    await stack.waitFor(async () => (await s.env.http('/healthz')).status === 200 &&
        (await s.server.healthz()).status === 200,
    {timeoutMs: 20000, what: 'both binaries ready again after the restart'});
    let n = 0;
    await stack.waitFor(async () => {
      if (sub.events.length > 1) return true;
      await s.vent.emit(ch, {resumed: ++n}).catch(() => {});
      return sub.events.length > 1;
    }, {timeoutMs: 20000, intervalMs: 100, what: 'events resume on the same subscription'});
  });

  test('an untrusted certificate: one clear log line, not ready', async () => {
    const dir = pkiDir();
    const topo = await startTopology('single', ['--tls', dir]);
    cleanups.push(() => topo.stop());
    const node = topo.nodes[0];
    const url = `rediss://127.0.0.1:${node.tls_port}`;
    const port = await stack.freePort();
    const bridge = await startUnready('vent-bridge',
        ['--listen', `127.0.0.1:${port}`, '--redis', url, '--redis-tls-ca', `${dir}/other-ca.pem`],
        port, 'certificate verify failed');
    const line = bridge.stderr().split('\n').find((l) => l.includes('certificate verify failed'));
    assert.match(line, /level=warn msg="redis connect failed"/);
    assert.ok(line.includes(`127.0.0.1:${node.tls_port}`), line);
    const r = await stack.httpGet(`http://127.0.0.1:${port}/healthz`);
    assert.equal(r.status, 503);

    const grpcPort = await stack.freePort();
    const server = await startUnready('vent-server',
        ['--listen', `127.0.0.1:${grpcPort}`, '--metrics-listen', '', '--http-listen', '', '--redis', url,
          '--redis-tls-ca', `${dir}/other-ca.pem`],
        grpcPort, 'certificate verify failed');
    assert.equal(await healthCheck(`127.0.0.1:${grpcPort}`), 'NOT_SERVING');
    const vent = new VentClient(`127.0.0.1:${grpcPort}`);
    cleanups.push(() => vent.close());
    await assert.rejects(vent.emit('x', {a: 1}), (e) => e.code === 14); // UNAVAILABLE
    assert.ok(server.isRunning());
  });

  test('mutual TLS: without a client certificate refused, with one works', async () => {
    const dir = pkiDir();
    const topo = await startTopology('single', ['--tls', dir, '--tls-auth-clients']);
    cleanups.push(() => topo.stop());
    const node = topo.nodes[0];
    const url = `rediss://127.0.0.1:${node.tls_port}`;
    const port = await stack.freePort();
    const bridge = await startUnready('vent-bridge',
        ['--listen', `127.0.0.1:${port}`, '--redis', url, '--redis-tls-ca', `${dir}/ca.pem`],
        port, 'redis connect failed');
    assert.match(bridge.stderr(), /TLS|certificate/);
    assert.equal((await stack.httpGet(`http://127.0.0.1:${port}/healthz`)).status, 503);

    const redis = {url, port: node.port};
    const s = await stackOn(redis, ['--redis-tls-ca', `${dir}/ca.pem`,
      '--redis-tls-cert', `${dir}/client.pem`, '--redis-tls-key', `${dir}/client.key`]);
    await emitReachesClient(s, `mtls${process.pid}`);
  });

  test('bad TLS flags fail at startup naming the flag', async () => {
    for (const [args, want] of [
      [['--redis', 'redis://127.0.0.1:1', '--redis-tls-ca', '/x.pem'], /need a TLS URL/],
      [['--redis', 'rediss://127.0.0.1:1', '--redis-tls-ca', '/nonexistent.pem'], /nonexistent\.pem/],
      [['--redis', 'rediss://127.0.0.1:1', '--redis-tls-cert', '/c.pem'], /go together/],
    ]) {
      for (const bin of ['vent-bridge', 'vent-server']) {
        const r = childProcess.spawnSync(stack.binPath(bin), args, {timeout: 10000});
        assert.notEqual(r.status, 0, `${bin} ${args.join(' ')}`);
        assert.match(r.stderr.toString(), want, `${bin} ${args.join(' ')}`);
      }
    }
  });
});

describe('unix://', () => {
  test('both binaries over a Unix socket', async () => {
    const topo = await startTopology('single', ['--unix']);
    cleanups.push(() => topo.stop());
    const node = topo.nodes[0];
    const redis = {url: `unix://${node.unix}?db=1`, port: node.port};
    const s = await stackOn(redis, []);
    const c = await ddpClient(s.env);
    const tag = `unix${process.pid}`;
    const sub = c.subscribe('threadMessage', [{threadId: tag}]);
    await sub.ready();
    await s.vent.emit(`threads::${tag}::new_message`, {over: 'unix'});
    assert.deepEqual((await sub.waitEvents(1))[0], {over: 'unix'});
    const clients = await stack.redisCli(node.port, ['CLIENT', 'LIST']);
    assert.match(clients, /addr=\/.*redis\.sock/);
  });
});
