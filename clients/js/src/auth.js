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
import { EXPIRED_REASON, VentError } from './errors.js';
import { backoffDelay, deferred, longTimeout, toDate } from './util.js';

const MIN_REFRESH_DELAY_MS = 1000;
const SKEWED_REFRESH_DELAY_MS = 30000;

export class Auth {
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
