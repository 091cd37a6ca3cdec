'use strict';
// Process and Redis helpers shared by every JS integration test (emit, bridge,
// browser). Each test starts its own redis-server and Vent binaries on free
// 127.0.0.1 ports; nothing here uses fixed sleeps: readiness is polled with a
// deadline and failures carry the child's stderr.
//
// Cleanup: every child started here is recorded; it is SIGKILLed when the Node
// process exits for any reason (normal end, uncaught exception, SIGINT/SIGTERM
// from the test runner), and its temp dir is removed.

const childProcess = require('node:child_process');
const events = require('node:events');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const REDIS_SERVER = process.env.VENT_REDIS_SERVER || '/usr/bin/redis-server';
const DEFAULT_START_TIMEOUT_MS = 20000;

// ---------------------------------------------------------------- cleanup

const liveChildren = new Set(); // ChildProcess
const tempDirs = new Set();

function killAllNow() {
  for (const child of liveChildren) {
    try { child.kill('SIGKILL'); } catch (_) { /* already gone */ }
  }
  liveChildren.clear();
  for (const dir of tempDirs) {
    try { fs.rmSync(dir, {recursive: true, force: true}); } catch (_) { /* best effort */ }
  }
  tempDirs.clear();
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAllNow();
    process.kill(process.pid, sig); // default action now that our handler is gone
  });
}

function makeTempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// ---------------------------------------------------------------- small utils

// Resolves to a TCP port that was free on 127.0.0.1 a moment ago.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const {port} = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Absolute path of a Vent binary: $VENT_BIN_DIR/name (default <repo>/build/bin).
function binPath(name) {
  const dir = process.env.VENT_BIN_DIR ||
      path.resolve(__dirname, '..', '..', '..', 'build', 'bin');
  const p = path.join(dir, name);
  if (!fs.existsSync(p)) {
    throw new Error(`binary ${p} not found (set VENT_BIN_DIR to the build's bin folder)`);
  }
  return p;
}

// Polls fn() (sync or async) until it returns a truthy value, which is
// returned. Exceptions thrown by fn count as "not yet"; the last one is
// reported when the deadline passes.
async function waitFor(fn, {timeoutMs = 10000, intervalMs = 50, what = 'condition'} = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      lastErr = null;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const why = lastErr ? `: last error: ${lastErr.message || lastErr}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// Resolves true when 127.0.0.1:port accepts a TCP connection.
function tcpAccepts(port, host = '127.0.0.1') {
  return new Promise((resolve) => {
    const s = net.connect({port, host});
    s.setTimeout(1000);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => { s.destroy(); resolve(false); });
    s.once('timeout', () => { s.destroy(); resolve(false); });
  });
}

// Resolves {status, body} of GET url (1 s timeout); rejects on network errors.
function httpGet(url, {timeoutMs = 1000} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, {timeout: timeoutMs}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode, body: Buffer.concat(chunks).toString()}));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

// ---------------------------------------------------------------- processes

// Starts bin with args and waits until it is ready: `readyPort` accepts TCP,
// or `readyHttp` (URL) answers 200, or `readyFn()` resolves truthy. Rejects
// (and kills the child) if it exits early or the deadline passes; the error
// message carries the tail of its stderr. Returns a handle:
//   {child, pid, stderr(), stop({timeoutMs}), kill(), exited: Promise<{code, signal}>}
async function startProcess(bin, args = [], opts = {}) {
  const {readyPort, readyHttp, readyFn, env, timeoutMs = DEFAULT_START_TIMEOUT_MS, cwd} = opts;
  const child = childProcess.spawn(bin, args, {
    cwd,
    env: {...process.env, ...(env || {})},
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveChildren.add(child);
  let errText = '';
  const keep = (chunk) => {
    errText += chunk.toString();
    if (errText.length > 64 * 1024) errText = errText.slice(-32 * 1024);
  };
  child.stderr.on('data', keep);
  child.stdout.on('data', keep);
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = {code, signal};
      liveChildren.delete(child);
      resolve(exitInfo);
    });
    child.once('error', (err) => {
      exitInfo = {code: null, signal: null, error: err};
      liveChildren.delete(child);
      resolve(exitInfo);
    });
  });
  const name = path.basename(bin);
  const handle = {
    child,
    pid: child.pid,
    name,
    exited,
    stderr: () => errText,
    isRunning: () => exitInfo === null,
    kill(signal = 'SIGKILL') {
      if (exitInfo === null) child.kill(signal);
      return exited;
    },
    // SIGTERM, then SIGKILL if it has not exited within timeoutMs.
    async stop({timeoutMs: stopMs = 5000} = {}) {
      if (exitInfo !== null) return exitInfo;
      child.kill('SIGTERM');
      const timer = setTimeout(() => { if (exitInfo === null) child.kill('SIGKILL'); }, stopMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
  };

  const ready = async () => {
    if (exitInfo !== null) {
      const why = exitInfo.error ? exitInfo.error.message : `code ${exitInfo.code} signal ${exitInfo.signal}`;
      throw Object.assign(new Error(`${name} exited (${why})`), {fatal: true});
    }
    if (readyPort !== undefined) return tcpAccepts(readyPort);
    if (readyHttp !== undefined) {
      const r = await httpGet(readyHttp);
      return r.status === 200;
    }
    if (readyFn !== undefined) return readyFn();
    return true;
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let ok = false;
    try {
      ok = await ready();
    } catch (e) {
      if (e.fatal) {
        throw new Error(`${e.message} before becoming ready; args: ${args.join(' ')}\n` +
                        `--- output ---\n${errText}`);
      }
    }
    if (ok) return handle;
    if (Date.now() >= deadline) {
      await handle.stop({timeoutMs: 1000});
      throw new Error(`${name} not ready within ${timeoutMs} ms; args: ${args.join(' ')}\n` +
                      `--- output ---\n${errText}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

// ---------------------------------------------------------------- redis

// Sends one command on a fresh connection and resolves its parsed reply.
async function redisCommand(port, args, {timeoutMs = 2000} = {}) {
  const sock = net.connect({port, host: '127.0.0.1'});
  const parser = new RespParser();
  try {
    await events.once(sock, 'connect');
    sock.write(encodeCommand(args));
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis ${args[0]} timed out`)), timeoutMs);
      sock.on('data', (chunk) => {
        parser.push(chunk);
        const r = parser.next();
        if (r !== undefined) { clearTimeout(timer); resolve(r); }
      });
      sock.on('error', (e) => { clearTimeout(timer); reject(e); });
      sock.on('close', () => { clearTimeout(timer); reject(new Error('redis closed the connection')); });
    });
  } finally {
    sock.destroy();
  }
}

async function redisPing(port) {
  try {
    const r = await redisCommand(port, ['PING'], {timeoutMs: 1000});
    return r === 'PONG';
  } catch (_) {
    return false;
  }
}

// Starts /usr/bin/redis-server without persistence on `port` (default: a free
// port) and waits for PING. Returns
//   {port, url, proc, stop(), kill(), restart()}
// restart() starts a new redis-server on the same port (after kill/stop).
async function startRedis({port, timeoutMs = DEFAULT_START_TIMEOUT_MS} = {}) {
  if (port === undefined) port = await freePort();
  const dir = makeTempDir('vent-redis-');
  const launch = () => startProcess(REDIS_SERVER, [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--protected-mode', 'no',
  ], {readyFn: () => redisPing(port), timeoutMs});
  const r = {
    port,
    url: `redis://127.0.0.1:${port}`,
    proc: await launch(),
    async stop() { await r.proc.stop(); },
    async kill() { await r.proc.kill('SIGKILL'); },
    async restart() {
      if (r.proc.isRunning()) await r.proc.stop();
      // The port may linger briefly after a kill; retry until the deadline.
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        try {
          r.proc = await launch();
          return r;
        } catch (e) {
          if (Date.now() >= deadline) throw e;
          await new Promise((res) => setTimeout(res, 100));
        }
      }
    },
  };
  return r;
}

// ---------------------------------------------------------------- RESP

function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

// Minimal RESP2 reader: push() bytes, next() returns one reply or undefined
// when incomplete. Bulk strings come back as Buffers, simple strings as
// strings, integers as numbers, errors as Error objects, arrays as arrays.
class RespParser {
  constructor() {
    this.buf = Buffer.alloc(0);
  }

  push(chunk) {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  next() {
    const r = this.parseAt(0);
    if (r === undefined) return undefined;
    this.buf = this.buf.subarray(r.end);
    return r.value;
  }

  parseAt(pos) {
    if (pos >= this.buf.length) return undefined;
    const eol = this.buf.indexOf('\r\n', pos);
    if (eol < 0) return undefined;
    const type = String.fromCharCode(this.buf[pos]);
    const line = this.buf.toString('latin1', pos + 1, eol);
    const after = eol + 2;
    switch (type) {
      case '+': return {value: line, end: after};
      case '-': return {value: new Error(line), end: after};
      case ':': return {value: Number(line), end: after};
      case '$': {
        const n = Number(line);
        if (n < 0) return {value: null, end: after};
        if (this.buf.length < after + n + 2) return undefined;
        return {value: this.buf.subarray(after, after + n), end: after + n + 2};
      }
      case '*': {
        const n = Number(line);
        if (n < 0) return {value: null, end: after};
        const out = [];
        let p = after;
        for (let i = 0; i < n; i++) {
          const r = this.parseAt(p);
          if (r === undefined) return undefined;
          out.push(r.value);
          p = r.end;
        }
        return {value: out, end: p};
      }
      default:
        throw new Error(`RESP protocol error: type byte ${JSON.stringify(type)}`);
    }
  }
}

// A raw Redis subscriber over net.Socket, so tests see the published bytes
// exactly. Emits 'message' ({channel: string, payload: Buffer}) and 'close'.
// Use subscribeRaw() to construct one: it resolves once Redis has confirmed
// every SUBSCRIBE.
class RawSubscriber extends events.EventEmitter {
  constructor(sock) {
    super();
    this.sock = sock;
    this.parser = new RespParser();
    this.queue = []; // messages not yet taken: queue[head..]
    this.head = 0;
    this.waiters = []; // pending next() resolvers
    this.closed = false;
    this.pendingConfirms = new Map(); // channel -> resolve
    sock.on('data', (chunk) => this.onData(chunk));
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w.reject(new Error('subscriber connection closed'));
      this.emit('close');
    });
    sock.on('error', () => { /* 'close' follows */ });
  }

  onData(chunk) {
    this.parser.push(chunk);
    for (;;) {
      const v = this.parser.next();
      if (v === undefined) return;
      if (!Array.isArray(v)) continue;
      const kind = v[0].toString();
      if (kind === 'subscribe') {
        const ch = v[1].toString();
        const res = this.pendingConfirms.get(ch);
        if (res) { this.pendingConfirms.delete(ch); res(); }
      } else if (kind === 'message') {
        const msg = {channel: v[1].toString(), payload: v[2]};
        this.emit('message', msg);
        const w = this.waiters.shift();
        if (w) { clearTimeout(w.timer); w.resolve(msg); } else { this.queue.push(msg); }
      }
    }
  }

  async subscribe(channels) {
    const confirms = channels.map((ch) => new Promise((res) => this.pendingConfirms.set(ch, res)));
    this.sock.write(encodeCommand(['SUBSCRIBE', ...channels]));
    await Promise.all(confirms);
  }

  // Resolves the next message (queued or future); rejects after timeoutMs.
  next({timeoutMs = 5000} = {}) {
    if (this.pending() > 0) return Promise.resolve(this.shiftQueued());
    if (this.closed) return Promise.reject(new Error('subscriber connection closed'));
    return new Promise((resolve, reject) => {
      const w = {resolve, reject, timer: null};
      w.timer = setTimeout(() => {
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no Redis message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  // Resolves an array of the next n messages; rejects (saying how many came)
  // if they have not all arrived within timeoutMs.
  async take(n, {timeoutMs = 10000} = {}) {
    const deadline = Date.now() + timeoutMs;
    const out = [];
    while (out.length < n) {
      const left = deadline - Date.now();
      try {
        out.push(await this.next({timeoutMs: Math.max(1, left)}));
      } catch (e) {
        throw new Error(`got ${out.length} of ${n} Redis messages: ${e.message}`);
      }
    }
    return out;
  }

  // Number of messages received and not yet taken.
  pending() {
    return this.queue.length - this.head;
  }

  shiftQueued() {
    const msg = this.queue[this.head];
    this.queue[this.head++] = undefined;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return msg;
  }

  // Drops queued messages (e.g. to count only what comes next).
  clear() {
    this.queue = [];
    this.head = 0;
  }

  // Async iterator over messages; ends when the connection closes.
  async *messages({timeoutMs = 5000} = {}) {
    while (!this.closed || this.pending() > 0) {
      yield await this.next({timeoutMs});
    }
  }

  [Symbol.asyncIterator]() {
    return this.messages();
  }

  close() {
    this.sock.destroy();
  }
}

// Connects to Redis on port and SUBSCRIBEs to channels; resolves a
// RawSubscriber once every subscription is confirmed.
async function subscribeRaw(port, channels, {timeoutMs = 5000} = {}) {
  const sock = net.connect({port, host: '127.0.0.1'});
  sock.setNoDelay(true);
  const timer = setTimeout(() => sock.destroy(new Error('subscribe timed out')), timeoutMs);
  try {
    await events.once(sock, 'connect');
    const sub = new RawSubscriber(sock);
    await Promise.race([
      sub.subscribe(channels),
      events.once(sock, 'close').then(() => { throw new Error('Redis closed during SUBSCRIBE'); }),
    ]);
    return sub;
  } catch (e) {
    sock.destroy();
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

// Runs redis-cli with args against port; resolves stdout (trimmed).
function redisCli(port, args) {
  return new Promise((resolve, reject) => {
    childProcess.execFile('redis-cli', ['-p', String(port), ...args], {timeout: 5000},
        (err, stdout, stderr) => {
          if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
          else resolve(stdout.trim());
        });
  });
}

// ---------------------------------------------------------------- vent-server

// Starts redis (unless opts.redis is given) and vent-server on free ports and
// waits until GET /healthz on the metrics port is 200 (Redis connected).
// Returns {redis, server, grpcAddress, grpcPort, metricsPort, httpPort (the
// HTTP emit API), stop()}.
async function startVentServer({redis, extraArgs = [], env, timeoutMs} = {}) {
  const ownRedis = !redis;
  if (ownRedis) redis = await startRedis();
  const grpcPort = await freePort();
  const metricsPort = await freePort();
  const httpPort = await freePort();
  let server;
  try {
    server = await startProcess(binPath('vent-server'), [
      '--listen', `127.0.0.1:${grpcPort}`, '--redis', redis.url,
      '--metrics-listen', `127.0.0.1:${metricsPort}`,
      '--http-listen', `127.0.0.1:${httpPort}`, ...extraArgs,
    ], {readyHttp: `http://127.0.0.1:${metricsPort}/healthz`, env, timeoutMs});
  } catch (e) {
    if (ownRedis) await redis.stop();
    throw e;
  }
  return {
    redis,
    server,
    grpcPort,
    metricsPort,
    httpPort,
    grpcAddress: `127.0.0.1:${grpcPort}`,
    healthz: () => httpGet(`http://127.0.0.1:${metricsPort}/healthz`),
    async stop() {
      await server.stop();
      if (ownRedis) await redis.stop();
    },
  };
}

module.exports = {
  RespParser,
  RawSubscriber,
  binPath,
  encodeCommand,
  freePort,
  httpGet,
  redisCli,
  redisCommand,
  redisPing,
  startProcess,
  startRedis,
  startVentServer,
  subscribeRaw,
  tcpAccepts,
  waitFor,
};
