'use strict';
// Vent emit client for Node.js (npm package "vent-grpc"): a thin wrapper over
// @grpc/grpc-js and @grpc/proto-loader for the vent.v1.Vent service. The
// package carries its copy of proto/vent/v1/vent.proto (kept identical to the
// repository's by the ctest clients_node_package); types in index.d.ts.
//
//   const {VentClient} = require('vent-grpc');
//   const vent = new VentClient('127.0.0.1:50051', {apiKey: 'k1'});
//   const {receivers, id} = await vent.emit('threads::t1::new_message', {text: 'hi'});
//
// Payloads: a string is sent as JSON text exactly as given (it must be valid
// JSON; it is published to Redis byte for byte); any other value is
// JSON.stringify'd. Errors: every method rejects with the grpc-js error
// (err.code is a grpc.status value, err.details the server's message).
// A VentClient may be used concurrently; close() it when done.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// $VENT_PROTO (another vent.proto, e.g. a newer one), else the package's copy.
function findProto() {
  const candidates = [
    process.env.VENT_PROTO,
    path.join(__dirname, 'proto', 'vent', 'v1', 'vent.proto'),
  ].filter(Boolean);
  for (const p of candidates) {
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`vent.proto not found (tried ${candidates.join(', ')}); set VENT_PROTO`);
}

// protobufjs (under proto-loader) rejects `import` statements placed after
// definitions, which protoc accepts. Load a copy with the imports hoisted
// below the `package` line when needed; the copy is deleted at exit.
function loadableProto(protoPath) {
  const text = fs.readFileSync(protoPath, 'utf8');
  const importRe = /^[ \t]*import[ \t]+(?:public[ \t]+|weak[ \t]+)?"[^"]+"[ \t]*;[ \t]*$/gm;
  const imports = text.match(importRe) || [];
  const firstDef = text.search(/^[ \t]*(message|service|enum)\b/m);
  const lateImport = imports.some((line) => text.indexOf(line) > firstDef);
  if (!lateImport) return protoPath;
  const body = text.replace(importRe, '');
  const hoisted = body.replace(/^([ \t]*package[^;]*;)/m, (pkg) => `${pkg}\n${imports.join('\n')}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-proto-'));
  process.on('exit', () => fs.rmSync(dir, {recursive: true, force: true}));
  const out = path.join(dir, path.basename(protoPath));
  fs.writeFileSync(out, hoisted);
  return out;
}

let cachedService = null;
function loadService() {
  if (cachedService) return cachedService;
  const originalPath = findProto();
  const protoPath = loadableProto(originalPath);
  const def = protoLoader.loadSync(protoPath, {
    keepCase: true, // field names as in the proto: idempotency_key, emitted_at
    longs: Number, // receivers/published fit easily in a double
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [path.dirname(path.dirname(path.dirname(originalPath)))],
  });
  cachedService = grpc.loadPackageDefinition(def).vent.v1.Vent;
  return cachedService;
}

function toJsonText(value) {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  const s = JSON.stringify(value);
  if (s === undefined) throw new TypeError('event payload is not JSON-serializable');
  return s;
}

// Builds a vent.v1.Event from (channel, payload, {idempotencyKey}).
function makeEvent(channel, payload, {idempotencyKey} = {}) {
  const ev = {channel, json: toJsonText(payload)};
  if (idempotencyKey) ev.idempotency_key = idempotencyKey;
  return ev;
}

// Accepts [channel, payload, opts?] tuples or {channel, data|json, idempotencyKey}.
function normalizeEvent(e) {
  if (Array.isArray(e)) return makeEvent(e[0], e[1], e[2] || {});
  const payload = e.json !== undefined ? e.json : e.data;
  return makeEvent(e.channel, payload, {idempotencyKey: e.idempotencyKey || e.idempotency_key});
}

function emitResult(r) {
  return {receivers: Number(r.receivers), id: r.id, duplicate: Boolean(r.duplicate)};
}

class VentClient {
  // address: "host:port". options.apiKey adds `authorization: Bearer KEY` to
  // every call; options.tls: true (system roots) or {rootCerts, privateKey,
  // certChain} Buffers; options.deadlineMs: default per-call deadline for
  // unary calls (default 10 s).
  constructor(address, {apiKey, tls, deadlineMs = 10000, channelOptions} = {}) {
    const Vent = loadService();
    let creds;
    if (!tls) {
      creds = grpc.credentials.createInsecure();
    } else if (tls === true) {
      creds = grpc.credentials.createSsl();
    } else {
      creds = grpc.credentials.createSsl(tls.rootCerts || null, tls.privateKey || null,
          tls.certChain || null);
    }
    this.client = new Vent(address, creds, channelOptions || {});
    this.apiKey = apiKey;
    this.deadlineMs = deadlineMs;
  }

  metadata() {
    const md = new grpc.Metadata();
    if (this.apiKey) md.set('authorization', `Bearer ${this.apiKey}`);
    return md;
  }

  callOptions(deadlineMs) {
    const ms = deadlineMs === undefined ? this.deadlineMs : deadlineMs;
    return ms ? {deadline: new Date(Date.now() + ms)} : {};
  }

  // Publishes one event. Resolves {receivers, id, duplicate}.
  emit(channel, payload, {idempotencyKey, deadlineMs} = {}) {
    let event;
    try {
      event = makeEvent(channel, payload, {idempotencyKey});
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.client.Emit({event}, this.metadata(), this.callOptions(deadlineMs), (err, res) => {
        if (err) reject(err);
        else resolve(emitResult(res));
      });
    });
  }

  // Publishes events in order in one call. events: [channel, payload, opts?]
  // tuples or {channel, data|json, idempotencyKey} objects. Resolves an array
  // of {receivers, id, duplicate}, one per event.
  emitBatch(events, {deadlineMs} = {}) {
    let list;
    try {
      list = events.map(normalizeEvent);
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise((resolve, reject) => {
      this.client.EmitBatch({events: list}, this.metadata(), this.callOptions(deadlineMs),
          (err, res) => {
            if (err) reject(err);
            else resolve(res.results.map(emitResult));
          });
    });
  }

  // Opens a client stream. Returns {write(channel, payload, opts) -> Promise
  // (resolves once the event is queued; waits while the queue is full, which
  // honours gRPC flow control), end() -> Promise<{published, receivers}>,
  // cancel()}. Queued events go out in order, whatever is queued (up to
  // maxEventsPerMessage) per EmitStream message: batches while the call is
  // busy, one by one when the producer is slow. The call has no deadline
  // unless deadlineMs is given.
  emitStream({deadlineMs = 0, maxEventsPerMessage = 256} = {}) {
    const max = Math.max(1, maxEventsPerMessage);
    const maxBytes = 1 << 20;
    let settle;
    const result = new Promise((resolve, reject) => { settle = {resolve, reject}; });
    const call = this.client.EmitStream(this.metadata(), this.callOptions(deadlineMs),
        (err, res) => {
          if (err) settle.reject(err);
          else settle.resolve({published: Number(res.published), receivers: Number(res.receivers)});
        });
    let failed = null; // surfaced through write()/end()
    let pending = []; // events queued, not yet handed to grpc-js, in order
    let pendingBytes = 0;
    let blocked = false; // grpc-js buffer full: wait for 'drain'
    let scheduled = false;
    let ending = false;
    let ended = false;
    let waiters = []; // write() calls waiting for room in the queue
    const full = () => pending.length >= max || pendingBytes >= maxBytes;
    const wake = () => {
      if (full() && !failed) return;
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    };
    // Hands everything queued to grpc-js (max events per message) until it
    // reports its buffer full; one message at a time, so order is kept.
    const flush = () => {
      scheduled = false;
      while (pending.length > 0 && !blocked && !failed) {
        let n = 0;
        let bytes = 0;
        while (n < pending.length && n < max && (n === 0 || bytes < maxBytes)) {
          bytes += pending[n].bytes;
          n++;
        }
        const events = pending.slice(0, n).map((p) => p.event);
        pending = n === pending.length ? [] : pending.slice(n);
        pendingBytes -= bytes;
        if (!call.write({events})) {
          blocked = true;
          call.once('drain', () => {
            blocked = false;
            flush();
          });
        }
      }
      if (ending && !ended && (pending.length === 0 || failed)) {
        ended = true;
        call.end();
      }
      wake();
    };
    const schedule = () => {
      if (scheduled || blocked) return;
      scheduled = true;
      setImmediate(flush);
    };
    result.catch((e) => {
      failed = e;
      wake();
    });
    return {
      call,
      async write(channel, payload, opts = {}) {
        if (failed) throw failed;
        if (ending) throw new Error('emitStream: write after end()');
        while (full()) {
          await new Promise((resolve) => waiters.push(resolve));
          if (failed) throw failed;
        }
        const event = makeEvent(channel, payload, opts);
        pending.push({event, bytes: channel.length + (event.json ? event.json.length : 64) + 8});
        pendingBytes += pending[pending.length - 1].bytes;
        if (full()) flush();
        else schedule();
      },
      end() {
        ending = true;
        flush();
        return result;
      },
      cancel() {
        call.cancel();
      },
    };
  }

  // Streams events on channels. onEvent({channel, json, emittedAt: Date,
  // offset, epoch}) is called for each one (offset/epoch: the event's position
  // on a history channel, docs/history.md; 0 and '' otherwise). Options:
  // since: [{channel, offset, epoch}] resumes after those positions (the
  // missed events come first). Returns {ready: Promise (resolves once the
  // subscription is active in Redis, with the starts: [{channel, offset,
  // epoch, recovered, reason}] for history channels), done: Promise (resolves
  // on cancel, rejects with the grpc error otherwise), cancel()}.
  subscribe(channels, onEvent, {since} = {}) {
    const request = {channels};
    if (since && since.length) {
      request.since = since.map((p) => ({channel: p.channel, offset: p.offset || 0, epoch: p.epoch || ''}));
    }
    const call = this.client.Subscribe(request, this.metadata());
    let readySettle;
    const ready = new Promise((resolve, reject) => { readySettle = {resolve, reject}; });
    let cancelled = false;
    const done = new Promise((resolve, reject) => {
      call.on('data', (msg) => {
        if (msg.ready) {
          readySettle.resolve((msg.starts || []).map((s) => ({
            channel: s.position ? s.position.channel : '',
            offset: s.position ? Number(s.position.offset) : 0,
            epoch: s.position ? s.position.epoch : '',
            recovered: Boolean(s.recovered),
            reason: s.reason || '',
          })));
          return;
        }
        if (!msg.event) return;
        const ts = msg.event.emitted_at;
        const emittedAt = ts ? new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6)) : null;
        onEvent({
          channel: msg.event.channel, json: msg.event.json, emittedAt,
          offset: Number(msg.event.offset || 0), epoch: msg.event.epoch || '',
        });
      });
      call.on('error', (err) => {
        readySettle.reject(err);
        if (cancelled && err.code === grpc.status.CANCELLED) resolve();
        else reject(err);
      });
      call.on('end', () => {
        readySettle.reject(new Error('Subscribe ended before ready'));
        resolve();
      });
    });
    ready.catch(() => {});
    done.catch(() => {});
    return {
      ready,
      done,
      cancel() {
        cancelled = true;
        call.cancel();
      },
    };
  }

  // Resolves when the channel is connected (or rejects after timeoutMs).
  waitForReady(timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
      this.client.waitForReady(new Date(Date.now() + timeoutMs), (err) => (err ? reject(err) : resolve()));
    });
  }

  close() {
    this.client.close();
  }
}

const {version} = require('./package.json');

module.exports = {VentClient, status: grpc.status, Metadata: grpc.Metadata, loadService, version};
