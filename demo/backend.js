'use strict';
// Demo backend: the "your app server" half of the seed's two examples. It
// turns browser POSTs into Vent emits through vent-server's gRPC Emit
// (clients/node/vent-client.js); the browser pages receive them back through
// vent-bridge. No framework: node:http only.
//
//   POST /api/messages              {threadId, message} -> Emit threads::<threadId>::new_message {message}
//   POST /api/payments/:id/webhook  {status}            -> Emit payments::<id>::updated {status}
//   GET  /healthz                   200 "ok"
//
// Replies are JSON: 200 {ok: true, receivers, id}; 400 {error} for bad input;
// 404 {error}; 413 for bodies over 16 KiB; 502 {error} when vent-server fails.
// CORS: the bridge's origin (--bridge) may call it; for 127.0.0.1/localhost
// both spellings are allowed.
//
// Usage: node demo/backend.js [--listen 127.0.0.1:3001] [--bridge http://127.0.0.1:3000]
// Env:   VENT_SERVER (127.0.0.1:50051), VENT_API_KEY (optional Bearer key for Emit)

const http = require('node:http');
const path = require('node:path');

const { VentClient } = require(path.join(__dirname, '..', 'clients', 'node', 'vent-client.js'));

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/; // same pattern as config/vent.yaml
const STATUS_RE = /^[A-Z][A-Z_]{0,31}$/; // PENDING, PAID, FAILED, ...
const MAX_BODY = 16 * 1024;
const MAX_MESSAGE = 2000;

function parseArgs(argv) {
  const opts = { listen: '127.0.0.1:3001', bridge: 'http://127.0.0.1:3000' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const eq = a.indexOf('=');
    const key = a.startsWith('--') ? (eq > 0 ? a.slice(2, eq) : a.slice(2)) : null;
    if (key !== 'listen' && key !== 'bridge') {
      if (a === '--help' || a === '-h') {
        console.log('usage: node demo/backend.js [--listen HOST:PORT] [--bridge http://HOST:PORT]\n' +
                    'env: VENT_SERVER=HOST:PORT (vent-server gRPC), VENT_API_KEY');
        process.exit(0);
      }
      throw new Error(`unknown argument ${a} (try --help)`);
    }
    const value = eq > 0 ? a.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new Error(`--${key} needs a value`);
    opts[key] = value;
  }
  return opts;
}

// Origins allowed by CORS for a bridge URL.
function allowedOrigins(bridgeUrl) {
  const u = new URL(bridgeUrl);
  const out = new Set([u.origin]);
  const swap = { '127.0.0.1': 'localhost', localhost: '127.0.0.1' }[u.hostname];
  if (swap) out.add(`${u.protocol}//${swap}${u.port ? `:${u.port}` : ''}`);
  return out;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function readJson(req) {
  return new Promise((resolve, reject) => {
    const type = String(req.headers['content-type'] || '');
    if (!type.startsWith('application/json')) {
      reject(new HttpError(400, 'Content-Type must be application/json'));
      req.resume();
      return;
    }
    let size = 0;
    let tooBig = false;
    const chunks = [];
    req.on('data', (c) => {
      if (tooBig) return; // drain the rest so the 413 reply can be read
      size += c.length;
      if (size > MAX_BODY) {
        tooBig = true;
        chunks.length = 0;
        reject(new HttpError(413, `body larger than ${MAX_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return;
      try {
        const v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not an object');
        resolve(v);
      } catch (e) {
        reject(new HttpError(400, 'body must be a JSON object'));
      }
    });
    req.on('error', reject);
  });
}

function validMessage(body) {
  if (typeof body.threadId !== 'string' || !ID_RE.test(body.threadId)) {
    throw new HttpError(400, 'threadId must match ^[A-Za-z0-9_-]{1,64}$');
  }
  if (typeof body.message !== 'string' || !body.message.trim()) {
    throw new HttpError(400, 'message must be a non-empty string');
  }
  if (body.message.length > MAX_MESSAGE) throw new HttpError(400, `message longer than ${MAX_MESSAGE} characters`);
  return { threadId: body.threadId, message: body.message };
}

function validStatus(body) {
  if (typeof body.status !== 'string' || !STATUS_RE.test(body.status)) {
    throw new HttpError(400, 'status must be an upper-case word such as PAID or FAILED');
  }
  return body.status;
}

function createServer({ vent, origins, log = console.log }) {
  const send = (res, status, obj, origin) => {
    const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
    if (origin && origins.has(origin)) {
      headers['access-control-allow-origin'] = origin;
      headers.vary = 'Origin';
    }
    res.writeHead(status, headers);
    res.end(JSON.stringify(obj));
  };

  const emit = async (channel, payload) => {
    try {
      return await vent.emit(channel, payload);
    } catch (e) {
      throw new HttpError(502, `vent-server: ${e.details || e.message}`);
    }
  };

  return http.createServer(async (req, res) => {
    const origin = req.headers.origin;
    const url = new URL(req.url, 'http://backend');
    try {
      if (req.method === 'OPTIONS') {
        const headers = { 'access-control-max-age': '600' };
        if (origin && origins.has(origin)) {
          headers['access-control-allow-origin'] = origin;
          headers['access-control-allow-methods'] = 'POST, OPTIONS';
          headers['access-control-allow-headers'] = 'content-type';
          headers.vary = 'Origin';
        }
        res.writeHead(204, headers);
        res.end();
        return;
      }
      if (req.method === 'GET' && url.pathname === '/healthz') {
        send(res, 200, { ok: true }, origin);
        return;
      }
      if (url.pathname === '/api/messages') {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST');
        const { threadId, message } = validMessage(await readJson(req));
        const r = await emit(`threads::${threadId}::new_message`, { message });
        log(`message thread=${threadId} receivers=${r.receivers}`);
        send(res, 200, { ok: true, receivers: r.receivers, id: r.id }, origin);
        return;
      }
      const m = /^\/api\/payments\/([^/]+)\/webhook$/.exec(url.pathname);
      if (m) {
        if (req.method !== 'POST') throw new HttpError(405, 'use POST');
        const id = decodeURIComponent(m[1]);
        if (!ID_RE.test(id)) throw new HttpError(400, 'payment id must match ^[A-Za-z0-9_-]{1,64}$');
        const status = validStatus(await readJson(req));
        const r = await emit(`payments::${id}::updated`, { status });
        log(`payment id=${id} status=${status} receivers=${r.receivers}`);
        send(res, 200, { ok: true, receivers: r.receivers, id: r.id }, origin);
        return;
      }
      throw new HttpError(404, `no route ${req.method} ${url.pathname}`);
    } catch (e) {
      const status = e instanceof HttpError ? e.status : 500;
      if (status >= 500) log(`error ${req.method} ${url.pathname}: ${e.message}`);
      if (!res.headersSent) send(res, status, { error: e.message }, origin);
    }
  });
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  const address = process.env.VENT_SERVER || '127.0.0.1:50051';
  const vent = new VentClient(address, { apiKey: process.env.VENT_API_KEY || undefined });
  const origins = allowedOrigins(opts.bridge);
  const server = createServer({ vent, origins });
  const colon = opts.listen.lastIndexOf(':');
  const host = opts.listen.slice(0, colon) || '127.0.0.1';
  const port = Number(opts.listen.slice(colon + 1));
  server.on('error', (e) => {
    console.error(`demo backend: ${e.message}`);
    process.exit(1);
  });
  server.listen(port, host, () => {
    console.log(`demo backend on http://${opts.listen} -> vent-server ${address}; CORS for ${[...origins].join(', ')}`);
  });
  const stop = () => {
    server.close();
    vent.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) main();

module.exports = { createServer, allowedOrigins, parseArgs };
