'use strict';
// SockJS's HTTP fallback transports (bridge/sockjs_session.h), for Meteor
// clients whose proxy blocks WebSockets. With the real `sockjs-client` npm
// package forced onto each transport in turn (xhr-streaming, xhr-polling,
// eventsource): open, DDP handshake, subscribe, Vent frames byte for byte,
// a burst larger than one streaming response, disconnect. Raw HTTP for the
// rest: htmlfile's page, the one-receiver rule, xhr_send errors, CORS,
// slow clients (a stream that is not read, a poller that stops polling),
// the session limit and the idle timeout. Two workers: sessions live on the
// worker their id hashes to, so most requests are moved between workers.

const assert = require('node:assert/strict');
const {after, before, describe, test} = require('node:test');

const https = require('node:https');

const {makeTestCert, startBridgeEnv} = require('./lib/bridge.js');
const {randomId} = require('./lib/meteor_client.js');
const {SockJsDdp, rawReceiver, request, xhrSend} = require('./lib/sockjs_ddp.js');
const {waitFor} = require('../../tests/js/lib/stack.js');

let env;
const clients = [];
const sockets = [];
function client(transport, base = env.base) {
  const c = new SockJsDdp(base, {transport});
  clients.push(c);
  return c;
}
const vent = (rand, pub, e) => `{"msg":"changed","__vent":"1","id":"${rand}.${pub}","e":${e}}`;
const sessionsGauge = () => env.metric('vent_bridge_sockjs_sessions');
// The body of a chunked HTTP/1.1 response received so far (complete chunks).
function dechunk(text) {
  let at = text.indexOf('\r\n\r\n');
  if (at < 0) return '';
  at += 4;
  let body = '';
  for (;;) {
    const eol = text.indexOf('\r\n', at);
    if (eol < 0) return body;
    const size = parseInt(text.slice(at, eol), 16);
    if (!(size > 0) || text.length < eol + 2 + size) return body;
    body += text.slice(eol + 2, eol + 2 + size);
    at = eol + 4 + size;
  }
}

before(async () => {
  env = await startBridgeEnv({workers: 2, bridgeArgs: ['--max-outgoing', '256KiB',
    '--sockjs-response-limit', '16KiB']});
});
after(async () => {
  for (const c of clients) c.close();
  for (const s of sockets) s.destroy();
  if (env) await env.stop();
});

for (const transport of ['xhr-streaming', 'xhr-polling', 'eventsource']) {
  describe(`sockjs-client forced onto ${transport}`, () => {
    test('DDP handshake, subscribe, Vent frames byte-exact, ping, disconnect', async () => {
      const c = client(transport);
      const connected = await c.connect();
      assert.equal(c.sock.transport, transport);
      assert.match(connected.raw, /^\{"msg":"connected","session":"[A-Za-z0-9]{17}"\}$/);
      const t = `sj${randomId(8)}`;
      const sub = c.subscribe('threadMessage', [{threadId: t}]);
      const ready = await sub.ready();
      assert.equal(ready.raw, `{"msg":"ready","subs":["${sub.id}"]}`);
      const payloads = ['{"text":"Hello!"}', '{"u":"\u2028é\\u0000\\n"}', '[1, 2 ,3]', '"\ud83d\ude00"'];
      for (const p of payloads) await env.publish(`threads::${t}::new_message`, p);
      for (const p of payloads) {
        const m = await c.take((x, raw) => raw.startsWith('{"msg":"changed"'), {what: 'event'});
        assert.equal(m.raw, vent(sub.rand, 'threadMessage', p));
      }
      c.send({msg: 'ping', id: 'p1'});
      assert.equal((await c.take((m) => m.msg === 'pong')).raw, '{"msg":"pong","id":"p1"}');
      assert.ok(await sessionsGauge() >= 1);
      const before = await sessionsGauge();
      c.close();
      await c.closed();
      // The session ends (the receiving request was aborted, or it times out).
      await waitFor(async () => (await sessionsGauge()) < before, {what: 'session gone', timeoutMs: 40000});
    });

    test('a burst larger than one streaming response arrives complete and in order', async () => {
      const c = client(transport);
      await c.connect();
      const t = `burst${randomId(8)}`;
      const sub = c.subscribe('threadMessage', [{threadId: t}]);
      await sub.ready();
      const pad = 'p'.repeat(1000);
      const n = 200; // ~200 KB: 12+ streaming responses at --sockjs-response-limit 16KiB
      await env.publishMany(Array.from({length: n}, (_, i) => [`threads::${t}::new_message`,
        `{"seq":${i},"pad":"${pad}"}`]));
      const seqs = [];
      while (seqs.length < n) {
        const m = await c.take((x, raw) => raw.startsWith('{"msg":"changed"'), {what: `event ${seqs.length}`});
        seqs.push(m.msg.e.seq);
      }
      assert.deepEqual(seqs, Array.from({length: n}, (_, i) => i));
    });
  });
}

describe('raw HTTP', () => {
  test('xhr-polling: "o" first, then one a[...] per poll; xhr_send 204; CORS headers', async () => {
    const sid = randomId(8);
    const first = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`, {headers: {Origin: 'https://app.example'}});
    assert.equal(first.status, 200);
    assert.equal(first.body, 'o\n');
    assert.equal(first.headers['content-type'], 'application/javascript; charset=UTF-8');
    assert.equal(first.headers['access-control-allow-origin'], 'https://app.example');
    assert.equal(first.headers['access-control-allow-credentials'], 'true');
    assert.match(first.headers['cache-control'], /no-store/);
    const send = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr_send`,
        {body: JSON.stringify([JSON.stringify({msg: 'connect', version: '1', support: ['1']}),
          JSON.stringify({msg: 'ping', id: 'x'})])});
    assert.equal(send.status, 204);
    assert.equal(send.body, '');
    const poll = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`);
    assert.match(poll.body, /^a\["\{\\"msg\\":\\"connected\\",\\"session\\":\\"[A-Za-z0-9]{17}\\"\}","\{\\"msg\\":\\"pong\\",\\"id\\":\\"x\\"\}"\]\n$/);
    const pre = await request(env.port, 'OPTIONS', `/sockjs/000/${sid}/xhr_send`,
        {headers: {Origin: 'https://app.example', 'Access-Control-Request-Headers': 'content-type'}});
    assert.equal(pre.status, 204);
    assert.equal(pre.headers['access-control-allow-methods'], 'OPTIONS, POST');
    assert.equal(pre.headers['access-control-allow-headers'], 'content-type');
    assert.ok(pre.headers['access-control-max-age']);
  });

  test('xhr_send: unknown session 404, empty 500 "Payload expected.", broken 500 "Broken JSON encoding."', async () => {
    assert.equal((await request(env.port, 'POST', `/sockjs/000/${randomId(8)}/xhr_send`, {body: '["x"]'})).status, 404);
    const sid = randomId(8);
    await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`);
    const empty = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr_send`, {body: ''});
    assert.deepEqual([empty.status, empty.body], [500, 'Payload expected.']);
    const broken = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr_send`, {body: '[oops'});
    assert.deepEqual([broken.status, broken.body], [500, 'Broken JSON encoding.']);
    assert.equal((await request(env.port, 'GET', `/sockjs/000/${sid}/xhr_send`)).status, 405);
  });

  test('htmlfile: callback page padded past 1 KiB, frames as <script>p("...")</script>', async () => {
    assert.equal((await request(env.port, 'GET', `/sockjs/000/${randomId(8)}/htmlfile`)).status, 500);
    assert.equal((await request(env.port, 'GET', `/sockjs/000/${randomId(8)}/htmlfile?c=a(b)`)).status, 500);
    const sid = randomId(8);
    const r = await rawReceiver(env.port, 'GET', `/sockjs/000/${sid}/htmlfile?c=_jp.a1`);
    sockets.push(r.sock);
    await waitFor(() => r.text().includes('p("o");'), {what: 'open frame', timeoutMs: 5000});
    const text = r.text();
    assert.match(text, /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(text, /Content-Type: text\/html; charset=UTF-8\r\n/);
    assert.match(text, /Transfer-Encoding: chunked\r\n/);
    assert.ok(text.includes('var c = parent._jp.a1;'));
    assert.ok(text.includes('<script>\np("o");\n</script>\r\n'));
    assert.equal(await xhrSend(env.port, '000', sid, [{msg: 'connect', version: '1', support: ['1']}]), 204);
    await waitFor(() => r.text().includes('p("a[\\"{\\\\\\"msg\\\\\\":\\\\\\"connected'),
        {what: 'connected frame', timeoutMs: 5000});
  });

  test('eventsource: data: frames; a second receiver gets c[2010,"Another connection still open"]', async () => {
    const sid = randomId(8);
    const r = await rawReceiver(env.port, 'GET', `/sockjs/000/${sid}/eventsource`);
    sockets.push(r.sock);
    await waitFor(() => r.text().includes('data: o\r\n\r\n'), {what: 'open', timeoutMs: 5000});
    assert.match(r.text(), /Content-Type: text\/event-stream\r\n/);
    const second = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr_streaming`);
    assert.equal(second.status, 200);
    assert.equal(second.body, `${'h'.repeat(2048)}\nc[2010,"Another connection still open"]\n`);
    // The first one still works.
    assert.equal(await xhrSend(env.port, '000', sid, [{msg: 'connect', version: '1', support: ['1']}]), 204);
    await waitFor(() => r.text().includes('connected'), {what: 'connected on the first receiver', timeoutMs: 5000});
  });

  test('a stream that is not read: slow client closed (4008 counted), its session gone, a reader gets every event', async () => {
    const t = `slow${randomId(8)}`;
    const good = client('xhr-streaming');
    await good.connect();
    const goodSub = good.subscribe('threadMessage', [{threadId: t}]);
    await goodSub.ready();
    const sid = randomId(8);
    const r = await rawReceiver(env.port, 'POST', `/sockjs/000/${sid}/xhr_streaming`);
    sockets.push(r.sock);
    await waitFor(() => r.text().includes('\no\n'), {what: 'open', timeoutMs: 5000});
    assert.equal(await xhrSend(env.port, '000', sid, [{msg: 'connect', version: '1', support: ['1']},
      {msg: 'sub', id: 's1', name: 'threadMessage', params: ['rs1', {threadId: t}]}]), 204);
    await waitFor(() => r.text().includes('\\"subs\\":[\\"s1\\"]'), {what: 'slow client ready', timeoutMs: 5000});
    r.sock.pause();
    const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
    const pad = 'z'.repeat(8 * 1024);
    let sent = 0;
    while (sent < 4000) {
      await env.publishMany(Array.from({length: 16}, () => [`threads::${t}::new_message`, `{"seq":${sent++},"pad":"${pad}"}`]));
      if ((await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore) break;
      await waitFor(() => good.messages.length >= sent - 200, {what: 'reader keeping up', timeoutMs: 20000});
    }
    assert.equal(await env.metric('vent_bridge_closed_total{reason="slow_client"}'), slowBefore + 1);
    // The session lingers (2 s at most) for a receiver to take its close
    // frame; nobody reads, so it goes.
    await waitFor(async () => (await xhrSend(env.port, '000', sid, [{msg: 'ping'}])) === 404,
        {what: 'the slow session gone', timeoutMs: 10000});
    const seqs = [];
    while (seqs.length < sent) {
      const m = await good.take((x, raw) => raw.startsWith('{"msg":"changed"'), {what: `event ${seqs.length}`, timeoutMs: 30000});
      seqs.push(m.msg.e.seq);
    }
    assert.deepEqual(seqs, Array.from({length: sent}, (_, i) => i));
  });

  test('a poller that stops polling is closed at --max-outgoing (4008 counted)', async () => {
    const t = `stop${randomId(8)}`;
    const sid = randomId(8);
    assert.equal((await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`)).body, 'o\n');
    assert.equal(await xhrSend(env.port, '000', sid, [{msg: 'connect', version: '1', support: ['1']},
      {msg: 'sub', id: 's1', name: 'threadMessage', params: ['rs1', {threadId: t}]}]), 204);
    const got = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`);
    assert.match(got.body, /connected/);
    if (!got.body.includes('\\"subs\\":[\\"s1\\"]')) {
      assert.match((await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`)).body, /subs/);
    }
    const slowBefore = await env.metric('vent_bridge_closed_total{reason="slow_client"}');
    const pad = 'q'.repeat(8 * 1024);
    // 256 KiB budget: 40 events of 8 KiB are over it.
    await env.publishMany(Array.from({length: 40}, (_, i) => [`threads::${t}::new_message`, `{"i":${i},"pad":"${pad}"}`]));
    await waitFor(async () => (await env.metric('vent_bridge_closed_total{reason="slow_client"}')) > slowBefore,
        {what: 'slow close', timeoutMs: 10000});
    // Its next poll gets the close frame, then the session is gone.
    const last = await request(env.port, 'POST', `/sockjs/000/${sid}/xhr`);
    assert.equal(last.body, 'c[4008,"slow client"]\n');
  });
});

describe('heartbeat and TLS', () => {
  test('--sockjs-heartbeat: "h" on an idle stream; an idle poll is answered with "h"', async () => {
    const own = await startBridgeEnv({redis: env.redis, workers: 2, bridgeArgs: ['--sockjs-heartbeat', '300ms']});
    try {
      const sid = randomId(8);
      const r = await rawReceiver(own.port, 'POST', `/sockjs/0/${sid}/xhr_streaming`);
      sockets.push(r.sock);
      // After the prelude (2048 'h' + newline) and the open frame: heartbeats.
      await waitFor(() => dechunk(r.text()).endsWith(`${'h'.repeat(2048)}\no\nh\nh\n`),
          {what: 'two h frames', timeoutMs: 10000});
      const pid = randomId(8);
      assert.equal((await request(own.port, 'POST', `/sockjs/0/${pid}/xhr`)).body, 'o\n');
      assert.equal((await request(own.port, 'POST', `/sockjs/0/${pid}/xhr`)).body, 'h\n');
    } finally {
      await own.bridge.stop();
      own.publisher.close();
    }
  });

  test('over https: polls on one kept-alive TLS connection moved between workers, xhr_send, events', async () => {
    const tls = makeTestCert();
    const own = await startBridgeEnv({redis: env.redis, workers: 2, tls});
    const agent = new https.Agent({keepAlive: true, maxSockets: 1, ca: tls.ca});
    const post = (path, body) => new Promise((resolve, reject) => {
      const req = https.request({host: '127.0.0.1', port: own.port, method: 'POST', path, agent,
        headers: {'Content-Type': 'text/plain'}}, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({status: res.statusCode, body: text}));
      });
      req.on('error', reject);
      req.end(body || '');
    });
    try {
      const t = `tls${randomId(6)}`;
      // Several sessions: their ids hash to both workers, and every request
      // uses the same TLS connection (maxSockets 1), so it moves back and forth.
      const sids = Array.from({length: 4}, () => randomId(8));
      for (const sid of sids) assert.equal((await post(`/sockjs/0/${sid}/xhr`)).body, 'o\n');
      for (const [i, sid] of sids.entries()) {
        assert.equal((await post(`/sockjs/0/${sid}/xhr_send`, JSON.stringify([
          JSON.stringify({msg: 'connect', version: '1', support: ['1']}),
          JSON.stringify({msg: 'sub', id: `s${i}`, name: 'threadMessage', params: [`r${i}`, {threadId: t}]}),
        ]))).status, 204);
      }
      for (const [i, sid] of sids.entries()) {
        let seen = '';
        for (let n = 0; n < 10 && !seen.includes(`\\"subs\\":[\\"s${i}\\"]`); n++) {
          seen += (await post(`/sockjs/0/${sid}/xhr`)).body;
        }
        assert.match(seen, /connected/);
        assert.ok(seen.includes(`\\"subs\\":[\\"s${i}\\"]`), seen);
      }
      await own.publish(`threads::${t}::new_message`, '{"over":"tls"}');
      for (const [i, sid] of sids.entries()) {
        const body = (await post(`/sockjs/0/${sid}/xhr`)).body;
        assert.equal(body, `a[${JSON.stringify(vent(`r${i}`, 'threadMessage', '{"over":"tls"}'))}]\n`);
      }
    } finally {
      agent.destroy();
      await own.bridge.stop();
      own.publisher.close();
    }
  });
});

describe('limits', () => {
  test('--sockjs-max-sessions: past it 503; --sockjs-disconnect-delay ends an idle session', async () => {
    const own = await startBridgeEnv({redis: env.redis, workers: 1, bridgeArgs: ['--sockjs-max-sessions', '2',
      '--sockjs-disconnect-delay', '400ms']});
    try {
      const ids = [randomId(8), randomId(8), randomId(8)];
      assert.equal((await request(own.port, 'POST', `/sockjs/0/${ids[0]}/xhr`)).body, 'o\n');
      assert.equal((await request(own.port, 'POST', `/sockjs/0/${ids[1]}/xhr`)).body, 'o\n');
      const refused = await request(own.port, 'POST', `/sockjs/0/${ids[2]}/xhr`);
      assert.equal(refused.status, 503);
      assert.equal(await own.metric('vent_bridge_sockjs_sessions'), 2);
      // Nobody polls: both sessions end after the disconnect delay.
      await waitFor(async () => (await own.metric('vent_bridge_sockjs_sessions')) === 0,
          {what: 'idle sessions closed', timeoutMs: 5000});
      assert.equal(await xhrSend(own.port, '0', ids[0], [{msg: 'ping'}]), 404);
      assert.equal((await request(own.port, 'POST', `/sockjs/0/${ids[2]}/xhr`)).body, 'o\n');
    } finally {
      await own.bridge.stop();
      own.publisher.close();
    }
  });
});
