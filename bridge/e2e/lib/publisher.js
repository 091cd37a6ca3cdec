'use strict';
// A Redis PUBLISH client on one raw RESP socket: publishes bytes exactly as
// given (string or Buffer), pipelines commands, resolves each with the number
// of receivers Redis reported. If Redis goes away, pending publishes reject
// and the next publish() reconnects (so tests can keep publishing across a
// Redis restart).

const events = require('node:events');
const net = require('node:net');

const {RespParser, encodeCommand} = require('../../../tests/js/lib/stack.js');

class Publisher {
  constructor(port) {
    this.port = port;
    this.sock = null;
    this.connecting = null;
    this.pending = []; // {resolve, reject}
  }

  async connect() {
    if (this.sock) return;
    if (!this.connecting) {
      this.connecting = (async () => {
        const sock = net.connect({port: this.port, host: '127.0.0.1'});
        sock.setNoDelay(true);
        const parser = new RespParser();
        sock.on('data', (chunk) => {
          parser.push(chunk);
          for (;;) {
            const v = parser.next();
            if (v === undefined) break;
            const p = this.pending.shift();
            if (!p) continue;
            if (v instanceof Error) p.reject(v); else p.resolve(v);
          }
        });
        const fail = (err) => {
          if (this.sock === sock) this.sock = null;
          for (const p of this.pending.splice(0)) p.reject(err);
        };
        sock.on('error', (e) => fail(e));
        sock.on('close', () => fail(new Error('redis publisher connection closed')));
        try {
          await events.once(sock, 'connect');
        } catch (e) {
          sock.destroy();
          throw e;
        }
        this.sock = sock;
      })().finally(() => { this.connecting = null; });
    }
    await this.connecting;
  }

  async publish(channel, payload) {
    await this.connect();
    return new Promise((resolve, reject) => {
      this.pending.push({resolve, reject});
      this.sock.write(encodeCommand(['PUBLISH', channel, payload]));
    });
  }

  // Publishes every [channel, payload] pair with ONE socket write (so Redis
  // delivers them back to back); resolves the array of receiver counts.
  async publishMany(pairs) {
    await this.connect();
    const replies = pairs.map(() => new Promise((resolve, reject) => this.pending.push({resolve, reject})));
    this.sock.write(Buffer.concat(pairs.map(([ch, p]) => encodeCommand(['PUBLISH', ch, p]))));
    return Promise.all(replies);
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.sock = null;
  }
}

module.exports = {Publisher};
