// vent-client: subscribe to Vent publications (redis-oplog's Vent API) over
// Meteor DDP, in browsers and Node. No runtime dependencies.
//
//   const vent = new VentClient('ws://host:3000/websocket');
//   const handle = vent.subscribe('threadMessage', {threadId});
//   handle.listen(({message}) => ...);
//
// Contract:
// * One VentClient owns one WebSocket (or, via VentClient.attach(), rides on
//   a DDP connection someone else owns). All callbacks run on the event loop
//   that delivered the message; nothing here is shared across threads.
// * Vent frames are recognised by their first 28 characters
//   ({"msg":"changed","__vent":"1) before any parsing, exactly like the
//   Meteor client; they are routed by id "<rand>.<name>" to the ONE listener
//   of that handle. Frames for unknown or stopped handles are dropped.
// * Subscriptions survive reconnects: after every (re)connect the client
//   sends connect, then login (if a token was given), then every live sub
//   with the SAME sub id and params (so the same rand). Events emitted while
//   disconnected are lost (Vent has no replay); handle.onReady() fires after
//   each re-subscription so apps can refetch state.
// * After handle.stop() returns, its listener is never called again.

export const VENT_PREFIX = '{"msg":"changed","__vent":"1'; // 28 characters
const OPEN = 1; // WebSocket.OPEN
const UNMISTAKABLE = '23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz';

// Meteor's Random.id(): n characters from the unmistakable alphabet.
export function randomId(n = 17) {
  const c = globalThis.crypto;
  const words = new Uint32Array(n);
  if (c && c.getRandomValues) {
    c.getRandomValues(words);
  } else {
    for (let i = 0; i < n; i++) words[i] = Math.floor(Math.random() * 0x100000000);
  }
  let out = '';
  for (let i = 0; i < n; i++) out += UNMISTAKABLE[Math.floor((words[i] / 0x100000000) * 55)];
  return out;
}

// A DDP error (Meteor.Error shape) or a client-side failure.
// error: number | string (404, 400, 'disconnected', 'stopped', ...).
export class VentError extends Error {
  constructor(error, reason, {details, message} = {}) {
    super(message || (reason ? `${reason} [${error}]` : `[${error}]`));
    this.name = 'VentError';
    this.error = error;
    this.reason = reason;
    if (details !== undefined) this.details = details;
  }

  static from(e) {
    if (e instanceof VentError) return e;
    if (e && typeof e === 'object') {
      return new VentError(e.error !== undefined ? e.error : 500, e.reason || String(e.message || ''),
          {details: e.details, message: e.message});
    }
    return new VentError(500, String(e));
  }
}

function decode(data) {
  if (typeof data === 'string') return data;
  if (typeof TextDecoder !== 'undefined' && data && (data.byteLength !== undefined)) {
    return new TextDecoder().decode(data);
  }
  return String(data);
}

function normalizeUrl(url) {
  const s = String(url);
  if (s.startsWith('http://')) return 'ws://' + s.slice(7);
  if (s.startsWith('https://')) return 'wss://' + s.slice(8);
  return s;
}

function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
  return d;
}

// The handle returned by VentClient.subscribe(). Seed API: listen(), ready(),
// stop(); plus whenReady(), onReady(), onError().
export class VentSubscription {
  constructor(client, name, params) {
    this._client = client;
    this.id = randomId(); // DDP sub id
    this.rand = randomId(); // Vent collection id, params[0] on the wire
    this.name = name;
    this.params = params;
    this.key = `${this.rand}.${name}`; // the "id" of this sub's Vent frames
    this._ready = false;
    this._everReady = false;
    this._stopped = false;
    this._error = null;
    this._listener = null;
    this._readyFns = [];
    this._errorFns = [];
    this._readyWait = null; // deferred, created by whenReady()
    this._host = null; // host handle in attach mode with link.subscribe
  }

  // Sets THE listener (a second call replaces the first). fn(event) gets the
  // object the publication sent. Returns this.
  listen(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('listen(fn): fn must be a function');
    this._listener = fn;
    return this;
  }

  // True while the server has acknowledged this subscription on the current
  // connection (false before the first ready, while reconnecting, after stop).
  ready() {
    return this._ready;
  }

  // Resolves on the first ready; rejects with a VentError on a nosub error
  // or when stopped before ready.
  whenReady() {
    if (!this._readyWait) {
      this._readyWait = deferred();
      if (this._everReady) this._readyWait.resolve(this);
      else if (this._error) this._readyWait.reject(this._error);
      else if (this._stopped) this._readyWait.reject(new VentError('stopped', 'Subscription stopped before ready'));
    }
    return this._readyWait.promise;
  }

  // fn() after every ready, including re-subscriptions after a reconnect.
  onReady(fn) {
    this._readyFns.push(fn);
    return this;
  }

  // fn(VentError) when the server ends the subscription with an error.
  onError(fn) {
    this._errorFns.push(fn);
    if (this._error) fn(this._error);
    return this;
  }

  // Unsubscribes. No listener call happens after stop() returns.
  stop() {
    if (this._stopped) return;
    this._client._stopSub(this, true);
  }

  _markReady() {
    if (this._stopped) return;
    this._ready = true;
    this._everReady = true;
    if (this._readyWait) this._readyWait.resolve(this);
    for (const fn of this._readyFns.slice()) this._client._safe(fn);
  }

  _fail(err) {
    this._error = err;
    if (this._readyWait && !this._everReady) this._readyWait.reject(err);
    for (const fn of this._errorFns.slice()) this._client._safe(fn, err);
    if (!this._errorFns.length && !this._readyWait) this._client._emit('error', err);
  }
}

export class VentClient {
  // url: ws(s)://host:port/websocket (http(s):// is accepted and rewritten).
  // options: WebSocket (constructor; default globalThis.WebSocket),
  //   reconnect {initialMs: 500, maxMs: 30000, jitter: 0.5} or false,
  //   heartbeatMs (17500; 0 disables client pings), heartbeatTimeoutMs (15000),
  //   connectTimeoutMs (10000), autoConnect (true).
  constructor(url, options = {}) {
    this._init(options);
    this._url = normalizeUrl(url);
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError('VentClient: no WebSocket; pass options.WebSocket (e.g. the "ws" package)');
    }
    this._reconnect = options.reconnect === false ? null :
      {initialMs: 500, maxMs: 30000, jitter: 0.5, ...(options.reconnect || {})};
    this._heartbeatMs = options.heartbeatMs === undefined ? 17500 : options.heartbeatMs;
    this._heartbeatTimeoutMs = options.heartbeatTimeoutMs === undefined ? 15000 : options.heartbeatTimeoutMs;
    this._connectTimeoutMs = options.connectTimeoutMs === undefined ? 10000 : options.connectTimeoutMs;
    // Browsers: retry at once when the network comes back instead of waiting out the backoff.
    this._onOnline = () => { if (this._status.status === 'waiting') this.reconnect(); };
    if (typeof globalThis.addEventListener === 'function') globalThis.addEventListener('online', this._onOnline);
    if (options.autoConnect !== false) this._open();
  }

  // Uses an existing DDP connection instead of opening one. link shape:
  //   send(msgObject)                 required unless subscribe+call are given
  //   onMessage(fn(rawString))        required: every inbound DDP message text
  //   onConnected?(fn())              the host (re)connected: subs/login are re-sent
  //   subscribe?(name, params, {onReady(), onStop(err?)}) -> {stop()}
  //                                   let the host own the subs (Meteor)
  //   call?(method, params) -> Promise  let the host run methods (login)
  static attach(link, options = {}) {
    if (!link || typeof link.onMessage !== 'function') {
      throw new TypeError('VentClient.attach(link): link.onMessage(fn) is required');
    }
    if (typeof link.send !== 'function' && (typeof link.subscribe !== 'function' || typeof link.call !== 'function')) {
      throw new TypeError('VentClient.attach(link): link.send(obj) is required');
    }
    const c = Object.create(VentClient.prototype);
    c._init(options);
    c._link = link;
    c._status = {connected: true, status: 'attached', retryCount: 0, retryInMs: 0};
    link.onMessage((raw) => c._onRaw(decode(raw)));
    if (typeof link.onConnected === 'function') link.onConnected(() => c._onSessionStart());
    return c;
  }

  _init(options) {
    this._options = options;
    this._subs = new Map(); // sub id -> VentSubscription (live: not stopped, not failed)
    this._byKey = new Map(); // "<rand>.<name>" -> VentSubscription
    this._handlers = {status: new Set(), error: new Set()};
    this._methods = new Map(); // method id -> {resolve, reject}
    this._queued = []; // method messages waiting for a connection
    this._nextMethod = 1;
    this._token = null;
    this._loginId = null;
    this._loginWaiters = [];
    this._ws = null;
    this._link = null;
    this._closed = false;
    this._retryCount = 0;
    this._timers = {retry: null, connect: null, beat: null, beatTimeout: null};
    this._recvSinceTick = false;
    this._status = {connected: false, status: 'connecting', retryCount: 0, retryInMs: 0};
  }

  // ------------------------------------------------------------ public API

  subscribe(name, ...params) {
    if (typeof name !== 'string' || !name) throw new TypeError('subscribe(name, ...params): name must be a string');
    if (this._closed) throw new VentError('closed', 'VentClient is closed');
    const sub = new VentSubscription(this, name, params);
    this._subs.set(sub.id, sub);
    this._byKey.set(sub.key, sub);
    this._sendSub(sub);
    return sub;
  }

  // Logs in with a resume token (DDP method "login" [{resume: token}]).
  // Resolves the server's result; rejects with a VentError. The token is
  // re-sent first after every reconnect until logout() or a login error.
  login(token) {
    if (typeof token !== 'string' || !token) return Promise.reject(new TypeError('login(token): token must be a string'));
    if (this._closed) return Promise.reject(new VentError('closed', 'VentClient is closed'));
    this._token = token;
    const d = deferred();
    this._loginWaiters.push(d);
    if (this._link && typeof this._link.call === 'function') {
      this._loginViaHost();
    } else if (this._canSend()) {
      this._sendLogin();
    }
    return d.promise;
  }

  logout() {
    this._token = null;
    this._loginId = null;
    return this.call('logout');
  }

  // Calls a DDP method. Queued while disconnected; rejects with
  // VentError('disconnected') if the connection drops before the result.
  call(method, ...params) {
    if (this._closed) return Promise.reject(new VentError('closed', 'VentClient is closed'));
    if (this._link && typeof this._link.call === 'function') {
      return this._link.call(method, params).catch((e) => { throw VentError.from(e); });
    }
    const id = this._methodId();
    const d = deferred();
    this._methods.set(id, d);
    const msg = {msg: 'method', id, method, params};
    if (this._canSend()) this._send(msg);
    else this._queued.push(msg);
    return d.promise;
  }

  on(event, fn) {
    const set = this._handlers[event];
    if (!set) throw new TypeError(`unknown event "${event}" (status, error)`);
    set.add(fn);
    return () => set.delete(fn);
  }

  off(event, fn) {
    const set = this._handlers[event];
    if (set) set.delete(fn);
  }

  // {connected, status: connecting|connected|waiting|closed|failed|attached, retryCount, retryInMs, reason?}
  status() {
    return {...this._status};
  }

  // Drops the current socket (if any) and connects now.
  reconnect() {
    if (this._closed || this._link) return;
    this._dropSocket('reconnect requested', false);
    for (const sub of this._subs.values()) sub._ready = false;
    this._failMethods(new VentError('disconnected', 'Connection lost: reconnect requested'));
    this._retryCount = 0;
    this._open();
  }

  close() {
    if (this._closed) return;
    // Closing the socket ends every sub server-side; on a host link, unsub each.
    for (const sub of this._subs.values()) this._stopSub(sub, Boolean(this._link));
    this._closed = true;
    if (this._ws) {
      const ws = this._ws;
      this._ws = null;
      try { ws.close(1000); } catch (_) { /* already closing */ }
    }
    this._clearTimers();
    if (this._onOnline && typeof globalThis.removeEventListener === 'function') {
      globalThis.removeEventListener('online', this._onOnline);
    }
    this._failMethods(new VentError('closed', 'VentClient closed'));
    for (const d of this._loginWaiters.splice(0)) d.reject(new VentError('closed', 'VentClient closed'));
    this._setStatus({connected: false, status: 'closed', retryCount: this._retryCount, retryInMs: 0});
  }

  // ------------------------------------------------------------ inbound

  _onRaw(raw) {
    this._recvSinceTick = true;
    if (this._timers.beatTimeout) {
      clearTimeout(this._timers.beatTimeout);
      this._timers.beatTimeout = null;
    }
    // Fast path: the first 28 characters decide, before any parsing.
    if (raw.startsWith(VENT_PREFIX)) {
      let msg;
      try { msg = JSON.parse(raw); } catch (_) { return; }
      const sub = this._byKey.get(msg.id);
      if (sub && sub._listener) this._safe(sub._listener, msg.e);
      return;
    }
    if (this._link && typeof this._link.subscribe === 'function') return; // host owns the rest
    let msg;
    try { msg = JSON.parse(raw); } catch (_) {
      if (!this._link) this._emit('error', new VentError('parse-error', 'Invalid DDP message from server'));
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.msg) {
      case 'connected':
        if (this._link) break;
        clearTimeout(this._timers.connect);
        this._timers.connect = null;
        this._retryCount = 0;
        this._setStatus({connected: true, status: 'connected', retryCount: 0, retryInMs: 0});
        break;
      case 'failed':
        if (this._link) break;
        this.close();
        this._setStatus({connected: false, status: 'failed', retryCount: this._retryCount, retryInMs: 0,
          reason: `server does not support DDP version 1 (suggested ${msg.version})`});
        break;
      case 'ping':
        if (!this._link) this._send(msg.id !== undefined ? {msg: 'pong', id: msg.id} : {msg: 'pong'});
        break;
      case 'ready':
        for (const id of msg.subs || []) {
          const sub = this._subs.get(id);
          if (sub) sub._markReady();
        }
        break;
      case 'nosub': {
        const sub = this._subs.get(msg.id);
        if (!sub) break;
        this._forget(sub);
        sub._ready = false;
        sub._stopped = true;
        sub._fail(msg.error ? VentError.from(msg.error) :
          new VentError('stopped', `Subscription '${sub.name}' was stopped by the server`));
        break;
      }
      case 'result':
        this._onResult(msg);
        break;
      case 'error':
        this._emit('error', new VentError('protocol', msg.reason || 'DDP error', {details: msg.offendingMessage}));
        break;
      default:
        break; // pong, updated, added, changed, removed: nothing to do for Vent
    }
  }

  _onResult(msg) {
    if (msg.id === this._loginId) {
      this._loginId = null;
      const waiters = this._loginWaiters.splice(0);
      if (msg.error) {
        const err = VentError.from(msg.error);
        this._token = null; // a refused token is not re-sent on reconnect
        for (const d of waiters) d.reject(err);
        if (!waiters.length) this._emit('error', err);
      } else {
        if (msg.result && typeof msg.result.token === 'string') this._token = msg.result.token;
        for (const d of waiters) d.resolve(msg.result);
      }
      return;
    }
    const d = this._methods.get(msg.id);
    if (!d) return;
    this._methods.delete(msg.id);
    if (msg.error) d.reject(VentError.from(msg.error));
    else d.resolve(msg.result);
  }

  // ------------------------------------------------------------ outbound

  _canSend() {
    if (this._link) return !this._closed;
    return this._ws !== null && this._ws.readyState === OPEN;
  }

  _send(obj) {
    if (this._link) {
      this._link.send(obj);
      return;
    }
    if (this._ws && this._ws.readyState === OPEN) this._ws.send(JSON.stringify(obj));
  }

  _methodId() {
    const n = this._nextMethod++;
    return this._link ? `vent-${n}` : String(n);
  }

  _sendSub(sub) {
    if (this._link && typeof this._link.subscribe === 'function') {
      if (sub._host) return;
      sub._host = this._link.subscribe(sub.name, [sub.rand, ...sub.params], {
        onReady: () => sub._markReady(),
        onStop: (err) => {
          if (sub._stopped) return;
          this._forget(sub);
          sub._ready = false;
          sub._stopped = true;
          sub._fail(err ? VentError.from(err) : new VentError('stopped', `Subscription '${sub.name}' was stopped`));
        },
      });
      return;
    }
    if (!this._canSend()) return; // sent by _onSessionStart()
    this._send({msg: 'sub', id: sub.id, name: sub.name, params: [sub.rand, ...sub.params]});
  }

  _sendLogin() {
    this._loginId = this._methodId();
    this._send({msg: 'method', id: this._loginId, method: 'login', params: [{resume: this._token}]});
  }

  _loginViaHost() {
    const waiters = this._loginWaiters.splice(0);
    this._link.call('login', [{resume: this._token}]).then(
        (r) => { for (const d of waiters) d.resolve(r); },
        (e) => {
          this._token = null;
          for (const d of waiters) d.reject(VentError.from(e));
        });
  }

  // A DDP session (re)starts: login first, then every live sub, then queued methods.
  _onSessionStart() {
    if (this._token) {
      if (this._link && typeof this._link.call === 'function') this._loginViaHost();
      else this._sendLogin();
    }
    for (const sub of this._subs.values()) {
      sub._ready = false;
      this._sendSub(sub);
    }
    for (const msg of this._queued.splice(0)) this._send(msg);
  }

  _stopSub(sub, sendUnsub) {
    sub._stopped = true;
    sub._ready = false;
    sub._listener = null;
    this._forget(sub);
    if (sub._host) {
      sub._host.stop();
    } else if (sendUnsub && this._canSend()) {
      this._send({msg: 'unsub', id: sub.id});
    }
    if (sub._readyWait && !sub._everReady) {
      sub._readyWait.reject(new VentError('stopped', 'Subscription stopped before ready'));
    }
  }

  _forget(sub) {
    this._subs.delete(sub.id);
    if (this._byKey.get(sub.key) === sub) this._byKey.delete(sub.key);
  }

  // ------------------------------------------------------------ socket lifecycle

  _open() {
    this._clearTimers();
    if (this._closed) return;
    this._setStatus({connected: false, status: 'connecting', retryCount: this._retryCount, retryInMs: 0});
    let ws;
    try {
      ws = new this._WebSocket(this._url);
    } catch (e) {
      this._onSocketGone(`cannot open ${this._url}: ${e && e.message}`);
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      this._send({msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']});
      this._onSessionStart();
      this._startHeartbeat();
    };
    ws.onmessage = (ev) => {
      if (ws === this._ws) this._onRaw(decode(ev.data));
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._ws = null;
      this._onSocketGone(`socket closed (${ev && ev.code})`);
    };
    ws.onerror = () => { /* onclose follows */ };
    if (this._connectTimeoutMs > 0) {
      this._timers.connect = setTimeout(() => this._dropSocket('connect timeout', true), this._connectTimeoutMs);
    }
  }

  _startHeartbeat() {
    if (!(this._heartbeatMs > 0)) return;
    this._recvSinceTick = false;
    this._timers.beat = setInterval(() => {
      if (this._timers.beatTimeout) return; // a ping is outstanding
      if (this._recvSinceTick) {
        this._recvSinceTick = false;
        return;
      }
      this._send({msg: 'ping'});
      this._timers.beatTimeout = setTimeout(() => this._dropSocket('heartbeat timeout', true),
          this._heartbeatTimeoutMs);
    }, this._heartbeatMs);
  }

  // Closes the current socket without waiting for its close event.
  _dropSocket(reason, reconnect) {
    const ws = this._ws;
    this._ws = null;
    if (ws) {
      try { ws.close(4000, reason); } catch (_) {
        try { ws.close(); } catch (_) { /* gone */ }
      }
    }
    if (reconnect) this._onSocketGone(reason);
    else this._clearTimers();
  }

  _onSocketGone(reason) {
    this._clearTimers();
    for (const sub of this._subs.values()) sub._ready = false;
    this._failMethods(new VentError('disconnected', `Connection lost: ${reason}`));
    if (this._closed) return;
    if (!this._reconnect) {
      this._closed = true;
      this._setStatus({connected: false, status: 'closed', retryCount: this._retryCount, retryInMs: 0, reason});
      return;
    }
    const {initialMs, maxMs, jitter} = this._reconnect;
    const base = Math.min(maxMs, initialMs * Math.pow(2, this._retryCount));
    const delay = Math.round(base * (1 - jitter * Math.random()));
    this._retryCount++;
    this._setStatus({connected: false, status: 'waiting', retryCount: this._retryCount, retryInMs: delay, reason});
    this._timers.retry = setTimeout(() => this._open(), delay);
  }

  _failMethods(err) {
    const pending = [...this._methods.values()];
    this._methods.clear();
    for (const d of pending) d.reject(err);
  }

  _clearTimers() {
    clearTimeout(this._timers.retry);
    clearTimeout(this._timers.connect);
    clearInterval(this._timers.beat);
    clearTimeout(this._timers.beatTimeout);
    this._timers = {retry: null, connect: null, beat: null, beatTimeout: null};
  }

  // ------------------------------------------------------------ events

  _setStatus(s) {
    this._status = s;
    this._emit('status', {...s});
  }

  _emit(event, arg) {
    const set = this._handlers[event];
    if (event === 'error' && set.size === 0) {
      if (typeof console !== 'undefined') console.error('[vent-client]', arg);
      return;
    }
    for (const fn of [...set]) this._safe(fn, arg);
  }

  // Calls a user callback; an exception goes to 'error' listeners (or console).
  _safe(fn, arg) {
    try {
      fn(arg);
    } catch (e) {
      if (fn !== undefined && this._handlers.error.has(fn)) return;
      this._emit('error', e);
    }
  }
}
