'use strict';
// Soak load and sampler for ONE running vent-bridge (+ its Redis and a
// vent-server), started by bench/soak.sh, which documents the flags. Not a
// test: it runs for minutes and prints a table.
//
// Phases: warm-up churn (sizes the allocator's pools, the worker buffers, the
// kernel's socket caches) -> all clients gone -> BASELINE sample -> churn for
// --minutes -> all clients gone -> FINAL sample -> verdict (exit 1 on FAIL).
//
// Churn, all at once, all against the same bridge:
//   connections  loops that open a WebSocket, pipeline connect + 1-3 subs,
//                wait for ready (or not), then close it cleanly, abruptly, or
//                before the subs were answered;
//   subs         long-lived connections that sub and unsub rooms, including
//                the pipelined sub(bad) / unsub / sub(good) triple and
//                duplicate ids in one write;
//   logins       connections that log in with an HS256 JWT (some expiring
//                after 2 s, so the bridge logs them out), sub the user's
//                publication, log out, log in again, close;
//   slow         raw WebSockets that subscribe the firehose and never read:
//                the bridge closes them (4008) once --max-outgoing is queued;
//   publish      Redis PUBLISH to rooms, users and the firehose, and gRPC
//                Emit/EmitBatch through vent-server;
//   reconnects   every --redis-kill-seconds, CLIENT KILL TYPE pubsub: the
//                bridge reconnects to Redis and resubscribes every channel
//                while its clients stay connected.
// Every --sample-seconds a row: the bridge's and vent-server's RSS and open
// fds (/proc), the bridge's vent_bridge_connections / _subscriptions /
// _redis_channels gauges and deliveries, vent-server's emitted events, and
// Redis' own view (PUBSUB CHANNELS count, sum of PUBSUB NUMSUB over them).

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');

const stack = require('../tests/js/lib/stack.js');
const {parseMetrics, httpRequest} = require('../bridge/e2e/lib/bridge.js');
const {Publisher} = require('../bridge/e2e/lib/publisher.js');
const {upgrade, textFrame} = require('../bridge/e2e/lib/raw_socket.js');
const {VentClient} = require('../clients/node/vent-client.js');

// ------------------------------------------------------------------ options

function parseArgs(argv) {
  const o = {
    minutes: 30, warmupSeconds: 60, sampleSeconds: 10, settleSeconds: 60, redisKillSeconds: 120,
    connLoops: 8, subClients: 16, loginClients: 8, slowClients: 4,
    publishRate: 400, emitRate: 40, rooms: 200, payloadBytes: 300, firehoseBytes: 32768,
    rssToleranceMiB: 16, rssTolerancePct: 25,
  };
  const num = new Set(Object.keys(o));
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const val = argv[i + 1];
    if (val === undefined) throw new Error(`missing value for ${argv[i]}`);
    if (num.has(key)) {
      o[key] = Number(val);
      if (!Number.isFinite(o[key]) || o[key] < 0) throw new Error(`bad number ${argv[i]} ${val}`);
    } else {
      o[key] = val;
    }
  }
  for (const k of ['bridgePort', 'bridgePid', 'redisPort', 'grpc', 'secret']) {
    if (!o[k]) throw new Error(`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} is required`);
  }
  o.bridgePort = Number(o.bridgePort);
  o.bridgePid = Number(o.bridgePid);
  o.redisPort = Number(o.redisPort);
  if (o.serverPid) o.serverPid = Number(o.serverPid);
  if (o.serverMetricsPort) o.serverMetricsPort = Number(o.serverMetricsPort);
  return o;
}
const opt = parseArgs(process.argv.slice(2));

// ------------------------------------------------------------------ helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rnd = (n) => Math.floor(Math.random() * n);
const pick = (a) => a[rnd(a.length)];
const idOf = () => crypto.randomBytes(9).toString('base64url');
const roomChannel = (r) => `soak::room::r${r}`;
const userChannel = (u) => `soak::user::${u}::events`;
const FIREHOSE = 'soak::firehose';
const USERS = Array.from({length: 50}, (_, i) => `u${i}`);

function b64url(x) {
  return Buffer.from(x).toString('base64url');
}
function jwt(sub, expSeconds) {
  const h = b64url(JSON.stringify({alg: 'HS256', typ: 'JWT'}));
  const p = b64url(JSON.stringify({sub, exp: Math.floor(Date.now() / 1000) + expSeconds}));
  const sig = crypto.createHmac('sha256', opt.secret).update(`${h}.${p}`).digest();
  return `${h}.${p}.${b64url(sig)}`;
}
function payload(bytes = opt.payloadBytes) {
  return JSON.stringify({t: Date.now(), pad: 'x'.repeat(Math.max(0, bytes - 30))});
}

const count = {
  connOpened: 0, connFailed: 0, subs: 0, ready: 0, nosub: 0, unsubs: 0, events: 0,
  logins: 0, logouts: 0, userSubsEnded: 0, expired: 0, slowOpened: 0, slowClosed: 0,
  published: 0, emitted: 0, redisKills: 0, errors: 0,
};
let lastError = '';
function noteError(e) {
  count.errors++;
  lastError = String(e && e.message ? e.message : e).slice(0, 120);
}

// A small DDP client on `ws` (no per-message history, so it can run for
// hours): answers pings, counts events, resolves ready / nosub / results by id.
class Ddp {
  constructor() {
    this.waiters = new Map(); // id -> {resolve, kind}
    this.closed = false;
  }

  open() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${opt.bridgePort}/websocket`, {perMessageDeflate: false});
      this.ws = ws;
      ws.on('open', () => {
        count.connOpened++;
        resolve(this);
      });
      ws.on('message', (data) => this.onMessage(data.toString()));
      ws.on('error', (e) => {
        if (!this.closed) reject(e);
      });
      ws.on('close', () => {
        this.closed = true;
        for (const w of this.waiters.values()) w.resolve({msg: 'closed'});
        this.waiters.clear();
        reject(new Error('closed before open'));
      });
      this.send({msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']});
    });
  }

  send(obj) {
    this.sendRaw(JSON.stringify(obj));
  }

  sendRaw(text) {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(text);
    else if (this.ws.readyState === WebSocket.CONNECTING) this.ws.once('open', () => this.ws.send(text));
  }

  onMessage(text) {
    if (text.startsWith('{"msg":"changed","__vent":"1')) {
      count.events++;
      return;
    }
    let m;
    try { m = JSON.parse(text); } catch (_) { return; }
    if (m.msg === 'ping') this.send(m.id ? {msg: 'pong', id: m.id} : {msg: 'pong'});
    else if (m.msg === 'ready') {
      for (const id of m.subs) {
        count.ready++;
        this.settle(id, m);
      }
    } else if (m.msg === 'nosub') {
      count.nosub++;
      if (m.error && m.error.error === 403) count.userSubsEnded++;
      this.settle(m.id, m);
    } else if (m.msg === 'result') this.settle(`m${m.id}`, m);
  }

  settle(id, m) {
    const w = this.waiters.get(id);
    if (!w) return; // nobody waits for it (e.g. the nosub a logout causes)
    w.got.push(m);
    if (w.got.length >= w.n) {
      this.waiters.delete(id);
      w.resolve(w.got[w.got.length - 1]);
    }
  }

  // Resolves the n-th next ready/nosub (or method result) for `id`:
  // {msg:'closed'} if the socket closes first, {msg:'timeout'} after 15 s.
  wait(id, n = 1) {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(id);
        resolve({msg: 'timeout'});
      }, 15000);
      this.waiters.set(id, {n, got: [], resolve: (m) => { clearTimeout(t); resolve(m); }});
    });
  }

  // Sends the messages in one socket write.
  sendBatch(objs) {
    const sock = this.ws._socket;
    if (sock) sock.cork();
    for (const o of objs) this.send(o);
    if (sock) process.nextTick(() => sock.uncork());
  }

  sub(name, params, id = idOf()) {
    count.subs++;
    const p = this.wait(id);
    this.send({msg: 'sub', id, name, params: [idOf(), ...params]});
    return p;
  }

  unsub(id) {
    count.unsubs++;
    const p = this.wait(id);
    this.send({msg: 'unsub', id});
    return p;
  }

  call(method, params) {
    const id = idOf();
    const p = this.wait(`m${id}`);
    this.send({msg: 'method', id, method, params});
    return p;
  }

  close(abrupt) {
    this.closed = true;
    if (abrupt) this.ws.terminate(); else this.ws.close();
  }
}

let churning = true;

// ------------------------------------------------------------------ workers

async function connectionLoop() {
  while (churning) {
    const c = new Ddp();
    try {
      await c.open();
      const n = 1 + rnd(3);
      const waits = [];
      for (let i = 0; i < n; i++) waits.push(c.sub('room', [{room: `r${rnd(opt.rooms)}`}]));
      const mode = rnd(10);
      if (mode === 0) {
        c.close(true); // before the subs were answered
        continue;
      }
      await Promise.all(waits);
      await sleep(rnd(2000));
      c.close(mode < 5);
    } catch (e) {
      count.connFailed++;
      noteError(e);
      c.closed = true;
      if (c.ws) c.ws.terminate();
      await sleep(200);
    }
  }
}

async function subLoop() {
  while (churning) {
    const c = new Ddp();
    try {
      await c.open();
      const live = new Map(); // sub id -> room
      while (churning && !c.closed) {
        const r = rnd(10);
        if (r === 0) {
          // One write: sub(bad params) / unsub / sub(good) on one id: nosub
          // (400), nosub (the unsub), ready. Then a duplicate sub with the
          // live id, which is ignored (no answer), as Meteor does.
          const id = idOf();
          const room = `r${rnd(opt.rooms)}`;
          count.subs += 2;
          count.unsubs++;
          const w = c.wait(id, 3);
          c.sendBatch([
            {msg: 'sub', id, name: 'room', params: [idOf(), {room: 'bad room!'}]},
            {msg: 'unsub', id},
            {msg: 'sub', id, name: 'room', params: [idOf(), {room}]},
          ]);
          const m = await w;
          if (m.msg === 'ready') {
            live.set(id, room);
            c.send({msg: 'sub', id, name: 'room', params: [idOf(), {room: `r${rnd(opt.rooms)}`}]});
          }
        } else if (live.size > 0 && (r < 5 || live.size >= 10)) {
          const id = pick([...live.keys()]);
          live.delete(id);
          await c.unsub(id);
        } else {
          const id = idOf();
          const room = `r${rnd(opt.rooms)}`;
          const m = await c.sub('room', [{room}], id);
          if (m.msg === 'ready') live.set(id, room);
        }
        await sleep(rnd(100));
      }
      if (!c.closed) c.close(rnd(2) === 0);
    } catch (e) {
      count.connFailed++;
      noteError(e);
      if (c.ws) c.ws.terminate();
      await sleep(200);
    }
  }
}

async function loginLoop() {
  while (churning) {
    const c = new Ddp();
    try {
      await c.open();
      const rounds = 1 + rnd(4);
      for (let i = 0; i < rounds && churning && !c.closed; i++) {
        const user = pick(USERS);
        const short = rnd(5) === 0; // expires while subscribed: logged out by the bridge
        const res = await c.call('login', [{resume: jwt(user, short ? 2 : 3600)}]);
        if (res.msg !== 'result' || res.error) throw new Error(`login: ${JSON.stringify(res).slice(0, 100)}`);
        count.logins++;
        const id = idOf();
        const m = await c.sub('user', [], id);
        if (short) {
          // The bridge logs the connection out at exp (--jwt-leeway 0s): 403.
          if (m.msg === 'ready' && (await c.wait(id)).msg === 'nosub') count.expired++;
        } else {
          await sleep(rnd(1000));
        }
        const out = await c.call('logout', []);
        if (out.msg === 'result') count.logouts++;
        await c.unsub(id);
      }
      c.close(rnd(2) === 0);
    } catch (e) {
      count.connFailed++;
      noteError(e);
      if (c.ws) c.ws.terminate();
      await sleep(200);
    }
  }
}

async function slowLoop() {
  while (churning) {
    let sock;
    try {
      const up = await upgrade(opt.bridgePort, '/websocket', {pauseAfter: true, rcvBuf: 4096});
      sock = up.sock;
      count.slowOpened++;
      const closed = new Promise((r) => sock.once('close', r));
      sock.on('error', () => {});
      sock.write(textFrame(JSON.stringify({msg: 'connect', version: '1', support: ['1']})));
      sock.write(textFrame(JSON.stringify({msg: 'sub', id: 'f', name: 'firehose', params: [idOf()]})));
      // Never read for 15 s: the bridge closes it (4008) once its queue
      // passes --max-outgoing. A paused socket does not see the close, so
      // read then: EOF within 2 s = closed by the bridge.
      await sleep(15000);
      sock.resume();
      sock.on('data', () => {});
      const gone = await Promise.race([closed.then(() => true), sleep(2000).then(() => false)]);
      if (gone) count.slowClosed++;
      sock.destroy();
    } catch (e) {
      noteError(e);
      if (sock) sock.destroy();
      await sleep(200);
    }
  }
}

// Publishes at `perSecond` with fn(), in 100 ms ticks.
async function ratedLoop(perSecond, fn) {
  let carry = 0;
  while (churning) {
    const t0 = Date.now();
    carry += perSecond / 10;
    const n = Math.floor(carry);
    carry -= n;
    try {
      await fn(n);
    } catch (e) {
      noteError(e);
    }
    await sleep(Math.max(0, 100 - (Date.now() - t0)));
  }
}

function startChurn(publisher, vent) {
  churning = true;
  const tasks = [];
  for (let i = 0; i < opt.connLoops; i++) tasks.push(connectionLoop());
  for (let i = 0; i < opt.subClients; i++) tasks.push(subLoop());
  for (let i = 0; i < opt.loginClients; i++) tasks.push(loginLoop());
  for (let i = 0; i < opt.slowClients; i++) tasks.push(slowLoop());
  tasks.push(ratedLoop(opt.publishRate, async (n) => {
    if (n === 0) return;
    const pairs = [];
    for (let i = 0; i < n; i++) {
      const k = rnd(10);
      // The firehose carries bigger events, so non-reading clients reach
      // --max-outgoing within seconds.
      if (k < 6) pairs.push([roomChannel(rnd(opt.rooms)), payload()]);
      else if (k < 8) pairs.push([userChannel(pick(USERS)), payload()]);
      else pairs.push([FIREHOSE, payload(opt.firehoseBytes)]);
    }
    await publisher.publishMany(pairs);
    count.published += n;
  }));
  tasks.push(ratedLoop(opt.emitRate, async (n) => {
    if (n === 0) return;
    if (rnd(4) === 0) {
      await vent.emitBatch(Array.from({length: n}, () => [roomChannel(rnd(opt.rooms)), payload()]));
    } else {
      await Promise.all(Array.from({length: n}, () => vent.emit(roomChannel(rnd(opt.rooms)), payload())));
    }
    count.emitted += n;
  }));
  if (opt.redisKillSeconds > 0) {
    tasks.push((async () => {
      let next = Date.now() + opt.redisKillSeconds * 1000;
      while (churning) {
        await sleep(Math.min(1000, Math.max(0, next - Date.now())));
        if (!churning || Date.now() < next) continue;
        next += opt.redisKillSeconds * 1000;
        try {
          // Only the bridge subscribes here: its subscriber connection.
          await stack.redisCommand(opt.redisPort, ['CLIENT', 'KILL', 'TYPE', 'pubsub']);
          count.redisKills++;
        } catch (e) {
          noteError(e);
        }
      }
    })());
  }
  return () => {
    churning = false;
    return Promise.all(tasks);
  };
}

// ------------------------------------------------------------------ sampling

function procStats(pid) {
  if (!pid || !fs.existsSync(`/proc/${pid}`)) return {rssMiB: NaN, fds: NaN};
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
  return {rssMiB: rss / 1024, fds: fs.readdirSync(`/proc/${pid}/fd`).length};
}

async function sample(phase) {
  const p = procStats(opt.bridgePid);
  const r = await httpRequest(`http://127.0.0.1:${opt.bridgePort}/metrics`);
  const m = parseMetrics(r.body);
  const sum = (metrics, name) => {
    let total = 0;
    for (const [k, v] of metrics) if (k === name || k.startsWith(name + '{')) total += v;
    return total;
  };
  let serverEvents = NaN;
  if (opt.serverMetricsPort) {
    const sr = await httpRequest(`http://127.0.0.1:${opt.serverMetricsPort}/metrics`);
    serverEvents = sum(parseMetrics(sr.body), 'vent_emit_events_total');
  }
  const sp = procStats(opt.serverPid);
  const channels = await stack.redisCommand(opt.redisPort, ['PUBSUB', 'CHANNELS']);
  let numsub = 0;
  if (channels.length > 0) {
    const reply = await stack.redisCommand(opt.redisPort, ['PUBSUB', 'NUMSUB', ...channels]);
    for (let i = 1; i < reply.length; i += 2) numsub += Number(reply[i]);
  }
  return {
    t: Math.round((Date.now() - T0) / 1000), phase,
    connections: m.get('vent_bridge_connections') ?? NaN,
    subscriptions: m.get('vent_bridge_subscriptions') ?? NaN,
    redisChannelsGauge: m.get('vent_bridge_redis_channels') ?? NaN,
    pubsubChannels: channels.length, numsub,
    rssMiB: p.rssMiB, fds: p.fds,
    serverRssMiB: sp.rssMiB, serverFds: sp.fds,
    deliveries: sum(m, 'vent_bridge_deliveries_total'), serverEvents,
    ...count,
  };
}

const COLS = [
  ['t', 't(s)', 6], ['phase', 'phase', 8], ['connections', 'conns', 6], ['subscriptions', 'subs', 6],
  ['redisChannelsGauge', 'chan', 5], ['pubsubChannels', 'PUBSUB', 6], ['numsub', 'NUMSUB', 6],
  ['rssMiB', 'RSS MiB', 8], ['fds', 'fds', 5], ['serverRssMiB', 'srv MiB', 8], ['serverFds', 'srv fds', 7],
  ['connOpened', 'opened', 8], ['subs', 'subs sent', 10], ['logins', 'logins', 7],
  ['slowClosed', 'slow closed', 11], ['deliveries', 'delivered', 10], ['events', 'received', 10],
  ['published', 'publ+emit', 10], ['serverEvents', 'srv events', 10], ['redisKills', 'kills', 5],
  ['errors', 'errs', 5],
];
function fmt(v, w) {
  const s = typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(1)) : String(v);
  return s.padStart(w);
}
function header() {
  return COLS.map(([, h, w]) => h.padStart(w)).join(' ');
}
function row(s) {
  return COLS.map(([k, , w]) => fmt(k === 'published' ? s.published + s.emitted : s[k], w)).join(' ');
}
const rows = [];
async function logSample(phase) {
  const s = await sample(phase);
  rows.push(s);
  console.log(row(s));
  return s;
}

// Waits until no client is left on the bridge and Redis (deadline
// --settle-seconds), sampling every second; returns the last sample.
async function settle(phase) {
  const deadline = Date.now() + opt.settleSeconds * 1000;
  let s;
  for (;;) {
    s = await sample(phase);
    const idle = s.connections === 0 && s.subscriptions === 0 && s.redisChannelsGauge === 0 &&
        s.pubsubChannels === 0 && s.numsub === 0;
    if (idle || Date.now() > deadline) break;
    await sleep(1000);
  }
  // Let the process return what it frees lazily (closed sockets' buffers),
  // then take the lowest RSS and fd counts of three samples a second apart:
  // a scrape's own HTTP connection or a gRPC wakeup fd may be open at any
  // one instant; a leak is there in all three.
  await sleep(3000);
  s = await sample(phase);
  for (let i = 0; i < 2; i++) {
    await sleep(1000);
    const t = await sample(phase);
    for (const k of ['rssMiB', 'fds', 'serverRssMiB', 'serverFds']) s[k] = Math.min(s[k], t[k]);
  }
  rows.push(s);
  console.log(row(s));
  return s;
}

// ------------------------------------------------------------------ main

const T0 = Date.now();
async function main() {
  const publisher = new Publisher(opt.redisPort);
  const vent = new VentClient(opt.grpc);
  console.log(`soak: ${opt.minutes} min churn against vent-bridge pid ${opt.bridgePid} ` +
      `(port ${opt.bridgePort}), Redis ${opt.redisPort}, vent-server ${opt.grpc}; ` +
      `${opt.connLoops} connection loops, ${opt.subClients} sub/unsub clients, ` +
      `${opt.loginClients} login clients, ${opt.slowClients} slow clients, ` +
      `${opt.publishRate} PUBLISH/s + ${opt.emitRate} Emit/s of ~${opt.payloadBytes} B`);
  console.log(header());
  await logSample('start');

  let stop = startChurn(publisher, vent);
  const warmEnd = Date.now() + opt.warmupSeconds * 1000;
  while (Date.now() < warmEnd) {
    await sleep(Math.min(opt.sampleSeconds * 1000, warmEnd - Date.now()));
    await logSample('warmup');
  }
  await stop();
  const base = await settle('baseline');

  stop = startChurn(publisher, vent);
  const end = Date.now() + opt.minutes * 60 * 1000;
  while (Date.now() < end) {
    await sleep(Math.min(opt.sampleSeconds * 1000, end - Date.now()));
    await logSample('churn');
  }
  await stop();
  const fin = await settle('final');
  publisher.close();
  vent.close();

  // Verdict. Counts of live objects must return exactly: anything left is a
  // leak. RSS may stay above the baseline by what the allocator keeps (see
  // bench/soak.sh for why the tolerance is what it is), and under load it
  // must be flat: the highest RSS of the last third of the churn at most the
  // tolerance above the highest of the first third.
  const tolerance = (mib) => Math.max(opt.rssToleranceMiB, mib * opt.rssTolerancePct / 100);
  const churn = rows.filter((r) => r.phase === 'churn');
  const third = Math.max(1, Math.floor(churn.length / 3));
  const maxOf = (rs, k) => Math.max(...rs.map((r) => r[k]));
  const early = churn.slice(0, third);
  const late = churn.slice(-third);
  // [what, got, want, tolerance, 'exact' | 'max' (got <= want + tolerance)]
  const checks = [
    ['vent_bridge_connections', fin.connections, base.connections, 0, 'exact'],
    ['vent_bridge_subscriptions', fin.subscriptions, base.subscriptions, 0, 'exact'],
    ['vent_bridge_redis_channels', fin.redisChannelsGauge, base.redisChannelsGauge, 0, 'exact'],
    ['PUBSUB CHANNELS', fin.pubsubChannels, base.pubsubChannels, 0, 'exact'],
    ['PUBSUB NUMSUB sum', fin.numsub, base.numsub, 0, 'exact'],
    ['bridge open fds', fin.fds, base.fds, 0, 'exact'],
    ['bridge RSS MiB idle', fin.rssMiB, base.rssMiB, tolerance(base.rssMiB), 'max'],
    ['bridge RSS MiB under load (max of last vs first third)', maxOf(late, 'rssMiB'),
      maxOf(early, 'rssMiB'), tolerance(maxOf(early, 'rssMiB')), 'max'],
  ];
  if (opt.serverPid) {
    checks.push(
        ['vent-server open fds', fin.serverFds, base.serverFds, 0, 'exact'],
        ['vent-server RSS MiB idle', fin.serverRssMiB, base.serverRssMiB, tolerance(base.serverRssMiB), 'max'],
        ['vent-server RSS MiB under load (max of last vs first third)', maxOf(late, 'serverRssMiB'),
          maxOf(early, 'serverRssMiB'), tolerance(maxOf(early, 'serverRssMiB')), 'max']);
  }
  if (opt.serverMetricsPort) {
    // Every Emit the client saw succeed was counted once by vent-server.
    checks.push(['vent-server events (vent_emit_events_total) = Emits acknowledged',
      fin.serverEvents - rows[0].serverEvents, count.emitted, 0, 'exact']);
  }
  checks.push(['bridge deliveries during churn > 0', fin.deliveries - base.deliveries > 0 ? 1 : 0, 1, 0, 'exact']);
  console.log('');
  console.log(`soak: churn totals: ${count.connOpened} connections, ${count.subs} subs ` +
      `(${count.ready} ready, ${count.nosub} nosub), ${count.unsubs} unsubs, ${count.logins} logins, ` +
      `${count.logouts} logouts, ${count.userSubsEnded} user subs ended by logout or token expiry (403; ${count.expired} by expiry), ` +
      `${count.slowOpened} slow clients (${count.slowClosed} closed by the bridge), ` +
      `${count.published} PUBLISH + ${count.emitted} Emit, ${fin.deliveries} deliveries by the bridge, ` +
      `${count.events} events received, ${count.redisKills} Redis subscriber kills, ` +
      `${count.errors} client errors${lastError ? ` (last: ${lastError})` : ''}`);
  const closed = parseMetrics((await httpRequest(`http://127.0.0.1:${opt.bridgePort}/metrics`)).body);
  console.log('soak: bridge closes by reason: ' + [...closed].filter(([k]) =>
    k.startsWith('vent_bridge_closed_total')).map(([k, v]) => `${k.replace('vent_bridge_closed_total', '')} ${v}`)
      .join(', '));
  let ok = true;
  for (const [what, got, want, tol, kind] of checks) {
    const pass = Number.isFinite(got) && got <= want + tol && (kind === 'max' || got >= want - tol);
    if (!pass) ok = false;
    const tolText = tol ? ` (tolerance +${tol.toFixed(1)})` : '';
    console.log(`soak: ${pass ? 'ok  ' : 'FAIL'} ${what}: want ${fmt(want, 0)}${tolText}, got ${fmt(got, 0)}`);
  }
  const bridgeAlive = fs.existsSync(`/proc/${opt.bridgePid}`);
  if (!bridgeAlive) {
    ok = false;
    console.log('soak: FAIL vent-bridge is gone');
  }
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify({options: opt, rows, count, ok}, null, 1));
  console.log(`soak: ${ok ? 'PASS' : 'FAIL'}`);
  return ok;
}

main().then((ok) => process.exit(ok ? 0 : 1), (e) => {
  console.error('soak: error:', e && e.stack ? e.stack : e);
  process.exit(2);
});
