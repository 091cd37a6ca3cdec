// Minimal hand-written fan-out used as the baseline for vent-bridge in
// bench/run.sh: Node `ws` + one Redis subscriber on a raw RESP socket.
// It speaks just enough DDP for vent-bench's fanout/idle clients:
//   connect -> connected; ping -> pong;
//   sub {name:"bench", params:[rand, {ch}]} -> SUBSCRIBE bench::<ch>, `ready`
//   once Redis confirmed that SUBSCRIBE (one SUBSCRIBE per channel,
//   refcounted); each Redis message -> the Vent frame
//   {"msg":"changed","__vent":"1","id":"<rand>.bench","e":<message>} to every
//   subscriber of the channel.
// No slow-client policy, no validation beyond the above: a lower bound on
// the work any fan-out must do, not a product.
//
//   node bench/baseline/node_fanout.js --port 3200 --redis-port 6379
'use strict';
const net = require('net');
const path = require('path');
const { WebSocketServer } = require(path.join(__dirname, '..', '..', 'node_modules', 'ws'));

function arg(name, dflt) {
  const i = process.argv.indexOf('--' + name);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const PORT = Number(arg('port', '3200'));
const REDIS_HOST = arg('redis-host', '127.0.0.1');
const REDIS_PORT = Number(arg('redis-port', '6379'));

// channel -> { confirmed: bool, subs: Set<{ws, prefix}>, waiting: [{ws, id}] }
const channels = new Map();

// --- RESP (replies only: arrays of bulk strings / integers) ---------------
let rbuf = Buffer.alloc(0);
function parseLine(buf, off) {
  const end = buf.indexOf('\r\n', off);
  return end < 0 ? null : { line: buf.toString('latin1', off + 1, end), next: end + 2 };
}
// Returns {value, next} or null when incomplete.
function parseReply(buf, off) {
  if (off >= buf.length) return null;
  const type = String.fromCharCode(buf[off]);
  const l = parseLine(buf, off);
  if (!l) return null;
  if (type === '+' || type === '-') return { value: l.line, next: l.next };
  if (type === ':') return { value: Number(l.line), next: l.next };
  if (type === '$') {
    const n = Number(l.line);
    if (n < 0) return { value: null, next: l.next };
    if (buf.length < l.next + n + 2) return null;
    return { value: buf.subarray(l.next, l.next + n), next: l.next + n + 2 };
  }
  if (type === '*') {
    const n = Number(l.line);
    const out = [];
    let p = l.next;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, p);
      if (!r) return null;
      out.push(r.value);
      p = r.next;
    }
    return { value: out, next: p };
  }
  throw new Error('unexpected RESP type ' + type);
}
function command(...args) {
  let s = '*' + args.length + '\r\n';
  for (const a of args) s += '$' + Buffer.byteLength(a) + '\r\n' + a + '\r\n';
  return s;
}

const redis = net.connect(REDIS_PORT, REDIS_HOST);
redis.setNoDelay(true);
redis.on('error', (e) => { console.error('redis:', e.message); process.exit(1); });
redis.on('data', (chunk) => {
  rbuf = rbuf.length ? Buffer.concat([rbuf, chunk]) : chunk;
  let off = 0;
  for (;;) {
    const r = parseReply(rbuf, off);
    if (!r) break;
    off = r.next;
    onPush(r.value);
  }
  rbuf = rbuf.subarray(off);
});

function onPush(v) {
  if (!Array.isArray(v)) return;
  const kind = v[0].toString();
  const ch = channels.get(v[1].toString());
  if (!ch) return;
  if (kind === 'message') {
    const payload = v[2].toString();
    for (const s of ch.subs) {
      if (s.ws.readyState === 1) s.ws.send(s.prefix + payload + '}');
    }
  } else if (kind === 'subscribe') {
    ch.confirmed = true;
    for (const w of ch.waiting) w.ws.send(JSON.stringify({ msg: 'ready', subs: [w.id] }));
    ch.waiting = [];
  }
}

// --- DDP over WebSocket ----------------------------------------------------
const wss = new WebSocketServer({ port: PORT, host: '127.0.0.1', perMessageDeflate: false });
wss.on('connection', (ws) => {
  const mine = [];  // [channelName, sub]
  ws.on('message', (data) => {
    let m;
    try { m = JSON.parse(data.toString()); } catch { return; }
    if (m.msg === 'connect') {
      ws.send(JSON.stringify({ msg: 'connected', session: Math.random().toString(36).slice(2) }));
    } else if (m.msg === 'ping') {
      ws.send(m.id !== undefined ? JSON.stringify({ msg: 'pong', id: m.id }) : '{"msg":"pong"}');
    } else if (m.msg === 'sub' && m.name === 'bench' && Array.isArray(m.params) &&
               m.params[1] && typeof m.params[1].ch === 'string') {
      const name = 'bench::' + m.params[1].ch;
      let ch = channels.get(name);
      if (!ch) {
        ch = { confirmed: false, subs: new Set(), waiting: [] };
        channels.set(name, ch);
        redis.write(command('SUBSCRIBE', name));
      }
      const sub = { ws, prefix: '{"msg":"changed","__vent":"1","id":"' + m.params[0] + '.bench","e":' };
      ch.subs.add(sub);
      mine.push([name, sub]);
      if (ch.confirmed) ws.send(JSON.stringify({ msg: 'ready', subs: [m.id] }));
      else ch.waiting.push({ ws, id: m.id });
    } else if (m.msg === 'sub') {
      ws.send(JSON.stringify({ msg: 'nosub', id: m.id, error: { error: 404, reason: 'not found' } }));
    }
  });
  ws.on('close', () => {
    for (const [name, sub] of mine) {
      const ch = channels.get(name);
      if (!ch) continue;
      ch.subs.delete(sub);
      if (ch.subs.size === 0 && ch.confirmed) {
        channels.delete(name);
        redis.write(command('UNSUBSCRIBE', name));
      }
    }
  });
  ws.on('error', () => {});
});
wss.on('listening', () => console.error(`node_fanout listening on 127.0.0.1:${PORT}`));
