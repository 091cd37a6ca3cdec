'use strict';
// wss/https served by vent-bridge itself (--tls-cert/--tls-key), with a
// self-signed certificate made by the openssl CLI and clients that trust only
// it: DDP over wss (raw and SockJS), big events split over many TLS records,
// https /healthz and /metrics, plain HTTP and untrusting clients refused and
// counted (vent_bridge_refused_total{reason="tls"}), a slow wss client closed
// while others keep receiving, bad certificate options refused at start,
// SIGHUP reloading a renewed certificate (and keeping the old one when the
// new file is broken).

const assert = require('node:assert/strict');
const net = require('node:net');
const tlsMod = require('node:tls');
const {after, before, test} = require('node:test');

const {makeTestCert, startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const stack = require('../../tests/js/lib/stack.js');

let env;
let cert;
const clients = [];
function client(opts = {}) {
  const c = new MeteorClient(env.wsUrl('/websocket'),
      {clientPingMs: 0, wsOptions: {ca: cert.ca}, ...opts});
  clients.push(c);
  return c;
}

before(async () => {
  cert = makeTestCert();
  env = await startBridgeEnv({tls: cert, bridgeArgs: ['--max-outgoing', '256KiB']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('DDP over wss: connect, sub, ready, events arrive in order', async () => {
  const c = client();
  await c.connect();
  const sub = c.subscribe('threadMessage', [{threadId: 'tls1'}]);
  await sub.ready();
  for (let i = 0; i < 20; i++) {
    assert.equal(await env.publish('threads::tls1::new_message', `{"i":${i}}`), 1);
  }
  const events = await sub.waitEvents(20);
  assert.deepEqual(events.map((e) => e.i), [...Array(20).keys()]);
});

test('big events span many TLS records and arrive intact', async () => {
  const c = client();
  await c.connect();
  const sub = c.subscribe('threadMessage', [{threadId: 'tls2'}]);
  await sub.ready();
  const pad = 'abcdefghij'.repeat(6000); // 60 KB: four TLS records each
  const n = 50;
  await env.publishMany([...Array(n).keys()].map(
      (i) => ['threads::tls2::new_message', `{"i":${i},"pad":"${pad}"}`]));
  const events = await sub.waitEvents(n, {timeoutMs: 10000});
  for (let i = 0; i < n; i++) {
    assert.equal(events[i].i, i);
    assert.equal(events[i].pad, pad);
  }
});

test('DDP over SockJS on wss', async () => {
  const c = client({transport: 'sockjs'});
  await c.connect();
  const sub = c.subscribe('threadMessage', [{threadId: 'tls3'}]);
  await sub.ready();
  await env.publish('threads::tls3::new_message', '{"over":"sockjs"}');
  assert.deepEqual(await sub.waitEvents(1), [{over: 'sockjs'}]);
});

test('https: /healthz and /metrics; keep-alive serves two requests on one TLS connection',
    async () => {
      assert.equal((await env.http('/healthz')).body, 'ok\n');
      const m = await env.metrics();
      assert.ok(m.has('vent_bridge_connections'));
      // Two pipelined requests on one TLS connection.
      const sock = tlsMod.connect({host: '127.0.0.1', port: env.port, ca: cert.ca,
        servername: 'localhost'});
      await new Promise((resolve, reject) => {
        sock.once('secureConnect', resolve);
        sock.once('error', reject);
      });
      let text = '';
      sock.on('data', (d) => { text += d.toString(); });
      sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n' +
                 'Connection: close\r\n\r\n');
      await new Promise((resolve) => sock.once('end', resolve));
      assert.equal(text.match(/HTTP\/1\.1 200 OK/g).length, 2, text);
      sock.destroy();
    });

test('plain HTTP on the TLS port gets no HTTP answer and is counted', async () => {
  const before = await env.metric('vent_bridge_refused_total{reason="tls"}');
  const sock = net.connect(env.port, '127.0.0.1');
  let text = '';
  sock.on('data', (d) => { text += d.toString('latin1'); });
  sock.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((resolve) => sock.once('close', resolve));
  assert.ok(!text.startsWith('HTTP/'), `got an HTTP answer: ${text}`);
  await stack.waitFor(async () =>
    (await env.metric('vent_bridge_refused_total{reason="tls"}')) === before + 1,
  {timeoutMs: 3000, what: 'the tls refusal counter'});
  // Logged once (then at most every 10 s, with a count).
  assert.match(env.bridge.stderr(), /TLS handshakes failed/);
});

test('a client that does not trust the certificate cannot connect; counted', async () => {
  const before = await env.metric('vent_bridge_refused_total{reason="tls"}');
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
  clients.push(c);
  await assert.rejects(c.open(), /self[- ]signed|unable to verify|certificate/i);
  await stack.waitFor(async () =>
    (await env.metric('vent_bridge_refused_total{reason="tls"}')) === before + 1,
  {timeoutMs: 3000, what: 'the tls refusal counter'});
});

test('a wss client that stops reading is closed as slow; another keeps receiving', async () => {
  const good = client();
  const slow = client();
  await Promise.all([good.connect(), slow.connect()]);
  const gsub = good.subscribe('threadMessage', [{threadId: 'tls4'}]);
  const ssub = slow.subscribe('threadMessage', [{threadId: 'tls4'}]);
  await Promise.all([gsub.ready(), ssub.ready()]);
  const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
  slow.ws._socket.pause(); // stop reading from TCP: kernel buffers, then --max-outgoing fill
  const pad = 'p'.repeat(16 * 1024);
  let sent = 0;
  while (sent < 4000) {
    const batch = [];
    for (let i = 0; i < 50; i++) batch.push(['threads::tls4::new_message', `{"i":${sent++},"pad":"${pad}"}`]);
    await env.publishMany(batch);
    // The good client keeps up (its events are awaited), so only the paused one is slow.
    await gsub.waitEvents(sent, {timeoutMs: 10000});
    if ((await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore) break;
  }
  assert.equal(await env.metric('vent_bridge_closed_total{reason="slow_client"}'), slowBefore + 1,
      `paused client not closed after ${sent} events`);
  await env.publish('threads::tls4::new_message', '{"i":"last"}');
  const events = await gsub.waitEvents(sent + 1);
  assert.equal(events[sent].i, 'last');
});

test('bad TLS options: the bridge refuses to start and names the problem', async () => {
  const other = makeTestCert();
  const cases = [
    [['--tls-cert', cert.certFile], /--tls-cert and --tls-key go together/],
    [['--tls-cert', '/nonexistent.pem', '--tls-key', cert.keyFile], /nonexistent\.pem/],
    [['--tls-cert', cert.certFile, '--tls-key', other.keyFile], /mismatch/],
    [['--authorizer', '127.0.0.1:1', '--authorizer-tls-ca', '/nonexistent-ca.pem'],
      /--authorizer-tls-ca "\/nonexistent-ca\.pem": not a readable PEM file/],
    [['--authorizer', '127.0.0.1:1', '--authorizer-tls-ca', cert.keyFile],
      /not a readable PEM file/],
  ];
  for (const [args, re] of cases) {
    const p = await stack.startProcess(stack.binPath('vent-bridge'),
        ['--listen', '127.0.0.1:0', '--redis', env.redis.url, ...args], {readyFn: async () => false,
          timeoutMs: 5000}).catch((e) => e);
    assert.ok(p instanceof Error, `started with ${args.join(' ')}`);
    assert.match(p.message, re);
  }
});

// Last: it replaces the certificate the other tests use.
test('SIGHUP reloads the certificate; a file that does not load keeps the current one',
    async () => {
      const fs = require('node:fs');
      const {httpRequest} = require('./lib/bridge.js');
      const healthz = (ca) => httpRequest(`${env.base}/healthz`, {ca});
      const next = makeTestCert();
      // A broken certificate file: logged, the current certificate stays.
      fs.writeFileSync(cert.certFile, 'not a certificate\n');
      env.bridge.child.kill('SIGHUP');
      await stack.waitFor(() => /TLS reload failed/.test(env.bridge.stderr()),
          {timeoutMs: 5000, what: 'the reload failure in the log'});
      assert.equal((await healthz(cert.ca)).status, 200);
      // The renewed certificate: new connections get it.
      fs.copyFileSync(next.certFile, cert.certFile);
      fs.copyFileSync(next.keyFile, cert.keyFile);
      env.bridge.child.kill('SIGHUP');
      await stack.waitFor(async () => {
        try {
          return (await healthz(next.ca)).status === 200;
        } catch (e) {
          return false;
        }
      }, {timeoutMs: 5000, what: 'the new certificate to be served'});
      await assert.rejects(healthz(cert.ca), /self[- ]signed|unable to verify|certificate/i);
      // DDP over wss with the new certificate.
      const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0, wsOptions: {ca: next.ca}});
      clients.push(c);
      await c.connect();
      const sub = c.subscribe('threadMessage', [{threadId: 'tls5'}]);
      await sub.ready();
      await env.publish('threads::tls5::new_message', '{"renewed":true}');
      assert.deepEqual(await sub.waitEvents(1), [{renewed: true}]);
    });
