'use strict';
// The Go module (vent.dev/go) built offline with Debian's Go packages
// (installing them with clients/go/deps.sh when missing: CI runs as root):
// the committed stubs match proto/ (gen.sh --check), `go vet ./...` is clean,
// the unit tests and the vent package's integration test (Emit, EmitBatch,
// EmitStream, Subscribe) pass against the real vent-server, and the example's
// Emit reaches Redis byte for byte.
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, before, describe, test} = require('node:test');

const stack = require(path.join(__dirname, '..', '..', 'tests', 'js', 'lib', 'stack.js'));

function run(cmd, args, {env = {}, timeoutMs = 600000} = {}) {
  return new Promise((resolve, reject) => {
    childProcess.execFile(cmd, args, {env: {...process.env, ...env}, timeout: timeoutMs},
        (err, stdout, stderr) => {
          if (err && typeof err.code !== 'number') reject(err);
          else resolve({code: err ? err.code : 0, stdout, stderr});
        });
  });
}

describe('Go module vent.dev/go (Debian golang-google-grpc-dev, GOPATH mode)', () => {
  let dir;
  let bin;
  let server;
  before(async () => {
    const deps = await run('bash', [path.join(__dirname, 'deps.sh')]);
    assert.equal(deps.code, 0, `deps.sh failed:\n${deps.stderr}`);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-go-'));
    bin = path.join(dir, 'vent-go-example');
    const b = await run('bash', [path.join(__dirname, 'build.sh'), bin]);
    assert.equal(b.code, 0, `build.sh failed:\n${b.stdout}\n${b.stderr}`);
    server = await stack.startVentServer();
  });
  after(async () => {
    if (server) await server.stop();
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  test('committed ventv1 stubs are up to date with proto/', async () => {
    const r = await run('bash', [path.join(__dirname, 'gen.sh'), '--check']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
  });

  test('vent package: unit tests, then Emit/EmitBatch/EmitStream/Subscribe against vent-server', async () => {
    const build = path.join(__dirname, 'build.sh');
    const unit = await run('bash', [build, 'go', 'test', './...']);
    assert.equal(unit.code, 0, `${unit.stdout}\n${unit.stderr}`);
    const it = await run('bash', [build, 'go', 'test', '-count=1', '-v', '-tags', 'integration', './vent'],
        {env: {VENT_SERVER: server.grpcAddress}});
    assert.equal(it.code, 0, `${it.stdout}\n${it.stderr}`);
    assert.match(it.stdout, /--- PASS: TestEmitAndSubscribe/);
  });

  test('Emit reaches Redis byte for byte', async () => {
    const sub = await stack.subscribeRaw(server.redis.port, ['go::chan']);
    const json = '{"from": "go",  "n":[1, 2.50]}';
    const r = await run(bin, ['-server', server.grpcAddress, '-channel', 'go::chan', '-json', json]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^id=[0-9A-Z]{26} receivers=1 duplicate=false\n$/);
    const m = await sub.next();
    assert.equal(m.channel, 'go::chan');
    assert.equal(m.payload.toString(), json);
    sub.close();
  });

  test('Emit from Go reaches a DDP client through vent-bridge (byte-exact Vent frame)', async () => {
    const {startBridgeEnv} = require(path.join(__dirname, '..', '..', 'bridge', 'e2e', 'lib', 'bridge.js'));
    const {MeteorClient} = require(path.join(__dirname, '..', '..', 'bridge', 'e2e', 'lib', 'meteor_client.js'));
    const bridge = await startBridgeEnv({redis: server.redis});
    const c = new MeteorClient(bridge.wsUrl('/websocket'));
    try {
      await c.connect();
      const sub = c.subscribe('threadMessage', [{threadId: 'go1'}]);
      await sub.ready();
      const json = '{"from": "go"}';
      const r = await run(bin, ['-server', server.grpcAddress, '-channel', 'threads::go1::new_message', '-json', json]);
      assert.equal(r.code, 0, r.stderr);
      const frame = await c.take((m) => m.msg === 'changed', {what: 'the Vent frame'});
      assert.equal(frame.raw, `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":${json}}`);
    } finally {
      c.close();
      await bridge.bridge.stop();
      bridge.publisher.close();
    }
  });

  test('server errors come back with code and message', async () => {
    const bad = await run(bin, ['-server', server.grpcAddress, '-channel', 'go::chan', '-json', '{oops']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /emit failed: InvalidArgument: event\.json: not valid JSON/);
    const port = await stack.freePort();
    const down = await run(bin, ['-server', `127.0.0.1:${port}`, '-channel', 'c', '-json', '{}', '-timeout', '3s']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /emit failed: Unavailable: /);
  });
});
