'use strict';
// vent-server with TLS (--tls-cert/--tls-key): a client that trusts the
// certificate emits and the event reaches Redis byte for byte; a plaintext
// client and a client that does not trust the certificate are refused.
const assert = require('node:assert/strict');
const {execFileSync} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, before, test} = require('node:test');
const grpc = require('@grpc/grpc-js');

const stack = require('../js/lib/stack.js');
const {VentClient} = require('../../clients/node/vent-client.js');

let env;
let dir;
let cert;
before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vent-tls-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], {stdio: 'ignore'});
  cert = fs.readFileSync(path.join(dir, 'cert.pem'));
  env = await stack.startVentServer({extraArgs: [
    '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem')]});
});
after(async () => {
  if (env) await env.stop();
  fs.rmSync(dir, {recursive: true, force: true});
});

test('a client trusting the certificate emits over TLS; Redis gets the exact bytes', async () => {
  const sub = await stack.subscribeRaw(env.redis.port, ['tls::c1']);
  const client = new VentClient(env.grpcAddress, {tls: {rootCerts: cert}});
  try {
    const r = await client.emit('tls::c1', '{"secure": true}');
    assert.equal(r.id.length, 26);
    const m = await sub.next();
    assert.equal(m.payload.toString(), '{"secure": true}');
  } finally {
    client.close();
    sub.close();
  }
});

test('plaintext and untrusting clients are refused with UNAVAILABLE', async () => {
  const plain = new VentClient(env.grpcAddress, {deadlineMs: 3000});
  await assert.rejects(plain.emit('tls::c2', '{}'), (e) => e.code === grpc.status.UNAVAILABLE);
  plain.close();
  const untrusting = new VentClient(env.grpcAddress, {tls: true, deadlineMs: 3000});
  await assert.rejects(untrusting.emit('tls::c2', '{}'), (e) => e.code === grpc.status.UNAVAILABLE);
  untrusting.close();
});
