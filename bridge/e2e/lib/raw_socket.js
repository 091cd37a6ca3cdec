'use strict';
// WebSocket by hand over net.Socket, for what `ws` cannot do: a client that
// upgrades and then never reads (slow consumer), and plain HTTP requests
// against WS routes. Client frames are masked as RFC 6455 requires.

const crypto = require('node:crypto');
const events = require('node:events');
const net = require('node:net');

// Connects and sends an upgrade request for `path`; resolves {sock, head}
// once the 101 response head has arrived (head = response head text,
// rest = bytes after it). When `pauseAfter` is set the socket is paused right
// after the 101 so the kernel buffers fill up and the server sees a client
// that stops reading.
async function upgrade(port, path, {pauseAfter = false, rcvBuf, extraHeaders = ''} = {}) {
  const sock = net.connect({port, host: '127.0.0.1'});
  await events.once(sock, 'connect');
  if (rcvBuf) {
    // Best effort: a small receive buffer makes the server's send queue back up sooner.
    try { sock.setRecvBufferSize && sock.setRecvBufferSize(rcvBuf); } catch (_) { /* ignore */ }
  }
  const key = crypto.randomBytes(16).toString('base64');
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n` +
             `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
             `${extraHeaders}\r\n`);
  let buf = Buffer.alloc(0);
  const head = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        sock.off('data', onData);
        if (pauseAfter) sock.pause();
        const text = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        resolve(text);
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.once('close', () => reject(new Error('closed before upgrade response')));
  });
  if (!head.startsWith('HTTP/1.1 101')) throw new Error(`upgrade refused: ${head}`);
  return {sock, head, rest: buf};
}

// One masked client text frame.
function textFrame(text) {
  return clientFrame(0x1, Buffer.from(text));
}

// One masked client frame with FIN set: opcode 0x1 text, 0x8 close, 0x9 ping.
function clientFrame(opcode, payload) {
  const mask = crypto.randomBytes(4);
  let header;
  if (payload.length < 126) {
    header = Buffer.from([0x80 | opcode, 0x80 | payload.length]);
  } else if (payload.length < 65536) {
    header = Buffer.alloc(4);
    header[0] = 0x80 | opcode; header[1] = 0x80 | 126; header.writeUInt16BE(payload.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = 0x80 | opcode; header[1] = 0x80 | 127; header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([header, mask, masked]);
}

// Sends a raw HTTP request text and resolves the full response text (until close).
async function rawHttp(port, requestText, {timeoutMs = 3000} = {}) {
  const sock = net.connect({port, host: '127.0.0.1'});
  await events.once(sock, 'connect');
  sock.write(requestText);
  const chunks = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.destroy(); resolve(Buffer.concat(chunks).toString()); }, timeoutMs);
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', (e) => { clearTimeout(timer); reject(e); });
    sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString()); });
  });
}

// Parses the server's (unmasked) frames from a socket: {opcode, payload,
// text, code (close)}. `take(pred, {timeoutMs})` resolves the first frame
// not yet taken that matches; `closed` resolves when the socket ends.
class FrameReader {
  constructor(sock, rest = Buffer.alloc(0)) {
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.ended = false;
    this.closed = new Promise((resolve) => {
      sock.on('close', () => { this.ended = true; this.wake(); resolve(); });
    });
    sock.on('data', (c) => this.push(c));
    sock.on('error', () => {});
    if (rest.length) this.push(rest);
  }

  push(chunk) {
    this.buf = Buffer.concat([this.buf, chunk]);
    for (;;) {
      if (this.buf.length < 2) break;
      const opcode = this.buf[0] & 0x0f;
      let len = this.buf[1] & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2); off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2)); off = 10;
      }
      if (this.buf.length < off + len) break;
      const payload = this.buf.subarray(off, off + len);
      this.buf = this.buf.subarray(off + len);
      const f = {opcode, payload, text: opcode === 1 ? payload.toString() : ''};
      if (opcode === 8 && payload.length >= 2) f.code = payload.readUInt16BE(0);
      this.frames.push(f);
    }
    this.wake();
  }

  wake() {
    this.waiters = this.waiters.filter((w) => {
      const i = this.frames.findIndex(w.pred);
      if (i >= 0) {
        w.resolve(this.frames.splice(i, 1)[0]);
        return false;
      }
      if (this.ended) {
        w.reject(new Error(`socket closed while waiting for ${w.what}`));
        return false;
      }
      return true;
    });
  }

  take(pred = () => true, {timeoutMs = 5000, what = 'a frame'} = {}) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const w = {pred, what,
        resolve: (f) => { clearTimeout(timer); resolve(f); },
        reject: (e) => { clearTimeout(timer); reject(e); }};
      this.waiters.push(w);
      this.wake();
    });
  }

  // Takes the next DDP message (text frame) matching pred(obj).
  async ddp(pred = () => true, opts = {}) {
    const f = await this.take((fr) => {
      if (fr.opcode !== 1) return false;
      try { return pred(JSON.parse(fr.text)); } catch (_) { return false; }
    }, opts);
    return JSON.parse(f.text);
  }

  // Every DDP message received and not taken yet (parsed).
  pendingDdp() {
    return this.frames.filter((f) => f.opcode === 1).map((f) => JSON.parse(f.text));
  }
}

module.exports = {FrameReader, clientFrame, rawHttp, textFrame, upgrade};
