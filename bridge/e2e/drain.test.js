'use strict';
// Graceful drain on SIGTERM (issue 10): /readyz turns 503 at once (/livez
// stays 200), new WebSocket upgrades get 503, open connections are closed
// with 1001 spread over --shutdown-timeout (a fleet behind a load balancer
// reconnects elsewhere gradually), and the process exits 0 by the deadline.

const assert = require('node:assert/strict');
const {test} = require('node:test');
const WebSocket = require('ws');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {rawHttp} = require('./lib/raw_socket.js');

test('SIGTERM drains: not ready at once, 1001 spread over the timeout, exit 0', async () => {
  const env = await startBridgeEnv({bridgeArgs: ['--shutdown-timeout', '3s']});
  const n = 40;
  const clients = [];
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(env.wsUrl());
    const c = {ws, closed: null};
    c.closed = new Promise((resolve) => ws.on('close', (code, reason) =>
      resolve({code, reason: reason.toString(), at: Date.now()})));
    ws.on('error', () => {});
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    ws.send(JSON.stringify({msg: 'connect', version: '1', support: ['1']}));
    clients.push(c);
  }
  await stack.waitFor(async () => (await env.metric('vent_bridge_connections')) === n,
      {what: `${n} connections`});
  const t0 = Date.now();
  env.bridge.child.kill('SIGTERM');
  await stack.waitFor(async () => (await env.http('/readyz')).status === 503,
      {timeoutMs: 1000, what: '/readyz 503'});
  assert.equal((await env.http('/livez')).status, 200);
  // A new client is refused while draining.
  const refused = await rawHttp(env.port, 'GET /websocket HTTP/1.1\r\nHost: x\r\n' +
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
  assert.match(refused, /^HTTP\/1\.1 503/);

  const closes = await Promise.all(clients.map((c) => c.closed));
  for (const c of closes) {
    assert.equal(c.code, 1001);
    assert.equal(c.reason, 'server shutting down');
  }
  const times = closes.map((c) => c.at - t0).sort((a, b) => a - b);
  // Spread: not all at once (80% of 3 s, in sweep steps), all before 3 s.
  assert.ok(times[n - 1] - times[0] >= 1000, `closes spread over ${times[n - 1] - times[0]} ms`);
  assert.ok(times[n - 1] <= 3500, `last close after ${times[n - 1]} ms`);
  const exit = await env.bridge.exited;
  assert.equal(exit.code, 0);
  assert.ok(Date.now() - t0 <= 4500, `exited after ${Date.now() - t0} ms`);
  await env.stop();
});

test('a second SIGTERM stops at once', async () => {
  const env = await startBridgeEnv({bridgeArgs: ['--shutdown-timeout', '30s']});
  const ws = new WebSocket(env.wsUrl());
  await new Promise((resolve) => ws.once('open', resolve));
  const closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  const t0 = Date.now();
  env.bridge.child.kill('SIGTERM');
  await stack.waitFor(async () => (await env.http('/readyz')).status === 503,
      {timeoutMs: 1000, what: '/readyz 503'});
  env.bridge.child.kill('SIGTERM');
  assert.equal((await env.bridge.exited).code, 0);
  assert.equal(await closed, 1001);
  assert.ok(Date.now() - t0 < 5000);
  await env.stop();
});
