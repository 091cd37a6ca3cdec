'use strict';
// A small TCP load balancer for docker-compose.cluster.yml (WebSocket-agnostic:
// it pipes bytes). New connections go round-robin to the backends whose
// GET /healthz answered 200 at the last check (every 2 s); a backend that
// stops answering gets no new connections, and its clients reconnect to the
// others. For production use your platform's load balancer (a Kubernetes
// Service, nginx, HAProxy, a cloud LB); see docs/redis.md.
//
//   node lb.js --listen 0.0.0.0:8080 --backend vent-bridge-1:3000 --backend vent-bridge-2:3000
//
// GET /lb-healthz on the listen port is answered by the proxy itself: 200 when
// at least one backend is healthy, else 503.
const http = require('node:http');
const net = require('node:net');

function parseArgs(argv) {
  const out = {listen: '0.0.0.0:8080', backends: []};
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--listen') out.listen = argv[i + 1];
    else if (argv[i] === '--backend') out.backends.push(argv[i + 1]);
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (out.backends.length === 0) throw new Error('at least one --backend host:port');
  return out;
}

function split(hostport) {
  const i = hostport.lastIndexOf(':');
  return {host: hostport.slice(0, i), port: Number(hostport.slice(i + 1))};
}

const opts = parseArgs(process.argv.slice(2));
const backends = opts.backends.map((b) => ({...split(b), name: b, healthy: false}));
let next = 0;

function check(b) {
  const req = http.get({host: b.host, port: b.port, path: '/healthz', timeout: 1500}, (res) => {
    const ok = res.statusCode === 200;
    if (ok !== b.healthy) console.log(`lb: ${b.name} ${ok ? 'healthy' : `unhealthy (HTTP ${res.statusCode})`}`);
    b.healthy = ok;
    res.resume();
  });
  req.on('timeout', () => req.destroy(new Error('timeout')));
  req.on('error', (e) => {
    if (b.healthy) console.log(`lb: ${b.name} unhealthy (${e.message})`);
    b.healthy = false;
  });
}
function checkAll() { for (const b of backends) check(b); }
checkAll();
setInterval(checkAll, 2000).unref();

function pick() {
  for (let i = 0; i < backends.length; i++) {
    const b = backends[(next + i) % backends.length];
    if (b.healthy) {
      next = (next + i + 1) % backends.length;
      return b;
    }
  }
  return null;
}

const server = net.createServer((client) => {
  client.once('data', (first) => {
    client.pause(); // until piped: nothing read meanwhile is lost
    if (first.toString('latin1').startsWith('GET /lb-healthz ')) {
      const ok = backends.some((b) => b.healthy);
      client.end(`HTTP/1.1 ${ok ? '200 OK' : '503 Service Unavailable'}\r\n` +
          'Content-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const b = pick();
    if (!b) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const upstream = net.connect({host: b.host, port: b.port}, () => {
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  client.on('error', () => {});
});
const {host, port} = split(opts.listen);
server.listen(port, host, () => console.log(`lb: listening on ${opts.listen} -> ${opts.backends.join(', ')}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
