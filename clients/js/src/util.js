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

export function deferred() {
  const d = {};
  d.promise = new Promise((resolve, reject) => { d.resolve = resolve; d.reject = reject; });
  return d;
}

export function decode(data) {
  if (typeof data === 'string') return data;
  if (typeof TextDecoder !== 'undefined' && data && (data.byteLength !== undefined)) {
    return new TextDecoder().decode(data);
  }
  return String(data);
}

export function normalizeUrl(url) {
  const s = String(url);
  if (s.startsWith('http://')) return 'ws://' + s.slice(7);
  if (s.startsWith('https://')) return 'wss://' + s.slice(8);
  return s;
}

// The value of the `token` query parameter of url, or null.
export function urlToken(url) {
  const m = /[?&]token=([^&#]*)/.exec(url);
  return m ? m[1] : null;
}

// url with its `token` query parameter replaced (token given) or removed (null).
export function withUrlToken(url, token) {
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
export const monotonicNow = (globalThis.performance && typeof globalThis.performance.now === 'function') ?
  () => globalThis.performance.now() : () => Date.now();

// Delay before attempt n (0-based): min(maxMs, initialMs·2^n)·(1 − jitter·random).
export function backoffDelay({initialMs, maxMs, jitter}, n) {
  const base = Math.min(maxMs, initialMs * Math.pow(2, Math.min(n, 52)));
  return Math.round(base * (1 - jitter * Math.random()));
}

// setTimeout for any delay (a plain setTimeout fires at once beyond 2^31-1 ms,
// ~24.8 days; Meteor login tokens live 90 days). Returns {clear()}.
const MAX_TIMEOUT = 0x7fffffff;
export function longTimeout(fn, ms) {
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
export function toDate(v) {
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
export class Emitter {
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
