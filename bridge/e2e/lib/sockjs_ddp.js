'use strict';
// DDP over the real `sockjs-client` npm package (the library Meteor's
// browser client bundles), forced onto one transport:
//
//   const c = new SockJsDdp(env.base, {transport: 'xhr-streaming'});
//   await c.connect();               // SockJS open + DDP connect/connected
//   const sub = c.subscribe('threadMessage', [{threadId}]);
//   await c.take((m) => m.msg === 'ready');
//
// Every inbound DDP message (one SockJS array element, exactly as the
// bridge wrote it) is kept in `messages` ({raw, msg}); take(pred) resolves
// the first one not yet taken that matches, with a deadline. Plus raw HTTP
// helpers for what sockjs-client cannot do (a client that stops reading).

const http = require('node:http');
const net = require('node:net');
const SockJS = require('sockjs-client');

const {randomId, withTimeout} = require('./meteor_client.js');

class SockJsDdp {
  constructor(base, {transport, sessionId} = {}) {
    this.base = base; // http://127.0.0.1:PORT
    this.transport = transport;
    this.sessionId = sessionId;
    this.messages = [];
    this.takers = [];
    this.closedInfo = null;
    this.closeWaiters = [];
  }

  open({timeoutMs = 10000} = {}) {
    const opts = {transports: [this.transport]};
    if (this.sessionId) opts.sessionId = () => this.sessionId;
    this.sock = new SockJS(`${this.base}/sockjs`, null, opts);
    this.sock.onmessage = (e) => this.onDdp(e.data);
    this.sock.onclose = (e) => {
      this.closedInfo = {code: e.code, reason: e.reason};
      for (const w of this.closeWaiters) w(this.closedInfo);
      this.closeWaiters = [];
    };
    return withTimeout(new Promise((resolve, reject) => {
      this.sock.onopen = () => resolve();
      this.sock.onerror = (e) => reject(new Error(`SockJS error ${e && e.message}`));
    }), timeoutMs, `SockJS open (${this.transport})`);
  }

  async connect() {
    await this.open();
    this.send({msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']});
    return this.take((m) => m.msg === 'connected', {what: 'connected'});
  }

  onDdp(raw) {
    let msg;
    try { msg = JSON.parse(raw); } catch (_) { msg = {unparsable: raw}; }
    if (msg.msg === 'ping') this.send(msg.id === undefined ? {msg: 'pong'} : {msg: 'pong', id: msg.id});
    const entry = {raw, msg, taken: false};
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

  take(pred, {timeoutMs = 10000, what = 'a DDP message'} = {}) {
    for (const e of this.messages) {
      if (!e.taken && pred(e.msg, e.raw)) { e.taken = true; return Promise.resolve(e); }
    }
    const t = {pred, done: false};
    const p = new Promise((resolve) => { t.resolve = resolve; });
    this.takers.push(t);
    return withTimeout(p, timeoutMs, `${what} over ${this.transport}`).catch((e) => {
      t.done = true;
      throw e;
    });
  }

  send(obj) {
    this.sock.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // Vent.subscribe: resolves {id, rand, ready}.
  subscribe(name, args = []) {
    const id = randomId();
    const rand = randomId();
    this.send({msg: 'sub', id, name, params: [rand, ...args]});
    return {id, rand, ready: () => this.take((m) => m.msg === 'ready' && m.subs.includes(id), {what: `ready ${id}`})};
  }

  closed({timeoutMs = 10000} = {}) {
    if (this.closedInfo) return Promise.resolve(this.closedInfo);
    return withTimeout(new Promise((resolve) => this.closeWaiters.push(resolve)), timeoutMs,
        `SockJS close (${this.transport})`);
  }

  close() {
    if (this.sock) this.sock.close();
  }
}

// One HTTP request on a fresh connection: {status, headers, body}.
function request(port, method, path, {body, headers = {}, timeoutMs = 5000} = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({host: '127.0.0.1', port, method, path, agent: false, timeout: timeoutMs,
      headers: body === undefined ? headers : {'Content-Type': 'text/plain', ...headers}}, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString()}));
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

// Sends DDP messages to a session through xhr_send; resolves the status.
async function xhrSend(port, server, session, msgs) {
  const r = await request(port, 'POST', `/sockjs/${server}/${session}/xhr_send`,
      {body: JSON.stringify(msgs.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))))});
  return r.status;
}

// A raw receiving request (POST/GET on a net.Socket) whose response can be
// read on demand or not at all (sock.pause()): resolves {sock, text()}.
async function rawReceiver(port, method, path) {
  const sock = net.connect({port, host: '127.0.0.1'});
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  let buf = '';
  sock.on('data', (c) => { buf += c.toString('latin1'); });
  sock.on('error', () => {});
  sock.write(`${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 0\r\n\r\n`);
  return {sock, text: () => buf};
}

module.exports = {SockJsDdp, rawReceiver, request, xhrSend};
