'use strict';
// A "Meteor-faithful" DDP client on `ws` (docs/protocol.md "Compatibility"): sends
// {"msg":"connect","version":"1","support":["1","pre2","pre1"]}, pipelines
// `sub`s right after `connect` without waiting for `connected`, uses 17-char
// Random ids for sub ids and Vent rands, answers server pings, re-sends the
// same sub ids (and `session`) on reconnect, and routes Vent frames the way
// redis-oplog's VentClient does: the raw message text must start with the
// 28-char prefix {"msg":"changed","__vent":"1 — anything else is not a Vent
// event — then JSON.parse and store["<rand>.<name>"].
//
// Transport: 'raw' (one DDP message per WS text frame) or 'sockjs'
// (/sockjs/<3 digits>/<8 chars>/websocket with o / a[...] / c[...] framing).
//
// Every inbound DDP message is appended to `messages` ({raw, msg}); tests
// consume them in order with take(pred) / next(). Vent frames also go to
// their Sub handle (sub.raws, sub.events).

const crypto = require('node:crypto');
const WebSocket = require('ws');

const UNMISTAKABLE = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
const VENT_PREFIX = '{"msg":"changed","__vent":"1';

function randomId(n = 17) {
  const bytes = crypto.randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += UNMISTAKABLE[bytes[i] % UNMISTAKABLE.length];
  return s;
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
  promise.catch(() => {}); // observed later (or never) by the test
  return {promise, resolve, reject};
}

class Sub {
  constructor(client, name, args, id, rand) {
    this.client = client;
    this.name = name;
    this.args = args;
    this.id = id;
    this.rand = rand;
    this.key = `${rand}.${name}`;
    this.raws = []; // raw Vent frame texts, in arrival order
    this.events = []; // parsed `e` values
    this.waiters = [];
    this.resetState();
  }

  resetState() {
    this.readyD = deferred();
    this.nosubD = deferred();
    this.isReady = false;
    this.nosubMsg = null;
  }

  params() {
    return [this.rand, ...this.args];
  }

  onVent(raw, msg) {
    this.raws.push(raw);
    this.events.push(msg.e);
    this.waiters = this.waiters.filter((w) => {
      if (this.events.length >= w.n) { w.resolve(this.events.slice(0, w.n)); return false; }
      return true;
    });
  }

  // Resolves once `ready` arrived for this sub; rejects with the nosub error.
  ready({timeoutMs = 5000} = {}) {
    return withTimeout(this.readyD.promise, timeoutMs, `ready for sub ${this.name}/${this.id}`);
  }

  // Resolves the nosub message for this sub.
  nosub({timeoutMs = 5000} = {}) {
    return withTimeout(this.nosubD.promise, timeoutMs, `nosub for sub ${this.name}/${this.id}`);
  }

  // Resolves the first n events (counting from the start of this sub).
  waitEvents(n, {timeoutMs = 5000} = {}) {
    if (this.events.length >= n) return Promise.resolve(this.events.slice(0, n));
    const w = {n};
    const p = new Promise((resolve) => { w.resolve = resolve; });
    this.waiters.push(w);
    return withTimeout(p, timeoutMs, `${n} events on ${this.key} (have ${this.events.length})`)
        .catch((e) => {
          this.waiters = this.waiters.filter((x) => x !== w);
          throw new Error(`${e.message}; got ${this.events.length}`);
        });
  }

  // Sends unsub (Meteor's handle.stop()) and resolves the nosub.
  stop(opts) {
    delete this.client.store[this.key];
    this.client.subs.delete(this.id);
    this.client.send({msg: 'unsub', id: this.id});
    return this.nosub(opts);
  }
}

class MeteorClient {
  constructor(url, {transport = 'raw', version = '1', support = ['1', 'pre2', 'pre1'],
    autoPong = true, clientPingMs = 17500, wsOptions = {}} = {}) {
    this.url = url;
    this.transport = transport;
    this.version = version;
    this.support = support;
    this.autoPong = autoPong;
    this.clientPingMs = clientPingMs;
    this.wsOptions = wsOptions;
    this.ws = null;
    this.session = null; // last `connected` session id
    this.messages = []; // {raw, msg, taken}
    this.rawFrames = []; // every inbound WS text frame, before SockJS unwrapping
    this.takers = [];
    this.store = {}; // "<rand>.<name>" -> Sub (VentClient's store)
    this.subs = new Map(); // active sub id -> Sub (re-sent on reconnect)
    this.pingsReceived = 0;
    this.sockjsClose = null; // [code, reason] from a c[...] frame
    this.methodCounter = 0;
  }

  // Opens the socket and sends connect (+ `pipeline` messages, before
  // `connected` arrives). Resolves once the socket is open; use connected()
  // to wait for the handshake.
  async open({pipeline = [], connectMsg} = {}) {
    const url = this.transport === 'sockjs' ?
      this.url.replace(/\/(websocket)?$/, '') +
        `/sockjs/${String(Math.floor(Math.random() * 1000)).padStart(3, '0')}/${randomId(8)}/websocket` :
      this.url;
    this.connectedD = deferred();
    this.closedD = deferred();
    this.sockjsOpenD = deferred();
    this.isOpen = false;
    const ws = new WebSocket(url, this.wsOptions);
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws) return;
      if (isBinary) return; // Meteor ignores binary frames
      this.onFrame(data.toString('utf8'));
    });
    ws.on('close', (code, reason) => {
      this.isOpen = false;
      clearInterval(this.pingTimer);
      this.closedD.resolve({code, reason: reason.toString()});
    });
    ws.on('error', (err) => { this.lastError = err; });
    await withTimeout(new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        reject(new Error(`unexpected HTTP ${res.statusCode} on upgrade`));
        ws.terminate();
      });
    }), 5000, `WebSocket open ${url}`);
    if (this.transport === 'sockjs') await withTimeout(this.sockjsOpenD.promise, 2000, 'SockJS "o"');
    this.isOpen = true;
    const connect = connectMsg || {msg: 'connect', ...(this.session ? {session: this.session} : {}),
      version: this.version, support: this.support};
    this.send(connect);
    for (const m of pipeline) this.send(m);
    this.lastSent = Date.now();
    if (this.clientPingMs > 0) {
      this.pingTimer = setInterval(() => {
        if (this.isOpen && Date.now() - this.lastReceived >= this.clientPingMs) this.send({msg: 'ping'});
      }, this.clientPingMs);
      this.pingTimer.unref();
    }
    this.lastReceived = Date.now();
  }

  // open() + wait for `connected`; resolves the connected message.
  // The `connected` message is marked taken (next() starts after it).
  async connect(opts = {}) {
    await this.open(opts);
    const m = await this.connected();
    await this.take((x) => x.msg === 'connected');
    return m;
  }

  connected({timeoutMs = 5000} = {}) {
    return withTimeout(this.connectedD.promise, timeoutMs, 'connected');
  }

  // Resolves {code, reason} when the WebSocket closes.
  closed({timeoutMs = 5000} = {}) {
    return withTimeout(this.closedD.promise, timeoutMs, 'close');
  }

  onFrame(text) {
    this.rawFrames.push(text);
    this.lastReceived = Date.now();
    if (this.transport === 'raw') {
      this.onDdp(text);
      return;
    }
    if (text === 'o') { this.sockjsOpenD.resolve(); return; }
    if (text === 'h') return;
    if (text[0] === 'a') {
      for (const m of JSON.parse(text.slice(1))) this.onDdp(m);
      return;
    }
    if (text[0] === 'c') { this.sockjsClose = JSON.parse(text.slice(1)); return; }
    throw new Error(`unexpected SockJS frame ${text.slice(0, 100)}`);
  }

  onDdp(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch (e) {
      msg = {unparsable: raw};
    }
    // Vent fast path: exact 28-char prefix on the raw text, then store lookup.
    if (raw.slice(0, 28) === VENT_PREFIX) {
      const sub = this.store[msg.id];
      if (sub) sub.onVent(raw, msg);
    }
    if (msg && msg.msg === 'ping' && this.autoPong) {
      this.pingsReceived++;
      this.send(msg.id === undefined ? {msg: 'pong'} : {msg: 'pong', id: msg.id});
    } else if (msg && msg.msg === 'ping') {
      this.pingsReceived++;
    }
    if (msg && msg.msg === 'connected') {
      this.session = msg.session;
      this.connectedD.resolve(msg);
    }
    if (msg && msg.msg === 'failed') this.connectedD.reject(Object.assign(new Error('failed'), {ddp: msg}));
    const entry = {raw, msg, taken: false};
    if (msg && msg.msg === 'ready' && Array.isArray(msg.subs)) {
      for (const id of msg.subs) {
        const sub = this.subs.get(id) || this.stopped(id);
        if (sub) { sub.isReady = true; sub.readyD.resolve(entry); }
      }
    }
    if (msg && msg.msg === 'nosub') {
      const sub = this.subs.get(msg.id) || this.stopped(msg.id);
      if (sub) {
        sub.nosubMsg = msg;
        sub.nosubD.resolve(entry);
        sub.readyD.reject(Object.assign(new Error(`nosub ${raw}`), {nosub: msg}));
        this.subs.delete(msg.id);
        delete this.store[sub.key];
      }
    }
    this.messages.push(entry);
    for (const t of this.takers) {
      if (!t.done && t.pred(msg, raw)) {
        t.done = true;
        entry.taken = true;
        t.resolve(entry);
        break;
      }
    }
    this.takers = this.takers.filter((t) => !t.done);
  }

  stopped(id) {
    return this.stoppedSubs ? this.stoppedSubs.get(id) : undefined;
  }

  // Resolves the first not-yet-taken message matching pred(msg, raw) — already
  // received or future — and marks it taken. Resolves {raw, msg}.
  take(pred = () => true, {timeoutMs = 5000, what = 'a matching DDP message'} = {}) {
    for (const e of this.messages) {
      if (!e.taken && pred(e.msg, e.raw)) { e.taken = true; return Promise.resolve(e); }
    }
    const t = {pred, done: false};
    const p = new Promise((resolve) => { t.resolve = resolve; });
    this.takers.push(t);
    return withTimeout(p, timeoutMs, what).catch((e) => {
      t.done = true;
      const seen = this.messages.filter((m) => !m.taken).map((m) => m.raw).slice(-10);
      throw new Error(`${e.message}; untaken: ${seen.join(' | ')}`);
    });
  }

  // The next not-yet-taken message, whatever it is (strict order).
  next(opts) {
    return this.take(() => true, {what: 'next DDP message', ...opts});
  }

  // Untaken messages right now (raw texts).
  untaken(pred = () => true) {
    return this.messages.filter((e) => !e.taken && pred(e.msg, e.raw));
  }

  send(obj) {
    this.sendRaw(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // Sends one DDP message text (wrapped as ["..."] on SockJS).
  sendRaw(text) {
    const payload = this.transport === 'sockjs' ? JSON.stringify([text]) : text;
    this.ws.send(payload);
    this.lastSent = Date.now();
  }

  // Vent.subscribe(name, ...args): new sub id and rand unless given.
  subscribe(name, args = [], {id = randomId(), rand = randomId(), send = true} = {}) {
    const sub = new Sub(this, name, args, id, rand);
    this.subs.set(id, sub);
    this.store[sub.key] = sub;
    if (!this.stoppedSubs) this.stoppedSubs = new Map();
    this.stoppedSubs.set(id, sub); // keeps late nosub/ready routable after stop()
    if (send) this.send(subMessage(sub));
    return sub;
  }

  // A `method` call (Meteor's ids "1","2",…); resolves {result, updated} messages.
  async call(method, params = []) {
    const id = String(++this.methodCounter);
    this.send({msg: 'method', id, method, params});
    const result = this.take((m) => m.msg === 'result' && m.id === id, {what: `result ${id}`});
    const updated = this.take((m) => m.msg === 'updated' && Array.isArray(m.methods) && m.methods.includes(id),
        {what: `updated ${id}`});
    return {result: await result, updated: await updated};
  }

  // ping with optional id; resolves the pong message.
  async ping(id) {
    this.send(id === undefined ? {msg: 'ping'} : {msg: 'ping', id});
    return this.take((m) => m.msg === 'pong' && m.id === id, {what: `pong ${id}`});
  }

  // Drops the socket and reconnects like Meteor: connect with `session`,
  // then every active sub re-sent with the SAME id and params, pipelined.
  async reconnect() {
    await this.dropSocket();
    for (const sub of this.subs.values()) sub.resetState();
    const pipeline = [...this.subs.values()].map(subMessage);
    await this.open({pipeline});
    const m = await this.connected();
    await this.take((x) => x.msg === 'connected' && x.session === m.session);
    return m;
  }

  async dropSocket() {
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) {
      const closed = this.closedD.promise;
      this.ws.terminate();
      await closed;
    }
  }

  close() {
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.terminate();
  }
}

function subMessage(sub) {
  return {msg: 'sub', id: sub.id, name: sub.name, params: sub.params()};
}

module.exports = {MeteorClient, Sub, VENT_PREFIX, randomId, withTimeout};
