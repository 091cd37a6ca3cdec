'use strict';
// permessage-deflate (RFC 7692) end to end, vent-bridge --compression:
//  * a raw socket client reads the frames as they are on the wire: Vent
//    frames carry RSV1 and inflate (zlib, + 00 00 ff ff) to the exact Vent
//    frame, for 200 B and 2 KB events, and are smaller than the plain ones;
//    replies stay uncompressed; the negotiated parameters are the RFC's;
//  * Node `ws` with perMessageDeflate on (its own compressed messages too)
//    and off, and a bridge without --compression;
//  * a compressed "zip bomb" from the client closes 1009, a corrupt one 1007;
//  * SockJS's WebSocket transport is not compressed;
//  * headless Chromium negotiates it and receives compressed events.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const zlib = require('node:zlib');
const {after, before, describe, test} = require('node:test');
const WebSocket = require('ws');
const {chromium} = require('playwright-core');

const {startBridgeEnv} = require('./lib/bridge.js');

const CHROMIUM = process.env.VENT_CHROMIUM || '/usr/bin/chromium';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const chan = (t) => `threads::${t}::new_message`;
const isVent = (f) => f.opcode === 1 && RawClient.text(f).includes('"__vent"');
let seq = 0;
const uniq = (p) => `${p}${process.pid}_${++seq}`;

function deadline(ms, what) {
  let timer;
  const p = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return {p, clear: () => clearTimeout(timer)};
}
async function within(promise, ms, what) {
  const d = deadline(ms, what);
  try { return await Promise.race([promise, d.p]); } finally { d.clear(); }
}

// An event of about `size` bytes of JSON that looks like a chat message.
function event(size, i) {
  const words = ['hello', 'vent', 'message', 'thread', 'user', 'reply', 'status', 'update'];
  let text = '';
  while (text.length < size - 80) text += words[(text.length * 7 + i) % words.length] + ' ';
  return JSON.stringify({type: 'new_message', i, user: {id: `u${i % 13}`, name: 'Alice'},
                         text, at: '2026-12-03T18:00:00.000Z'});
}

// A WebSocket client on a raw socket: the frames as they are on the wire.
class RawClient {
  constructor(port, {path = '/websocket', extensions} = {}) {
    this.port = port;
    this.path = path;
    this.extensions = extensions;
    this.frames = [];  // {fin, rsv1, opcode, payload}
    this.buf = Buffer.alloc(0);
    this.waiters = [];
    this.closed = false;
  }
  async open() {
    this.sock = net.connect(this.port, '127.0.0.1');
    await within(new Promise((res, rej) => { this.sock.once('connect', res); this.sock.once('error', rej); }),
        5000, 'connect');
    const key = crypto.randomBytes(16).toString('base64');
    this.sock.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (this.extensions ? `Sec-WebSocket-Extensions: ${this.extensions}\r\n` : '') + '\r\n');
    this.head = await within(new Promise((resolve) => {
      let acc = Buffer.alloc(0);
      const onData = (d) => {
        acc = Buffer.concat([acc, d]);
        const end = acc.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.sock.off('data', onData);
        this.onData(acc.subarray(end + 4));
        this.sock.on('data', (x) => this.onData(x));
        resolve(acc.subarray(0, end).toString());
      };
      this.sock.on('data', onData);
    }), 5000, '101 response');
    this.sock.on('close', () => { this.closed = true; this.wake(); });
    assert.match(this.head, /^HTTP\/1.1 101 /);
    const m = this.head.match(/\r\nSec-WebSocket-Extensions: ([^\r]*)/i);
    this.negotiated = m ? m[1] : null;
  }
  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      let len = b[1] & 0x7f;
      let pos = 2;
      if (len === 126) { if (b.length < 4) break; len = b.readUInt16BE(2); pos = 4; }
      else if (len === 127) { if (b.length < 10) break; len = Number(b.readBigUInt64BE(2)); pos = 10; }
      if (b.length < pos + len) break;
      this.frames.push({fin: !!(b[0] & 0x80), rsv1: !!(b[0] & 0x40), opcode: b[0] & 0x0f,
                        payload: b.subarray(pos, pos + len)});
      this.buf = b.subarray(pos + len);
    }
    this.wake();
  }
  wake() { for (const w of this.waiters.splice(0)) w(); }
  // Masked client frame; `rsv1` marks a compressed message.
  send(payload, {opcode = 1, rsv1 = false} = {}) {
    const p = Buffer.from(payload);
    const mask = crypto.randomBytes(4);
    const head = [0x80 | (rsv1 ? 0x40 : 0) | opcode];
    if (p.length < 126) head.push(0x80 | p.length);
    else if (p.length < 65536) head.push(0x80 | 126, p.length >> 8, p.length & 0xff);
    else {
      head.push(0x80 | 127);
      for (let i = 7; i >= 0; i--) head.push(Math.floor(p.length / 2 ** (8 * i)) & 0xff);
    }
    const masked = Buffer.alloc(p.length);
    for (let i = 0; i < p.length; i++) masked[i] = p[i] ^ mask[i % 4];
    this.sock.write(Buffer.concat([Buffer.from(head), mask, masked]));
  }
  // Text of a data frame (inflated when compressed).
  static text(f) {
    return (f.rsv1 ? zlib.inflateRawSync(Buffer.concat([f.payload, TAIL]),
        {finishFlush: zlib.constants.Z_SYNC_FLUSH}) : f.payload).toString();
  }
  // Waits for a frame matching `pred` (each frame is taken once).
  async take(pred, what, ms = 10000) {
    const d = deadline(ms, what);
    try {
      for (;;) {
        const i = this.frames.findIndex(pred);
        if (i >= 0) return this.frames.splice(i, 1)[0];
        if (this.closed) throw new Error(`closed while waiting for ${what}`);
        await Promise.race([new Promise((r) => this.waiters.push(r)), d.p]);
      }
    } finally { d.clear(); }
  }
  close() { this.sock.destroy(); }
}

async function subscribedRaw(env, opts, thread) {
  const c = new RawClient(env.port, opts);
  await c.open();
  c.send('{"msg":"connect","version":"1","support":["1"]}');
  c.send(`{"msg":"sub","id":"s1","name":"threadMessage","params":["rand0000000000001",{"threadId":"${thread}"}]}`);
  const ready = await c.take((f) => f.opcode === 1 && RawClient.text(f).includes('"ready"'), 'ready');
  assert.equal(ready.rsv1, false, 'DDP replies are not compressed');
  return c;
}

let env;
let plainEnv;
before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--compression', '--max-message', '65536']});
  plainEnv = await startBridgeEnv();
});
after(async () => {
  if (env) await env.stop();
  if (plainEnv) await plainEnv.stop();
});

describe('negotiation', () => {
  test('the response agrees to no context takeover both ways; max window bits are echoed', async () => {
    const cases = [
      ['permessage-deflate; client_max_window_bits',
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
      ['permessage-deflate; server_max_window_bits=10',
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10'],
      ['permessage-deflate; bogus=1, permessage-deflate',
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover'],
      ['permessage-deflate; server_max_window_bits=16', null],  // declined: no extension
      ['x-webkit-deflate-frame', null],
    ];
    for (const [offer, want] of cases) {
      const c = new RawClient(env.port, {extensions: offer});
      await c.open();
      assert.equal(c.negotiated, want, offer);
      c.close();
    }
  });

  test('without --compression, and on SockJS\'s WebSocket, no extension', async () => {
    const a = new RawClient(plainEnv.port, {extensions: 'permessage-deflate'});
    await a.open();
    assert.equal(a.negotiated, null);
    a.close();
    const b = new RawClient(env.port, {path: '/sockjs/123/abcdefgh/websocket', extensions: 'permessage-deflate'});
    await b.open();
    assert.equal(b.negotiated, null);
    b.close();
  });
});

describe('Vent frames on the wire', () => {
  for (const size of [200, 2000]) {
    test(`${size} B events: compressed once, inflate to the exact Vent frame, fewer bytes`, async () => {
      const t = uniq('w');
      const z = await subscribedRaw(env, {extensions: 'permessage-deflate; client_max_window_bits'}, t);
      const p = await subscribedRaw(env, {}, t);
      let zBytes = 0;
      let pBytes = 0;
      for (let i = 0; i < 5; i++) {
        const e = event(size, i);
        assert.equal(await env.publish(chan(t), e), 1);
        const fz = await z.take(isVent, `event ${i} (deflate)`);
        const fp = await p.take(isVent, `event ${i} (plain)`);
        assert.equal(fz.rsv1, true, 'RSV1 set');
        assert.equal(fp.rsv1, false);
        const text = RawClient.text(fz);
        assert.equal(text, fp.payload.toString(), 'same Vent frame once inflated');
        assert.deepEqual(JSON.parse(text).e, JSON.parse(e));
        zBytes += fz.payload.length;
        pBytes += fp.payload.length;
      }
      assert.ok(zBytes < pBytes, `compressed ${zBytes} B < plain ${pBytes} B`);
      z.close();
      p.close();
    });
  }

  test('server_max_window_bits=8: events too long for a 256-byte window go uncompressed', async () => {
    const t = uniq('wb');
    const c = await subscribedRaw(env, {extensions: 'permessage-deflate; server_max_window_bits=8'}, t);
    assert.match(c.negotiated, /server_max_window_bits=8/);
    const big = event(2000, 1);
    await env.publish(chan(t), big);
    const f = await c.take(isVent, 'big event');
    assert.equal(f.rsv1, false);
    assert.deepEqual(JSON.parse(f.payload.toString()).e, JSON.parse(big));
    c.close();
  });
});

describe('Node ws', () => {
  async function wsClient(url, perMessageDeflate, thread) {
    const ws = new WebSocket(url, {perMessageDeflate});
    const got = [];
    let notify = () => {};
    ws.on('message', (d) => { got.push(String(d)); notify(); });
    await within(new Promise((res, rej) => { ws.once('open', res); ws.once('error', rej); }), 5000, 'open');
    const next = async (pred, what) => within((async () => {
      for (;;) {
        const i = got.findIndex(pred);
        if (i >= 0) return got.splice(i, 1)[0];
        await new Promise((r) => { notify = r; });
      }
    })(), 10000, what);
    // A big connect message so that ws compresses it (threshold 0 too).
    ws.send(JSON.stringify({msg: 'connect', version: '1', support: ['1'], pad: 'x'.repeat(3000)}));
    await next((m) => m.includes('"connected"'), 'connected');
    ws.send(`{"msg":"sub","id":"s1","name":"threadMessage","params":["rand0000000000001",{"threadId":"${thread}"}]}`);
    await next((m) => m.includes('"ready"'), 'ready');
    return {ws, next};
  }

  for (const [label, url, pmd, want] of [
    ['perMessageDeflate on (client messages compressed too)', () => env.wsUrl(), {threshold: 0}, true],
    ['perMessageDeflate off', () => env.wsUrl(), false, false],
    ['a bridge without --compression', () => plainEnv.wsUrl(), {threshold: 0}, false],
  ]) {
    test(label, async () => {
      const e = label.includes('without') ? plainEnv : env;
      const t = uniq('n');
      const {ws, next} = await wsClient(url(), pmd, t);
      assert.equal(ws.extensions.includes('permessage-deflate'), want, ws.extensions);
      for (const size of [200, 2000]) {
        const payload = event(size, size);
        await e.publish(chan(t), payload);
        const m = await next((x) => x.includes('"__vent"'), `${size} B event`);
        assert.deepEqual(JSON.parse(m).e, JSON.parse(payload));
      }
      ws.close();
    });
  }
});

describe('compressed client messages', () => {
  async function closeCodeAfter(sendFn) {
    const c = new RawClient(env.port, {extensions: 'permessage-deflate'});
    await c.open();
    sendFn(c);
    const f = await c.take((x) => x.opcode === 8, 'close frame');
    c.close();
    return f.payload.readUInt16BE(0);
  }

  test('a zip bomb (8 MiB of spaces in ~8 KiB) closes 1009 and the bridge carries on', async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(8 << 20, 0x20), {flush: zlib.constants.Z_SYNC_FLUSH});
    const payload = bomb.subarray(0, bomb.length - 4);
    assert.ok(payload.length < 65536, `${payload.length} B on the wire, under --max-message`);
    assert.equal(await closeCodeAfter((c) => c.send(payload, {rsv1: true})), 1009);
    const t = uniq('after');
    const ok = await subscribedRaw(env, {extensions: 'permessage-deflate'}, t);
    ok.close();
    assert.ok(env.bridge.isRunning());
  });

  test('corrupt DEFLATE data closes 1007; RSV1 on a control frame closes 1002', async () => {
    assert.equal(await closeCodeAfter((c) => c.send(Buffer.from([0x07, 0x00]), {rsv1: true})), 1007);
    assert.equal(await closeCodeAfter((c) => c.send('x', {opcode: 9, rsv1: true})), 1002);
  });
});

describe('headless Chromium', () => {
  let browser;
  before(async () => {
    browser = await chromium.launch({executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run']});
  });
  after(async () => { if (browser) await browser.close(); });

  test('negotiates permessage-deflate and receives compressed events', async () => {
    const t = uniq('chrome');
    // A raw observer on the same channel proves the frames were compressed.
    const observer = await subscribedRaw(env, {extensions: 'permessage-deflate; client_max_window_bits'}, t);
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${env.base}/healthz`);
    await page.evaluate(({url, thread}) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      window.events = [];
      ws.onerror = () => reject(new Error('websocket error'));
      ws.onopen = () => {
        window.extensions = ws.extensions;
        ws.send('{"msg":"connect","version":"1","support":["1"]}');
        ws.send(`{"msg":"sub","id":"s1","name":"threadMessage","params":["rand0000000000001",{"threadId":"${thread}"}]}`);
      };
      ws.onmessage = (m) => {
        const msg = JSON.parse(m.data);
        if (msg.msg === 'ready') resolve();
        if (msg.__vent) window.events.push(msg.e);
      };
    }), {url: env.wsUrl(), thread: t});
    assert.match(await page.evaluate(() => window.extensions), /permessage-deflate/);
    const sent = [event(200, 1), event(2000, 2)];
    for (const e of sent) await env.publish(chan(t), e);
    await page.waitForFunction(() => window.events.length === 2, null, {timeout: 15000});
    assert.deepEqual(await page.evaluate(() => window.events), sent.map((e) => JSON.parse(e)));
    for (let i = 0; i < 2; i++) {
      const f = await observer.take(isVent, `observer event ${i}`);
      assert.equal(f.rsv1, true);
    }
    observer.close();
    await page.context().close();
  });
});
