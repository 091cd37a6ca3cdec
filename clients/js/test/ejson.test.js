// EJSON in events (src/ejson.js): decoded like Meteor's client for $date,
// $binary and $escape; other forms and near-misses left as they are; off with
// {ejson: false}; events without `"$` are not walked. Unit (fake socket) and
// the sockJsWebSocket URL mapping.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';

import { VentClient, sockJsWebSocket } from '../src/index.js';
import { ejsonDecode, mayHaveEjson } from '../src/ejson.js';

import { FakeSocket, fresh, last } from './lib/fake.js';

const require = createRequire(import.meta.url);
const EJSON = require('ejson'); // Meteor's EJSON, as redis-oplog's Vent.emit uses it

test('decodes what Meteor EJSON.stringify writes: Date, Uint8Array, $escape', () => {
  const when = new Date(1700000000123);
  const bytes = new Uint8Array([0, 1, 254, 255]);
  const text = EJSON.stringify({ when, bytes, nested: [{ at: when }], lit: { $date: 'not a date key' } });
  const back = ejsonDecode(JSON.parse(text));
  assert.ok(back.when instanceof Date);
  assert.equal(back.when.getTime(), when.getTime());
  assert.ok(back.bytes instanceof Uint8Array);
  assert.deepEqual([...back.bytes], [0, 1, 254, 255]);
  assert.equal(back.nested[0].at.getTime(), when.getTime());
  // EJSON escapes an object that looks like a special form.
  assert.deepEqual(back.lit, { $date: 'not a date key' });
  assert.deepEqual(back, EJSON.parse(text));
});

test('other forms and near-misses are left as they are', () => {
  const v = ejsonDecode(JSON.parse(
    '{"a":{"$InfNaN":1},"b":{"$type":"Money","$value":{"c":1}},"c":{"$regexp":"x","$flags":"g"},' +
    '"d":{"$date":1,"x":2},"e":{"$date":"2020-01-01"},"f":{"$binary":5},"g":[1,"$date",null]}'));
  assert.deepEqual(v, {
    a: { $InfNaN: 1 }, b: { $type: 'Money', $value: { c: 1 } }, c: { $regexp: 'x', $flags: 'g' },
    d: { $date: 1, x: 2 }, e: { $date: '2020-01-01' }, f: { $binary: 5 }, g: [1, '$date', null],
  });
  assert.equal(ejsonDecode(null), null);
  assert.equal(ejsonDecode(5), 5);
  assert.ok(ejsonDecode({ $date: 0 }) instanceof Date);
});

test('VentClient decodes events unless {ejson: false}; no "$" means no walk', () => {
  for (const ejson of [true, false]) {
    fresh();
    const vent = new VentClient('ws://h/websocket', { WebSocket: FakeSocket, heartbeatMs: 0, ejson });
    const s = vent.subscribe('p', {});
    const ws = last();
    ws.handshake();
    ws.recv({ msg: 'ready', subs: [s.id] });
    const got = [];
    s.listen((e) => got.push(e));
    ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":{"at":{"$date":5},"b":{"$binary":"AQI="}}}`);
    ws.recv(`{"msg":"changed","__vent":"1","id":"${s.rand}.p","e":{"plain":1}}`);
    if (ejson) {
      assert.ok(got[0].at instanceof Date && got[0].at.getTime() === 5);
      assert.deepEqual([...got[0].b], [1, 2]);
    } else {
      assert.deepEqual(got[0], { at: { $date: 5 }, b: { $binary: 'AQI=' } });
    }
    assert.deepEqual(got[1], { plain: 1 });
    vent.close();
  }
  const prefix = '{"msg":"changed","__vent":"1","id":"r.p","e":';
  assert.equal(mayHaveEjson(`${prefix}{"a":1}}`), false);
  assert.equal(mayHaveEjson(`${prefix}{"a":{"$date":1}}}`), true);
});

test('sockJsWebSocket maps the VentClient URL to SockJS\'s base URL', () => {
  const made = [];
  class FakeSockJS { constructor(url, protocols, options) { made.push({ url, protocols, options }); } }
  const Ctor = sockJsWebSocket(FakeSockJS, { transports: ['xhr-polling'] });
  new Ctor('ws://h:3000/websocket');
  new Ctor('wss://example.com/websocket?token=x');
  new Ctor('https://example.com:8443/');
  assert.deepEqual(made.map((m) => m.url), ['http://h:3000/sockjs', 'https://example.com/sockjs',
    'https://example.com:8443/sockjs']);
  assert.deepEqual(made[0].options, { transports: ['xhr-polling'] });
  assert.throws(() => sockJsWebSocket(null));
  assert.throws(() => new Ctor('nope'));
});
