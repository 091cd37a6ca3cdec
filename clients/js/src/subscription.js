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
import { VentError } from './errors.js';
import { Positions } from './history.js';
import { Emitter, randomId } from './util.js';

// Only the client constructs handles (`new VentSubscription()` is a TypeError).
export const SUB_TOKEN = Symbol('vent.sub');

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
