// A TCP proxy on 127.0.0.1 that a test can cut: it forwards every accepted
// connection to a target port (a vent-bridge), and on block() destroys every
// open connection and refuses new ones (accepted, then destroyed at once: the
// client sees its upgrade fail) until release(). retarget(port) sends later
// connections elsewhere (a load balancer switching bridges).
import { EventEmitter } from 'node:events';
import net from 'node:net';

export class CutProxy extends EventEmitter {
  static async start(targetPort) {
    const p = new CutProxy(targetPort);
    await new Promise((resolve, reject) => {
      p._server.once('error', reject);
      p._server.listen(0, '127.0.0.1', resolve);
    });
    p.port = p._server.address().port;
    return p;
  }

  constructor(targetPort) {
    super();
    this.target = targetPort;
    this.blocked = false;
    this.stats = { forwarded: 0, refused: 0, cut: 0 };
    this._pairs = new Set(); // [client socket, upstream socket]
    this._server = net.createServer((sock) => this._accept(sock));
  }

  url(path = '/websocket') {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  _accept(sock) {
    if (this.blocked) {
      this.stats.refused++;
      sock.destroy();
      return;
    }
    this.stats.forwarded++;
    const up = net.connect(this.target, '127.0.0.1');
    const pair = [sock, up];
    this._pairs.add(pair);
    const end = () => {
      if (!this._pairs.delete(pair)) return;
      sock.destroy();
      up.destroy();
    };
    sock.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
    sock.pipe(up);
    up.pipe(sock);
  }

  // Destroys every open connection now and refuses new ones until release().
  block() {
    this.blocked = true;
    for (const pair of [...this._pairs]) {
      this._pairs.delete(pair);
      this.stats.cut++;
      for (const s of pair) s.destroy();
    }
    this.emit('blocked');
  }

  release() {
    this.blocked = false;
    this.emit('released');
  }

  // Later connections go to `port`; open ones are left alone.
  retarget(port) {
    this.target = port;
  }

  get open() {
    return this._pairs.size;
  }

  async close() {
    this.block();
    await new Promise((resolve) => this._server.close(resolve));
  }
}
