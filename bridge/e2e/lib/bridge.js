'use strict';
// Starts the pieces an end-to-end bridge test needs: a private redis-server,
// vent-bridge with a temp YAML config (and optionally vent-server), plus a
// Redis publisher and small HTTP helpers. Built on tests/js/lib/stack.js
// (process cleanup on exit, readiness polling with deadlines, no sleeps).
//
//   const env = await startBridgeEnv({bridgeArgs: ['--max-subscriptions', '8']});
//   env.wsUrl('/websocket')            -> 'ws://127.0.0.1:P/websocket'
//   await env.publish('p::x', '{"a":1}')  -> number of Redis receivers
//   await env.metric('vent_bridge_closed_total{reason="slow_client"}') -> number
//   await env.stop()

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const stack = require('../../../tests/js/lib/stack.js');
const {Publisher} = require('./publisher.js');

// The publications every e2e test uses (see docs/architecture.md, "Publication semantics").
const DEFAULT_CONFIG = `
publications:
  threadMessage:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: public
  projected:
    params: { id: { type: string } }
    channels: ["p::{id}"]
    auth: public
    fields: [message]
  multi:
    channels: ["m::a", "m::b"]
    auth: public
  numbered:
    params: { n: { type: integer } }
    channels: ["n::{n}"]
    auth: public
`;

function tempConfig(text) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-e2e-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const file = path.join(dir, 'bridge.yaml');
  fs.writeFileSync(file, text);
  return file;
}

// Resolves {status, headers, body} of an HTTP request (raw node:http).
function httpRequest(url, {method = 'GET', headers = {}, timeoutMs = 3000} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, {method, headers, timeout: timeoutMs, agent: false}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(),
      }));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

// Parses Prometheus text into Map(series -> number), series like
// 'name{label="v"}' exactly as rendered (labels in rendered order).
function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

// Starts redis (unless opts.redis), vent-bridge (and vent-server when
// opts.withServer). Ready when the bridge's /healthz is 200 (Redis subscriber up).
async function startBridgeEnv({config = DEFAULT_CONFIG, bridgeArgs = [], redis, withServer = false,
                               workers = 2} = {}) {
  const ownRedis = !redis;
  if (ownRedis) redis = await stack.startRedis();
  const port = await stack.freePort();
  const configFile = tempConfig(config);
  const base = `http://127.0.0.1:${port}`;
  const args = ['--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--config', configFile,
    '--workers', String(workers), '--log-level', process.env.VENT_E2E_LOG_LEVEL || 'warn',
    ...bridgeArgs];
  const bridge = await stack.startProcess(stack.binPath('vent-bridge'), args,
      {readyHttp: `${base}/healthz`});
  let server = null;
  if (withServer) server = await stack.startVentServer({redis});
  const publisher = new Publisher(redis.port);
  const env = {
    redis, bridge, server, port, base, configFile, publisher,
    wsUrl: (p = '/websocket') => `ws://127.0.0.1:${port}${p}`,
    publish: (channel, payload) => publisher.publish(channel, payload),
    publishMany: (pairs) => publisher.publishMany(pairs),
    http: (p, opts) => httpRequest(`${base}${p}`, opts),
    async metrics() {
      const r = await httpRequest(`${base}/metrics`);
      if (r.status !== 200) throw new Error(`/metrics -> ${r.status}`);
      return parseMetrics(r.body);
    },
    async metric(series) {
      const m = await env.metrics();
      return m.has(series) ? m.get(series) : 0;
    },
    async stop() {
      publisher.close();
      if (server) await server.stop();
      await bridge.stop();
      if (ownRedis) await redis.stop();
    },
  };
  return env;
}

module.exports = {DEFAULT_CONFIG, httpRequest, parseMetrics, startBridgeEnv, tempConfig};
