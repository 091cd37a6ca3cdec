'use strict';
// Server-side listeners with history (docs/history.md), from Node and Python:
// real redis-server + vent-server started with a publications config, the
// clients/node VentClient (@grpc/grpc-js) and the clients/python VentClient
// (Debian's python3-grpcio). A consumer that restarts resumes from its last
// position and gets exactly the missed events; a window exceeded and a Redis
// restarted without persistence are answered recovered:false, then live
// events flow; a bad position is INVALID_ARGUMENT.
// Run: VENT_BIN_DIR=build/bin node --test tests/emit/history_subscribe.test.js

const {describe, it, before, after} = require('node:test');
const assert = require('node:assert/strict');
const {execFile} = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const stack = require('../js/lib/stack');
const {VentClient, status} = require(path.join(__dirname, '..', '..', 'clients', 'node', 'vent-client'));

const CONFIG = `
publications:
  orders:
    params: { id: { type: string } }
    channels: ["orders::{id}"]
    auth: public
    history: { size: 100, ttl: 10m }
  tiny:
    params: { id: { type: string } }
    channels: ["tiny::{id}"]
    auth: public
    history: { size: 3, ttl: 10m }
`;

// A consumer: subscribes (optionally since a position), collects events.
function consume(client, channels, since) {
  const got = [];
  let wake = null;
  const sub = client.subscribe(channels, (e) => {
    got.push(e);
    if (wake) wake();
  }, {since});
  return {
    sub,
    got,
    async until(n, timeoutMs = 10000) {
      const deadline = Date.now() + timeoutMs;
      while (got.length < n) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`${got.length} of ${n} events after ${timeoutMs} ms`);
        await new Promise((resolve) => {
          wake = resolve;
          setTimeout(resolve, Math.min(left, 200));
        });
      }
      return got;
    },
  };
}

async function emitRange(client, channel, from, to) {
  for (let i = from; i <= to; i++) await client.emit(channel, {i});
}

function runPython(script, args) {
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/python3', ['-c', script, ...args], {
      env: {...process.env, PYTHONPATH: path.join(__dirname, '..', '..', 'clients', 'python')},
      timeout: 60000,
    }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
}

describe('Subscribe with history', {timeout: 180000}, () => {
  let vent;
  let client;
  let dir;
  before(async () => {
    dir = fs.mkdtempSync('/tmp/vent-history-sub-');
    fs.writeFileSync(path.join(dir, 'vent.yaml'), CONFIG);
    vent = await stack.startVentServer({extraArgs: ['--config', path.join(dir, 'vent.yaml')]});
    client = new VentClient(vent.grpcAddress);
  });
  after(async () => {
    if (client) client.close();
    if (vent) await vent.stop();
    if (dir) fs.rmSync(dir, {recursive: true, force: true});
  });

  it('a restarted Node consumer gets exactly the missed events, then live ones', async () => {
    const ch = 'orders::n';
    const a = consume(client, [ch]);
    const starts = await a.sub.ready;
    assert.equal(starts.length, 1);
    assert.equal(starts[0].channel, ch);
    assert.equal(starts[0].offset, 0);
    await emitRange(client, ch, 1, 5);
    await a.until(5);
    assert.deepEqual(a.got.map((e) => JSON.parse(e.json).i), [1, 2, 3, 4, 5], 'events, not envelopes');
    assert.deepEqual(a.got.map((e) => e.offset), [1, 2, 3, 4, 5]);
    const last = a.got[4];
    a.sub.cancel();
    await a.sub.done;
    await emitRange(client, ch, 6, 15); // missed
    const b = consume(client, [ch], [{channel: ch, offset: last.offset, epoch: last.epoch}]);
    const again = await b.sub.ready;
    assert.deepEqual(again, [{channel: ch, offset: 5, epoch: last.epoch, recovered: true, reason: ''}]);
    await emitRange(client, ch, 16, 17); // live
    await b.until(12);
    assert.deepEqual(b.got.map((e) => JSON.parse(e.json).i), Array.from({length: 12}, (_, k) => k + 6));
    assert.deepEqual(b.got.map((e) => e.offset), Array.from({length: 12}, (_, k) => k + 6));
    b.sub.cancel();
  });

  it('a restarted Python consumer resumes the same way', async () => {
    const ch = 'orders::py';
    await emitRange(client, ch, 1, 3);
    const script = `
import json, sys
from vent_client import VentClient
addr, ch, offset, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with VentClient(addr) as vent:
    since = [(ch, offset, epoch)] if epoch else []
    with vent.subscribe([ch], since=since) as sub:
        sub.wait_ready(timeout=10)
        got = [sub.get(timeout=10) for _ in range(int(sys.argv[5]))]
        print(json.dumps({"starts": [s._asdict() for s in sub.starts],
                          "events": [[json.loads(e.json)["i"], e.offset, e.epoch] for e in got]}))
`;
    const first = JSON.parse(await runPython(script, [vent.grpcAddress, ch, '0', '', '0']));
    assert.equal(first.starts[0].offset, 3);
    const epoch = first.starts[0].epoch;
    assert.ok(epoch.length > 0);
    const out = JSON.parse(await runPython(script, [vent.grpcAddress, ch, '1', epoch, '2']));
    assert.deepEqual(out.starts, [{channel: ch, offset: 1, epoch, recovered: true, reason: ''}]);
    assert.deepEqual(out.events, [[2, 2, epoch], [3, 3, epoch]]);
  });

  it('a window exceeded: recovered:false with the reason, then live events', async () => {
    const ch = 'tiny::w';
    await emitRange(client, ch, 1, 1);
    const a = consume(client, [ch], [{channel: ch, offset: 0, epoch: ''}]);
    assert.equal((await a.sub.ready)[0].recovered, true);
    await a.until(1);
    const pos = a.got[0];
    a.sub.cancel();
    await emitRange(client, ch, 2, 10); // 9 missed, 3 kept
    const b = consume(client, [ch], [pos]);
    const [start] = await b.sub.ready;
    assert.equal(start.recovered, false);
    assert.match(start.reason, /^window exceeded/);
    assert.equal(start.offset, 10);
    await emitRange(client, ch, 11, 11);
    await b.until(1);
    assert.deepEqual(b.got.map((e) => [JSON.parse(e.json).i, e.offset]), [[11, 11]], 'nothing partial replayed');
    b.sub.cancel();
  });

  it('a bad position is INVALID_ARGUMENT, naming it', async () => {
    const c = consume(client, ['orders::bad'], [{channel: 'orders::other', offset: 1, epoch: 'e'}]);
    await assert.rejects(c.sub.ready, (err) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, /^since\[0\]\.channel: "orders::other" is not one of the call's channels/);
      return true;
    });
  });

  it('Redis restarted without persistence: epoch changed, recovered:false, then live', async () => {
    const ch = 'orders::r';
    const a = consume(client, [ch]);
    await a.sub.ready;
    await emitRange(client, ch, 1, 2);
    await a.until(2);
    const pos = a.got[1];
    await vent.redis.restart(); // --save '' --appendonly no: everything is gone
    await assert.rejects(a.sub.done, (err) => err.code === status.UNAVAILABLE);
    // vent-server reconnects: emit until one is accepted.
    let i = 2;
    await stack.waitFor(async () => {
      try {
        await client.emit(ch, {i: i + 1});
        i++;
        return true;
      } catch (_) {
        return false;
      }
    }, {timeoutMs: 30000, intervalMs: 100, what: 'an emit after the Redis restart'});
    // A Subscribe may be refused UNAVAILABLE until the history connection is back.
    let b;
    let start;
    await stack.waitFor(async () => {
      b = consume(client, [ch], [pos]);
      try {
        [start] = await b.sub.ready;
        return true;
      } catch (e) {
        if (e.code !== status.UNAVAILABLE) throw e;
        return false;
      }
    }, {timeoutMs: 30000, intervalMs: 100, what: 'a Subscribe after the Redis restart'});
    assert.equal(start.recovered, false);
    assert.match(start.reason, /^epoch changed/);
    assert.notEqual(start.epoch, pos.epoch);
    assert.equal(start.offset, 1);
    await emitRange(client, ch, i + 1, i + 1);
    await b.until(1);
    assert.deepEqual(b.got.map((e) => [JSON.parse(e.json).i, e.offset, e.epoch]), [[i + 1, 2, start.epoch]]);
    b.sub.cancel();
  });
});
