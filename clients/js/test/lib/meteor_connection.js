// A stand-in for Meteor's client connection (Meteor.connection /
// DDP.connect()) with the parts the Vent adapter (src/meteor.js) and
// redis-oplog's VentClient use, behaving as Meteor's livedata client does:
//  * `_stream`: on('message', fn) gets the raw text of every DDP message
//    (one SockJS array element), its own handler registered first;
//  * subscribe(name, ...args[, callbacks]): trailing {onReady, onStop} or a
//    function are stripped and never sent; Random ids; onReady once; onStop
//    on nosub (with a Meteor.Error-shaped error) or after stop(); the handle
//    has subscriptionId, ready(), stop() (sends unsub);
//  * apply(method, params, callback) and _send(obj);
//  * after a reconnect: connect with the previous session id, then every
//    live sub again with the SAME id and params (so Vent frames keep their
//    "<rand>.<name>" ids).
// It talks to a real vent-bridge over the real `sockjs-client` (Meteor's
// browser transport), on any of its transports.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SockJS = require('sockjs-client');

const UNMISTAKABLE = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';
const randomId = () => Array.from({ length: 17 }, () => UNMISTAKABLE[Math.floor(Math.random() * 55)]).join('');

export class MeteorConnection {
  constructor(base, { transports } = {}) {
    this._base = base; // http://127.0.0.1:PORT
    this._transports = transports;
    this._listeners = { message: [], reset: [] };
    this._stream = {
      on: (event, fn) => { (this._listeners[event] || (this._listeners[event] = [])).push(fn); },
    };
    this._subs = new Map(); // id -> {name, params, callbacks, ready}
    this._methods = new Map(); // id -> callback
    this._nextMethod = 0;
    this._queue = [];
    this._session = null;
    this._connected = false;
    this.received = []; // every parsed message, for assertions
    // Meteor's livedata handler is registered on the stream first.
    this._stream.on('message', (raw) => this._livedata(raw));
    this._open();
  }

  _open() {
    this._connected = false;
    const sock = new SockJS(`${this._base}/sockjs`, null,
        this._transports ? { transports: this._transports } : {});
    this._sock = sock;
    sock.onopen = () => {
      if (sock !== this._sock) return;
      sock.send(JSON.stringify({ msg: 'connect', ...(this._session ? { session: this._session } : {}),
        version: '1', support: ['1', 'pre2', 'pre1'] }));
      // Meteor re-sends every live subscription with the same id and params.
      for (const [id, s] of this._subs) sock.send(JSON.stringify({ msg: 'sub', id, name: s.name, params: s.params }));
    };
    sock.onmessage = (e) => {
      if (sock !== this._sock) return;
      for (const fn of this._listeners.message) fn(e.data);
    };
    sock.onclose = () => { if (sock === this._sock) this._connected = false; };
  }

  _livedata(raw) {
    const msg = JSON.parse(raw);
    this.received.push(msg);
    switch (msg.msg) {
      case 'connected':
        this._session = msg.session;
        this._connected = true;
        for (const m of this._queue.splice(0)) this._sock.send(m);
        for (const fn of this._listeners.reset) fn();
        break;
      case 'ping':
        this._send(msg.id === undefined ? { msg: 'pong' } : { msg: 'pong', id: msg.id });
        break;
      case 'ready':
        for (const id of msg.subs) {
          const s = this._subs.get(id);
          if (s && !s.ready) {
            s.ready = true;
            if (s.callbacks.onReady) s.callbacks.onReady();
          }
        }
        break;
      case 'nosub': {
        const s = this._subs.get(msg.id);
        if (!s) break;
        this._subs.delete(msg.id);
        if (s.callbacks.onStop) {
          s.callbacks.onStop(msg.error ? Object.assign(new Error(msg.error.message), msg.error) : undefined);
        }
        break;
      }
      case 'result': {
        const cb = this._methods.get(msg.id);
        if (!cb) break;
        this._methods.delete(msg.id);
        if (msg.error) cb(Object.assign(new Error(msg.error.message), msg.error));
        else cb(undefined, msg.result);
        break;
      }
      default:
        break; // added/changed/removed go to stores; Vent frames too (collection "undefined")
    }
  }

  _send(obj) {
    const text = JSON.stringify(obj);
    if (this._connected) this._sock.send(text);
    else this._queue.push(text);
  }

  subscribe(name, ...args) {
    let callbacks = {};
    const last = args[args.length - 1];
    if (typeof last === 'function') callbacks = { onReady: args.pop() };
    else if (last && (typeof last.onReady === 'function' || typeof last.onStop === 'function')) callbacks = args.pop();
    const id = randomId();
    const s = { name, params: args, callbacks, ready: false };
    this._subs.set(id, s);
    this._send({ msg: 'sub', id, name, params: args });
    return {
      subscriptionId: id,
      ready: () => s.ready,
      stop: () => {
        if (!this._subs.has(id)) return;
        this._subs.delete(id);
        this._send({ msg: 'unsub', id });
        if (s.callbacks.onStop) s.callbacks.onStop();
      },
    };
  }

  apply(method, params, callback) {
    const id = String(++this._nextMethod);
    this._methods.set(id, callback);
    this._send({ msg: 'method', id, method, params });
  }

  // Drops the socket and connects again (Meteor's reconnect).
  reconnect() {
    const old = this._sock;
    this._connected = false;
    for (const s of this._subs.values()) s.ready = false;
    this._open();
    old.close();
  }

  status() {
    return { connected: this._connected };
  }

  disconnect() {
    this._sock.close();
  }
}
