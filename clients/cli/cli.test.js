'use strict';
// Integration tests of the `vent` CLI (bin/vent) against a private
// redis-server and the real bin/vent-server (tests/js/lib/stack.js).
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const path = require('node:path');
const {after, before, describe, test} = require('node:test');

const stack = require(path.join(__dirname, '..', '..', 'tests', 'js', 'lib', 'stack.js'));

const VENT = stack.binPath('vent');

// Runs bin/vent; resolves {code, stdout, stderr}. `input` is written to stdin.
function run(args, {input = '', env = {}, timeoutMs = 60000} = {}) {
  return new Promise((resolve, reject) => {
    const child = childProcess.spawn(VENT, args, {
      env: {...process.env, VENT_SERVER: '', VENT_API_KEY: '', ...env},
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => { stdout += c; });
    child.stderr.on('data', (c) => { stderr += c; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({code, signal, stdout, stderr});
    });
    child.stdin.on('error', () => {}); // vent may exit before reading everything
    child.stdin.end(input);
  });
}

// Starts `vent listen ...`; resolves once it printed "listening" (the
// subscription is active in Redis). Returns {child, done: Promise<{code, stdout, stderr}>}.
async function startListen(args, env = {}) {
  const child = childProcess.spawn(VENT, ['listen', ...args], {
    env: {...process.env, VENT_API_KEY: '', ...env}, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => { stdout += c; });
  child.stderr.on('data', (c) => { stderr += c; });
  const done = new Promise((resolve) => child.on('close', (code) => resolve({code, stdout, stderr})));
  await stack.waitFor(() => {
    if (child.exitCode !== null) throw new Error(`vent listen exited early: ${stderr}`);
    return stderr.includes('vent: listening on');
  }, {timeoutMs: 15000, what: 'vent listen to be ready'});
  return {child, done, stdout: () => stdout};
}

describe('vent CLI', () => {
  let env;
  let server;
  before(async () => {
    server = await stack.startVentServer();
    env = {VENT_SERVER: server.grpcAddress};
  });
  after(async () => { if (server) await server.stop(); });

  test('emit CHANNEL JSON publishes the exact bytes and prints the result', async () => {
    const sub = await stack.subscribeRaw(server.redis.port, ['cli::one']);
    const json = '{"text": "h\\u00e9llo",  "n":1.50}';
    const r = await run(['emit', 'cli::one', json], {env});
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.id.length, 26);
    assert.equal(out.receivers, 1);
    assert.equal(out.duplicate, false);
    const m = await sub.next();
    assert.equal(m.channel, 'cli::one');
    assert.equal(m.payload.toString('utf8'), json);
    sub.close();
  });

  test('--server and --api-key flags win over the environment', async () => {
    const keyed = await stack.startVentServer({redis: server.redis, extraArgs: ['--api-keys', 'k-1']});
    try {
      const denied = await run(['emit', 'k::a', '{}'], {env: {VENT_SERVER: keyed.grpcAddress}});
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /UNAUTHENTICATED: missing API key/);
      const viaEnv = await run(['emit', 'k::a', '{}'],
          {env: {VENT_SERVER: keyed.grpcAddress, VENT_API_KEY: 'k-1'}});
      assert.equal(viaEnv.code, 0, viaEnv.stderr);
      const viaFlags = await run(['--server', keyed.grpcAddress, 'emit', 'k::a', '{}', '--api-key=k-1'],
          {env: {VENT_SERVER: '127.0.0.1:1'}});
      assert.equal(viaFlags.code, 0, viaFlags.stderr);
      const wrong = await run(['emit', 'k::a', '{}', '--api-key', 'nope'], {env: {VENT_SERVER: keyed.grpcAddress}});
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /UNAUTHENTICATED: unknown API key/);
    } finally {
      await keyed.stop();
    }
  });

  test('stdin: 10,000 lines stream in order; summary on stderr', async () => {
    const sub = await stack.subscribeRaw(server.redis.port, ['cli::bulk']);
    const lines = [];
    for (let i = 0; i < 10000; i++) lines.push(`{"i":${i}}`);
    const r = await run(['emit', 'cli::bulk'], {env, input: `${lines.join('\n')}\n`});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /vent: 10000 events published to cli::bulk in [\d.]+s \(\d+\/s\), 10000 receivers/);
    const got = await sub.take(10000, {timeoutMs: 30000});
    assert.deepEqual(got.map((m) => m.payload.toString()), lines);
    assert.equal(sub.pending(), 0);
    sub.close();
  });

  test('stdin: a long run prints progress lines every second', async () => {
    const sub = await stack.subscribeRaw(server.redis.port, ['cli::slow']);
    const child = childProcess.spawn(VENT, ['emit', 'cli::slow'], {
      env: {...process.env, ...env}, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c) => { stderr += c; });
    const closed = new Promise((resolve) => child.on('close', (code) => resolve(code)));
    child.stdin.write('{"n":1}\n{"n":2}\n{"n":3}\n');
    // stdin stays open: the run is "long"; the progress thread reports it.
    await stack.waitFor(() => /vent: 3 events sent \(\d+\/s\)\n/.test(stderr),
        {timeoutMs: 10000, what: 'a progress line'});
    assert.equal((await sub.take(3)).length, 3);
    child.stdin.end('{"n":4}\n');
    assert.equal(await closed, 0, stderr);
    assert.match(stderr, /vent: 4 events published to cli::slow in [\d.]+s/);
    const q = await run(['emit', '--quiet', 'cli::slow'], {env, input: '1\n2\n'});
    assert.equal(q.code, 0);
    assert.equal(q.stderr, '');
    sub.close();
  });

  test('stdin with --batch: CRLF and blank lines handled, all arrive', async () => {
    const sub = await stack.subscribeRaw(server.redis.port, ['cli::batch']);
    const lines = [];
    for (let i = 0; i < 2500; i++) lines.push(`[${i}]`);
    const input = `${lines.slice(0, 10).join('\r\n')}\r\n\n   \n${lines.slice(10).join('\n')}`;
    const r = await run(['emit', '--batch', '--batch-size', '1000', 'cli::batch'], {env, input});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /2500 events published/);
    const got = await sub.take(2500, {timeoutMs: 30000});
    assert.deepEqual(got.map((m) => m.payload.toString()), lines);
    sub.close();
  });

  for (const mode of [[], ['--batch']]) {
    test(`stdin ${mode.join(' ') || 'stream'}: a bad JSON line exits 3 with its line number`, async () => {
      const sub = await stack.subscribeRaw(server.redis.port, ['cli::bad']);
      const input = '{"a":1}\n\n{"a":2}\n{"a":3}\n{"a": nope}\n{"a":5}\n';
      const r = await run(['emit', ...mode, 'cli::bad'], {env, input});
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /stdin line 5: not valid JSON at offset 6/);
      // Events before the bad line were published; none after it.
      const got = await sub.take(3);
      assert.deepEqual(got.map((m) => m.payload.toString()), ['{"a":1}', '{"a":2}', '{"a":3}']);
      await stack.redisCli(server.redis.port, ['PUBLISH', 'cli::bad', 'marker']);
      assert.equal((await sub.next()).payload.toString(), 'marker');
      sub.close();
    });
  }

  test('invalid input exits 3: bad JSON argument, bad channel, server INVALID_ARGUMENT', async () => {
    const a = await run(['emit', 'c', '{"x":'], {env});
    assert.equal(a.code, 3);
    assert.match(a.stderr, /JSON argument: not valid JSON/);
    const b = await run(['emit', 'bad\nchannel', '{}'], {env});
    assert.equal(b.code, 3);
    assert.match(b.stderr, /control character U\+000A/);
    const big = JSON.stringify({s: 'x'.repeat(70000)});
    const c = await run(['emit', 'c', big], {env});
    assert.equal(c.code, 3);
    assert.match(c.stderr, /INVALID_ARGUMENT: event\.json: \d+ bytes is over the 65536-byte limit/);
  });

  test('listen prints what redis-cli PUBLISH sends, byte for byte', async () => {
    const l = await startListen(['--count', '3', 'cli::l1', 'cli::l2'], env);
    await stack.redisCli(server.redis.port, ['PUBLISH', 'cli::l2', '{"a": [1, 2]}']);
    await stack.redisCli(server.redis.port, ['PUBLISH', 'cli::l1', '"plain"']);
    await stack.redisCli(server.redis.port, ['PUBLISH', 'cli::l2', 'héllo']);
    const r = await l.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '{"a": [1, 2]}\n"plain"\nhéllo\n');
  });

  test('listen --with-channel prints CHANNEL<TAB>JSON; vent emit feeds it', async () => {
    const l = await startListen(['--with-channel', '--count', '2', 'cli::w'], env);
    assert.equal((await run(['emit', 'cli::w', '{"k":1}'], {env})).code, 0);
    await stack.redisCli(server.redis.port, ['PUBLISH', 'cli::w', '2']);
    const r = await l.done;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cli::w\t{"k":1}\ncli::w\t2\n');
  });

  test('listen exits 0 on SIGINT, 1 when the server goes away', async () => {
    const l = await startListen(['cli::sig'], env);
    l.child.kill('SIGINT');
    assert.equal((await l.done).code, 0);

    const other = await stack.startVentServer({redis: server.redis});
    const l2 = await startListen(['cli::gone'], {VENT_SERVER: other.grpcAddress});
    await other.stop();
    const r = await l2.done;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /vent: listen ended .*UNAVAILABLE/);
  });

  test('no server: exit 1 naming the address and the gRPC code', async () => {
    const port = await stack.freePort();
    const r = await run(['emit', 'c', '{}', '--timeout', '5s'], {env: {VENT_SERVER: `127.0.0.1:${port}`}});
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`emit failed \\(server 127\\.0\\.0\\.1:${port}\\): UNAVAILABLE: `));
    const s = await run(['emit', 'c'], {env: {VENT_SERVER: `127.0.0.1:${port}`}, input: '{}\n'});
    assert.equal(s.code, 1);
    assert.match(s.stderr, /UNAVAILABLE/);
    const l = await run(['listen', 'c'], {env: {VENT_SERVER: `127.0.0.1:${port}`}});
    assert.equal(l.code, 1);
    assert.match(l.stderr, /listen failed .*UNAVAILABLE/);
  });

  test('usage errors exit 2; --help exits 0', async () => {
    for (const args of [[], ['emit'], ['emit', 'a', 'b', 'c'], ['listen'], ['frobnicate'],
      ['emit', 'a', '{}', '--bogus'], ['--timeout', 'soon', 'emit', 'a', '{}'], ['--server'],
      ['emit', '--batch', 'a', '{}'], ['listen', '--batch', 'a'], ['emit', 'a', '1', '--count', '2'],
      ['listen', '--count', '0', 'a'], ['--batch-size', 'x', 'emit', 'a']]) {
      const r = await run(args, {env});
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^vent: .+\nTry 'vent --help'\.\n$/, args.join(' '));
    }
    const h = await run(['--help'], {env});
    assert.equal(h.code, 0);
    assert.match(h.stdout, /exit codes: 0 ok; 1 server or transport error/);
    assert.match(h.stdout, /VENT_SERVER/);
  });
});
