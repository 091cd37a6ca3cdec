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
//   of that handle. Frames for unknown or ended handles are dropped.
// * Every connection is a new DDP session: connect, then (after getToken()
//   if it must run first) the logins, then every live subscription with the
//   SAME sub id and params (and, for publications with history, the
//   positions reached: `since`, see history.js), then the methods queued
//   while offline.
// * Every deferred callback checks the connection generation (`_gen`) or
//   the socket it was made for, so a stale one does nothing.
// * After handle.stop() returns, its listener is never called again. Every
//   promise the client hands out settles: subscriptions and logins end with
//   close(), with a lost link when reconnect is false, and on errors.
import { Auth } from './auth.js';
import { ejsonDecode, mayHaveEjson } from './ejson.js';
import { TEMPORARY_CODES, TROUBLE_CLOSE_CODES, VentError } from './errors.js';
import { MALFORMED_POSITION, positionsFromUser } from './history.js';
import { SUB_TOKEN, VentSubscription } from './subscription.js';
import { Transport } from './transport.js';
import { Emitter, VENT_PREFIX, backoffDelay, decode, deferred, normalizeUrl, urlToken, withUrlToken } from './util.js';

const opt = (v, dflt) => (v === undefined ? dflt : v);

export class VentClient {
  // url: ws(s)://host:port/websocket (http(s):// is accepted and rewritten).
  // Options: see index.d.ts (VentClientOptions) and README.md.
  constructor(url, options = {}) {
    this._init(options);
    this._url = normalizeUrl(url);
    const WebSocketCtor = options.WebSocket || globalThis.WebSocket;
    if (typeof WebSocketCtor !== 'function') {
      throw new TypeError('VentClient: no WebSocket; pass options.WebSocket (e.g. the "ws" package)');
    }
    this._reconnect = options.reconnect === false ? null :
      {initialMs: 500, maxMs: 30000, jitter: 0.5, ...(options.reconnect || {})};
    this._transport = new Transport(WebSocketCtor, {
      heartbeatMs: opt(options.heartbeatMs, 17500),
      heartbeatTimeoutMs: opt(options.heartbeatTimeoutMs, 15000),
      connectTimeoutMs: opt(options.connectTimeoutMs, 10000),
    }, {
      open: () => this._onOpen(),
      message: (raw) => this._onRaw(raw),
      gone: (info) => this._onSocketGone(info, true),
    });
    this._listenNetwork(options.networkEvents);
    if (options.autoConnect === false) {
      this._status = {connected: false, status: 'disconnected', retryCount: 0, retryInMs: 0};
    } else {
      this._open();
    }
  }

  // Uses an existing DDP connection instead of opening one (see DdpLink in
  // index.d.ts): no socket, heartbeat or reconnect of its own.
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
    c._gen = 1;
    c._running = true;
    c._status = {connected: true, status: 'attached', retryCount: 0, retryInMs: 0};
    link.onMessage((raw) => c._onRaw(decode(raw)));
    if (typeof link.onConnected === 'function') link.onConnected(() => c._onHostSession());
    return c;
  }

  _init(options) {
    this._options = options;
    this._ejson = options.ejson !== false; // decode EJSON in events (ejson.js)
    this._subs = new Map(); // sub id -> VentSubscription (not ended)
    this._byKey = new Map(); // "<rand>.<name>" -> VentSubscription
    this._events = new Emitter(['status', 'error']);
    this._methods = new Map(); // method id -> {d, gen, bytes, method}: sent, no result yet
    this._queued = []; // {id, msg, d, method}: waiting for a session
    this._nextMethod = 1;
    this._resub = {initialMs: 1000, maxMs: 30000, jitter: 0.5, ...(options.resubscribe || {})};
    this._auth = new Auth(this, options);
    this._transport = null; // null with a link
    this._link = null;
    this._gen = 0; // connection generation: +1 per socket (or host session)
    this._running = false; // this connection has sent its logins and subs
    this._connected = false; // DDP `connected` received on this connection
    this._healthy = false; // ... and every request sent so far was answered
    this._unanswered = 0; // subs sent on this connection without ready/nosub
    this._closed = false;
    this._retryCount = 0;
    this._retryTimer = null;
    this._probing = false; // the current attempt is a probe (see _onSocketGone)
    this._probe = {next: false, opened: false}; // see _onSocketGone
    this._urlRefresh = null; // getToken() for the URL in progress
    this._urlRefreshed = false;
    this._network = null;
    this._status = {connected: false, status: 'connecting', retryCount: 0, retryInMs: 0};
  }

  // ------------------------------------------------------------ public API

  // subscribe(name, ...params[, callbacks]): callbacks is a trailing function
  // (onReady) or {onReady?, onStop?, onError?}, as Meteor.subscribe takes.
  subscribe(name, ...params) {
    return this._subscribe(null, name, params);
  }

  // subscribeFrom(position, name, ...params[, callbacks]): subscribe(), but
  // the first `sub` already asks for what followed `position` (what
  // handle.position() returned, e.g. saved before a page reload) on a
  // publication with history; its first ready says whether everything since
  // was recovered. A null or empty position is a plain subscribe().
  subscribeFrom(position, name, ...params) {
    const since = position === null || position === undefined ? null : positionsFromUser(position);
    return this._subscribe(since, name, params);
  }

  _subscribe(since, name, params) {
    if (typeof name !== 'string' || !name) throw new TypeError('subscribe(name, ...params): name must be a string');
    if (this._closed) throw new VentError('closed', 'VentClient is closed');
    let callbacks = null;
    if (params.length) {
      const last = params[params.length - 1];
      if (typeof last === 'function') {
        callbacks = {onReady: params.pop()};
      } else if (last && typeof last === 'object' &&
          [last.onReady, last.onStop, last.onError].some((f) => typeof f === 'function')) {
        callbacks = params.pop();
      }
    }
    const sub = new VentSubscription(SUB_TOKEN, this, name, params, callbacks);
    if (since && since.length) sub._history.seed(since);
    this._subs.set(sub.id, sub);
    this._byKey.set(sub.key, sub);
    this._sendSub(sub);
    return sub;
  }

  // DDP login [{resume: token}]; resolves this call's own result (its
  // tokenExpires a Date), rejects with a VentError. See auth.js.
  login(token) {
    if (typeof token !== 'string' || !token) return Promise.reject(new TypeError('login(token): token must be a string'));
    if (this._closed) return Promise.reject(new VentError('closed', 'VentClient is closed'));
    return this._auth.login(token);
  }

  logout() {
    this._auth.logout();
    return this.call('logout');
  }

  // Calls a DDP method. Queued while disconnected; rejects with
  // VentError('disconnected') if the connection drops before the result.
  call(method, ...params) {
    if (this._closed) return Promise.reject(new VentError('closed', 'VentClient is closed'));
    if (this._hostCalls()) return this._link.call(method, params).catch((e) => { throw VentError.from(e); });
    const id = this._methodId();
    const d = deferred();
    const msg = {msg: 'method', id, method, params};
    if (this._sessionRunning()) this._methods.set(id, {d, gen: this._gen, bytes: this._sendMessage(msg), method});
    else this._queued.push({id, msg, d, method});
    return d.promise;
  }

  on(event, fn) {
    return this._events.on(event, fn);
  }

  off(event, fn) {
    this._events.off(event, fn);
  }

  // {connected, status, retryCount, retryInMs, reason?, code?}; status is
  // disconnected|connecting|connected|waiting|unauthorized|closed|failed|attached.
  status() {
    return {...this._status};
  }

  // Connects if there is no socket (autoConnect:false, 'unauthorized', or
  // now instead of waiting out the backoff).
  connect() {
    if (this._closed || this._link || this._transport.active) return;
    this._open();
  }

  // Drops the current socket (if any) and connects now.
  reconnect() {
    if (this._closed || this._link) return;
    if (this._transport.active) this._onSocketGone(this._transport.drop('reconnect requested', false), false);
    this._retryCount = 0;
    this._open();
  }

  // The URL of the next connection (e.g. with a new ?token=); connects at
  // once when the client stopped at 'unauthorized'.
  setUrl(url) {
    this._url = normalizeUrl(url);
    this._probe = {next: false, opened: false};
    this._urlRefreshed = false;
    this._urlRefresh = null;
    if (!this._closed && !this._link && this._status.status === 'unauthorized') this._open();
  }

  // Ends every subscription (onStop() without error), rejects whatever is
  // pending with VentError('closed'), closes the socket, stops reconnecting.
  close() {
    this._terminate('closed', undefined, null);
  }

  // ------------------------------------------------------------ inbound

  _onRaw(raw) {
    // Fast path: the first 28 characters decide, before any parsing.
    if (raw.startsWith(VENT_PREFIX)) {
      let msg;
      try { msg = JSON.parse(raw); } catch (_) { return; }
      const sub = this._byKey.get(msg.id);
      if (sub === undefined) return;
      // Publications with history: the event's position; null = delivered already.
      const pos = msg.h === undefined ? undefined : sub._history.accept(msg.h);
      if (pos !== null && sub._listener) {
        const e = this._ejson && mayHaveEjson(raw) ? ejsonDecode(msg.e) : msg.e;
        this._deliver(sub, e, pos);
      }
      return;
    }
    if (this._link && typeof this._link.subscribe === 'function') return; // host owns the rest
    let msg;
    try { msg = JSON.parse(raw); } catch (_) {
      if (!this._link) this._emitError(new VentError('parse-error', 'Invalid DDP message from server'));
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.msg) {
      case 'connected':
        if (this._link) break;
        this._transport.connected();
        this._connected = true;
        this._setStatus({connected: true, status: 'connected', retryCount: this._retryCount, retryInMs: 0});
        this._checkHealthy();
        break;
      case 'failed': {
        if (this._link) break;
        const reason = `server does not support DDP version 1 (suggested ${msg.version})`;
        this._terminate('failed', reason, new VentError('failed', reason));
        break;
      }
      case 'ping':
        if (!this._link) this._sendMessage(msg.id !== undefined ? {msg: 'pong', id: msg.id} : {msg: 'pong'});
        break;
      case 'ready':
        for (const id of Array.isArray(msg.subs) ? msg.subs : []) {
          const sub = this._subs.get(id);
          if (sub) this._onSubReady(sub, msg.recovered, msg.h);
        }
        break;
      case 'nosub': {
        const sub = this._subs.get(msg.id);
        if (sub) this._onNosub(sub, msg.error);
        break;
      }
      case 'result':
        this._onResult(msg);
        break;
      case 'error':
        this._emitError(new VentError('protocol', msg.reason || 'DDP error', {details: msg.offendingMessage}));
        break;
      default:
        break; // pong, updated, added, changed, removed: nothing to do for Vent
    }
  }

  // h: the positions of a history publication's ready (see history.js).
  _onSubReady(sub, recovered, h) {
    sub._history.onReady(h, recovered, sub._sentOn !== 0 && sub._sentOn === this._gen);
    this._answered(sub);
    sub._onReady(recovered);
    this._checkHealthy();
  }

  // nosub: no error = the server ended it; 503/429 = retried with the
  // subscription's own backoff; 403 while a token is refreshed (or the
  // server says the session expired) = sent again after the refreshed
  // login; any other error ends it.
  _onNosub(sub, error) {
    const sentSince = sub._sentSince;
    this._answered(sub);
    if (!error) {
      this._forget(sub);
      sub._end('nosub', `Subscription '${sub.name}' was stopped by the server`, null, false);
    } else {
      const err = VentError.from(error, {subscription: sub});
      if (err.error === 400 && err.reason === MALFORMED_POSITION && sentSince) {
        // The server refused our positions (e.g. its publication lost a
        // channel): forget them and subscribe again without; the ready
        // then says recovered:false (also a first one, after subscribeFrom).
        sub._history.reset();
        sub._gap = true;
        this._emitError(new VentError(400, `Subscription '${sub.name}': the server refused its position ` +
            `(${err.reason}); subscribed again without it`, {subscription: sub}));
        this._resend(sub);
      } else if (TEMPORARY_CODES.has(err.error)) {
        sub._toSubscribing(err.error, err.reason, err);
        this._scheduleRetry(sub);
      } else if (err.error === 403 && this._auth.deferSub(sub, err)) {
        sub._toSubscribing(403, err.reason, err);
      } else {
        this._failSub(sub, err);
      }
    }
    this._checkHealthy();
  }

  _onResult(msg) {
    if (this._auth.owns(msg.id)) {
      this._auth.onResult(msg);
      this._checkHealthy();
      return;
    }
    const m = this._methods.get(msg.id);
    if (!m) return;
    this._methods.delete(msg.id);
    if (msg.error) m.d.reject(VentError.from(msg.error));
    else m.d.resolve(msg.result);
  }

  // ------------------------------------------------------------ outbound

  _sessionRunning() {
    if (this._link) return !this._closed;
    return this._running && this._transport.isOpen;
  }

  _hostCalls() {
    return this._link !== null && typeof this._link.call === 'function';
  }

  // Sends one DDP message; returns its size in characters (0 via a link).
  _sendMessage(obj) {
    if (this._link) {
      this._link.send(obj);
      return 0;
    }
    return this._transport.send(obj);
  }

  _methodId() {
    const n = this._nextMethod++;
    return this._link ? `vent-${n}` : String(n);
  }

  _sendSub(sub) {
    if (this._link && typeof this._link.subscribe === 'function') {
      if (!sub._host) this._hostSubscribe(sub);
      return;
    }
    // Not while the session starts (it sends every sub), nor twice.
    if (!this._sessionRunning() || sub._sentOn === this._gen || sub.state === 'subscribed') return;
    clearTimeout(sub._retryTimer);
    sub._retryTimer = null;
    const msg = sub._subMessage();
    sub._bytes = this._sendMessage(msg);
    sub._sentOn = this._gen;
    sub._sentSince = msg.since !== undefined;
    this._unanswered++;
  }

  _hostSubscribe(sub) {
    sub._host = this._link.subscribe(sub.name, [sub.rand, ...sub.params], {
      onReady: () => sub._onReady(undefined),
      onStop: (err) => {
        if (sub.state === 'unsubscribed') return;
        if (err) {
          this._failSub(sub, VentError.from(err, {subscription: sub}));
        } else {
          this._forget(sub);
          sub._end('nosub', `Subscription '${sub.name}' was stopped`, null, false);
        }
      },
    });
  }

  // Subscribes again a sub the server no longer has (retry, refreshed token).
  _resend(sub) {
    if (sub.state !== 'unsubscribed' && this._subs.get(sub.id) === sub) this._sendSub(sub);
  }

  _scheduleRetry(sub) {
    clearTimeout(sub._retryTimer);
    const delay = backoffDelay(this._resub, sub._retries++);
    sub._retryTimer = setTimeout(() => {
      sub._retryTimer = null;
      this._resend(sub);
    }, delay);
  }

  // The server answered the sub's `sub` (ready or nosub).
  _answered(sub) {
    sub._sentSince = false;
    if (sub._sentOn === 0) return;
    if (sub._sentOn === this._gen) this._unanswered--;
    sub._sentOn = 0;
  }

  _failSub(sub, err) {
    this._answered(sub);
    this._forget(sub);
    sub._end(err.error, err.reason, err, true);
  }

  _stopSub(sub) {
    const serverHasIt = sub.state === 'subscribed' || (sub._sentOn !== 0 && sub._sentOn === this._gen);
    this._answered(sub);
    this._forget(sub);
    if (sub._host) {
      try { sub._host.stop(); } catch (e) { this._emitError(VentError.from(e, {subscription: sub})); }
    } else if (serverHasIt && this._sessionRunning()) {
      this._sendMessage({msg: 'unsub', id: sub.id});
    }
    sub._end('stopped', `Subscription '${sub.name}' stopped`, null, false);
    this._checkHealthy();
  }

  _forget(sub) {
    this._subs.delete(sub.id);
    if (this._byKey.get(sub.key) === sub) this._byKey.delete(sub.key);
    this._auth.forget(sub);
  }

  // ------------------------------------------------------------ sessions

  // A socket opened or the host reconnected: getToken() first if needed.
  _startSession(gen) {
    const wait = this._auth.beforeSession();
    if (!wait) {
      this._beginSession();
      return;
    }
    const current = () => gen === this._gen && !this._closed && (this._link !== null || this._transport.active);
    wait.then(() => { if (current()) this._beginSession(); }, (e) => {
      if (!current()) return;
      if (this._link) this._beginSession(); // no socket to drop: go on without a login
      else this._transport.drop(`getToken() failed: ${e && e.message ? e.message : e}`, true);
    });
  }

  _beginSession() {
    this._running = true;
    this._auth.sendSessionLogins();
    for (const sub of [...this._subs.values()]) {
      this._auth.forget(sub);
      sub._authRetried = false;
      this._sendSub(sub);
    }
    for (const q of this._queued.splice(0)) {
      this._methods.set(q.id, {d: q.d, gen: this._gen, bytes: this._sendMessage(q.msg), method: q.method});
    }
    this._checkHealthy();
  }

  // Healthy: DDP connected and every request sent so far answered. Only a
  // healthy connection that then ends with an ordinary close resets the
  // backoff (_onSocketGone), so one that fails at start (e.g. on a message
  // the server refuses) or is closed for trouble cannot loop fast.
  _checkHealthy() {
    if (this._healthy || this._link || !this._connected || !this._running) return;
    if (this._unanswered > 0 || this._auth.inFlight(this._gen).length > 0) return;
    this._healthy = true;
  }

  _onHostSession() {
    if (this._closed) return;
    this._gen++;
    this._unanswered = 0;
    for (const sub of [...this._subs.values()]) {
      if (sub._host) continue;
      sub._sentOn = 0;
      if (sub.state === 'subscribed') sub._toSubscribing('disconnected', 'the host reconnected');
    }
    this._auth.onDisconnect();
    this._startSession(this._gen);
  }

  // ------------------------------------------------------------ socket lifecycle

  _open() {
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (this._closed) return;
    this._urlRefresh = null; // a getToken() for the URL still running is superseded
    if (this._transport.active) this._onSocketGone(this._transport.drop('superseded', false, 1000), false);
    this._probing = this._probe.next;
    this._gen++;
    this._running = false;
    this._connected = false;
    this._healthy = false;
    this._unanswered = 0;
    if (this._status.status !== 'connecting') {
      this._setStatus({connected: false, status: 'connecting', retryCount: this._retryCount, retryInMs: 0});
      if (this._closed) return; // a status listener closed the client
    }
    this._transport.open(this._probing ? withUrlToken(this._url, null) : this._url);
  }

  _onOpen() {
    if (this._probing) {
      // The URL without its token opened: retry with the token at once; if
      // that fails again before opening, the token is what the server refuses.
      this._transport.drop('probe done', false, 1000);
      this._probe = {next: false, opened: true};
      this._open();
      return;
    }
    this._probe = {next: false, opened: false};
    this._urlRefreshed = false;
    this._sendMessage({msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']});
    this._startSession(this._gen);
  }

  // The socket is gone (info from the Transport). reconnect: schedule the
  // next attempt (false when the caller connects at once).
  _onSocketGone({reason, code, opened, error}, reconnect) {
    const wasHealthy = this._healthy;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    if (code === 1009) this._blame(this._gen);
    this._running = false;
    this._connected = false;
    this._healthy = false;
    this._unanswered = 0;
    const lost = new VentError('disconnected', `Connection lost: ${reason}`);
    if (reconnect && !this._reconnect) {
      this._terminate('closed', reason, lost);
      return;
    }
    for (const sub of [...this._subs.values()]) {
      sub._sentOn = 0;
      sub._sentSince = false;
      clearTimeout(sub._retryTimer);
      sub._retryTimer = null;
      if (sub.state === 'subscribed') sub._toSubscribing('disconnected', reason);
    }
    const methods = [...this._methods.values()];
    this._methods.clear();
    for (const m of methods) m.d.reject(lost);
    this._auth.onDisconnect();
    if (this._closed || !reconnect) return;
    if (!opened) {
      // An upgrade the server refused. `ws` says "Unexpected server
      // response: 401"; a browser says nothing, so a URL with a token is
      // tried once without it (a probe): if only that opens, the token is bad.
      if (/\b401\b/.test(error)) {
        this._unauthorized('the server refused the token in the URL (HTTP 401)');
        return;
      }
      if (this._probing) {
        this._probe = {next: false, opened: false}; // unreachable either way
      } else if (!error && urlToken(this._url) !== null) {
        if (this._probe.opened) {
          this._unauthorized('the server refused the WebSocket with the token in the URL and accepted it without');
          return;
        }
        this._probe.next = true;
      }
    }
    if (wasHealthy && !TROUBLE_CLOSE_CODES.has(code)) this._retryCount = 0;
    const delay = backoffDelay(this._reconnect, this._retryCount);
    this._retryCount++;
    this._retryTimer = setTimeout(() => this._open(), delay);
    const s = {connected: false, status: 'waiting', retryCount: this._retryCount, retryInMs: delay, reason};
    if (code !== undefined) s.code = code;
    this._setStatus(s);
  }

  // Close 1009: the server refused a message as too big. The culprit is
  // among the requests it never answered: fail the largest.
  _blame(gen) {
    let worst = null;
    for (const sub of this._subs.values()) {
      if (sub._sentOn === gen && (!worst || sub._bytes > worst.bytes)) worst = {bytes: sub._bytes, sub};
    }
    for (const [id, m] of this._methods) {
      if (m.gen === gen && (!worst || m.bytes > worst.bytes)) worst = {bytes: m.bytes, id, m};
    }
    for (const r of this._auth.inFlight(gen)) {
      if (!worst || r.bytes > worst.bytes) worst = {bytes: r.bytes, login: r};
    }
    if (!worst) return;
    const why = `(${worst.bytes} bytes): the server closed the connection with 1009 (message too big)`;
    if (worst.sub) {
      const sub = worst.sub;
      this._failSub(sub, new VentError('too-big', `Subscription '${sub.name}' is too big for the server ${why}`,
          {subscription: sub}));
    } else if (worst.m) {
      this._methods.delete(worst.id);
      worst.m.d.reject(new VentError('too-big', `Method '${worst.m.method}' is too big for the server ${why}`));
    } else {
      this._auth.drop(worst.login, new VentError('too-big', `login is too big for the server ${why}`));
    }
  }

  _unauthorized(reason) {
    this._probe = {next: false, opened: false};
    if (this._auth.hasGetToken && !this._urlRefreshed && urlToken(this._url) !== null) {
      // One fresh token from getToken() into the URL, then connect at once.
      this._urlRefreshed = true;
      const fetch = this._auth.fetchToken();
      this._urlRefresh = fetch;
      this._setStatus({connected: false, status: 'waiting', retryCount: this._retryCount, retryInMs: 0, reason});
      fetch.then((token) => {
        if (this._urlRefresh !== fetch || this._closed) return;
        this._urlRefresh = null;
        this._url = withUrlToken(this._url, token);
        this._open();
      }, (e) => {
        if (this._urlRefresh !== fetch || this._closed) return;
        this._urlRefresh = null;
        this._emitError(new VentError('token', `getToken() failed: ${e && e.message ? e.message : e}`, {cause: e}));
        this._unauthorized(reason);
      });
      return;
    }
    this._setStatus({connected: false, status: 'unauthorized', retryCount: this._retryCount, retryInMs: 0, reason});
    this._emitError(new VentError('unauthorized', reason));
  }

  // The one way the client ends: close(), a lost link without reconnect,
  // or a refused DDP version. Settles everything pending, once.
  _terminate(status, reason, error) {
    if (this._closed) return;
    this._closed = true;
    if (this._transport) this._transport.drop(reason || 'closed', false, 1000);
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._unlistenNetwork();
    const err = error || new VentError('closed', 'VentClient closed');
    this._auth.close(err);
    const pending = [...this._methods.values(), ...this._queued];
    this._methods.clear();
    this._queued = [];
    for (const m of pending) m.d.reject(err);
    for (const sub of [...this._subs.values()]) {
      const serverHasIt = sub.state === 'subscribed' || sub._sentOn !== 0;
      this._forget(sub);
      if (sub._host) {
        try { sub._host.stop(); } catch (_) { /* host gone */ }
      } else if (this._link && serverHasIt) {
        this._sendMessage({msg: 'unsub', id: sub.id});
      }
      if (error) sub._end(error.error, error.reason, new VentError(error.error, error.reason, {subscription: sub}), false);
      else sub._end('closed', 'VentClient closed', null, false);
    }
    const s = {connected: false, status, retryCount: this._retryCount, retryInMs: 0};
    if (reason) s.reason = reason;
    this._setStatus(s);
  }

  // Browsers: 'offline' drops the socket (reconnects follow the backoff),
  // 'online' retries at once.
  _listenNetwork(target) {
    if (target === false) return;
    const t = target && typeof target === 'object' ? target : globalThis;
    if (!t || typeof t.addEventListener !== 'function') return;
    this._network = t;
    this._onOnline = () => {
      if (this._closed || this._status.status !== 'waiting' || this._urlRefresh) return;
      this._retryCount = 0;
      this._open();
    };
    this._onOffline = () => { if (!this._closed && this._transport.active) this._transport.drop('offline', true); };
    t.addEventListener('online', this._onOnline);
    t.addEventListener('offline', this._onOffline);
  }

  _unlistenNetwork() {
    const t = this._network;
    this._network = null;
    if (!t || typeof t.removeEventListener !== 'function') return;
    t.removeEventListener('online', this._onOnline);
    t.removeEventListener('offline', this._onOffline);
  }

  // ------------------------------------------------------------ events

  _setStatus(s) {
    this._status = s;
    for (const fn of this._events.list('status')) this._safe(fn, {...s});
  }

  // 'error' listeners, or console.error when there are none.
  _emitError(err) {
    const fns = this._events.list('error');
    if (!fns.length) {
      if (typeof console !== 'undefined') console.error('[vent-client]', err);
      return;
    }
    for (const fn of fns) {
      try { fn(err); } catch (e) {
        if (typeof console !== 'undefined') console.error('[vent-client] an error listener threw', e);
      }
    }
  }

  // Calls a listener with an event (and its position, for publications with
  // history); an exception is reported as by _safe.
  _deliver(sub, e, pos) {
    try {
      if (pos === undefined) sub._listener(e);
      else sub._listener(e, pos);
    } catch (err) {
      this._emitError(new VentError('listener', `a callback threw: ${err && err.message ? err.message : err}`,
          {cause: err, subscription: sub}));
    }
  }

  // Calls a user callback; an exception becomes a VentError 'listener'
  // (naming the subscription, if any) on the client's 'error'.
  _safe(fn, arg, sub) {
    try {
      if (arg === undefined) fn();
      else fn(arg);
    } catch (e) {
      this._emitError(new VentError('listener', `a callback threw: ${e && e.message ? e.message : e}`,
          {cause: e, subscription: sub || null}));
    }
  }
}
