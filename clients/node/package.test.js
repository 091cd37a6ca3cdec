'use strict';
// The npm package "vent-grpc" as a user meets it: `npm pack`, install the
// tarball into an empty folder outside the repository (no NODE_PATH, no
// access to the repo's proto/ or node_modules/), then emit and subscribe from
// there against a real redis-server + vent-server. Also: the package's copy of
// vent.proto and LICENSE are identical to the repository's, and its version is
// the project version (CMakeLists.txt).
//   VENT_BIN_DIR=build/bin node --test clients/node/package.test.js

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const stack = require('../../tests/js/lib/stack');

const HERE = __dirname;
const ROOT = path.resolve(HERE, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(HERE, 'package.json'), 'utf8'));

function run(cmd, args, opts = {}) {
  const r = childProcess.spawnSync(cmd, args, {encoding: 'utf8', timeout: 240000, ...opts});
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status} ${r.signal || ''}\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

// An environment without the repository's module paths.
function cleanEnv(extra = {}) {
  const env = {...process.env, ...extra};
  delete env.NODE_PATH;
  delete env.VENT_PROTO;
  return env;
}

describe('vent-grpc npm package', {timeout: 300000}, () => {
  it('carries the repository proto and LICENSE unchanged', () => {
    for (const [inPkg, inRepo] of [
      ['proto/vent/v1/vent.proto', 'proto/vent/v1/vent.proto'],
      ['LICENSE', 'LICENSE'],
    ]) {
      assert.equal(fs.readFileSync(path.join(HERE, inPkg), 'utf8'),
          fs.readFileSync(path.join(ROOT, inRepo), 'utf8'),
          `clients/node/${inPkg} differs from ${inRepo}: cp ${inRepo} clients/node/${inPkg}`);
    }
  });

  it('has the project version and the fields npm users need', () => {
    const m = /project\(vent VERSION ([0-9.]+)/.exec(fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8'));
    assert.ok(m, 'project(vent VERSION x.y.z) not found in CMakeLists.txt');
    assert.equal(pkg.version, m[1]);
    for (const k of ['name', 'main', 'types', 'engines', 'files', 'license']) assert.ok(pkg[k], k);
    assert.deepEqual(Object.keys(pkg.dependencies).sort(), ['@grpc/grpc-js', '@grpc/proto-loader']);
  });

  describe('installed from its tarball outside the repository', () => {
    let tmp;
    let consumer;
    let vent;
    before(async () => {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-npm-'));
      const packDir = path.join(tmp, 'pack');
      consumer = path.join(tmp, 'app');
      fs.mkdirSync(packDir);
      fs.mkdirSync(consumer);
      const out = run('npm', ['pack', '--json', '--pack-destination', packDir], {cwd: HERE, env: cleanEnv()});
      const [info] = JSON.parse(out);
      const files = info.files.map((f) => f.path).sort();
      assert.deepEqual(files, ['LICENSE', 'README.md', 'index.d.ts', 'package.json',
        'proto/vent/v1/vent.proto', 'vent-client.js']);
      fs.writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({name: 'app', private: true}));
      run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error',
        path.join(packDir, info.filename)], {cwd: consumer, env: cleanEnv()});
      vent = await stack.startVentServer();
    });
    after(async () => {
      if (vent) await vent.stop();
      if (tmp) fs.rmSync(tmp, {recursive: true, force: true});
    });

    it('emits, emits a batch, streams and subscribes from there', async () => {
      const channel = 'pkg::node::events';
      const raw = await stack.subscribeRaw(vent.redis.port, [channel]);
      // The consumer: plain require('vent-grpc'), run from the folder that installed it.
      fs.writeFileSync(path.join(consumer, 'main.js'), `
        const {VentClient, version} = require('vent-grpc');
        const assert = require('node:assert/strict');
        (async () => {
          const vent = new VentClient(process.argv[2]);
          const seen = [];
          let gotEvent;
          const firstEvent = new Promise((resolve) => { gotEvent = resolve; });
          const sub = vent.subscribe([process.argv[3] + '.sub'], (e) => { seen.push(e.json); gotEvent(); });
          await sub.ready;
          const one = await vent.emit(process.argv[3], {n: 1});
          const batch = await vent.emitBatch([[process.argv[3], '{"n": 2}'], {channel: process.argv[3], data: {n: 3}}]);
          const stream = vent.emitStream();
          for (let i = 4; i <= 6; i++) await stream.write(process.argv[3], {n: i});
          const totals = await stream.end();
          await vent.emit(process.argv[3] + '.sub', '{"via":"subscribe"}');
          await firstEvent;
          sub.cancel();
          vent.close();
          console.log(JSON.stringify({version, resolved: require.resolve('vent-grpc'), one, batch, totals, seen}));
        })().catch((e) => { console.error(e); process.exit(1); });
      `);
      const out = run(process.execPath, ['main.js', vent.grpcAddress, channel], {cwd: consumer, env: cleanEnv()});
      const r = JSON.parse(out);
      assert.equal(r.version, pkg.version);
      assert.ok(r.resolved.startsWith(fs.realpathSync(consumer)), `resolved from ${r.resolved}`);
      assert.equal(r.one.receivers, 1);
      assert.equal(r.one.id.length, 26);
      assert.equal(r.batch.length, 2);
      assert.deepEqual(r.totals, {published: 3, receivers: 3});
      assert.deepEqual(r.seen, ['{"via":"subscribe"}']);
      const got = [];
      for (let i = 0; i < 6; i++) got.push((await raw.next({timeoutMs: 10000})).payload.toString());
      assert.deepEqual(got, ['{"n":1}', '{"n": 2}', '{"n":3}', '{"n":4}', '{"n":5}', '{"n":6}']);
      raw.close();
    });

    it('its TypeScript types check a consumer in strict mode', () => {
      fs.writeFileSync(path.join(consumer, 'main.ts'), `
        import {VentClient, status, version, type EmitResult, type Subscription, type StreamResult} from 'vent-grpc';
        const vent = new VentClient('127.0.0.1:1', {apiKey: 'k', deadlineMs: 100, tls: false});
        export async function run(): Promise<number> {
          const r: EmitResult = await vent.emit('c', {a: 1}, {idempotencyKey: 'x'});
          const b: EmitResult[] = await vent.emitBatch([['c', '{}'], {channel: 'c', data: {a: 1}}]);
          const s = vent.emitStream({maxEventsPerMessage: 10});
          await s.write('c', {n: 1});
          const t: StreamResult = await s.end();
          const sub: Subscription = vent.subscribe(['c'], (e) => { const j: string = e.json; void j; });
          await sub.ready;
          sub.cancel();
          vent.close();
          return r.receivers + b.length + t.published + status.UNAVAILABLE + version.length;
        }
        // @ts-expect-error the channel is required
        vent.emit();
        // @ts-expect-error receivers is a number
        export const wrong: Promise<string> = vent.emit('c', 1).then((x) => x.receivers);
      `);
      const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
      const r = childProcess.spawnSync(tsc, ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
        '--moduleResolution', 'nodenext', '--types', 'node', 'main.ts'], {cwd: consumer, encoding: 'utf8', env: cleanEnv()});
      assert.equal(r.status, 0, `tsc:\n${r.stdout}${r.stderr}`);
    });
  });
});
