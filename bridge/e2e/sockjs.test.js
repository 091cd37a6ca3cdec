'use strict';
// SockJS transport (docs/protocol.md "Transports"): /sockjs/info JSON
// and headers, "o" right after the upgrade, every DDP message and Vent frame
// wrapped as a[...], client array frames accepted, c[...] on server close,
// broken framing closes with 3000.

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');
const {upgrade} = require('./lib/raw_socket.js');

let env;
const clients = [];
function sockjs(opts) {
  const c = new MeteorClient(`http://127.0.0.1:${env.port}`.replace('http', 'ws'), {transport: 'sockjs', clientPingMs: 0, ...opts});
  clients.push(c);
  return c;
}

before(async () => { env = await startBridgeEnv(); });
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

describe('/sockjs/info', () => {
  test('GET -> sockjs-node JSON with the right headers', async () => {
    const r = await env.http('/sockjs/info?t=123');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json; charset=UTF-8');
    assert.equal(r.headers['cache-control'], 'no-store, no-cache, no-transform, must-revalidate, max-age=0');
    assert.equal(r.headers['access-control-allow-origin'], '*');
    const body = JSON.parse(r.body);
    assert.deepEqual(Object.keys(body), ['websocket', 'origins', 'cookie_needed', 'entropy']);
    assert.equal(body.websocket, true);
    assert.deepEqual(body.origins, ['*:*']);
    assert.equal(body.cookie_needed, false);
    assert.ok(Number.isInteger(body.entropy) && body.entropy >= 0 && body.entropy <= 0xffffffff);
  });

  test('GET with Origin -> origin echoed, credentials true, Vary: Origin', async () => {
    const r = await env.http('/sockjs/info', {headers: {Origin: 'https://app.example.com'}});
    assert.equal(r.status, 200);
    assert.equal(r.headers['access-control-allow-origin'], 'https://app.example.com');
    assert.equal(r.headers['access-control-allow-credentials'], 'true');
    assert.match(r.headers.vary || '', /Origin/);
  });

  test('OPTIONS -> 204 with Allow-Methods', async () => {
    const r = await env.http('/sockjs/info', {method: 'OPTIONS', headers: {Origin: 'https://a.example'}});
    assert.equal(r.status, 204);
    assert.equal(r.headers['access-control-allow-methods'], 'OPTIONS, GET');
    assert.ok(r.headers['access-control-max-age']);
  });
});

describe('SockJS WebSocket transport', () => {
  // The bridge writes "o" with the 101 response, waiting for nothing (the
  // client abandons WebSocket if it is late); checked without a clock: it
  // arrives while the client has sent nothing after its upgrade request.
  test('"o" is the first frame, right after the upgrade (before any client data)', async () => {
    const {sock, rest} = await upgrade(env.port, '/sockjs/123/abcdefgh/websocket');
    let buf = rest;
    if (buf.length < 3) {
      await new Promise((resolve) => {
        const on = (c) => { buf = Buffer.concat([buf, c]); if (buf.length >= 3) { sock.off('data', on); resolve(); } };
        sock.on('data', on);
      });
    }
    assert.deepEqual([...buf.subarray(0, 3)], [0x81, 0x01, 0x6f], 'unmasked text frame "o"');
    sock.destroy();
  });

  test('connected, ready, Vent frames and pong each come as a["..."] with one element', async () => {
    const c = sockjs();
    const t = `sj${process.pid}`;
    const sub = c.subscribe('threadMessage', [{threadId: t}], {send: false});
    await c.open({pipeline: [{msg: 'sub', id: sub.id, name: 'threadMessage', params: sub.params()}]});
    await sub.ready();
    const payloads = ['{"text":"Hello!"}', '{"u":"\u2028\u00e9\\u0000\\n"}', '[1, 2 ,3]'];
    for (const p of payloads) await env.publish(`threads::${t}::new_message`, p);
    await sub.waitEvents(payloads.length);
    await c.ping('sj');
    assert.equal(c.rawFrames[0], 'o');
    const ddpFrames = c.rawFrames.slice(1);
    for (const f of ddpFrames) {
      assert.ok(f.startsWith('a['), f);
      const arr = JSON.parse(f.slice(1));
      assert.ok(Array.isArray(arr) && arr.every((x) => typeof x === 'string'), f);
    }
    const elements = ddpFrames.flatMap((f) => JSON.parse(f.slice(1)));
    assert.equal(JSON.parse(elements[0]).msg, 'connected');
    assert.equal(elements[1], `{"msg":"ready","subs":["${sub.id}"]}`);
    for (let i = 0; i < payloads.length; i++) {
      assert.equal(elements[2 + i], `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":${payloads[i]}}`);
    }
    assert.equal(elements[2 + payloads.length], '{"msg":"pong","id":"sj"}');
  });

  test('client frames: bare JSON string and multi-element arrays are accepted; empty frame ignored', async () => {
    const c = sockjs();
    await c.connect({connectMsg: {msg: 'connect', version: '1', support: ['1']}});
    c.ws.send(JSON.stringify(JSON.stringify({msg: 'ping', id: 'bare'})));
    c.ws.send('');
    c.ws.send(JSON.stringify([JSON.stringify({msg: 'ping', id: 'one'}), JSON.stringify({msg: 'ping', id: 'two'})]));
    assert.equal((await c.next()).raw, '{"msg":"pong","id":"bare"}');
    assert.equal((await c.next()).raw, '{"msg":"pong","id":"one"}');
    assert.equal((await c.next()).raw, '{"msg":"pong","id":"two"}');
  });

  test('bad DDP inside a valid SockJS frame gets the DDP error, connection stays', async () => {
    const c = sockjs();
    await c.connect();
    c.sendRaw('{oops');
    assert.equal((await c.next()).raw, '{"msg":"error","reason":"Bad request"}');
    assert.equal((await c.ping('still')).raw, '{"msg":"pong","id":"still"}');
  });

  test('unparsable SockJS frame -> c[3000,"Broken framing."] and close', async () => {
    const c = sockjs();
    await c.connect();
    c.ws.send('[not json');
    const {code} = await c.closed();
    assert.deepEqual(c.sockjsClose, [3000, 'Broken framing.']);
    assert.equal(code, 3000);
  });

  test('failed version negotiation -> a["failed"] then c[...] close frame', async () => {
    const c = sockjs();
    await c.open({connectMsg: {msg: 'connect', version: '2', support: ['2']}});
    assert.equal((await c.next()).raw, '{"msg":"failed","version":"1"}');
    await c.closed();
    assert.ok(Array.isArray(c.sockjsClose), `no c[...] frame; frames: ${c.rawFrames.join(' | ')}`);
  });

  for (const path of ['/sockjs/123/a.b/websocket', '/sockjs/123/abc/websocket/extra']) {
    test(`non-SockJS path ${path} is not upgraded`, async () => {
      await assert.rejects(upgrade(env.port, path));
    });
  }
});
