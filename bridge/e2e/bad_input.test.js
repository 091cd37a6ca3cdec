'use strict';
// Every row of docs/protocol.md "Bad input" over the raw `ws` harness:
// the exact Meteor reply, nothing else, and the connection stays usable
// (checked with ping/pong right after). Plus version negotiation
// (docs/protocol.md "Handshake"), HTTP refusals on WebSocket routes, the
// message-size limit (close 1009), the JSON depth and offendingMessage-size
// limits, and the per-connection subscription limit (nosub 429).

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId} = require('./lib/meteor_client.js');
const {rawHttp} = require('./lib/raw_socket.js');

let env;
const clients = [];
function client(opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), opts);
  clients.push(c);
  return c;
}
async function connected(opts) {
  const c = client(opts);
  await c.connect();
  return c;
}

// The next message must be exactly `expected` (raw), then a ping/pong proves
// the connection is alive and that nothing else was sent in between.
async function expectReplyThenAlive(c, expected) {
  const r = await c.next({what: `reply ${expected}`});
  assert.equal(r.raw, expected);
  const tag = randomId(6);
  c.send({msg: 'ping', id: tag});
  const p = await c.next({what: 'pong after bad input'});
  assert.equal(p.raw, `{"msg":"pong","id":"${tag}"}`);
}

const err = (reason, offending) => JSON.stringify(offending === undefined ?
  {msg: 'error', reason} : {msg: 'error', reason, offendingMessage: offending});

before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--max-subscriptions', '3']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

describe('before connect', () => {
  test('non-connect messages -> "Must connect first"; bad JSON -> "Bad request"; then connect works', async () => {
    const c = client();
    await c.open({connectMsg: {msg: 'ping', id: 'early'}});
    let r = await c.next();
    assert.equal(r.raw, err('Must connect first', {msg: 'ping', id: 'early'}));
    const sub = {msg: 'sub', id: 'a', name: 'threadMessage', params: ['r', {threadId: 't'}]};
    c.send(sub);
    r = await c.next();
    assert.equal(r.raw, err('Must connect first', sub));
    c.sendRaw('{oops');
    r = await c.next();
    assert.equal(r.raw, err('Bad request'));
    c.send({msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']});
    r = await c.next();
    assert.equal(r.msg.msg, 'connected');
    assert.equal((await c.ping('ok')).raw, '{"msg":"pong","id":"ok"}');
  });
});

describe('after connect (bad input rows)', () => {
  const rows = [
    ['invalid JSON', '{oops', err('Bad request')],
    ['truncated JSON', '{"msg":"ping"', err('Bad request')],
    ['number', '5', err('Bad request')],
    ['string', '"x"', err('Bad request')],
    ['null', 'null', err('Bad request')],
    ['true', 'true', err('Bad request')],
    ['empty object', '{}', err('Bad request', {})],
    ['array', '[1]', err('Bad request', [1])],
    ['object without msg', '{"foo":1}', err('Bad request', {foo: 1})],
    ['msg not a string', '{"msg":5}', err('Bad request', {msg: 5})],
    ['unknown msg', '{"msg":"foo"}', err('Bad request', {msg: 'foo'})],
    ['second connect', '{"msg":"connect","version":"1","support":["1"]}',
      err('Already connected', {msg: 'connect', version: '1', support: ['1']})],
    ['sub with numeric id', '{"msg":"sub","id":5,"name":"threadMessage","params":[]}',
      err('Malformed subscription', {msg: 'sub', id: 5, name: 'threadMessage', params: []})],
    ['sub without id', '{"msg":"sub","name":"threadMessage","params":[]}',
      err('Malformed subscription', {msg: 'sub', name: 'threadMessage', params: []})],
    ['sub with numeric name', '{"msg":"sub","id":"s1","name":7,"params":[]}',
      err('Malformed subscription', {msg: 'sub', id: 's1', name: 7, params: []})],
    ['sub without name', '{"msg":"sub","id":"s1"}', err('Malformed subscription', {msg: 'sub', id: 's1'})],
    ['sub with object params', '{"msg":"sub","id":"s1","name":"threadMessage","params":{"a":1}}',
      err('Malformed subscription', {msg: 'sub', id: 's1', name: 'threadMessage', params: {a: 1}})],
    ['method with numeric id', '{"msg":"method","id":1,"method":"m","params":[]}',
      err('Malformed method invocation', {msg: 'method', id: 1, method: 'm', params: []})],
    ['method without method', '{"msg":"method","id":"1","params":[]}',
      err('Malformed method invocation', {msg: 'method', id: '1', params: []})],
    ['method with non-array params', '{"msg":"method","id":"1","method":"m","params":"x"}',
      err('Malformed method invocation', {msg: 'method', id: '1', method: 'm', params: 'x'})],
    ['method with numeric randomSeed', '{"msg":"method","id":"1","method":"m","params":[],"randomSeed":5}',
      err('Malformed method invocation', {msg: 'method', id: '1', method: 'm', params: [], randomSeed: 5})],
    ['unsub without id', '{"msg":"unsub"}', '{"msg":"nosub"}'],
  ];
  for (const [what, input, expected] of rows) {
    test(`${what}: ${input}`, async () => {
      const c = await connected();
      c.sendRaw(input);
      await expectReplyThenAlive(c, expected);
    });
  }

  test('unsub with a numeric id does not wedge the session (nosub or error, then subs still work)', async () => {
    const c = await connected();
    c.sendRaw('{"msg":"unsub","id":5}');
    const r = await c.next();
    assert.ok(r.msg.msg === 'nosub' || r.msg.msg === 'error', r.raw);
    const sub = c.subscribe('threadMessage', [{threadId: `wedge${process.pid}`}]);
    await sub.ready();
  });

  test('unknown fields are ignored (sub with extra top-level keys works)', async () => {
    const c = await connected();
    const id = randomId();
    c.send({msg: 'sub', id, name: 'multi', params: [randomId()], extra: {x: 1}});
    const r = await c.next();
    assert.equal(r.raw, `{"msg":"ready","subs":["${id}"]}`);
  });

  test('pong without a ping outstanding is accepted silently', async () => {
    const c = await connected();
    c.sendRaw('{"msg":"pong"}');
    c.sendRaw('{"msg":"pong","id":"zz"}');
    assert.equal((await c.ping('p')).raw, '{"msg":"pong","id":"p"}');
    assert.equal(c.untaken().length, 0, c.untaken().map((m) => m.raw).join(' | '));
  });

  test('JSON nested deeper than 64 -> Bad request, connection stays', async () => {
    const c = await connected();
    const deep = `{"msg":"foo","x":${'['.repeat(200)}${']'.repeat(200)}}`;
    c.sendRaw(deep);
    await expectReplyThenAlive(c, err('Bad request'));
  });

  test('offendingMessage larger than 1 KiB is omitted', async () => {
    const c = await connected();
    c.send({msg: 'foo', pad: 'p'.repeat(2000)});
    await expectReplyThenAlive(c, err('Bad request'));
  });

  test('binary frames are ignored', async () => {
    const c = await connected();
    c.ws.send(Buffer.from('{"msg":"ping","id":"bin"}'), {binary: true});
    assert.equal((await c.ping('txt')).raw, '{"msg":"pong","id":"txt"}');
    assert.equal(c.untaken().length, 0);
  });

  test('a message just under --max-message is processed', async () => {
    const c = await connected();
    c.send({msg: 'foo', pad: 'p'.repeat(60 * 1024)});
    await expectReplyThenAlive(c, err('Bad request'));
  });

  test('oversized WebSocket message (> 64 KiB) -> close 1009', async () => {
    const c = await connected();
    c.send({msg: 'foo', pad: 'p'.repeat(70 * 1024)});
    const {code} = await c.closed();
    assert.equal(code, 1009);
  });

  test('oversized message split in fragments -> close 1009', async () => {
    const c = await connected();
    const big = 'q'.repeat(40 * 1024);
    c.ws.send(big, {fin: false});
    c.ws.send(big, {fin: true});
    const {code} = await c.closed();
    assert.equal(code, 1009);
  });
});

test('error replies are counted in vent_bridge_ddp_errors_total', async () => {
  const before = await env.metric('vent_bridge_ddp_errors_total');
  const c = await connected();
  c.sendRaw('{oops');
  c.sendRaw('{"msg":"foo"}');
  await c.take((m) => m.msg === 'error');
  await c.take((m) => m.msg === 'error');
  const now = await env.metric('vent_bridge_ddp_errors_total');
  assert.equal(now - before, 2, 'vent_bridge_ddp_errors_total ("DDP error replies sent for bad input")');
});

describe('version negotiation', () => {
  const accepted = [
    ['1 with Meteor support', {msg: 'connect', version: '1', support: ['1', 'pre2', 'pre1']}],
    ['1 with npm support', {msg: 'connect', version: '1', support: ['1']}],
    ['pre2 only', {msg: 'connect', version: 'pre2', support: ['pre2']}],
    ['pre1 only', {msg: 'connect', version: 'pre1', support: ['pre1']}],
    ['session is ignored', {msg: 'connect', session: 'N7ghTzKq4pAoYwE3x', version: '1', support: ['1']}],
  ];
  for (const [what, msg] of accepted) {
    test(`accepted: ${what}`, async () => {
      const c = client();
      await c.open({connectMsg: msg});
      const r = await c.next();
      assert.equal(r.msg.msg, 'connected', r.raw);
      assert.notEqual(r.msg.session, 'N7ghTzKq4pAoYwE3x');
      if (msg.version === 'pre1') {
        c.send({msg: 'ping', id: 'x'});
        assert.equal((await c.next()).raw, err('Bad request', {msg: 'ping', id: 'x'}));
      } else {
        assert.equal((await c.ping('v')).raw, '{"msg":"pong","id":"v"}');
      }
    });
  }

  const refused = [
    ['pre1 preferred with 1 supported', {msg: 'connect', version: 'pre1', support: ['1', 'pre1']}, '1'],
    ['unknown version 2', {msg: 'connect', version: '2', support: ['2']}, '1'],
    ['pre2 but 1 is preferred', {msg: 'connect', version: 'pre2', support: ['1', 'pre2']}, '1'],
    ['version not in support', {msg: 'connect', version: '1', support: ['pre2']}, '1'],
    ['version not a string', {msg: 'connect', version: 1, support: ['1']}, '1'],
    ['support missing', {msg: 'connect', version: '1'}, '1'],
    ['support not strings', {msg: 'connect', version: '1', support: [1]}, '1'],
    ['version missing', {msg: 'connect', support: ['1']}, '1'],
  ];
  for (const [what, msg, version] of refused) {
    test(`refused: ${what} -> failed "${version}" then close`, async () => {
      const c = client();
      await c.open({connectMsg: msg});
      c.send({msg: 'ping', id: 'dropped'}); // arrives after failed: must be dropped
      const r = await c.next();
      assert.equal(r.raw, `{"msg":"failed","version":"${version}"}`);
      await c.closed();
      assert.deepEqual(c.untaken().map((m) => m.raw), []);
    });
  }
});

describe('HTTP on WebSocket routes', () => {
  for (const path of ['/websocket', '/websocket/', '/sockjs/websocket']) {
    test(`plain GET ${path} -> 400 "Not a valid websocket request"`, async () => {
      const r = await env.http(path);
      assert.equal(r.status, 400);
      assert.equal(r.body.trim(), 'Not a valid websocket request');
    });
  }

  test('upgrade with Sec-WebSocket-Version 7 -> 400', async () => {
    const text = await rawHttp(env.port,
        'GET /websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\n\r\n');
    assert.match(text, /^HTTP\/1\.1 400 /, text);
  });

  test('upgrade to /websocket?x=1 (query string kept) works', async () => {
    const c = new MeteorClient(env.wsUrl('/websocket?foo=bar'));
    clients.push(c);
    await c.connect();
  });

  test('/sockjs/websocket speaks raw DDP', async () => {
    const c = new MeteorClient(env.wsUrl('/sockjs/websocket'));
    clients.push(c);
    const m = await c.connect();
    assert.equal(c.rawFrames[0], JSON.stringify(m));
  });
});

describe('subscription limit (--max-subscriptions 3)', () => {
  test('4th sub -> nosub 429; unsub frees a slot; connection stays', async () => {
    const c = await connected();
    const subs = [1, 2, 3].map((i) => c.subscribe('threadMessage', [{threadId: `lim${process.pid}_${i}`}]));
    await Promise.all(subs.map((s) => s.ready()));
    const fourth = c.subscribe('threadMessage', [{threadId: `lim${process.pid}_4`}]);
    const r = await fourth.nosub();
    assert.equal(r.raw, JSON.stringify({msg: 'nosub', id: fourth.id, error: {isClientSafe: true, error: 429,
      reason: 'Too many subscriptions', message: 'Too many subscriptions [429]', errorType: 'Meteor.Error'}}));
    // Refused subs do not use a slot; stopping one frees one.
    await subs[0].stop();
    const fifth = c.subscribe('threadMessage', [{threadId: `lim${process.pid}_5`}]);
    await fifth.ready();
    await env.publish(`threads::lim${process.pid}_5::new_message`, '{"ok":1}');
    assert.deepEqual(await fifth.waitEvents(1), [{ok: 1}]);
  });

  test('refused subs (404/400) do not count against the limit', async () => {
    const c = await connected();
    for (let i = 0; i < 5; i++) await c.subscribe('nope', []).nosub();
    for (let i = 0; i < 5; i++) await c.subscribe('threadMessage', [{threadId: '*'}]).nosub();
    const ok = [1, 2, 3].map((i) => c.subscribe('threadMessage', [{threadId: `lim2${process.pid}_${i}`}]));
    await Promise.all(ok.map((s) => s.ready()));
  });
});
