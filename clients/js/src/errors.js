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
export const EXPIRED_REASON = 'Your session has expired. Please log in again.';

// nosub codes that are retried with the subscription's own backoff: Redis
// or the authorizer unavailable (503), too many subscriptions (429).
export const TEMPORARY_CODES = new Set([503, 429]);

// WebSocket close codes that say something about what this client sent or
// how it reads (protocol error, unacceptable/invalid data, message too big,
// server error, vent-bridge's "slow client"): the next attempt backs off
// even if the connection had been healthy, so such a close cannot loop.
export const TROUBLE_CLOSE_CODES = new Set([1002, 1003, 1007, 1009, 1011, 4008]);
