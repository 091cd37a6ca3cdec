// vent-client 0.1.0 (built from clients/js/src by build.mjs; do not edit)
// ---- src/util.js
// Small helpers shared by the client's modules. Only VENT_PREFIX and
// randomId are public (re-exported by index.js); build.mjs drops the
// `export` of everything else when it concatenates dist/vent-client.js.

export const VENT_PREFIX = '{"msg":"changed","__vent":"1'; // 28 characters
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

function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
  return d;
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

// The value of the `token` query parameter of url, or null.
function urlToken(url) {
  const m = /[?&]token=([^&#]*)/.exec(url);
  return m ? m[1] : null;
}

// url with its `token` query parameter replaced (token given) or removed (null).
function withUrlToken(url, token) {
  const hash = url.indexOf('#');
  const tail = hash >= 0 ? url.slice(hash) : '';
  const head = hash >= 0 ? url.slice(0, hash) : url;
  const q = head.indexOf('?');
  const base = q >= 0 ? head.slice(0, q) : head;
  const kept = q >= 0 ? head.slice(q + 1).split('&').filter((kv) => kv && !kv.startsWith('token=')) : [];
  if (token !== null) kept.push(`token=${encodeURIComponent(token)}`);
  return base + (kept.length ? `?${kept.join('&')}` : '') + tail;
}

// Milliseconds from a monotonic clock (wall-clock jumps do not fake silence).
const monotonicNow = (globalThis.performance && typeof globalThis.performance.now === 'function') ?
  () => globalThis.performance.now() : () => Date.now();

// Delay before attempt n (0-based): min(maxMs, initialMs·2^n)·(1 − jitter·random).
function backoffDelay({initialMs, maxMs, jitter}, n) {
  const base = Math.min(maxMs, initialMs * Math.pow(2, Math.min(n, 52)));
  return Math.round(base * (1 - jitter * Math.random()));
}

// setTimeout for any delay (a plain setTimeout fires at once beyond 2^31-1 ms,
// ~24.8 days; Meteor login tokens live 90 days). Returns {clear()}.
const MAX_TIMEOUT = 0x7fffffff;
function longTimeout(fn, ms) {
  const handle = {timer: null, clear() { clearTimeout(handle.timer); handle.timer = null; }};
  const due = Date.now() + Math.max(0, ms);
  const arm = () => {
    const left = due - Date.now();
    handle.timer = setTimeout(left > MAX_TIMEOUT ? arm : fn, Math.min(Math.max(0, left), MAX_TIMEOUT));
  };
  arm();
  return handle;
}

// A Meteor `{$date: ms}` (EJSON), a number of ms, an ISO string or a Date → Date (else null).
function toDate(v) {
  if (v instanceof Date) return v;
  if (v && typeof v === 'object' && typeof v.$date === 'number') return new Date(v.$date);
  if (typeof v === 'number' || typeof v === 'string') {
    const d = new Date(v);
    return Number.isNaN(d.getTime()) ? null : d;
  }
  return null;
}

// Named listener sets. Listeners run in insertion order; a listener added
// twice runs once. Callers invoke them (they decide where exceptions go).
class Emitter {
  constructor(names) {
    this._sets = Object.create(null);
    for (const n of names) this._sets[n] = new Set();
  }

  on(event, fn) {
    const set = this._sets[event];
    if (!set) throw new TypeError(`unknown event "${event}" (${Object.keys(this._sets).join(', ')})`);
    if (typeof fn !== 'function') throw new TypeError(`on('${event}', fn): fn must be a function`);
    set.add(fn);
    return () => { set.delete(fn); };
  }

  off(event, fn) {
    const set = this._sets[event];
    if (set) set.delete(fn);
  }

  size(event) {
    return this._sets[event].size;
  }

  // A snapshot: listeners added or removed while these run take effect next time.
  list(event) {
    const set = this._sets[event];
    return set.size ? [...set] : [];
  }
}

// ---- src/ejson.js
// EJSON in Vent events, decoded as Meteor's client decodes it
// (ejson's fromJSONValue), for the types a backend can publish:
//   {"$date": ms}        -> Date
//   {"$binary": base64}  -> Uint8Array
//   {"$escape": {...}}   -> the object inside, its keys taken literally
// An object is one of these forms only when it has exactly that key (Meteor's
// rule), and only when the value has the right type. Everything else —
// {"$InfNaN"}, {"$regexp"}, {"$type", "$value"} (custom types need the app's
// EJSON.addType) — is left as is. Events from redis-oplog's
// Vent.emit(channel, obj) are EJSON.stringify(obj), so Dates and binary data
// round-trip. Turned off with the client option `ejson: false`.

// True when the event text may hold EJSON (a `"$` after the 28-character
// prefix): events without it are not walked at all.
function mayHaveEjson(raw) {
  return raw.indexOf('"$', 28) !== -1;
}

function base64ToBytes(s) {
  if (typeof globalThis.atob === 'function') {
    const bin = globalThis.atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new Uint8Array(globalThis.Buffer.from(s, 'base64'));
}

function only(obj, key) {
  let n = 0;
  for (const k in obj) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) continue;
    if (++n > 1 || k !== key) return false;
  }
  return n === 1;
}

// Decodes `value` (a JSON.parse result) in place where it can and returns
// the result (a new value when the top level itself is a special form).
function ejsonDecode(value) {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = ejsonDecode(value[i]);
    return value;
  }
  if (only(value, '$date') && typeof value.$date === 'number') return new Date(value.$date);
  if (only(value, '$binary') && typeof value.$binary === 'string') {
    try { return base64ToBytes(value.$binary); } catch (_) { return value; }
  }
  if (only(value, '$escape') && value.$escape && typeof value.$escape === 'object' &&
      !Array.isArray(value.$escape)) {
    const out = {};
    for (const k of Object.keys(value.$escape)) out[k] = ejsonDecode(value.$escape[k]);
    return out;
  }
  for (const k of Object.keys(value)) value[k] = ejsonDecode(value[k]);
  return value;
}

// ---- src/errors.js
// VentError: every failure the client reports (Meteor.Error's shape).
//
// error: the numeric DDP code the server sent (400, 403, 404, 429, 503, ...)
// or a client code: 'disconnected' | 'closed' | 'stopped' | 'nosub' |
// 'timeout' | 'too-big' | 'unauthorized' | 'failed' | 'token' | 'listener' |
// 'protocol' | 'parse-error'. `subscription` (not enumerable) is the
// VentSubscription the error concerns, when there is one.

export class VentError extends Error {
  constructor(error, reason, {details, message, cause, subscription} = {}) {
    super(message || (reason ? `${reason} [${error}]` : `[${error}]`));
    this.name = 'VentError';
    this.error = error;
    this.reason = reason;
    if (details !== undefined) this.details = details;
    if (cause !== undefined) this.cause = cause;
    Object.defineProperty(this, 'subscription', {value: subscription || null, writable: true, enumerable: false});
  }

  static from(e, extra = {}) {
    if (e instanceof VentError) {
      if (extra.subscription && !e.subscription) e.subscription = extra.subscription;
      return e;
    }
    if (e && typeof e === 'object') {
      return new VentError(e.error !== undefined ? e.error : 500, e.reason || String(e.message || ''),
          {details: e.details, message: e.message, ...extra});
    }
    return new VentError(500, String(e), extra);
  }
}

// Meteor's (and vent-bridge's) reason for a token past its `exp`: on a
// refused login, and on the nosub of `auth: user` subscriptions when the
// bridge logs a connection out at the token's expiry.
const EXPIRED_REASON = 'Your session has expired. Please log in again.';

// nosub codes that are retried with the subscription's own backoff: Redis
// or the authorizer unavailable (503), too many subscriptions (429).
const TEMPORARY_CODES = new Set([503, 429]);

// WebSocket close codes that say something about what this client sent or
// how it reads (protocol error, unacceptable/invalid data, message too big,
// server error, vent-bridge's "slow client"): the next attempt backs off
// even if the connection had been healthy, so such a close cannot loop.
const TROUBLE_CLOSE_CODES = new Set([1002, 1003, 1007, 1009, 1011, 4008]);

// ---- src/history.js
// Positions: where one subscription stands in each channel of a publication
// with history (docs/history.md), so that a resubscribe after any reconnect
// can ask the server for exactly what was missed.
//
// Wire (Vent extensions; stock DDP clients ignore them):
//   event  {"msg":"changed","__vent":"1","id":…,"e":…,"h":[channel, offset, "epoch"]}
//   ready  {"msg":"ready","subs":[id],"h":[[channel, offset, "epoch"], …],"recovered"?:bool}
//   sub    {"msg":"sub",…,"since":[[channel, offset, "epoch"], …]}
// `channel` is the index of the Redis channel in the publication's channel
// list, offsets count 1, 2, 3… per channel within an epoch, an epoch is an
// opaque string ("" = no history existed).
//
// Invariants:
// * A channel's position only moves forward within an epoch: an event whose
//   offset is not above the position of its channel in the same epoch has
//   been delivered already and is dropped (defence in depth: the server
//   sends each event once). An event from another epoch replaces the
//   position (the history was lost and restarted).
// * A `ready` that carries positions REPLACES them: it is the server's word
//   after everything it sent for that subscription so far (events it replayed
//   or captured before the ready included), and it may be behind ours when
//   the server's history went back (a Redis failover to a replica that had
//   not caught up, an old snapshot restored) — then it says
//   recovered:false and later events reuse offsets we have seen.
// * A `ready` without positions for an active subscription (the server lost
//   its Redis subscription and made it again: recovered:false) makes every
//   position loose: the next event of each channel is accepted whatever its
//   offset, for the same reason, and until then the channel's position is
//   not sent in `since` (it may name an offset the server now uses for
//   another event; without it, the server answers recovered:false).
//   A ready that carries positions ends it.
// * `since` is sent only once a ready gave every channel's position (or the
//   application supplied them): a partial list would not be recovered.
//   A ready without positions in answer to our sub means the publication has
//   no history (any more): positions are forgotten, no `since` is sent.

// The reason of the nosub 400 a server answers to a `since` it cannot parse.
const MALFORMED_POSITION = 'Malformed position';

// Publications have at most 16 channels (vent/pub/publication.h); anything
// far beyond is not a position we keep.
const MAX_CHANNEL = 255;

// [channel, offset, epoch] as the server sends it, else false.
function isWirePosition(h) {
  return Array.isArray(h) && h.length === 3 && Number.isInteger(h[0]) && h[0] >= 0 && h[0] <= MAX_CHANNEL &&
    Number.isSafeInteger(h[1]) && h[1] >= 0 && typeof h[2] === 'string';
}

// A list of VentPosition objects ({channel, offset, epoch}) from the
// application (subscribeFrom) → wire tuples; throws TypeError when invalid.
function positionsFromUser(list) {
  if (!Array.isArray(list)) throw new TypeError('position: expected an array of {channel, offset, epoch}');
  const seen = new Set();
  return list.map((p) => {
    const h = p && typeof p === 'object' ? [p.channel, p.offset, p.epoch] : null;
    if (!isWirePosition(h) || seen.has(h[0])) {
      throw new TypeError(`position: invalid entry ${JSON.stringify(p)} (expected {channel, offset, epoch}, one per channel)`);
    }
    seen.add(h[0]);
    return h;
  });
}

class Positions {
  constructor() {
    this._p = []; // channel index -> {offset, epoch, loose}
    this._complete = false; // every channel's position is known: `since` may be sent
    this.dropped = 0; // events dropped as already delivered
  }

  // Positions supplied by the application (wire tuples, validated).
  seed(list) {
    this._p = [];
    for (const [c, offset, epoch] of list) this._p[c] = {offset, epoch, loose: false};
    this._complete = list.length > 0;
  }

  // The `h` of an event. Returns the position to hand to the listener
  // ({channel, offset, epoch}), undefined when the frame has none (a raw
  // PUBLISH, or a publication without history), or null when the event was
  // delivered already (drop it).
  accept(h) {
    if (h === undefined || !isWirePosition(h) || h[1] === 0) return undefined;
    const c = h[0];
    const offset = h[1];
    const epoch = h[2];
    const p = this._p[c];
    if (p === undefined) {
      this._p[c] = {offset, epoch, loose: false};
    } else if (p.epoch === epoch && offset <= p.offset && !p.loose) {
      this.dropped++;
      return null;
    } else {
      p.offset = offset;
      p.epoch = epoch;
      p.loose = false;
    }
    return {channel: c, offset, epoch};
  }

  // A `ready` for this subscription. h: its positions (undefined when it has
  // none); answered: it answers a `sub` this client sent (not a re-ready of
  // an active subscription).
  onReady(h, recovered, answered) {
    if (Array.isArray(h) && h.every(isWirePosition)) {
      this._p = [];
      for (const [c, offset, epoch] of h) this._p[c] = {offset, epoch, loose: false};
      this._complete = h.length > 0;
    } else if (answered) {
      this._p = []; // no history on this publication (any more)
      this._complete = false;
    } else if (recovered === false) {
      for (const p of this._p) if (p) p.loose = true;
    }
  }

  // Forgets everything (the server refused our positions).
  reset() {
    this._p = [];
    this._complete = false;
  }

  // The `since` of the next `sub`, or null when it must not carry one.
  since() {
    if (!this._complete) return null;
    const out = [];
    this._p.forEach((p, c) => { if (p && !p.loose) out.push([c, p.offset, p.epoch]); });
    return out.length ? out : null;
  }

  // [{channel, offset, epoch}] (a copy), or null when no position is known.
  list() {
    const out = [];
    this._p.forEach((p, c) => { if (p) out.push({channel: c, offset: p.offset, epoch: p.epoch}); });
    return out.length ? out : null;
  }
}

// ---- src/subscription.js
// VentSubscription: the handle VentClient.subscribe() returns, and the
// per-subscription state the client keeps (one object per subscription, so a
// later resubscribe-with-position only adds fields here).
//
// States: 'subscribing' → 'subscribed' ⇄ 'subscribing' → 'unsubscribed' (final).
//   subscribing   sent or about to be sent; also while reconnecting, while a
//                 temporary error (503, 429) waits for its retry, and while a
//                 403 waits for a refreshed token.
//   subscribed    the server sent `ready` on the current connection.
//   unsubscribed  ended: stop(), close(), a permanent nosub error, the link
//                 lost with reconnect:false. Never left.
// Events (handle.on(event, fn), each returns an unsubscribe function):
//   'state'        {state, previous, code?, reason?} on every transition
//   'subscribing'  {code, reason, error?} on entering subscribing, and on each
//                  temporary error while in it
//   'ready'        {first, recovered} on EVERY `ready` from the server: first
//                  is true once per handle; recovered === false means events
//                  may have been missed since the previous ready (reconnect,
//                  a resubscribe after an error, or the server says so);
//                  true means the server replayed every missed event (a
//                  publication with history, resubscribed with its positions:
//                  they reached the listener before this ready); undefined
//                  means no gap is known (first ready, re-login)
//   'unsubscribed' {code, reason, error?} once, on the final transition
//   'error'        VentError when the subscription ends with an error

// Only the client constructs handles (`new VentSubscription()` is a TypeError).
const SUB_TOKEN = Symbol('vent.sub');

export class VentSubscription {
  constructor(token, client, name, params, callbacks) {
    if (token !== SUB_TOKEN) throw new TypeError('VentSubscription: use VentClient.subscribe()');
    this._client = client;
    this.id = randomId(); // DDP sub id, stable across reconnects and retries
    this.rand = randomId(); // Vent collection id, params[0] on the wire
    this.name = name;
    this.params = params;
    this.key = `${this.rand}.${name}`; // the "id" of this sub's Vent frames
    this.state = 'subscribing';
    this.recovered = undefined; // `recovered` of the last ready
    this.error = null; // the error it ended with, if any
    this._listener = null;
    this._events = new Emitter(['state', 'subscribing', 'ready', 'unsubscribed', 'error']);
    this._stopFns = [];
    this._waiters = new Set(); // pending whenReady() calls: {resolve, reject, timer}
    this._everReady = false;
    this._gap = false; // inactive on the server since its last ready, or its positions were refused
    this._sentOn = 0; // connection generation its unanswered `sub` went out on; 0 = answered/unsent
    this._bytes = 0; // size of its `sub` message (to blame a close 1009)
    this._retries = 0; // temporary errors since the last ready
    this._retryTimer = null;
    this._authRetried = false; // a 403 was retried with a fresh token since the last ready
    this._host = null; // host handle in attach mode with link.subscribe
    this._history = new Positions(); // per channel, for publications with history
    this._sentSince = false; // its unanswered `sub` carried `since`
    if (callbacks) {
      // Meteor.subscribe's callbacks: onReady once (the first ready), onStop
      // for every end, onError (Meteor's older name) for errors.
      if (typeof callbacks.onReady === 'function') {
        const off = this.on('ready', (info) => { off(); callbacks.onReady.call(this, info); });
      }
      if (typeof callbacks.onStop === 'function') this.onStop(callbacks.onStop);
      if (typeof callbacks.onError === 'function') this.onError(callbacks.onError);
    }
  }

  // Sets THE listener (a second call replaces the first; null removes it).
  // fn(event) gets the object the publication sent; for a publication with
  // history, fn(event, {channel, offset, epoch}) its position. Returns this.
  listen(fn) {
    if (fn !== null && typeof fn !== 'function') throw new TypeError('listen(fn): fn must be a function');
    this._listener = this.state === 'unsubscribed' ? null : fn;
    return this;
  }

  // Where this subscription stands in each channel of a publication with
  // history: [{channel, offset, epoch}] (a copy), or null when none is
  // known (no history, or nothing heard yet). What subscribeFrom() takes.
  position() {
    return this._history.list();
  }

  // True while the server has acknowledged this subscription on the current connection.
  ready() {
    return this.state === 'subscribed';
  }

  // Resolves (with this handle) once subscribed — at once if it is now.
  // Rejects with a VentError when the subscription ends first (its error, or
  // code 'stopped' / 'closed' / 'disconnected'), or with code 'timeout' after
  // timeoutMs (the subscription itself goes on trying).
  whenReady(timeoutMs) {
    if (this.state === 'subscribed') return Promise.resolve(this);
    if (this.state === 'unsubscribed') return Promise.reject(this._endError());
    return new Promise((resolve, reject) => {
      const w = {resolve, reject, timer: null};
      if (timeoutMs !== undefined && timeoutMs !== null) {
        w.timer = setTimeout(() => {
          this._waiters.delete(w);
          reject(new VentError('timeout', `Subscription '${this.name}' not ready within ${timeoutMs} ms`,
              {subscription: this}));
        }, timeoutMs);
      }
      this._waiters.add(w);
    });
  }

  // fn({first, recovered}) after every ready, including re-subscriptions.
  onReady(fn) {
    this.on('ready', fn);
    return this;
  }

  // fn(VentError) when the subscription ends with an error.
  onError(fn) {
    this.on('error', fn);
    if (this.error) this._client._safe(fn, this.error, this);
    return this;
  }

  // fn(error?) once when the subscription ends, for every end: no argument
  // after stop() or close(), the VentError otherwise. Runs at once if ended.
  onStop(fn) {
    if (typeof fn !== 'function') throw new TypeError('onStop(fn): fn must be a function');
    if (this.state === 'unsubscribed') this._client._safe(fn, this._stopArg(), this);
    else this._stopFns.push(fn);
    return this;
  }

  on(event, fn) {
    return this._events.on(event, fn);
  }

  off(event, fn) {
    this._events.off(event, fn);
  }

  // Unsubscribes. No listener call happens after stop() returns.
  stop() {
    if (this.state === 'unsubscribed') return;
    this._client._stopSub(this);
  }

  // ------------------------------------------------ transitions (client only)

  // The DDP `sub` message (re)subscribing this handle.
  // With `since` when positions are known (publications with history).
  _subMessage() {
    const msg = {msg: 'sub', id: this.id, name: this.name, params: [this.rand, ...this.params]};
    const since = this._history.since();
    if (since !== null) msg.since = since;
    return msg;
  }

  _setState(state, detail) {
    const previous = this.state;
    this.state = state;
    this._emit('state', {state, previous, ...detail});
  }

  _emit(event, arg) {
    for (const fn of this._events.list(event)) this._client._safe(fn, arg, this);
  }

  _onReady(serverRecovered) {
    if (this.state === 'unsubscribed') return;
    const first = !this._everReady;
    let recovered;
    if (typeof serverRecovered === 'boolean') recovered = serverRecovered;
    else if (this._gap) recovered = false;
    this._everReady = true;
    this._gap = false;
    this._retries = 0;
    this._authRetried = false;
    this.recovered = recovered;
    const info = {first, recovered};
    if (this.state !== 'subscribed') this._setState('subscribed', info);
    for (const w of this._waiters) {
      clearTimeout(w.timer);
      w.resolve(this);
    }
    this._waiters.clear();
    this._emit('ready', info);
  }

  // Back to subscribing (or another temporary error while in it).
  _toSubscribing(code, reason, error) {
    if (this.state === 'unsubscribed') return;
    if (this._everReady) this._gap = true;
    const detail = error ? {code, reason, error} : {code, reason};
    if (this.state !== 'subscribing') this._setState('subscribing', detail);
    else if (!error) return;
    this._emit('subscribing', detail);
  }

  // The final transition. report: emit 'error' (falling back to the client's
  // 'error' when nobody else hears of it).
  _end(code, reason, error, report) {
    if (this.state === 'unsubscribed') return false;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._listener = null;
    if (error) {
      this.error = error;
      if (!error.subscription) error.subscription = this;
    }
    this._endCode = code;
    this._endReason = reason;
    const detail = error ? {code, reason, error} : {code, reason};
    this._setState('unsubscribed', detail);
    const waiters = [...this._waiters];
    this._waiters.clear();
    const rejection = this._endError();
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(rejection);
    }
    this._emit('unsubscribed', detail);
    if (error && report) {
      const heard = waiters.length > 0 || this._stopFns.length > 0 || this._events.size('error') > 0;
      this._emit('error', error);
      if (!heard) this._client._emitError(error);
    }
    const stopFns = this._stopFns.splice(0);
    for (const fn of stopFns) this._client._safe(fn, this._stopArg(), this);
    return true;
  }

  _endError() {
    if (this.error) return this.error;
    const code = this._endCode || 'stopped';
    const reason = code === 'stopped' ? `Subscription '${this.name}' stopped` :
      (this._endReason || `Subscription '${this.name}' ended (${code})`);
    return new VentError(code, reason, {subscription: this});
  }

  _stopArg() {
    return this.error || undefined;
  }
}

// ---- src/auth.js
// Auth: the client's login state — which token the server accepted, the
// logins not answered yet, getToken() refreshes (first login, ahead of the
// token's expiry, after a 403 "expired") and the subscriptions waiting for
// a refreshed token.
//
// Invariants:
// * `token` is the last token the server ACCEPTED. It changes only on a
//   successful login (a refused login leaves the server's session, and so
//   `token`, as it was), and is cleared when a re-sent or refreshed token is
//   refused (the server then has no user) or on logout().
// * Every login() call gets the result of its own DDP method call (requests
//   are matched by method id, never by order).
// * Outstanding logins survive reconnects: each new session sends `token`
//   (unless a fresher one is queued) and then every outstanding request, in
//   order, before any subscription.
// * At most one getToken() runs at a time; its result is queued as a login.

const MIN_REFRESH_DELAY_MS = 1000;
const SKEWED_REFRESH_DELAY_MS = 30000;

class Auth {
  constructor(client, options) {
    this._c = client;
    this._getToken = typeof options.getToken === 'function' ? options.getToken : null;
    this._marginMs = options.tokenRefreshMarginMs === undefined ? 60000 : options.tokenRefreshMarginMs;
    this.token = null;
    this.expires = null; // Date: tokenExpires of the accepted login
    // {token, d, internal, fresh, fetchGen, id, gen, bytes}: fresh = a new
    // token (from login() or getToken()); fetchGen = the connection
    // generation a getToken() token was fetched for.
    this._requests = [];
    this._refreshing = null; // Promise while getToken() runs
    this._refreshFailures = 0;
    this._retryTimer = null;
    this._timer = null; // refresh ahead of `expires`
    this._waiting = new Set(); // subs deferred until a refreshed login answers
    this._closed = false;
  }

  get hasGetToken() {
    return this._getToken !== null;
  }

  // User login(token). Sent now if a session is running, else at the next one.
  login(token) {
    const d = deferred();
    this._queue({token, d, internal: false, fresh: true});
    return d.promise;
  }

  logout() {
    this.token = null;
    this.expires = null;
    this._clearTimer();
  }

  // Before a session sends anything: a Promise when getToken() must run
  // first (no token yet, or it expires within the margin), else null.
  beforeSession() {
    if (!this._getToken || this._closed) return null;
    if (this._refreshing) return this._refreshing;
    if (this._requests.some((r) => r.fresh)) return null;
    if (this.token && !this._expiresSoon()) return null;
    return this.refresh(false);
  }

  // The session's first messages: the accepted token, unless a fresher one
  // is queued, then every outstanding request.
  sendSessionLogins() {
    if (this.token && !this._requests.some((r) => r.internal && r.fresh)) {
      this._requests.unshift({token: this.token, d: null, internal: true, fresh: false});
    }
    for (const r of this._requests) this._send(r);
  }

  // The socket is gone: results of sent logins can no longer arrive.
  onDisconnect() {
    for (const r of this._requests) r.id = null;
    // A re-login with the accepted token is re-created by the next session.
    this._requests = this._requests.filter((r) => !(r.internal && !r.fresh));
  }

  // True if id is an outstanding login's method id (its result is ours).
  owns(id) {
    return this._requests.some((r) => r.id === id);
  }

  // Sent logins not answered yet on connection generation gen.
  inFlight(gen) {
    return this._requests.filter((r) => r.id !== null && r.gen === gen);
  }

  onResult(msg) {
    const i = this._requests.findIndex((r) => r.id === msg.id);
    if (i < 0) return;
    const [r] = this._requests.splice(i, 1);
    if (msg.error) this._failed(r, VentError.from(msg.error));
    else this._accepted(r, msg.result);
  }

  // Drops a request (blamed for a close 1009, or the client closed).
  drop(r, err) {
    const i = this._requests.indexOf(r);
    if (i >= 0) this._requests.splice(i, 1);
    if (r.d) r.d.reject(err);
    if (r.internal) this._lost(err);
  }

  // True when a 403 nosub for sub should wait for a refreshed token rather
  // than end the subscription; then it is queued (sendSub after the login).
  deferSub(sub, err) {
    if (!this._getToken || this._closed || sub._authRetried) return false;
    const refreshing = this._refreshing !== null || this._requests.some((r) => r.internal);
    if (!refreshing && err.reason !== EXPIRED_REASON) return false;
    sub._authRetried = true;
    sub._authError = err;
    this._waiting.add(sub);
    if (!refreshing) this.refresh().catch(() => {});
    return true;
  }

  forget(sub) {
    this._waiting.delete(sub);
  }

  // Runs getToken() (once at a time) and queues its token as a login. On a
  // failure it reports a VentError 'token' and, with retry, tries again with
  // the resubscribe backoff (the waiting subscriptions keep waiting).
  refresh(retry = true) {
    if (!this._getToken || this._closed) return Promise.resolve();
    if (this._refreshing) return this._refreshing;
    clearTimeout(this._retryTimer);
    this._retryTimer = null;
    this._refreshing = Promise.resolve().then(() => this._getToken()).then((token) => {
      this._refreshing = null;
      this._refreshFailures = 0;
      if (this._closed) return;
      if (typeof token !== 'string' || !token) {
        // getToken() says: no user. Continue anonymously.
        this.token = null;
        this.expires = null;
        this._clearTimer();
        this._releaseWaiting(new VentError(403, 'getToken() returned no token'));
        return;
      }
      this._queue({token, d: null, internal: true, fresh: true, fetchGen: this._c._gen});
    }, (e) => {
      this._refreshing = null;
      if (this._closed) return;
      const err = new VentError('token', `getToken() failed: ${e && e.message ? e.message : e}`, {cause: e});
      this._c._emitError(err);
      if (retry) {
        const delay = backoffDelay(this._c._resub, this._refreshFailures++);
        this._retryTimer = setTimeout(() => { this._retryTimer = null; this.refresh().catch(() => {}); }, delay);
      }
      throw err;
    });
    return this._refreshing;
  }

  // getToken() for a connect URL (nothing is queued). Resolves a token or null.
  fetchToken() {
    return Promise.resolve().then(() => this._getToken()).then((t) => (typeof t === 'string' && t ? t : null));
  }

  close(err) {
    this._closed = true;
    this._clearTimer();
    clearTimeout(this._retryTimer);
    for (const r of this._requests.splice(0)) if (r.d) r.d.reject(err);
    this._waiting.clear();
  }

  // ------------------------------------------------------------ internals

  _queue(r) {
    this._requests.push(r);
    if (this._c._sessionRunning()) this._send(r);
  }

  _send(r) {
    const c = this._c;
    const params = [{resume: r.token}];
    if (c._hostCalls()) {
      r.id = Symbol('login');
      c._link.call('login', params).then((result) => this.onResult({id: r.id, result}),
          (e) => this.onResult({id: r.id, error: VentError.from(e)}));
      return;
    }
    r.id = c._methodId();
    r.gen = c._gen;
    r.bytes = c._sendMessage({msg: 'method', id: r.id, method: 'login', params});
  }

  _accepted(r, result) {
    const res = result && typeof result === 'object' ? {...result} : {};
    this.token = typeof res.token === 'string' && res.token ? res.token : r.token;
    this.expires = toDate(res.tokenExpires);
    if (res.tokenExpires !== undefined) res.tokenExpires = this.expires;
    this._schedule();
    if (r.d) r.d.resolve(res);
    // Subscriptions refused while the token was stale: subscribe again now.
    const waiting = [...this._waiting];
    this._waiting.clear();
    for (const sub of waiting) this._c._resend(sub);
  }

  _failed(r, err) {
    if (r.d) r.d.reject(err);
    if (!r.internal) return; // the server kept the session it had (and `token`)
    // A re-sent or refreshed token was refused: the server has no user now.
    // Fetch another unless this one was fetched for this very connection
    // (then it is bad, not stale: no loop). A token fetched earlier whose
    // login never got an answer (the link dropped) counts as stale.
    const stale = !r.fresh || r.fetchGen !== r.gen;
    if (stale && err.error === 403 && this._getToken) {
      this.token = null;
      this.expires = null;
      this._clearTimer();
      this.refresh().catch(() => {});
      return;
    }
    this._lost(err);
    if (!r.d) this._c._emitError(err);
  }

  _lost(err) {
    this.token = null;
    this.expires = null;
    this._clearTimer();
    this._releaseWaiting(err);
  }

  // Ends the subscriptions that waited for a token that did not come.
  _releaseWaiting(err) {
    const waiting = [...this._waiting];
    this._waiting.clear();
    for (const sub of waiting) this._c._failSub(sub, sub._authError || err);
  }

  _expiresSoon() {
    return this.expires !== null && this.expires.getTime() - Date.now() <= this._margin();
  }

  // Refresh this long before `expires`: the margin, at most half the
  // token's remaining life when it was accepted.
  _margin() {
    return this._acceptedLifeMs === undefined ? this._marginMs :
      Math.min(this._marginMs, this._acceptedLifeMs / 2);
  }

  _schedule() {
    this._clearTimer();
    if (!this._getToken || !this.expires) return;
    // A token that looks expired already (the clocks disagree) is refreshed
    // after SKEWED_REFRESH_DELAY_MS, never in a loop.
    this._acceptedLifeMs = this.expires.getTime() - Date.now();
    const delay = this._acceptedLifeMs > 0 ?
      Math.max(MIN_REFRESH_DELAY_MS, this._acceptedLifeMs - this._margin()) : SKEWED_REFRESH_DELAY_MS;
    this._timer = longTimeout(() => {
      this._timer = null;
      this.refresh().catch(() => {});
    }, delay);
  }

  _clearTimer() {
    if (this._timer) this._timer.clear();
    this._timer = null;
  }
}

// ---- src/transport.js
// Transport: VentClient's WebSocket — at most one socket (one attempt) at a
// time, the connect timeout, DDP heartbeats, and why an attempt ended.
//
// Heartbeat (Meteor's client algorithm): a DDP ping after heartbeatMs
// without ANY inbound message, the socket dropped when nothing arrives within
// heartbeatTimeoutMs of that ping. The fast path only counts messages (no
// clock read, no timer per message): a timer ticks every
// min(heartbeatMs/4, 1 s) and notes whether the count moved, so the ping
// goes out between heartbeatMs and heartbeatMs + one tick after the last
// message, and a dead link is detected within heartbeatMs + tick +
// heartbeatTimeoutMs of it.
//
// Callbacks (handlers) run only for the current socket; a stale socket's
// events are ignored. `gone` gets {reason, code?, opened, error}: opened
// says whether the upgrade succeeded, error is what the WebSocket's error
// event said (`ws`: "Unexpected server response: 401"; browsers: nothing).

const OPEN = 1; // WebSocket.OPEN

class Transport {
  constructor(WebSocketCtor, {heartbeatMs, heartbeatTimeoutMs, connectTimeoutMs}, handlers) {
    this._WebSocket = WebSocketCtor;
    this._heartbeatMs = heartbeatMs;
    this._heartbeatTimeoutMs = heartbeatTimeoutMs;
    this._connectTimeoutMs = connectTimeoutMs;
    this._h = handlers; // {open(), message(raw), gone(info)}
    this._ws = null;
    this._attempt = null; // {opened, error} of the current socket
    this._connectTimer = null;
    this._beatTimer = null;
    this._tickMs = Math.min(heartbeatMs / 4, 1000);
    this._rx = 0; // inbound messages on this socket
    this._rxSeen = 0; // _rx at the last tick
    this._silentSince = 0; // monotonic time by which the last message had arrived
    this._pingAt = 0; // monotonic time of our unanswered ping, 0 if none
  }

  get active() {
    return this._ws !== null;
  }

  get isOpen() {
    return this._ws !== null && this._ws.readyState === OPEN;
  }

  // Starts an attempt (the previous socket must be gone). A constructor that
  // throws ends the attempt at once through `gone`.
  open(url) {
    const attempt = {opened: false, error: ''};
    this._attempt = attempt;
    let ws;
    try {
      ws = new this._WebSocket(url);
    } catch (e) {
      this._end({reason: `cannot open the WebSocket: ${e && e.message}`, opened: false, error: String(e && e.message)});
      return;
    }
    this._ws = ws;
    ws.onopen = () => {
      if (ws !== this._ws) return;
      attempt.opened = true;
      this._heard();
      this._h.open();
    };
    ws.onmessage = (ev) => {
      if (ws !== this._ws) return;
      this._rx++;
      if (this._pingAt) this._heard(); // the answer to our ping (any message is)
      this._h.message(decode(ev.data));
    };
    ws.onerror = (ev) => {
      if (ws === this._ws) attempt.error = String((ev && (ev.message || (ev.error && ev.error.message))) || '');
    };
    ws.onclose = (ev) => {
      if (ws !== this._ws) return;
      this._ws = null;
      const code = ev ? ev.code : undefined;
      let reason = `socket closed (${code})`;
      if (ev && ev.reason) reason += `: ${ev.reason}`;
      else if (attempt.error) reason += `: ${attempt.error}`;
      this._end({reason, code, opened: attempt.opened, error: attempt.error});
    };
    if (this._connectTimeoutMs > 0) {
      this._connectTimer = setTimeout(() => this.drop('connect timeout', true), this._connectTimeoutMs);
    }
  }

  // DDP `connected` arrived: the attempt is no longer at risk of the connect timeout.
  connected() {
    clearTimeout(this._connectTimer);
    this._connectTimer = null;
  }

  // Sends one DDP message; returns its size in characters (0 if not open).
  send(obj) {
    if (!this.isOpen) return 0;
    const text = JSON.stringify(obj);
    this._ws.send(text);
    return text.length;
  }

  // Closes the current socket without waiting for its close event. notify:
  // report it through `gone`; else return the attempt's info to the caller.
  drop(reason, notify, code = 4000) {
    const ws = this._ws;
    const attempt = this._attempt || {opened: false, error: ''};
    this._ws = null;
    if (ws) {
      try { ws.close(code, code === 1000 ? undefined : reason.slice(0, 60)); } catch (_) {
        try { ws.close(); } catch (_) { /* gone */ }
      }
    }
    const info = {reason, opened: attempt.opened, error: attempt.error};
    if (notify) this._end(info);
    else this._stopTimers();
    return info;
  }

  _end(info) {
    this._stopTimers();
    this._h.gone(info);
  }

  _stopTimers() {
    clearTimeout(this._connectTimer);
    clearTimeout(this._beatTimer);
    this._connectTimer = null;
    this._beatTimer = null;
    this._pingAt = 0;
  }

  // A message just arrived (or the socket opened): silence starts now.
  _heard() {
    this._pingAt = 0;
    this._rxSeen = this._rx;
    this._silentSince = monotonicNow();
    if (this._heartbeatMs > 0) this._armBeat(this._tickMs);
  }

  _armBeat(ms) {
    clearTimeout(this._beatTimer);
    this._beatTimer = setTimeout(() => this._beat(), ms);
  }

  _beat() {
    this._beatTimer = null;
    if (!this._ws) return;
    if (this._pingAt) {
      this.drop('heartbeat timeout', true);
      return;
    }
    const now = monotonicNow();
    if (this._rx !== this._rxSeen) {
      // Messages came during the last tick: the silence starts at most now.
      this._rxSeen = this._rx;
      this._silentSince = now;
    }
    const silent = now - this._silentSince;
    if (silent < this._heartbeatMs) {
      this._armBeat(Math.min(this._tickMs, this._heartbeatMs - silent));
      return;
    }
    this.send({msg: 'ping'});
    this._pingAt = now;
    this._armBeat(this._heartbeatTimeoutMs);
  }
}

// ---- src/vent-client.js
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

// ---- src/meteor.js
// Adapter: run Vent subscriptions on Meteor's own DDP connection
// (Meteor.connection or any DDP.connect() result), like redis-oplog's client.
//
//   import { attachToMeteor } from 'vent-client';
//   const vent = attachToMeteor(Meteor.connection);
//   vent.subscribe('threadMessage', {threadId}).listen(fn);
//
// Meteor keeps owning the socket, reconnects, login and the subs themselves
// (Meteor re-sends them with the same id and params after a reconnect); Vent
// only adds a raw-message listener on connection._stream for the 28-char fast
// path. Untested here: there is no Meteor runtime in this repository.

// Builds the VentClient.attach() link for a Meteor connection.
export function meteorLink(connection) {
  if (!connection || !connection._stream || typeof connection.subscribe !== 'function') {
    throw new TypeError('meteorLink(connection): expected Meteor.connection or a DDP.connect() result');
  }
  return {
    send: (msg) => connection._send(msg),
    onMessage: (fn) => connection._stream.on('message', fn),
    // Meteor strips a trailing {onReady, onStop} argument and never sends it.
    subscribe: (name, params, callbacks) => connection.subscribe(name, ...params, callbacks),
    call: (method, params) => new Promise((resolve, reject) => {
      connection.apply(method, params, (err, res) => (err ? reject(err) : resolve(res)));
    }),
  };
}

// VentClient.attach(meteorLink(connection)); connection defaults to Meteor.connection.
export function attachToMeteor(connection = globalThis.Meteor && globalThis.Meteor.connection, options = {}) {
  return VentClient.attach(meteorLink(connection), options);
}

// ---- src/sockjs.js
// SockJS as VentClient's socket, for networks whose proxies block
// WebSockets (what Meteor's browser client does): SockJS falls back to
// xhr-streaming, xhr-polling, eventsource or htmlfile and vent-bridge
// serves them all (README.md, "SockJS over HTTP").
//
//   import SockJS from 'sockjs-client';     // or the page's window.SockJS
//   const vent = new VentClient('https://host/websocket',
//       {WebSocket: sockJsWebSocket(SockJS)});
//
// The VentClient URL (ws(s)://host/websocket or http(s)://host/...) is
// turned into SockJS's base URL http(s)://host/sockjs. `options` go to
// SockJS (e.g. {transports: ['xhr-streaming', 'xhr-polling']}). A `?token=`
// on the URL is not carried (log in with vent.login() instead).
export function sockJsWebSocket(SockJS, options = {}) {
  if (typeof SockJS !== 'function') throw new TypeError('sockJsWebSocket(SockJS): SockJS constructor required');
  return function VentSockJs(url) {
    const m = /^(ws|wss|http|https):\/\/([^/?#]+)/.exec(String(url));
    if (!m) throw new TypeError(`sockJsWebSocket: cannot map ${url} to a SockJS URL`);
    const scheme = m[1] === 'wss' || m[1] === 'https' ? 'https' : 'http';
    return new SockJS(`${scheme}://${m[2]}/sockjs`, null, options);
  };
}
