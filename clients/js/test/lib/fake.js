// Test doubles for the unit tests: a scripted WebSocket (records what the
// client sends; the test drives open/message/close/failures) and an
// online/offline event source. No network, no processes.

export class FakeSocket {
  static instances = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.closedWith = null;
    FakeSocket.instances.push(this);
  }

  send(text) {
    if (this.readyState !== 1) throw new Error('send while not open');
    this.sent.push(JSON.parse(text));
  }

  close(code) {
    this.closedWith = code;
    this.readyState = 3;
  }

  // ---- test side
  open() { this.readyState = 1; this.onopen({}); }
  recv(msg) { this.onmessage({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) }); }
  serverClose(code = 1006, reason = '') { this.readyState = 3; this.onclose({ code, reason }); }
  // A refused upgrade: `ws` reports the status in the error event's message;
  // a browser reports nothing (message undefined).
  failUpgrade(message) {
    this.readyState = 3;
    this.onerror(message === undefined ? {} : { message });
    this.onclose({ code: 1006, reason: '' });
  }
  take() { return this.sent.splice(0); }
  // The messages sent so far with msg === kind (not removed).
  of(kind) { return this.sent.filter((m) => m.msg === kind); }
  // connect + connected, returning what the client sent on open.
  handshake() {
    this.open();
    this.recv({ msg: 'connected', session: `s${FakeSocket.instances.indexOf(this)}` });
    return this.take();
  }
}

export function fresh() {
  FakeSocket.instances = [];
}

export function last() {
  return FakeSocket.instances[FakeSocket.instances.length - 1];
}

export const fastRetry = { initialMs: 1, maxMs: 2, jitter: 0 };

// Resolves the next status for which pred holds.
export function nextStatus(vent, pred) {
  return new Promise((resolve) => {
    const off = vent.on('status', (s) => { if (pred(s)) { off(); resolve(s); } });
  });
}

// Resolves when a new FakeSocket exists (count > n).
export async function nextSocket(n) {
  for (let i = 0; i < 2000 && FakeSocket.instances.length <= n; i++) await new Promise((r) => setTimeout(r, 1));
  if (FakeSocket.instances.length <= n) throw new Error('no new socket');
  return last();
}

export const meteorError = (error, reason) =>
  ({ isClientSafe: true, error, reason, message: `${reason} [${error}]`, errorType: 'Meteor.Error' });

export class FakeNetwork {
  constructor() { this.listeners = { online: new Set(), offline: new Set() }; }
  addEventListener(type, fn) { this.listeners[type].add(fn); }
  removeEventListener(type, fn) { this.listeners[type].delete(fn); }
  fire(type) { for (const fn of [...this.listeners[type]]) fn({ type }); }
}

// Collects a handle's events as [name, payload] in order.
export function recordEvents(handle) {
  const seen = [];
  for (const ev of ['state', 'subscribing', 'ready', 'unsubscribed', 'error']) {
    handle.on(ev, (x) => seen.push([ev, x]));
  }
  return seen;
}
