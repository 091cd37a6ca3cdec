'use strict';
// Operator ergonomics, end to end with the real binaries:
//  - `--version` on vent-server, vent-bridge, vent and vent-bench;
//  - `vent config check` on the shipped config/vent.yaml and on broken files;
//  - vent-server and vent-bridge both accept config/vent.yaml;
//  - `--print-config`: sources, redaction, per-binary env names, warnings for
//    pre-0.2 / unknown VENT_* names;
//  - `--log-format json`: every stderr line of a running vent-bridge is JSON;
//  - `vent token`: a token it mints logs a DDP client into a real vent-bridge
//    (connect-time ?token=), and one signed with another secret is refused.
//   VENT_BIN_DIR=build/bin node --test clients/cli/tools.test.js

const {describe, it} = require('node:test');
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const stack = require('../../tests/js/lib/stack');
const {startBridgeEnv} = require('../../bridge/e2e/lib/bridge.js');
const {MeteorClient} = require('../../bridge/e2e/lib/meteor_client.js');

const ROOT = path.resolve(__dirname, '..', '..');
const VERSION = /project\(vent VERSION ([0-9.]+)/.exec(fs.readFileSync(path.join(ROOT, 'CMakeLists.txt'), 'utf8'))[1];
const CONFIG = path.join(ROOT, 'config', 'vent.yaml');

// Runs a binary with only the given VENT_* variables (the test's own are dropped).
function run(bin, args, env = {}) {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VENT_')));
  return childProcess.spawnSync(stack.binPath(bin), args, {env: {...clean, ...env}, encoding: 'utf8', timeout: 30000});
}

function tempFile(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-tools-'));
  const file = path.join(dir, 'vent.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('versions', () => {
  it('every binary prints "<name> <project version>"', () => {
    for (const bin of ['vent-server', 'vent-bridge', 'vent', 'vent-bench']) {
      const r = run(bin, ['--version']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${bin} ${VERSION}\n`);
    }
  });
});

describe('vent config check', () => {
  it('accepts the shipped config and prints what each publication resolves to', () => {
    const r = run('vent', ['config', 'check', CONFIG]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /valid for vent-server \(gRPC 127\.0\.0\.1:50051\) and vent-bridge \(HTTP 127\.0\.0\.1:3000\)/);
    assert.match(r.stdout, /threadMessage {2}auth: public\n {4}params: {3}threadId \(string \^\[A-Za-z0-9_-\]\{1,64\}\$\)\n {4}channels: threads::\{threadId\}::new_message\n {4}sends: {4}only the fields message/);
    assert.match(r.stdout, /paymentStatus/);
  });

  it('refuses broken files with exit 3, naming the program, key and line', () => {
    const cases = [
      ['redis: redis://x:1\nbridge:\n  listen: a:1\n  statc-dir: x\n', /invalid for vent-bridge: .*\(bridge: line 4\): unknown key "statc-dir"/],
      ['redis: redis://x:1\nmax-inflihgt: 3\n', /invalid for vent-server: .*\(line 2\): unknown key "max-inflihgt"/],
      ['server:\n  max-payload: lots\n', /invalid for vent-server: option max-payload .*line 2.*not a size/],
      ['publications:\n  p: {channels: ["a::{x}"], auth: public}\n', /invalid publications: publications\.p \(line 2\).*undeclared param/],
      ['publications:\n  p: {channels: [a]}\n', /invalid publications: publications\.p\.auth/],
    ];
    for (const [text, re] of cases) {
      const r = run('vent', ['config', 'check', tempFile(text)]);
      assert.equal(r.status, 3, `${text}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(run('vent', ['config', 'check']).status, 2);
  });
});

describe('one config file and one environment for both binaries', () => {
  it('vent-server and vent-bridge both read config/vent.yaml, each its own section', () => {
    const s = run('vent-server', ['--config', CONFIG, '--print-config']);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, new RegExp(`^# vent-server ${VERSION.replace(/\./g, '\\.')}: configuration in effect`));
    assert.match(s.stdout, /^listen: "127\.0\.0\.1:50051" {2}# .*vent\.yaml line \d+$/m);
    const b = run('vent-bridge', ['--config', CONFIG, '--print-config']);
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /^listen: "127\.0\.0\.1:3000" {2}# .*vent\.yaml line \d+$/m);
    assert.match(b.stdout, /^publications:\n {2}threadMessage:/m);
  });

  it('--print-config shows sources, redacts secrets, warns about old and unknown names', () => {
    const env = {
      VENT_REDIS: 'redis://:sekrit@10.0.0.1:6379/2',
      VENT_BRIDGE_LISTEN: '0.0.0.0:3100',
      VENT_SERVER_LISTEN: '0.0.0.0:50052', // vent-server's: no effect, no warning
      VENT_BRIDGE_JWT_HS256_SECRET: 'hunter2',
      VENT_MAX_MESSAGE: '1MiB', // pre-0.2 name
      VENT_BRIDGE_WORKRES: '4', // typo
      VENT_SERVER: '127.0.0.1:50051', // the clients' address: no warning
    };
    const b = run('vent-bridge', ['--config', CONFIG, '--print-config', '--max-subscriptions', '7'], env);
    assert.equal(b.status, 0, b.stderr);
    const out = b.stdout;
    assert.match(out, /^listen: "0\.0\.0\.0:3100" {2}# \$VENT_BRIDGE_LISTEN$/m);
    assert.match(out, /^redis: "redis:\/\/:REDACTED@10\.0\.0\.1:6379\/2" {2}# \$VENT_REDIS$/m);
    assert.match(out, /^max-subscriptions: 7 {2}# --max-subscriptions$/m);
    assert.match(out, /^max-message: 64KiB {2}# default$/m);
    assert.match(out, /^# jwt-hs256-secret: \(set, redacted\) {2}# \$VENT_BRIDGE_JWT_HS256_SECRET$/m);
    assert.doesNotMatch(out, /hunter2|sekrit/);
    assert.match(out, /^# warning: environment variable VENT_MAX_MESSAGE is ignored: vent-bridge reads VENT_BRIDGE_MAX_MESSAGE/m);
    assert.match(out, /^# warning: environment variable VENT_BRIDGE_WORKRES is ignored: not an option of vent-bridge/m);
    assert.equal((out.match(/# warning:/g) || []).length, 2, out);
    // The same environment, read by vent-server: its own names only.
    const s = run('vent-server', ['--print-config'], env);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /^listen: "0\.0\.0\.0:50052" {2}# \$VENT_SERVER_LISTEN$/m);
    assert.match(s.stdout, /^max-message: 16MiB {2}# default$/m);
    assert.match(s.stdout, /^# warning: environment variable VENT_MAX_MESSAGE is ignored: vent-server reads VENT_SERVER_MAX_MESSAGE/m);
    // The printed file reads back to the same configuration (the redacted
    // secret excepted: it is a comment, so it reads back unset).
    const again = run('vent-bridge', ['--config', tempFile(out), '--print-config']);
    assert.equal(again.status, 0, again.stderr);
    const values = (t) => t.split('\n').filter((l) => /^[a-z]/.test(l) && !l.startsWith('jwt-hs256-secret:'))
        .map((l) => l.replace(/ {2}#.*$/, ''));
    assert.deepEqual(values(again.stdout), values(out));
  });
});

describe('--log-format json', () => {
  it('a running vent-bridge writes one JSON object per stderr line, warnings included', async () => {
    const redis = await stack.startRedis();
    const port = await stack.freePort();
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VENT_')));
    const child = childProcess.spawn(stack.binPath('vent-bridge'),
        ['--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--config', CONFIG],
        {env: {...clean, VENT_LOG_FORMAT: 'json', VENT_LISTEN: 'x'}, stdio: ['ignore', 'ignore', 'pipe']});
    let err = '';
    child.stderr.on('data', (c) => { err += c; });
    const closed = new Promise((resolve) => child.once('close', resolve));
    try {
      await stack.waitFor(async () => (await stack.httpGet(`http://127.0.0.1:${port}/healthz`)).status === 200,
          {timeoutMs: 20000, what: 'vent-bridge /healthz'});
    } finally {
      child.kill('SIGTERM');
      await closed;
      await redis.stop();
    }
    const lines = err.trim().split('\n');
    assert.ok(lines.length >= 3, err);
    const objs = lines.map((l) => JSON.parse(l));
    for (const o of objs) {
      assert.equal(typeof o.ts, 'string');
      assert.ok(['debug', 'info', 'warn', 'error'].includes(o.level), JSON.stringify(o));
      assert.equal(typeof o.msg, 'string');
    }
    const warn = objs.find((o) => o.level === 'warn' && /VENT_LISTEN/.test(o.warning || ''));
    assert.ok(warn, err);
    assert.match(warn.warning, /vent-bridge reads VENT_BRIDGE_LISTEN/);
    const listening = objs.find((o) => o.msg === 'vent-bridge listening');
    assert.ok(listening, err);
    assert.equal(listening.addr, `127.0.0.1:${port}`);
    assert.equal(listening.tls, false); // booleans stay booleans
    assert.equal(typeof listening.workers, 'number');
  });
});

describe('vent token', () => {
  it('mints a token a real vent-bridge accepts; another secret is refused', async () => {
    const secret = 'tools-test-secret';
    const config = `
publications:
  mine:
    channels: ["users::{userId}::events"]
    auth: user
`;
    const env = await startBridgeEnv({config, bridgeArgs: ['--jwt-hs256-secret', secret]});
    try {
      const t = run('vent', ['token', '--secret', secret, '--user', 'u42', '--ttl', '5m']);
      assert.equal(t.status, 0, t.stderr);
      const token = t.stdout.trim();
      const [h, p] = token.split('.').slice(0, 2).map((x) => JSON.parse(Buffer.from(x, 'base64url').toString()));
      assert.deepEqual(h, {alg: 'HS256', typ: 'JWT'});
      assert.equal(p.sub, 'u42');
      assert.equal(p.exp - p.iat, 300);
      const c = new MeteorClient(env.wsUrl(`/websocket?token=${token}`));
      try {
        await c.connect();
        const sub = c.subscribe('mine', []);
        await sub.ready();
        assert.equal(await env.publish('users::u42::events', '{"for":"u42"}'), 1);
        await sub.waitEvents(1);
      } finally {
        c.close();
      }
      // The secret from the bridge's own variable; a wrong one is refused (401).
      const bad = run('vent', ['token', '--user', 'u42'], {VENT_BRIDGE_JWT_HS256_SECRET: 'wrong'});
      assert.equal(bad.status, 0, bad.stderr);
      const c2 = new MeteorClient(env.wsUrl(`/websocket?token=${bad.stdout.trim()}`));
      await assert.rejects(c2.connect(), /unexpected HTTP 401/);
      c2.close();
      assert.equal(run('vent', ['token', '--user', 'u42']).status, 2); // no secret
    } finally {
      await env.stop();
    }
  });
});
