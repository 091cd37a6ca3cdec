'use strict';
// vent-bridge against the Meteor-faithful DDP harness (docs/protocol.md
// "Compatibility"): handshake, byte-exact Vent frames, the ready/loss guarantee,
// bursts, fan-out, unsub silence, refusals, methods, reconnect with the same
// sub ids. One redis + one bridge for the whole file; each test uses its own
// connections and channels.

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient, VENT_PREFIX, randomId} = require('./lib/meteor_client.js');

const ID_RE = /^[23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz]{17}$/;

function meteorError(code, reason) {
  return {isClientSafe: true, error: code, reason, message: `${reason} [${code}]`,
    errorType: 'Meteor.Error'};
}

function ventFrame(rand, pub, eventText) {
  return `{"msg":"changed","__vent":"1","id":"${rand}.${pub}","e":${eventText}}`;
}

let env;
const clients = [];
async function client(opts) {
  const c = new MeteorClient(env.wsUrl('/websocket'), opts);
  clients.push(c);
  return c;
}
async function connected(opts) {
  const c = await client(opts);
  await c.connect();
  return c;
}
let chanSeq = 0;
const uniq = (p) => `${p}${process.pid}_${++chanSeq}`;
const threadChannel = (t) => `threads::${t}::new_message`;

before(async () => { env = await startBridgeEnv(); });
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

describe('handshake', () => {
  test('connected with a 17-char session, no server_id, pipelined sub honoured', async () => {
    const c = await client();
    const t = uniq('hs');
    const sub = c.subscribe('threadMessage', [{threadId: t}], {send: false});
    await c.open({pipeline: [{msg: 'sub', id: sub.id, name: 'threadMessage', params: sub.params()}]});
    const first = await c.next();
    assert.equal(first.msg.msg, 'connected', `first frame must be connected, got ${first.raw}`);
    assert.deepEqual(Object.keys(first.msg), ['msg', 'session']);
    assert.match(first.msg.session, ID_RE);
    const second = await c.next();
    assert.equal(second.raw, `{"msg":"ready","subs":["${sub.id}"]}`);
    await env.publish(threadChannel(t), '{"hello":1}');
    assert.deepEqual(await sub.waitEvents(1), [{hello: 1}]);
    assert.equal(c.untaken((m) => 'server_id' in m).length, 0);
  });

  test('every connection gets a distinct session id', async () => {
    const a = await connected();
    const b = await connected();
    assert.notEqual(a.session, b.session);
  });

  test('ping with and without id is answered; pong without id carries no id', async () => {
    const c = await connected();
    const p1 = await c.ping('abc');
    assert.equal(p1.raw, '{"msg":"pong","id":"abc"}');
    const p2 = await c.ping();
    assert.equal(p2.raw, '{"msg":"pong"}');
  });
});

describe('vent frames', () => {
  test('frame is byte-exact: prefix, id, e = Redis bytes verbatim', async () => {
    const c = await connected();
    const t = uniq('bx');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    const payloads = [
      '{"text":"Hello!"}',
      '{ "spaced" : [1, 2.50, {"x": null}] , "n":1.0 }', // whitespace and 1.0 kept verbatim
      '{"uni":"h\\u00e9llo \u00e9\u2028 \ud83d\ude00","esc":"a\\"b\\\\c"}',
      '{"$date":1700000000000}', // EJSON passes through untouched (no decoding)
      '[1,"two",{"three":3}]',
      '"a string"',
      '42',
      'true',
      '{}',
    ];
    for (const p of payloads) await env.publish(threadChannel(t), p);
    await sub.waitEvents(payloads.length);
    for (let i = 0; i < payloads.length; i++) {
      assert.equal(sub.raws[i], ventFrame(sub.rand, 'threadMessage', payloads[i]));
      assert.equal(sub.raws[i].slice(0, 28), VENT_PREFIX);
      assert.deepEqual(sub.events[i], JSON.parse(payloads[i]));
    }
    assert.equal(sub.raws.length, payloads.length, 'one WS text frame per event');
  });

  test('falsy events and invalid JSON are not sent; connection stays', async () => {
    const c = await connected();
    const t = uniq('fz');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    for (const p of ['null', 'false', '0', '""', '{oops', '', '{"a":1', 'nul', '[1,]']) {
      await env.publish(threadChannel(t), p);
    }
    await env.publish(threadChannel(t), '{"marker":1}');
    await sub.waitEvents(1);
    assert.deepEqual(sub.raws, [ventFrame(sub.rand, 'threadMessage', '{"marker":1}')]);
    assert.equal((await c.ping('alive')).msg.msg, 'pong');
  });

  test('falsy numbers in other spellings (0.0, -0, 0e5, " null ") are not sent', async () => {
    const c = await connected();
    const t = uniq('fz2');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    for (const p of ['0.0', '-0', '0e5', ' null ', ' false', '"" ']) {
      await env.publish(threadChannel(t), p);
    }
    await env.publish(threadChannel(t), '{"marker":2}');
    await sub.waitEvents(1);
    assert.deepEqual(sub.events, [{marker: 2}], `raw frames: ${sub.raws.join(' | ')}`);
  });

  test('projection: only `fields` are sent; events without them send nothing', async () => {
    const c = await connected();
    const id = uniq('pj');
    const sub = c.subscribe('projected', [{id}]);
    await sub.ready();
    const ch = `p::${id}`;
    await env.publish(ch, '{"message":"hi","secret":"s3cr3t"}');
    await env.publish(ch, '{"other":1}'); // no `message` -> nothing
    await env.publish(ch, '7'); // not an object -> nothing
    await env.publish(ch, '{"message":0,"x":1}'); // falsy values inside are kept
    await env.publish(ch, '{"message":{"deep":[1,2]}}');
    const events = await sub.waitEvents(3);
    assert.deepEqual(events, [{message: 'hi'}, {message: 0}, {message: {deep: [1, 2]}}]);
    for (const raw of sub.raws) {
      assert.ok(raw.startsWith(`{"msg":"changed","__vent":"1","id":"${sub.rand}.projected","e":`), raw);
      assert.ok(!raw.includes('s3cr3t'));
    }
    // Bounded silence: a marker after more non-matching events.
    await env.publish(ch, '{"nope":true}');
    await env.publish(ch, '{"message":"end"}');
    await sub.waitEvents(4);
    assert.deepEqual(sub.events[3], {message: 'end'});
    assert.equal(sub.events.length, 4);
  });

  test('publication with several channels and no params ([rand] or [rand, {}])', async () => {
    const c = await connected();
    const s1 = c.subscribe('multi', []);
    const s2 = c.subscribe('multi', [{}]);
    await Promise.all([s1.ready(), s2.ready()]);
    await env.publish('m::a', '{"from":"a"}');
    await env.publish('m::b', '{"from":"b"}');
    for (const s of [s1, s2]) {
      const ev = await s.waitEvents(2);
      assert.deepEqual(ev.map((e) => e.from).sort(), ['a', 'b']);
    }
  });

  test('integer param builds the channel', async () => {
    const c = await connected();
    const n = 100000 + (process.pid % 100000);
    const sub = c.subscribe('numbered', [{n}]);
    await sub.ready();
    await env.publish(`n::${n}`, '{"n":true}');
    assert.deepEqual(await sub.waitEvents(1), [{n: true}]);
  });
});

describe('ready and delivery guarantees', () => {
  test('publish immediately on ready, 50 times: nothing lost', async () => {
    const c = await connected();
    for (let i = 0; i < 50; i++) {
      const t = uniq('rd');
      const sub = c.subscribe('threadMessage', [{threadId: t}]);
      await sub.ready();
      const receivers = await env.publish(threadChannel(t), `{"i":${i}}`);
      assert.ok(receivers >= 1, `iteration ${i}: Redis had ${receivers} receivers right after ready`);
      assert.deepEqual(await sub.waitEvents(1, {timeoutMs: 3000}), [{i}], `iteration ${i}`);
      await sub.stop();
    }
  });

  test('100-event burst arrives complete and in order', async () => {
    const c = await connected();
    const t = uniq('burst');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    await Promise.all(Array.from({length: 100}, (_, i) => env.publish(threadChannel(t), `{"seq":${i}}`)));
    const events = await sub.waitEvents(100, {timeoutMs: 10000});
    assert.deepEqual(events.map((e) => e.seq), Array.from({length: 100}, (_, i) => i));
  });

  test('two subs with the same publication+params on one connection: two frames, distinct ids', async () => {
    const c = await connected();
    const t = uniq('two');
    const a = c.subscribe('threadMessage', [{threadId: t}]);
    const b = c.subscribe('threadMessage', [{threadId: t}]);
    await Promise.all([a.ready(), b.ready()]);
    await env.publish(threadChannel(t), '{"x":1}');
    await Promise.all([a.waitEvents(1), b.waitEvents(1)]);
    assert.equal(a.raws[0], ventFrame(a.rand, 'threadMessage', '{"x":1}'));
    assert.equal(b.raws[0], ventFrame(b.rand, 'threadMessage', '{"x":1}'));
    assert.notEqual(a.raws[0], b.raws[0]);
    const frames = c.messages.filter((m) => m.raw.startsWith(VENT_PREFIX));
    assert.equal(frames.length, 2);
  });

  test('two connections each get their own frame', async () => {
    const c1 = await connected();
    const c2 = await connected();
    const t = uniq('conn');
    const a = c1.subscribe('threadMessage', [{threadId: t}]);
    const b = c2.subscribe('threadMessage', [{threadId: t}]);
    await Promise.all([a.ready(), b.ready()]);
    assert.equal(await env.publish(threadChannel(t), '{"y":2}'), 1, 'one shared Redis SUBSCRIBE per bridge');
    await Promise.all([a.waitEvents(1), b.waitEvents(1)]);
    assert.equal(a.raws[0], ventFrame(a.rand, 'threadMessage', '{"y":2}'));
    assert.equal(b.raws[0], ventFrame(b.rand, 'threadMessage', '{"y":2}'));
  });

  test('repeated sub with an active id is ignored (no second ready, no nosub)', async () => {
    const c = await connected();
    const t = uniq('dup');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    c.send({msg: 'sub', id: sub.id, name: 'threadMessage', params: sub.params()});
    const pong = await c.ping('after-dup');
    assert.equal(pong.raw, '{"msg":"pong","id":"after-dup"}');
    const readies = c.messages.filter((m) => m.msg.msg === 'ready' || m.msg.msg === 'nosub');
    assert.equal(readies.length, 1, readies.map((m) => m.raw).join(' | '));
    await env.publish(threadChannel(t), '{"once":1}');
    await env.publish(threadChannel(t), '{"once":2}');
    await sub.waitEvents(2);
    assert.equal(sub.events.length, 2, 'the duplicate sub must not double the frames');
  });
});

describe('unsub', () => {
  test('unsub -> nosub with same id, then silence (bounded by a marker on the same channel)', async () => {
    const c = await connected();
    const t = uniq('uns');
    const a = c.subscribe('threadMessage', [{threadId: t}]);
    const b = c.subscribe('threadMessage', [{threadId: t}]);
    await Promise.all([a.ready(), b.ready()]);
    await env.publish(threadChannel(t), '{"before":1}');
    await Promise.all([a.waitEvents(1), b.waitEvents(1)]);
    c.send({msg: 'unsub', id: a.id});
    const nosub = await c.take((m) => m.msg === 'nosub');
    assert.equal(nosub.raw, `{"msg":"nosub","id":"${a.id}"}`);
    const afterNosub = c.messages.length;
    await env.publish(threadChannel(t), '{"after":1}');
    await env.publish(threadChannel(t), '{"marker":1}');
    await b.waitEvents(3);
    assert.deepEqual(b.events, [{before: 1}, {after: 1}, {marker: 1}]);
    const late = c.messages.slice(afterNosub).filter((m) => m.raw.includes(`"${a.rand}.threadMessage"`));
    assert.deepEqual(late.map((m) => m.raw), [], 'frames for the stopped sub after its nosub');
  });

  test('unsub of the last sub of a channel, then publish + marker elsewhere: nothing for it', async () => {
    const c = await connected();
    const t = uniq('unsl');
    const m = uniq('mark');
    const a = c.subscribe('threadMessage', [{threadId: t}]);
    const marker = c.subscribe('threadMessage', [{threadId: m}]);
    await Promise.all([a.ready(), marker.ready()]);
    await a.stop();
    const at = c.messages.length;
    await env.publish(threadChannel(t), '{"ghost":1}');
    await env.publish(threadChannel(m), '{"marker":1}');
    await marker.waitEvents(1);
    assert.equal(a.events.length, 0);
    assert.deepEqual(c.messages.slice(at).map((x) => x.raw).filter((r) => r.includes('ghost')), []);
  });

  test('unsub of an unknown id -> nosub with that id', async () => {
    const c = await connected();
    c.send({msg: 'unsub', id: 'neverSubscribed01'});
    const r = await c.take((m) => m.msg === 'nosub');
    assert.equal(r.raw, '{"msg":"nosub","id":"neverSubscribed01"}');
  });

  test('sub again after unsub with the same id gets a fresh ready and events', async () => {
    const c = await connected();
    const t = uniq('resub');
    const id = randomId();
    const a = c.subscribe('threadMessage', [{threadId: t}], {id});
    await a.ready();
    await a.stop();
    const b = c.subscribe('threadMessage', [{threadId: t}], {id});
    await b.ready();
    await env.publish(threadChannel(t), '{"again":1}');
    assert.deepEqual(await b.waitEvents(1), [{again: 1}]);
  });
});

describe('refusals', () => {
  test('unknown publication -> nosub 404 with the exact Meteor.Error', async () => {
    const c = await connected();
    const sub = c.subscribe('nope', [{}]);
    const nosub = await sub.nosub();
    const expected = {msg: 'nosub', id: sub.id, error: meteorError(404, "Subscription 'nope' not found")};
    assert.equal(nosub.raw, JSON.stringify(expected));
  });

  const badParams = [
    ['channel separator', [{threadId: 'a::b'}]],
    ['wildcard', [{threadId: '*'}]],
    ['empty string', [{threadId: ''}]],
    ['10 KB string', [{threadId: 'x'.repeat(10 * 1024)}]],
    ['space', [{threadId: 'a b'}]],
    ['newline', [{threadId: 'a\nb'}]],
    ['number instead of string', [{threadId: 5}]],
    ['null', [{threadId: null}]],
    ['object', [{threadId: {$ne: 1}}]],
    ['missing param', [{}]],
    ['extra param', [{threadId: 'ok', other: 'x'}]],
    ['no args object', []],
    ['args not an object', ['ok']],
    ['two args objects', [{threadId: 'ok'}, {threadId: 'ok'}]],
  ];
  for (const [what, args] of badParams) {
    test(`bad params (${what}) -> nosub 400 Match failed`, async () => {
      const c = await connected();
      const sub = c.subscribe('threadMessage', args);
      const nosub = await sub.nosub();
      const expected = {msg: 'nosub', id: sub.id, error: meteorError(400, 'Match failed')};
      assert.equal(nosub.raw, JSON.stringify(expected));
      assert.equal((await c.ping('still')).msg.id, 'still');
    });
  }

  const badRand = [
    ['no params at all', undefined],
    ['empty params', []],
    ['rand not a string', [5, {threadId: 'ok'}]],
    ['rand empty', ['', {threadId: 'ok'}]],
    ['rand null', [null, {threadId: 'ok'}]],
  ];
  for (const [what, params] of badRand) {
    test(`params[0] invalid (${what}) -> nosub 400`, async () => {
      const c = await connected();
      const id = randomId();
      c.send(params === undefined ? {msg: 'sub', id, name: 'threadMessage'} :
        {msg: 'sub', id, name: 'threadMessage', params});
      const r = await c.take((m) => m.msg === 'nosub' && m.id === id);
      assert.equal(r.raw, JSON.stringify({msg: 'nosub', id, error: meteorError(400, 'Match failed')}));
    });
  }

  test('integer param refuses 1.5, "1", true', async () => {
    const c = await connected();
    for (const n of [1.5, '1', true]) {
      const sub = c.subscribe('numbered', [{n}]);
      const r = await sub.nosub();
      assert.equal(r.msg.error.error, 400, `n=${JSON.stringify(n)}: ${r.raw}`);
    }
  });

  test('multi (no params) refuses unexpected params', async () => {
    const c = await connected();
    const sub = c.subscribe('multi', [{x: 1}]);
    const r = await sub.nosub();
    assert.equal(r.raw, JSON.stringify({msg: 'nosub', id: sub.id, error: meteorError(400, 'Match failed')}));
  });

  test('a refused injection does not subscribe anything: publish to the would-be channel reaches nobody', async () => {
    const c = await connected();
    const sub = c.subscribe('threadMessage', [{threadId: 'zz::new_message::x'}]);
    await sub.nosub();
    assert.equal(await env.publish('threads::zz::new_message::x::new_message', '{"x":1}'), 0);
  });
});

describe('methods', () => {
  test('unknown method -> result 404 then updated', async () => {
    const c = await connected();
    c.send({msg: 'method', id: '1', method: 'x', params: []});
    const first = await c.next();
    const second = await c.next();
    assert.equal(first.raw, JSON.stringify({msg: 'result', id: '1', error: meteorError(404, "Method 'x' not found")}));
    assert.equal(second.raw, '{"msg":"updated","methods":["1"]}');
  });

  test('method with randomSeed and no params field', async () => {
    const c = await connected();
    c.send({msg: 'method', id: '7', method: 'vent_emit', randomSeed: 'Xy7'});
    const r = await c.take((m) => m.msg === 'result');
    assert.equal(r.msg.id, '7');
    assert.equal(r.msg.error.error, 404);
    await c.take((m) => m.msg === 'updated' && m.methods[0] === '7');
  });
});

describe('reconnect', () => {
  test('Meteor-style reconnect: same sub ids and session re-sent -> fresh ready, events resume with the same id', async () => {
    const c = await connected();
    const t = uniq('rc');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    await env.publish(threadChannel(t), '{"n":1}');
    await sub.waitEvents(1);
    const oldSession = c.session;
    await c.reconnect();
    assert.notEqual(c.session, oldSession, 'sessions are never resumed');
    await sub.ready();
    await env.publish(threadChannel(t), '{"n":2}');
    await sub.waitEvents(2);
    assert.equal(sub.raws[1], ventFrame(sub.rand, 'threadMessage', '{"n":2}'));
  });

  test('closing a connection releases its Redis subscription', async () => {
    const c = await connected();
    const t = uniq('rel');
    const sub = c.subscribe('threadMessage', [{threadId: t}]);
    await sub.ready();
    assert.equal(await env.publish(threadChannel(t), '{}'), 1);
    c.close();
    await c.closed();
    const {waitFor} = require('../../tests/js/lib/stack.js');
    await waitFor(async () => (await env.publish(threadChannel(t), '{}')) === 0,
        {what: 'bridge UNSUBSCRIBE after the last sub went away'});
  });
});
