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
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');

const stack = require('../../../tests/js/lib/stack.js');
const {Publisher} = require('./publisher.js');

// The publications every e2e test uses (semantics: vent/pub/README.md and docs/protocol.md, "Event frames").
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

// Resolves {status, headers, body} of an HTTP(S) request (raw node:http[s];
// `ca`: PEM the https client trusts).
function httpRequest(url, {method = 'GET', headers = {}, timeoutMs = 3000, ca} = {}) {
  const mod = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(url, {method, headers, timeout: timeoutMs, agent: false, ca}, (res) => {
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
// Makes a self-signed certificate for localhost / 127.0.0.1 with the openssl
// CLI: {certFile, keyFile, ca (the PEM text)}.
function makeTestCert() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-e2e-tls-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  require('node:child_process').execFileSync('openssl', ['req', '-x509', '-newkey', 'ec',
    '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], {stdio: 'pipe'});
  return {certFile, keyFile, ca: fs.readFileSync(certFile, 'utf8')};
}

// `tls` ({certFile, keyFile, ca} from makeTestCert()) serves https/wss; the
// env's http helpers then trust `ca`.
// `serverWithConfig`: vent-server reads the same config file (history).
async function startBridgeEnv({config = DEFAULT_CONFIG, bridgeArgs = [], redis, withServer = false,
                               workers = 2, tls, serverWithConfig = false} = {}) {
  const ownRedis = !redis;
  if (ownRedis) redis = await stack.startRedis();
  const port = await stack.freePort();
  const configFile = tempConfig(config);
  const base = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const args = ['--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--config', configFile,
    '--workers', String(workers), '--log-level', process.env.VENT_E2E_LOG_LEVEL || 'warn',
    ...(tls ? ['--tls-cert', tls.certFile, '--tls-key', tls.keyFile] : []), ...bridgeArgs];
  const ca = tls ? tls.ca : undefined;
  const bridge = await stack.startProcess(stack.binPath('vent-bridge'), args, tls ?
    {readyFn: async () => (await httpRequest(`${base}/healthz`, {ca})).status === 200} :
    {readyHttp: `${base}/healthz`});
  let server = null;
  if (withServer) {
    server = await stack.startVentServer({redis,
      extraArgs: serverWithConfig ? ['--config', configFile] : []});
  }
  const publisher = new Publisher(redis.port);
  const env = {
    redis, bridge, server, port, base, configFile, publisher,
    wsUrl: (p = '/websocket') => `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}${p}`,
    publish: (channel, payload) => publisher.publish(channel, payload),
    publishMany: (pairs) => publisher.publishMany(pairs),
    http: (p, opts) => httpRequest(`${base}${p}`, {ca, ...opts}),
    async metrics() {
      const r = await httpRequest(`${base}/metrics`, {ca});
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

module.exports = {DEFAULT_CONFIG, httpRequest, makeTestCert, parseMetrics, startBridgeEnv, tempConfig};
