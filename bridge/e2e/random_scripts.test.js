'use strict';
// Random pipelined scripts against the real vent-bridge and a real Redis
// (issue 10; the in-process model check is bridge/ddp_host_model_test.cc).
// Each round writes a random script — subs, unsubs, logins, logouts, pings,
// garbage — in ONE socket write on each of several connections, waits for
// the bridge to settle, then publishes one event on every channel and checks
// every connection against a small client-side model:
//  * an event arrives for an id iff the last word about it was `ready` and
//    its publication covers the channel — exactly once;
//  * the bridge's gauges equal the model's counts (ready subscriptions,
//    Redis channels), and drop to 0 when every connection is gone.
// The PRNG is seeded (VENT_E2E_SEED, default fixed) so a failure replays.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const {after, before, test} = require('node:test');

const stack = require('../../tests/js/lib/stack.js');
const {startBridgeEnv} = require('./lib/bridge.js');
const {FrameReader, textFrame, upgrade} = require('./lib/raw_socket.js');

const SECRET = 'random-scripts-secret';
const CONFIG = `publications:
  open:
    params: { room: { type: string, pattern: "^r[0-3]$" } }
    channels: ["rooms::{room}"]
    auth: public
  mine:
    channels: ["users::{userId}::events"]
    auth: user
  both:
    channels: ["m::a", "m::b"]
    auth: public
  mark:
    params: { c: { type: string } }
    channels: ["marker::{c}"]
    auth: public
`;
const CHANNELS = ['rooms::r0', 'rooms::r1', 'rooms::r2', 'rooms::r3', 'users::u1::events',
  'users::u2::events', 'm::a', 'm::b'];
const IDS = ['a', 'b', 'c', 'd', 'e'];
const MAX_SUBS = 5;  // the marker sub + 4 of the script

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-')
      .replace(/\//g, '_');
}
function jwt(sub) {
  const h = b64url(JSON.stringify({alg: 'HS256', typ: 'JWT'}));
  const p = b64url(JSON.stringify({sub, exp: Math.floor(Date.now() / 1000) + 3600}));
  return `${h}.${p}.${b64url(crypto.createHmac('sha256', SECRET).update(`${h}.${p}`).digest())}`;
}

// Mulberry32: small, seeded, good enough for choosing script steps.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// One connection and a reference model of its DDP session: the model
// replays each script message by message (the bridge handles them in order)
// and predicts every refusal, the user, and which subs end up live.
class Client {
  constructor(env, index) {
    this.env = env;
    this.index = index;
    this.subs = new Map();  // model: id -> {pub, room}, in start order
    this.user = '';
    this.lastWord = new Map();  // id -> 'ready' | 'nosub' (what the bridge said last)
    this.nextMethod = 0;
  }

  async open() {
    const {sock, rest} = await upgrade(this.env.port, '/websocket');
    this.sock = sock;
    this.reader = new FrameReader(sock, rest);
    this.marker = `m${this.index}`;
    this.write([{msg: 'connect', version: '1', support: ['1']},
      {msg: 'sub', id: 'marker', name: 'mark', params: ['rm', {c: this.marker}]}]);
    await this.reader.ddp((m) => m.msg === 'ready' && m.subs.includes('marker'),
        {what: 'marker ready'});
  }

  write(msgs) {
    this.sock.write(Buffer.concat(msgs.map((m) => textFrame(
        typeof m === 'string' ? m : JSON.stringify(m)))));
  }

  channelsOf(s) {
    if (s.pub === 'open') return [`rooms::${s.room}`];
    if (s.pub === 'mine') return [`users::${this.user}::events`];
    if (s.pub === 'both') return ['m::a', 'm::b'];
    return [];
  }

  // Meteor re-runs every sub after the user changes; `mine` needs a user.
  // Every sub that survives gets a new `ready` after the method's result —
  // at once, or once Redis confirms a channel the re-run added — so settle()
  // waits for it (this.readyAfter: id -> method id).
  rerun(mid) {
    for (const [id, s] of [...this.subs]) {
      if (s.pub === 'mine' && !this.user) {
        this.subs.delete(id);
        this.readyAfter.delete(id);
        this.expected.push(`${id}:nosub403`);
      } else {
        this.readyAfter.set(id, mid);
      }
    }
  }

  // A random script of `n` messages, run through the model as it is built:
  // this.expected lists the refusals (id:nosubCODE) in order.
  script(rand, n) {
    const msgs = [];
    this.expected = [];
    this.readyAfter = new Map();
    for (let i = 0; i < n; i++) {
      const id = IDS[Math.floor(rand() * IDS.length)];
      const r = rand();
      if (r < 0.45) {
        const pub = ['open', 'open', 'mine', 'both', 'nope'][Math.floor(rand() * 5)];
        const room = ['r0', 'r1', 'r2', 'r3', 'BAD'][Math.floor(rand() * 5)];
        msgs.push({msg: 'sub', id, name: pub,
          params: [`r${id}`, ...(pub === 'open' ? [{room}] : [])]});
        if (this.subs.has(id)) continue;  // an active id: ignored
        if (this.subs.size + 1 >= MAX_SUBS) this.expected.push(`${id}:nosub429`);
        else if (pub === 'nope') this.expected.push(`${id}:nosub404`);
        else if (pub === 'open' && room === 'BAD') this.expected.push(`${id}:nosub400`);
        else if (pub === 'mine' && !this.user) this.expected.push(`${id}:nosub403`);
        else {
          this.subs.set(id, {pub, room});
          this.readyAfter.delete(id);
        }
      } else if (r < 0.65) {
        msgs.push({msg: 'unsub', id});
        this.subs.delete(id);
        this.readyAfter.delete(id);
      } else if (r < 0.78) {
        const mid = `L${this.nextMethod++}`;
        const user = rand() < 0.5 ? 'u1' : 'u2';
        const good = rand() < 0.8;
        msgs.push({msg: 'method', id: mid, method: 'login',
          params: [{resume: good ? jwt(user) : 'bad.token.x'}]});
        if (good) {
          this.user = user;
          this.rerun(mid);
        }
      } else if (r < 0.86) {
        const mid = `O${this.nextMethod++}`;
        msgs.push({msg: 'method', id: mid, method: 'logout', params: []});
        if (this.user) {
          this.user = '';
          this.rerun(mid);
        }
      } else if (r < 0.93) {
        msgs.push({msg: 'ping', id: `p${i}`});
      } else {
        msgs.push(['{oops', '{"msg":"sub","id":5}', '{"msg":"unsub"}',
          '{"msg":"method","id":"x","method":"nope","params":[]}'][Math.floor(rand() * 4)]);
      }
    }
    return msgs;
  }

  // Reads until the script's pong and a `ready` as the last word of every
  // live sub; checks the refusals against the model.
  async settle(what) {
    const refusals = [];
    const results = new Set();  // method ids answered so far
    const rerunReady = new Set();  // ids with a ready after their re-run's result
    let sawEnd = false;
    const deadline = Date.now() + 8000;
    for (;;) {
      while (this.reader.frames.length) {
        const f = this.reader.frames.shift();
        if (f.opcode !== 1) continue;
        const m = JSON.parse(f.text);
        if (m.msg === 'changed') throw new Error(`c${this.index}: event while settling: ${f.text}`);
        if (m.msg === 'result') results.add(m.id);
        if (m.msg === 'ready') {
          for (const id of m.subs) {
            this.lastWord.set(id, 'ready');
            if (results.has(this.readyAfter.get(id))) rerunReady.add(id);
          }
        }
        if (m.msg === 'nosub' && m.id) {
          this.lastWord.set(m.id, 'nosub');
          if (m.error) refusals.push(`${m.id}:nosub${m.error.error}`);
        }
        if (m.msg === 'pong' && m.id === 'end') sawEnd = true;
      }
      const waiting = [...this.subs.keys()].some((id) => this.lastWord.get(id) !== 'ready' ||
          (this.readyAfter.has(id) && !rerunReady.has(id)));
      if (sawEnd && !waiting) break;
      if (Date.now() > deadline) {
        throw new Error(`c${this.index}: did not settle (${what}); model ${
          JSON.stringify([...this.subs])}, last words ${JSON.stringify([...this.lastWord])}`);
      }
      const f = await this.reader.take(() => true, {timeoutMs: Math.max(1, deadline - Date.now()),
        what: `c${this.index} settling`});
      this.reader.frames.unshift(f);
    }
    assert.deepEqual(refusals, this.expected, `c${this.index} refusals (${what})`);
    for (const id of IDS) {
      assert.equal(this.lastWord.get(id) === 'ready', this.subs.has(id),
          `c${this.index}/${id}: last word ${this.lastWord.get(id)} vs model (${what})`);
    }
  }
}

let env;
before(async () => {
  env = await startBridgeEnv({config: CONFIG, workers: 1, bridgeArgs: [
    '--jwt-hs256-secret', SECRET, '--max-subscriptions', String(MAX_SUBS)]});
});
after(async () => { if (env) await env.stop(); });

test('random pipelined scripts keep the client model and the gauges true', async () => {
  const seed = Number(process.env.VENT_E2E_SEED || 20261203);
  const rand = prng(seed);
  const clients = [];
  for (let i = 0; i < 4; i++) {
    const c = new Client(env, i);
    await c.open();
    clients.push(c);
  }
  let checkedEvents = 0;
  for (let round = 0; round < 25; round++) {
    for (const c of clients) {
      c.write([...c.script(rand, 1 + Math.floor(rand() * 12)), {msg: 'ping', id: 'end'}]);
    }
    for (const c of clients) await c.settle(`seed ${seed} round ${round}`);
    // One event per channel, then each connection's marker.
    const k = `${round}`;
    await env.publishMany(CHANNELS.map((ch) => [ch, JSON.stringify({k, ch})]));
    await env.publishMany(clients.map((c) => [`marker::${c.marker}`, JSON.stringify({k})]));
    for (const c of clients) {
      const markerPrefix = `{"msg":"changed","__vent":"1","id":"rm.mark","e":{"k":"${k}"}`;
      await c.reader.take((f) => f.text.startsWith(markerPrefix),
          {what: `c${c.index} marker ${k}`});
      const got = new Map();  // "id ch" -> count
      for (const f of c.reader.frames.splice(0)) {
        if (f.opcode !== 1) continue;
        const m = JSON.parse(f.text);
        if (m.msg !== 'changed') throw new Error(`unexpected ${f.text}`);
        const id = m.id.split('.')[0].slice(1);  // rand is "r<id>"
        const key = `${id} ${m.e.ch}`;
        got.set(key, (got.get(key) || 0) + 1);
      }
      const want = new Map();
      for (const [id, s] of c.subs) {
        for (const ch of c.channelsOf(s)) want.set(`${id} ${ch}`, 1);
      }
      assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()),
          `seed ${seed} round ${round} c${c.index}`);
      checkedEvents += want.size;
    }
    const ready = clients.reduce((n, c) => n + c.subs.size + 1, 0);  // +1: marker
    assert.equal(await env.metric('vent_bridge_subscriptions'), ready, `round ${round}`);
    const channels = new Set(clients.map((c) => `marker::${c.marker}`));
    for (const c of clients) {
      for (const s of c.subs.values()) for (const ch of c.channelsOf(s)) channels.add(ch);
    }
    assert.equal(await env.metric('vent_bridge_redis_channels'), channels.size, `round ${round}`);
  }
  assert.ok(checkedEvents > 50, `only ${checkedEvents} expected deliveries were checked`);
  for (const c of clients) c.sock.destroy();
  await stack.waitFor(async () => (await env.metric('vent_bridge_subscriptions')) === 0 &&
      (await env.metric('vent_bridge_redis_channels')) === 0 &&
      (await env.metric('vent_bridge_connections')) === 0, {what: 'everything released'});
});
