// Helpers for the end-to-end suites: real redis-server, vent-server and
// vent-bridge processes (tests/js/lib/stack.js: free 127.0.0.1 ports,
// readiness polled with deadlines, children killed on exit), HS256 tokens,
// and waits on client events with deadlines (no sleeps, no fake timers).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import WebSocket from 'ws';

import { VentClient } from '../../src/index.js';

const require = createRequire(import.meta.url);
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const stack = require(path.join(root, 'tests/js/lib/stack.js'));
export const { VentClient: EmitClient } = require(path.join(root, 'clients/node/vent-client.js'));

export const EXPIRED = 'Your session has expired. Please log in again.';
export const LOGGED_OUT = "You've been logged out by the server. Please log in again.";

// Publications of the suites: public ones and `auth: user` ones.
export const CONFIG = `publications:
  threadMessage:
    params: { threadId: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["threads::{threadId}::new_message"]
    auth: public
    fields: [message]
  mine:
    channels: ["users::{userId}::events"]
    auth: user
  room:
    params: { room: { type: string, pattern: "^[A-Za-z0-9_-]{1,64}$" } }
    channels: ["rooms::{room}"]
    auth: user
`;

export function configFile(text = CONFIG) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-jsclient-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bridge.yaml');
  fs.writeFileSync(file, text);
  return file;
}

export function hs256(payload, secret) {
  const b64 = (x) => Buffer.from(x).toString('base64url');
  const head = b64(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = b64(JSON.stringify(payload));
  const sig = crypto.createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

// A token for user `sub` that expires in `seconds`.
export const token = (sub, secret, seconds = 3600) => hs256({ sub, exp: Math.floor(Date.now() / 1000) + seconds }, secret);

// Starts vent-bridge on `port` (default: a free one). Returns {proc, port, url(path)}.
export async function startBridge({ redis, port, secret, args = [], config = configFile() }) {
  if (port === undefined) port = await stack.freePort();
  const argv = ['--listen', `127.0.0.1:${port}`, '--redis', redis.url, '--config', config, ...args];
  if (secret) argv.push('--jwt-hs256-secret', secret);
  const proc = await stack.startProcess(stack.binPath('vent-bridge'), argv,
      { readyHttp: `http://127.0.0.1:${port}/healthz` });
  return { proc, port, config, url: (p = '/websocket') => `ws://127.0.0.1:${port}${p}` };
}

const clients = [];
export function connect(url, opts = {}) {
  const vent = new VentClient(url, {
    WebSocket, networkEvents: false, reconnect: { initialMs: 50, maxMs: 500, jitter: 0.5 }, ...opts,
  });
  clients.push(vent);
  return vent;
}
export function closeClients() {
  for (const c of clients.splice(0)) c.close();
}

// Resolves the first event `name` on emitter (a client or a handle) for
// which pred holds, registered NOW; rejects after timeoutMs.
export function once(emitter, name, pred = () => true, { timeoutMs = 20000, what = name } = {}) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error(`no ${what} within ${timeoutMs} ms`)); }, timeoutMs);
    const off = emitter.on(name, (x) => {
      if (!pred(x)) return;
      clearTimeout(timer);
      off();
      resolve(x);
    });
  });
}

// Collects a handle's events; until(pred) waits for pred(events) with a deadline.
export function collector(handle) {
  const events = [];
  const waiters = [];
  handle.listen((e) => {
    events.push(e);
    for (const w of waiters.splice(0)) w();
  });
  return {
    events,
    until(pred, timeoutMs = 20000, what = 'event') {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(events)}`)), timeoutMs);
        const loop = () => {
          if (pred(events)) { clearTimeout(timer); resolve(events); } else waiters.push(loop);
        };
        loop();
      });
    },
  };
}

// Emits on channel until handle's collector has more than `have` events.
export async function emitUntilDelivered(emitter, channel, c, payload, { timeoutMs = 20000 } = {}) {
  const have = c.events.length;
  let n = 0;
  await stack.waitFor(async () => {
    if (c.events.length > have) return true;
    await emitter.emit(channel, { ...payload, n: ++n });
    return c.events.length > have;
  }, { timeoutMs, intervalMs: 100, what: `an event on ${channel}` });
  return c.events[have];
}

let seq = 0;
export const uniq = (p) => `${p}${process.pid}x${++seq}`;

// Records a handle's events as [name, payload].
export function recordEvents(handle) {
  const seen = [];
  for (const ev of ['state', 'subscribing', 'ready', 'unsubscribed', 'error']) handle.on(ev, (x) => seen.push([ev, x]));
  return seen;
}
