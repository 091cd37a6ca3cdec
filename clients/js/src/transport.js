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
import { decode, monotonicNow } from './util.js';

const OPEN = 1; // WebSocket.OPEN

export class Transport {
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
