'use strict';
// vent-server's HTTP emit API end to end: real redis-server + vent-server,
// requests made with curl exactly as server/README.md documents them, and a
// raw RESP subscriber that sees the bytes Redis delivers.
// Run: VENT_BIN_DIR=build/bin node --test tests/emit/http_emit.test.js

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const net = require('node:net');

const stack = require('../js/lib/stack');

// Runs curl; resolves {status, body (parsed JSON when it is), raw, stderr}.
function curl(args) {
  return new Promise((resolve, reject) => {
    childProcess.execFile('curl', ['-sS', '-w', '\n%{http_code}', ...args],
        {timeout: 20000, maxBuffer: 64 << 20}, (err, stdout, stderr) => {
          if (err && err.code !== 0 && !stdout) {
            reject(new Error(`curl ${args.join(' ')}: ${err.message} ${stderr}`));
            return;
          }
          const cut = stdout.lastIndexOf('\n');
          const raw = stdout.slice(0, cut);
          let body = raw;
          try {
            body = JSON.parse(raw);
          } catch (e) { /* not JSON */ }
          resolve({status: Number(stdout.slice(cut + 1)), body, raw, stderr});
        });
  });
}

// POST JSON text `body` to `path` the documented way.
function post(vent, path, body, extra = []) {
  return curl(['-H', 'Content-Type: application/json', '--data-binary', body, ...extra,
    `http://127.0.0.1:${vent.httpPort}${path}`]);
}

async function metric(vent, name) {
  const r = await stack.httpGet(`http://127.0.0.1:${vent.metricsPort}/metrics`);
  const line = r.body.split('\n').find((l) => l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

function assertError(r, status, code, re) {
  assert.equal(r.status, status, r.raw);
  assert.equal(r.body.error.code, code, r.raw);
  if (re) assert.match(r.body.error.message, re);
}

describe('HTTP emit API', {timeout: 180000}, () => {
  let vent;
  before(async () => {
    vent = await stack.startVentServer({extraArgs: ['--http-max-body', '64KiB']});
  });
  after(async () => { if (vent) await vent.stop(); });

  it('publishes the data value byte for byte (the README curl example)', async () => {
    const sub = await stack.subscribeRaw(vent.redis.port, ['threads::t1::new_message']);
    const data = '{ "message" : "Hello!",\n  "n": 1.50 }';
    const r = await post(vent, '/v1/emit',
        `{"channel": "threads::t1::new_message", "data": ${data}}`);
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.receivers, 1);
    assert.equal(r.body.id.length, 26);
    assert.equal(r.body.duplicate, false);
    const msg = await sub.next();
    assert.equal(msg.channel, 'threads::t1::new_message');
    assert.equal(msg.payload.toString(), data);
    sub.close();
  });

  it('emit_batch publishes in order and answers one result per event', async () => {
    const sub = await stack.subscribeRaw(vent.redis.port, ['b1', 'b2']);
    const r = await post(vent, '/v1/emit_batch', JSON.stringify({events: [
      {channel: 'b1', data: {i: 0}}, {channel: 'b2', data: 'text'}, {channel: 'b1', data: [1, 2]},
    ]}));
    assert.equal(r.status, 200, r.raw);
    assert.equal(r.body.results.length, 3);
    for (const x of r.body.results) assert.equal(x.id.length, 26);
    assert.deepEqual(r.body.results.map((x) => x.receivers), [1, 1, 1]);
    const got = await sub.take(3);
    assert.deepEqual(got.map((m) => [m.channel, m.payload.toString()]),
        [['b1', '{"i":0}'], ['b2', '"text"'], ['b1', '[1,2]']]);
    sub.close();
  });

  it('answers errors as JSON with the HTTP status for the code', async () => {
    assertError(await post(vent, '/v1/emit', '{"channel":"","data":1}'), 400, 'INVALID_ARGUMENT',
        /^channel: must not be empty$/);
    assertError(await post(vent, '/v1/emit', '{"channel":"c","data":{"a":1,}}'), 400,
        'INVALID_ARGUMENT', /^body: not valid JSON at offset/);
    assertError(await post(vent, '/v1/emit', '{"channel":"c"}'), 400, 'INVALID_ARGUMENT',
        /^data: missing$/);
    assertError(await post(vent, '/v1/emit', '{"chanel":"c","data":1}'), 400, 'INVALID_ARGUMENT',
        /unknown field "chanel"/);
    assertError(await post(vent, '/v1/emit_batch',
        '{"events":[{"channel":"a","data":1},{"channel":"b\\u0001","data":1}]}'), 400,
    'INVALID_ARGUMENT', /^events\[1\]\.channel: control character U\+0001/);
    // The documented nesting limit applies to data as to gRPC's json.
    const nest = (n) => '['.repeat(n) + ']'.repeat(n);
    assert.equal((await post(vent, '/v1/emit', `{"channel":"c","data":${nest(64)}}`)).status, 200);
    assertError(await post(vent, '/v1/emit', `{"channel":"c","data":${nest(65)}}`), 400,
        'INVALID_ARGUMENT', /^data: nesting deeper than 64 levels/);
    assertError(await post(vent, '/v1/emit', '{"channel":"c","data":"' + 'x'.repeat(70000) + '"}'),
        413, 'INVALID_ARGUMENT', /over the 65536-byte limit \(--http-max-body\)/);
    assertError(await curl(['-H', 'Content-Type: text/plain', '--data-binary', '{"channel":"c","data":1}',
      `http://127.0.0.1:${vent.httpPort}/v1/emit`]), 415, 'INVALID_ARGUMENT',
    /Content-Type must be application\/json/);
    assertError(await post(vent, '/v2/emit', '{}'), 404, 'NOT_FOUND', /POST \/v1\/emit/);
    const get = await curl(['-i', `http://127.0.0.1:${vent.httpPort}/v1/emit`]);
    assert.equal(get.status, 405);
    assert.match(get.raw, /^Allow: POST\r?$/mi);
    assert.ok(await metric(vent, 'vent_malformed_requests_total{rpc="HttpEmit"}') >= 2);
    assert.ok(await metric(vent, 'vent_emit_total{rpc="HttpEmit",code="INVALID_ARGUMENT"}') >= 5);
  });

  it('idempotency keys work as with gRPC', async () => {
    const body = '{"channel":"idem","data":{"x":1},"idempotency_key":"order-42"}';
    const a = await post(vent, '/v1/emit', body);
    const b = await post(vent, '/v1/emit', body);
    assert.equal(a.status, 200);
    assert.equal(a.body.duplicate, false);
    assert.equal(b.body.duplicate, true);
    assert.equal(b.body.id, a.body.id);
  });

  it('keeps connections alive, answers pipelined requests in order, honours Expect: 100-continue', async () => {
    const url = `http://127.0.0.1:${vent.httpPort}/v1/emit`;
    const r = await curl(['-v', '-H', 'Content-Type: application/json',
      '--data-binary', '{"channel":"k","data":1}', url, '--next', '-H', 'Content-Type: application/json',
      '--data-binary', '{"channel":"k","data":2}', url]);
    assert.match(r.stderr, /Re-using existing connection/);
    assert.equal((r.raw.match(/\{"id":/g) || []).length, 2, r.raw);

    const c = await curl(['-v', '-H', 'Content-Type: application/json', '-H', 'Expect: 100-continue',
      '--data-binary', '{"channel":"k","data":3}', url]);
    assert.match(c.stderr, /HTTP\/1\.1 100 Continue/);
    assert.equal(c.status, 200);

    // Two requests in one write: two replies, in order.
    const sock = net.connect({port: vent.httpPort, host: '127.0.0.1'});
    const req = (n) => {
      const b = `{"channel":"pipe","data":${n}}`;
      return `POST /v1/emit HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${b.length}\r\n\r\n${b}`;
    };
    let text = '';
    sock.on('data', (d) => { text += d.toString(); });
    sock.write(req(1) + req(2));
    await stack.waitFor(() => (text.match(/HTTP\/1\.1 200 OK/g) || []).length === 2,
        {what: 'two pipelined replies'});
    sock.destroy();
  });

  it('a Redis that is down is 503, nothing published', async () => {
    const own = await stack.startVentServer();
    try {
      await own.redis.stop();
      await stack.waitFor(async () => (await own.healthz()).status === 503, {what: 'redis down'});
      const r = await curl(['-H', 'Content-Type: application/json', '--data-binary',
        '{"channel":"c","data":1}', `http://127.0.0.1:${own.httpPort}/v1/emit`]);
      assertError(r, 503, 'UNAVAILABLE', /nothing was published/);
    } finally {
      await own.server.stop();
    }
  });
});

describe('HTTP emit API: keys, limits', {timeout: 180000}, () => {
  let vent;
  before(async () => {
    vent = await stack.startVentServer({extraArgs: [
      '--api-keys', 'k-all,k-threads=threads::', '--http-max-connections', '2',
      '--max-inflight', '1']});
  });
  after(async () => { if (vent) await vent.stop(); });

  it('API keys: 401 without or with an unknown key, 403 out of scope', async () => {
    const body = '{"channel":"threads::t1","data":1}';
    const none = await post(vent, '/v1/emit', body);
    assertError(none, 401, 'UNAUTHENTICATED', /missing API key/);
    assertError(await post(vent, '/v1/emit', body, ['-H', 'Authorization: Bearer nope']), 401,
        'UNAUTHENTICATED', /unknown API key/);
    assert.equal((await post(vent, '/v1/emit', body, ['-H', 'Authorization: Bearer k-threads'])).status,
        200);
    assertError(await post(vent, '/v1/emit', '{"channel":"admin::x","data":1}',
        ['-H', 'Authorization: Bearer k-threads']), 403, 'PERMISSION_DENIED', /may not use channel/);
    assertError(await post(vent, '/v1/emit', body,
        ['-H', 'Authorization: Bearer k-all', '-H', 'Authorization: Bearer k-threads']), 401,
    'UNAUTHENTICATED', /more than one authorization/);
  });

  it('over --max-inflight is 429', async () => {
    const r = await post(vent, '/v1/emit_batch',
        '{"events":[{"channel":"a","data":1},{"channel":"a","data":2}]}',
        ['-H', 'Authorization: Bearer k-all']);
    assertError(r, 429, 'RESOURCE_EXHAUSTED', /--max-inflight/);
  });

  it('connections over --http-max-connections get 503 and are counted', async () => {
    const idle = [];
    for (let i = 0; i < 2; i++) {
      const s = net.connect({port: vent.httpPort, host: '127.0.0.1'});
      await new Promise((res) => s.once('connect', res));
      idle.push(s);
    }
    await stack.waitFor(async () => (await metric(vent, 'vent_http_connections')) === 2,
        {what: 'two open connections'});
    const r = await post(vent, '/v1/emit', '{"channel":"c","data":1}',
        ['-H', 'Authorization: Bearer k-all']);
    assertError(r, 503, 'UNAVAILABLE', /too many connections .*--http-max-connections/);
    assert.equal(await metric(vent, 'vent_http_refused_connections_total'), 1);
    for (const s of idle) s.destroy();
    await stack.waitFor(async () => (await metric(vent, 'vent_http_connections')) === 0,
        {what: 'connections closed'});
    const ok = await post(vent, '/v1/emit', '{"channel":"c","data":1}',
        ['-H', 'Authorization: Bearer k-all']);
    assert.equal(ok.status, 200, ok.raw);
  });
});
