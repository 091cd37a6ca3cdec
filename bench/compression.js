'use strict';
// What permessage-deflate (vent-bridge --compression) costs and saves, in one
// run, against the same bridge without it (each run on its own redis-server +
// vent-bridge, bridge/e2e/lib/bridge.js), for small (200 B) and typical
// (1.5 KB) JSON events (chat-like objects, words drawn at random: no padding
// that compresses unrealistically well):
//   1. bytes on the wire per event (WebSocket frame: header + payload), as
//      counted by the clients;
//   2. bridge CPU-seconds (/proc utime+stime) per million deliveries:
//      FANOUT clients on one channel at RATE events/s, and 1 client at
//      RATE1 events/s (no sharing: the compression of every event is paid
//      for one delivery);
//   3. bridge memory per idle subscribed connection (IDLE connections, each
//      on its own channel, each after one event so that its compressed
//      prefix exists), RSS growth / connections, measured first on the
//      fresh process.
// Clients are raw sockets in this process (they count frames and bytes and
// inflate a sample; no per-frame parsing beyond the header). Not a test.
//
//   VENT_BIN_DIR=build/bin NODE_PATH=node_modules node bench/compression.js \
//     [FANOUT (500) [RATE (200) [IDLE (5000) [SECONDS (5)]]]]
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const zlib = require('node:zlib');
const {startBridgeEnv} = require('../bridge/e2e/lib/bridge.js');

const FANOUT = Number(process.argv[2] || 500);
const RATE = Number(process.argv[3] || 200);
const IDLE = Number(process.argv[4] || 5000);
const SECONDS = Number(process.argv[5] || 5);
const RATE1 = 2000;
const OFFER = 'permessage-deflate; client_max_window_bits';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

const cpuSeconds = (pid) => {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};
const rss = (pid) =>
  Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const WORDS = ('the a to and of in is it you that he was for on are with as I his they be at one ' +
  'have this from or had by hot word but what some we can out other were all there when up use ' +
  'your how said an each she which do their time if will way about many then them write would ' +
  'like so these her long make thing see him two has look more day could go come did number ' +
  'sound no most people my over know water than call first who may down side been now find ' +
  'order payment invoice shipped delivered status pending user account message thread reply')
    .split(' ');
// A chat-like JSON event of about `size` bytes.
function event(size, i) {
  const o = {type: 'message.created', id: crypto.randomBytes(8).toString('hex'), seq: i,
    thread: `t${i % 97}`, user: {id: `u${(i * 7) % 1013}`, name: 'User ' + ((i * 13) % 101)},
    at: new Date(1764780000000 + i * 1000).toISOString(), text: ''};
  while (JSON.stringify(o).length < size) {
    o.text += WORDS[crypto.randomInt(WORDS.length)] + ' ';
  }
  return JSON.stringify(o);
}

// A subscribed client on a raw socket that counts Vent frames and bytes.
class Client {
  constructor(port, deflate, thread) {
    this.port = port;
    this.deflate = deflate;
    this.thread = thread;
    this.frames = 0;  // Vent frames (data frames after the ready)
    this.bytes = 0;   // their wire bytes (header + payload)
    this.compressed = 0;
    this.sample = null;  // first Vent frame {rsv1, payload}
    this.buf = Buffer.alloc(0);
    this.ready = false;
  }
  open() {
    return new Promise((resolve, reject) => {
      const s = this.sock = net.connect(this.port, '127.0.0.1');
      s.setNoDelay(true);
      s.on('error', reject);
      let head = true;
      s.on('connect', () => {
        s.write(`GET /websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n` +
          `Sec-WebSocket-Version: 13\r\n` + (this.deflate ? `Sec-WebSocket-Extensions: ${OFFER}\r\n` : '') +
          '\r\n');
        s.write(frame('{"msg":"connect","version":"1","support":["1"]}'));
        s.write(frame(`{"msg":"sub","id":"s","name":"threadMessage","params":["rand0000000000001",` +
                      `{"threadId":"${this.thread}"}]}`));
      });
      s.on('data', (d) => {
        this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
        if (head) {
          const end = this.buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const h = this.buf.subarray(0, end).toString();
          if (!h.startsWith('HTTP/1.1 101')) return reject(new Error(h));
          if (this.deflate && !/permessage-deflate/.test(h)) return reject(new Error('not negotiated'));
          this.buf = this.buf.subarray(end + 4);
          head = false;
        }
        this.parse(resolve);
      });
    });
  }
  parse(onReady) {
    let b = this.buf;
    let off = 0;
    while (b.length - off >= 2) {
      let len = b[off + 1] & 0x7f;
      let hdr = 2;
      if (len === 126) { if (b.length - off < 4) break; len = b.readUInt16BE(off + 2); hdr = 4; }
      else if (len === 127) { if (b.length - off < 10) break; len = Number(b.readBigUInt64BE(off + 2)); hdr = 10; }
      if (b.length - off < hdr + len) break;
      const rsv1 = (b[off] & 0x40) !== 0;
      if (!this.ready) {
        if (b.toString('latin1', off + hdr, off + hdr + len).includes('"ready"')) {
          this.ready = true;
          onReady(this);
        }
      } else if ((b[off] & 0x0f) === 1) {
        this.frames++;
        this.bytes += hdr + len;
        if (rsv1) this.compressed++;
        if (!this.sample) this.sample = {rsv1, payload: Buffer.from(b.subarray(off + hdr, off + hdr + len))};
      }
      off += hdr + len;
    }
    this.buf = off === b.length ? Buffer.alloc(0) : b.subarray(off);
  }
  close() { this.sock.destroy(); }
}
function frame(text) {
  const p = Buffer.from(text);
  assert.ok(p.length < 126);
  return Buffer.concat([Buffer.from([0x81, 0x80 | p.length, 0, 0, 0, 0]), p]);
}

async function openMany(env, n, deflate, threadOf) {
  const out = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) batch.push(new Client(env.port, deflate, threadOf(j)).open());
    out.push(...await Promise.all(batch));
  }
  return out;
}

// Publishes `rate` events/s of `size` bytes to one thread for SECONDS;
// returns {cpu per million deliveries, wire bytes per event, compressed share}.
async function fanout(env, clients, thread, size, rate) {
  const pid = env.bridge.pid;
  const events = Array.from({length: 256}, (_, i) => event(size, i));
  const cpu0 = cpuSeconds(pid);
  let sent = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < SECONDS * 1000) {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    const pairs = [];
    for (; sent < due; sent++) pairs.push([`threads::${thread}::new_message`, events[sent % events.length]]);
    if (pairs.length) await env.publishMany(pairs);
    await sleep(5);
  }
  const want = sent * clients.length;
  const total = () => clients.reduce((a, c) => a + c.frames, 0);
  const end = Date.now() + 15000;
  while (total() < want && Date.now() < end) await sleep(20);
  const cpu = cpuSeconds(pid) - cpu0;
  const frames = total();
  const bytes = clients.reduce((a, c) => a + c.bytes, 0);
  const compressed = clients.reduce((a, c) => a + c.compressed, 0);
  const s = clients[0].sample;
  const text = s.rsv1 ?
    zlib.inflateRawSync(Buffer.concat([s.payload, TAIL]), {finishFlush: zlib.constants.Z_SYNC_FLUSH}).toString() :
    s.payload.toString();
  assert.equal(JSON.parse(text).e.type, 'message.created');
  return {delivered: frames, want, cpuPerM: cpu / (frames / 1e6), bytesPerEvent: bytes / frames,
          compressedShare: compressed / Math.max(frames, 1), rawEvent: events[0].length};
}

async function run(size, deflate) {
  const env = await startBridgeEnv({bridgeArgs: deflate ? ['--compression'] : [], workers: 2});
  const out = {};
  // Memory first, on the fresh process: IDLE connections on their own
  // threads, one event each (so that compressed prefixes exist).
  const pid = env.bridge.pid;
  const base = rss(pid);
  let clients = await openMany(env, IDLE, deflate, (i) => `idle${i}`);
  const ev = event(size, 1);
  for (let i = 0; i < IDLE; i += 500) {
    const pairs = [];
    for (let j = i; j < Math.min(IDLE, i + 500); j++) pairs.push([`threads::idle${j}::new_message`, ev]);
    await env.publishMany(pairs);
  }
  const end = Date.now() + 15000;
  while (clients.some((c) => c.frames < 1) && Date.now() < end) await sleep(20);
  await sleep(2500);  // a sweep releases the emptied output buffers
  out.memPerConn = (rss(pid) - base) / IDLE;
  for (const c of clients) c.close();
  await sleep(1500);
  // Fan-out: FANOUT clients on one thread.
  clients = await openMany(env, FANOUT, deflate, () => 'fan');
  out.fan = await fanout(env, clients, 'fan', size, RATE);
  for (const c of clients) c.close();
  // One client, one thread: compression paid per delivery.
  clients = await openMany(env, 1, deflate, () => 'solo');
  out.solo = await fanout(env, clients, 'solo', size, RATE1);
  for (const c of clients) c.close();
  await env.stop();
  return out;
}

(async () => {
  const rows = [];
  for (const size of [200, 1500]) {
    const plain = await run(size, false);
    const deflate = await run(size, true);
    rows.push({size, plain, deflate});
    const f = (x, d = 2) => x.toFixed(d);
    console.log(`\n== ${size} B JSON events (raw event ${plain.fan.rawEvent} B)`);
    console.log(`| | without | --compression | ratio |`);
    console.log(`|---|---:|---:|---:|`);
    console.log(`| wire bytes per event (frame) | ${f(plain.fan.bytesPerEvent, 0)} | ` +
                `${f(deflate.fan.bytesPerEvent, 0)} | ${f(deflate.fan.bytesPerEvent / plain.fan.bytesPerEvent)} |`);
    console.log(`| compressed frames | ${f(plain.fan.compressedShare * 100, 0)}% | ${f(deflate.fan.compressedShare * 100, 0)}% | |`);
    console.log(`| bridge CPU-s per M deliveries, ${FANOUT} x ${RATE}/s | ${f(plain.fan.cpuPerM)} | ` +
                `${f(deflate.fan.cpuPerM)} | ${f(deflate.fan.cpuPerM / plain.fan.cpuPerM)} |`);
    console.log(`| bridge CPU-s per M deliveries, 1 x ${RATE1}/s | ${f(plain.solo.cpuPerM)} | ` +
                `${f(deflate.solo.cpuPerM)} | ${f(deflate.solo.cpuPerM / plain.solo.cpuPerM)} |`);
    console.log(`| bridge memory per idle connection (${IDLE}) | ${f(plain.memPerConn, 0)} B | ` +
                `${f(deflate.memPerConn, 0)} B | ${f(deflate.memPerConn / plain.memPerConn)} |`);
    for (const [k, r] of [['plain', plain], ['deflate', deflate]]) {
      for (const run of ['fan', 'solo']) {
        if (r[run].delivered < r[run].want) {
          console.log(`  (${k} ${run}: ${r[run].delivered} of ${r[run].want} delivered)`);
        }
      }
    }
  }
  fs.mkdirSync('bench/results', {recursive: true});
  fs.writeFileSync('bench/results/compression.json', JSON.stringify({FANOUT, RATE, RATE1, IDLE, SECONDS, rows}, null, 2));
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
