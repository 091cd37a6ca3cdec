'use strict';
// Adversarial inputs end to end: hostile Redis payloads (invalid UTF-8,
// control characters, absurd nesting, 1 MB events), ids and rands that need
// JSON escaping, sub/unsub races, and pipelined bursts of subs. In each case
// the bridge must stay up, the connection must stay open, and nothing may be
// sent for a sub after its nosub.

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, randomId} = require('./lib/meteor_client.js');

let env;
const clients = [];
async function connected(opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0, ...opts});
  clients.push(c);
  await c.connect();
  return c;
}
let seq = 0;
const uniq = (p) => `${p}${process.pid}_${++seq}`;
const chan = (t) => `threads::${t}::new_message`;

before(async () => { env = await startBridgeEnv(); });
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

async function assertAlive(c, what) {
  assert.ok(env.bridge.isRunning(), `vent-bridge died (${what}):\n${env.bridge.stderr().slice(-2000)}`);
  assert.equal(c.isOpen, true, `connection closed (${what})`);
  const tag = randomId(6);
  assert.equal((await c.ping(tag)).raw, `{"msg":"pong","id":"${tag}"}`);
}

describe('hostile Redis payloads', () => {
  const cases = [
    ['invalid UTF-8 inside a string', Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    ['overlong UTF-8 encoding', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')])],
    ['UTF-8 surrogate half (CESU)', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])],
    ['raw control character in a string', Buffer.from('{"a":"x\u0001y"}')],
    ['raw NUL in a string', Buffer.from('{"a":"x\u0000y"}')],
    ['lone surrogate escape', Buffer.from('{"a":"\\ud800"}')],
    ['100000-deep array', Buffer.from('['.repeat(100000) + ']'.repeat(100000))],
    ['100000-deep object', Buffer.from('{"a":'.repeat(100000) + '1' + '}'.repeat(100000))],
    ['unterminated deep nesting', Buffer.from('['.repeat(200000))],
    ['trailing garbage', Buffer.from('{"a":1} x')],
    ['two JSON values', Buffer.from('{"a":1}{"b":2}')],
    ['NaN literal', Buffer.from('NaN')],
    ['comment', Buffer.from('{"a":1 /* c */}')],
  ];
  for (const [what, payload] of cases) {
    test(`${what}: bridge and connection survive; next event arrives`, async () => {
      const c = await connected();
      const t = uniq('hx');
      const sub = c.subscribe('threadMessage', [{threadId: t}]);
      await sub.ready();
      await env.publish(chan(t), payload);
      await env.publish(chan(t), '{"marker":1}');
      const events = await sub.waitEvents(1, {timeoutMs: 5000}).catch(async (e) => {
        throw new Error(`${e.message}; bridge running: ${env.bridge.isRunning()}; ` +
                        `ws close: ${JSON.stringify(await Promise.race([c.closedD.promise, Promise.resolve('open')]))}`);
      });
      // Either the hostile payload was dropped (the marker is first), or it
      // was sent as valid JSON text; never a broken frame.
      if (sub.events.length >= 1 && JSON.stringify(events[0]) !== '{"marker":1}') {
        await sub.waitEvents(2);
        assert.deepEqual(sub.events[1], {marker: 1});
      }
      await assertAlive(c, what);
    });
  }

  test('a 1 MB event is delivered intact', async () => {
    const c = await connected();
    const t = uniq('big');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    const payload = `{"big":"${'b'.repeat(1024 * 1024)}"}`;
    await env.publish(chan(t), payload);
    await sub.waitEvents(1, {timeoutMs: 10000});
    assert.equal(sub.raws[0], `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":${payload}}`);
  });

  test('U+2028/U+2029 and escapes in events survive verbatim', async () => {
    const c = await connected();
    const t = uniq('u28');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    const payload = '{"s":"a\u2028b\u2029c\\u2028\\/\\b\\f\\t","k\u00e9y":"\ud83d\ude80"}';
    await env.publish(chan(t), payload);
    await sub.waitEvents(1);
    assert.equal(sub.raws[0], `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":${payload}}`);
  });
});

describe('ids that need escaping', () => {
  const rands = ['a"b', 'back\\slash', 'x","e":{"evil":1},"y":"', 'h\u00e9 \u2028 \ud83d\ude80', 'tab\there', 'nl\nx'];
  for (const rand of rands) {
    test(`rand ${JSON.stringify(rand)}: frame is valid JSON, id = rand + ".threadMessage", prefix intact`, async () => {
      const c = await connected();
      const t = uniq('rnd');
      const sub = c.subscribe('threadMessage', [{threadId: t}], {rand});
      await sub.ready();
      await env.publish(chan(t), '{"v":1}');
      await sub.waitEvents(1);
      const raw = sub.raws[0];
      const m = JSON.parse(raw);
      assert.deepEqual(Object.keys(m), ['msg', '__vent', 'id', 'e']);
      assert.equal(m.id, `${rand}.threadMessage`);
      assert.deepEqual(m.e, {v: 1});
      assert.equal(raw, JSON.stringify({msg: 'changed', __vent: '1', id: `${rand}.threadMessage`, e: {v: 1}}));
    });
  }

  test('rand longer than 128 bytes -> nosub 400', async () => {
    const c = await connected();
    const sub = c.subscribe('threadMessage', [{threadId: uniq('lr')}], {rand: 'r'.repeat(129)});
    const r = await sub.nosub();
    assert.equal(r.msg.error.error, 400);
  });

  const subIds = ['a"b', 'q\\', '\u2028', 'x'.repeat(200), '{"msg":"ready"}'];
  for (const id of subIds) {
    test(`sub id ${JSON.stringify(id).slice(0, 40)}: ready, nosub and errors escape it`, async () => {
      const c = await connected();
      const t = uniq('sid');
      const sub = c.subscribe('threadMessage', [{threadId: t}], {id});
      const ready = await sub.ready();
      assert.equal(ready.raw, JSON.stringify({msg: 'ready', subs: [id]}));
      const nosub = await sub.stop();
      assert.equal(nosub.raw, JSON.stringify({msg: 'nosub', id}));
      const bad = c.subscribe('nope', [], {id});
      const r = await bad.nosub();
      assert.equal(r.msg.id, id);
      assert.equal(r.msg.error.reason, "Subscription 'nope' not found");
    });
  }

  test('publication name that needs escaping in the 404 reason', async () => {
    const c = await connected();
    const name = 'na"me\\ \u2028 \u00e9';
    const sub = c.subscribe(name, []);
    const r = await sub.nosub();
    assert.equal(r.raw, JSON.stringify({msg: 'nosub', id: sub.id, error: {isClientSafe: true, error: 404,
      reason: `Subscription '${name}' not found`, message: `Subscription '${name}' not found [404]`,
      errorType: 'Meteor.Error'}}));
  });

  test('method id and name that need escaping', async () => {
    const c = await connected();
    c.send({msg: 'method', id: 'i"d', method: 'm"\\', params: []});
    const r = await c.take((m) => m.msg === 'result');
    assert.equal(r.raw, JSON.stringify({msg: 'result', id: 'i"d', error: {isClientSafe: true, error: 404,
      reason: "Method 'm\"\\' not found", message: "Method 'm\"\\' not found [404]", errorType: 'Meteor.Error'}}));
    const u = await c.take((m) => m.msg === 'updated');
    assert.equal(u.raw, '{"msg":"updated","methods":["i\\"d"]}');
  });
});

describe('races and bursts', () => {
  test('sub immediately followed by unsub (before ready): nosub, and no ready or event after it', async () => {
    const c = await connected();
    for (let i = 0; i < 20; i++) {
      const t = uniq('race');
      const sub = c.subscribe('threadMessage', [{threadId: t}]);
      c.send({msg: 'unsub', id: sub.id});
      const nosub = await c.take((m) => m.msg === 'nosub' && m.id === sub.id);
      assert.equal(nosub.raw, `{"msg":"nosub","id":"${sub.id}"}`);
      const at = c.messages.indexOf(nosub);
      await env.publish(chan(t), '{"ghost":1}');
      await c.ping(`r${i}`); // marker: the pong comes after anything for the old sub
      const after = c.messages.slice(at + 1).map((m) => m.raw).filter((r) => r.includes(sub.id) || r.includes('ghost'));
      assert.deepEqual(after, [], `iteration ${i}`);
    }
    // And the channel was released: nobody listens any more.
    const {waitFor} = require('../../tests/js/lib/stack.js');
    await waitFor(async () => (await env.publish(chan(`race${process.pid}_${seq}`), '{}')) === 0,
        {what: 'Redis UNSUBSCRIBE after sub+unsub race'});
  });

  test('50 subs pipelined before connected: all ready, each gets its event', async () => {
    const c = new MeteorClient(env.wsUrl('/websocket'), {clientPingMs: 0});
    clients.push(c);
    const subs = [];
    for (let i = 0; i < 50; i++) subs.push(c.subscribe('threadMessage', [{threadId: uniq('pipe')}], {send: false}));
    await c.open({pipeline: subs.map((s) => ({msg: 'sub', id: s.id, name: 'threadMessage', params: s.params()}))});
    await Promise.all(subs.map((s) => s.ready()));
    await Promise.all(subs.map((s, i) => env.publish(chan(s.args[0].threadId), `{"i":${i}}`)));
    for (const [i, s] of subs.entries()) assert.deepEqual(await s.waitEvents(1), [{i}]);
  });

  test('unsub while a burst is being delivered: events stop at the nosub', async () => {
    const c = await connected();
    const t = uniq('ub');
    const a = c.subscribe('threadMessage', [{threadId: t}]);
    const b = c.subscribe('threadMessage', [{threadId: t}]);
    await Promise.all([a.ready(), b.ready()]);
    const burst = Array.from({length: 300}, (_, i) => env.publish(chan(t), `{"seq":${i}}`));
    c.send({msg: 'unsub', id: a.id});
    await Promise.all(burst);
    await env.publish(chan(t), '{"marker":1}');
    await b.waitEvents(301, {timeoutMs: 10000});
    const nosubIdx = c.messages.findIndex((m) => m.msg.msg === 'nosub' && m.msg.id === a.id);
    assert.ok(nosubIdx >= 0, 'no nosub');
    const late = c.messages.slice(nosubIdx + 1).filter((m) => m.raw.includes(`"${a.rand}.threadMessage"`));
    assert.equal(late.length, 0, `${late.length} frames for the stopped sub after its nosub`);
    // a's events are a prefix of the burst, in order.
    assert.deepEqual(a.events.map((e) => e.seq), Array.from({length: a.events.length}, (_, i) => i));
  });

  test('a client vanishing mid-burst does not disturb the bridge or others', async () => {
    const c = await connected();
    const t = uniq('cm');
    const s = c.subscribe('threadMessage', [{threadId: t}]);
    await s.ready();
    const burst = Array.from({length: 200}, (_, i) => env.publish(chan(t), `{"seq":${i}}`));
    c.close();
    await Promise.all(burst);
    const other = await connected();
    await assertAlive(other, 'after a client vanished mid-burst');
  });
});
