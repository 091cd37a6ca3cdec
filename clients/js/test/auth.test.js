// Unit tests (fake WebSocket) of logins and tokens: concurrent login()
// calls each get their own result, a refused login keeps the accepted
// token, getToken() for the first login (before any sub), ahead of expiry
// (re-ready, not a first ready), after a 403 "expired" (refresh + the same
// sub again), before a reconnect with an expired token; HTTP 401 on the
// upgrade reported as 'unauthorized' (ws's message, or a browser's silence
// via the probe), setUrl(), and getToken() for a refused URL token.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { VentClient, VentError } from '../src/index.js';
import {
  FakeSocket, fastRetry, fresh, last, meteorError, nextSocket, nextStatus, recordEvents,
} from './lib/fake.js';

const base = { WebSocket: FakeSocket, heartbeatMs: 0, networkEvents: false };
const EXPIRED = 'Your session has expired. Please log in again.';
const LOGGED_OUT = "You've been logged out by the server. Please log in again.";
const ok = (token, expiresMs = Date.now() + 3600e3) =>
  ({ id: 'u1', token, tokenExpires: { $date: expiresMs }, type: 'resume' });

// Resolves once the fake socket has sent a message matching pred (polls the
// recorded frames; the client sends from promise callbacks).
async function sent(ws, pred, what = 'message') {
  for (let i = 0; i < 3000; i++) {
    const m = ws.sent.find(pred);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`no ${what} sent; got ${JSON.stringify(ws.sent)}`);
}
const isLogin = (token) => (m) => m.msg === 'method' && m.method === 'login' && (!token || m.params[0].resume === token);

test('concurrent login() calls each get their own result, whatever the order of the answers', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  const ws = last();
  ws.handshake();
  const bad = vent.login('bad');
  const good = vent.login('good');
  const [mBad, mGood] = ws.take().filter(isLogin());
  assert.notEqual(mBad.id, mGood.id);
  ws.recv({ msg: 'result', id: mGood.id, result: ok('good') });
  ws.recv({ msg: 'result', id: mBad.id, error: meteorError(403, LOGGED_OUT) });
  const r = await good;
  assert.equal(r.token, 'good');
  assert.ok(r.tokenExpires instanceof Date, 'tokenExpires is a Date');
  await assert.rejects(bad, (e) => e instanceof VentError && e.error === 403);
  // The refused login did not drop the accepted token: re-sent first after a reconnect.
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  const again = last().handshake();
  assert.deepEqual(again.filter(isLogin()).map((m) => m.params[0].resume), ['good']);
  vent.close();
});

test('getToken(): the first login goes before every subscription', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', { ...base, getToken: async () => `t${++calls}` });
  const h = vent.subscribe('mine', {});
  const ws = last();
  ws.open();
  await sent(ws, (m) => m.msg === 'sub');
  assert.deepEqual(ws.sent.map((m) => m.msg === 'method' ? `login:${m.params[0].resume}` : m.msg), ['connect', 'login:t1', 'sub']);
  assert.equal(calls, 1);
  ws.recv({ msg: 'connected', session: 's' });
  ws.recv({ msg: 'result', id: ws.sent[1].id, result: ok('t1') });
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.ready(), true);
  vent.close();
});

test('getToken() ahead of expiry: a new login on the same connection, re-readies are not first readies', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', {
    ...base, getToken: () => `t${++calls}`, tokenRefreshMarginMs: 60000,
  });
  const h = vent.subscribe('mine', {});
  const seen = recordEvents(h);
  const ws = last();
  ws.open();
  const login1 = await sent(ws, isLogin('t1'));
  ws.recv({ msg: 'connected', session: 's' });
  // Expires in 2.4 s: refreshed at half its life (the margin is capped).
  const t0 = Date.now();
  ws.recv({ msg: 'result', id: login1.id, result: ok('t1', Date.now() + 2400) });
  ws.recv({ msg: 'ready', subs: [h.id] });
  const login2 = await sent(ws, isLogin('t2'), 'refresh login');
  const waited = Date.now() - t0;
  assert.ok(waited >= 1000 && waited < 2400, `refreshed after ${waited} ms`);
  // The bridge re-runs the subscriptions after a login: a ready again.
  ws.recv({ msg: 'result', id: login2.id, result: ok('t2') });
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.deepEqual(seen.filter(([ev]) => ev === 'ready').map(([, x]) => x),
      [{ first: true, recovered: undefined }, { first: false, recovered: undefined }]);
  assert.equal(seen.filter(([ev]) => ev === 'state').length, 1, 'stayed subscribed');
  assert.equal(FakeSocket.instances.length, 1, 'no reconnect');
  vent.close();
});

test('nosub 403 "expired" with getToken(): refresh, log in, subscribe the same sub again; without getToken it ends', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', { ...base, getToken: async () => `t${++calls}` });
  const h = vent.subscribe('mine', {});
  const pub = vent.subscribe('open', {});
  const seen = recordEvents(h);
  const ws = last();
  ws.open();
  const login1 = await sent(ws, isLogin('t1'));
  const subMsg = ws.sent.find((m) => m.msg === 'sub' && m.id === h.id);
  ws.recv({ msg: 'connected', session: 's' });
  ws.recv({ msg: 'result', id: login1.id, result: ok('t1') });
  ws.recv({ msg: 'ready', subs: [h.id, pub.id] });
  ws.take();
  // The bridge logged the connection out at exp: `auth: user` subs get nosub 403.
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(403, EXPIRED) });
  ws.recv({ msg: 'ready', subs: [pub.id] });
  assert.equal(h.state, 'subscribing');
  const login2 = await sent(ws, isLogin('t2'));
  assert.equal(ws.sent.filter((m) => m.msg === 'sub').length, 0, 'not before the login is answered');
  ws.recv({ msg: 'result', id: login2.id, result: ok('t2') });
  assert.deepEqual(ws.sent.filter((m) => m.msg === 'sub'), [subMsg], 'the same sub again');
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.deepEqual(seen.filter(([ev]) => ev === 'ready').map(([, x]) => x),
      [{ first: true, recovered: undefined }, { first: false, recovered: false }]);
  assert.equal(seen.filter(([ev]) => ev === 'subscribing')[0][1].code, 403);
  vent.close();

  // Without getToken the subscription ends with the error.
  fresh();
  const plain = new VentClient('ws://h/websocket', base);
  const p = plain.subscribe('mine', {});
  const errs = [];
  p.onError((e) => errs.push(e));
  const ws2 = last();
  ws2.handshake();
  ws2.recv({ msg: 'ready', subs: [p.id] });
  ws2.recv({ msg: 'nosub', id: p.id, error: meteorError(403, EXPIRED) });
  assert.equal(p.state, 'unsubscribed');
  assert.equal(errs[0].reason, EXPIRED);
  plain.close();
});

test('a reconnect with an expired token runs getToken() first; a refused re-sent token is refreshed too', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry, getToken: async () => `t${++calls}` });
  const h = vent.subscribe('mine', {});
  let ws = last();
  ws.open();
  const login1 = await sent(ws, isLogin('t1'));
  ws.recv({ msg: 'connected', session: 's' });
  ws.recv({ msg: 'result', id: login1.id, result: ok('t1', Date.now() - 1000) }); // already expired here
  ws.recv({ msg: 'ready', subs: [h.id] });
  let reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  ws = last();
  ws.open();
  await sent(ws, (m) => m.msg === 'sub');
  assert.deepEqual(ws.sent.filter(isLogin()).map((m) => m.params[0].resume), ['t2'], 'the stale token is not sent');
  ws.recv({ msg: 'connected', session: 's2' });
  ws.recv({ msg: 'result', id: ws.sent.find(isLogin()).id, result: ok('t2') });
  ws.recv({ msg: 'ready', subs: [h.id] });

  // Next reconnect: the server refuses t2 although it looked valid here.
  reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  ws = last();
  ws.open();
  await sent(ws, (m) => m.msg === 'sub');
  const relogin = ws.sent.find(isLogin('t2'));
  ws.recv({ msg: 'connected', session: 's3' });
  ws.take();
  ws.recv({ msg: 'result', id: relogin.id, error: meteorError(403, LOGGED_OUT) });
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(403, 'You must be logged in to subscribe to this publication') });
  assert.equal(h.state, 'subscribing');
  const login3 = await sent(ws, isLogin('t3'));
  ws.recv({ msg: 'result', id: login3.id, result: ok('t3') });
  assert.deepEqual(ws.sent.filter((m) => m.msg === 'sub').map((m) => m.id), [h.id]);
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.ready(), true);
  assert.equal(calls, 3);
  vent.close();
});

test('a getToken() token whose login got no answer before the link dropped, refused on the next connection, is replaced', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry, getToken: async () => `t${++calls}` });
  const h = vent.subscribe('mine', {});
  let ws = last();
  ws.open();
  await sent(ws, isLogin('t1'));
  ws.recv({ msg: 'connected', session: 's' });
  ws.recv({ msg: 'ready', subs: [h.id] }); // the server sent ready before the login's result...
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose(); // ...and the link dropped before the result
  await reopened;
  ws = last();
  ws.open();
  const again = await sent(ws, isLogin('t1'));
  assert.equal(calls, 1, 'the unanswered token is sent again first');
  ws.recv({ msg: 'connected', session: 's2' });
  ws.recv({ msg: 'result', id: again.id, error: meteorError(403, LOGGED_OUT) });
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(403, 'You must be logged in to subscribe to this publication') });
  const login2 = await sent(ws, isLogin('t2'));
  ws.recv({ msg: 'result', id: login2.id, result: ok('t2') });
  assert.deepEqual(ws.sent.filter((m) => m.msg === 'sub').map((m) => m.id), [h.id, h.id]);
  ws.recv({ msg: 'ready', subs: [h.id] });
  assert.equal(h.ready(), true);
  assert.equal(calls, 2);
  vent.close();
});

test('a fresh token refused too: the waiting subscriptions end, the client reports the error, no loop', async () => {
  fresh();
  let calls = 0;
  const vent = new VentClient('ws://h/websocket', { ...base, getToken: async () => `t${++calls}` });
  const errors = [];
  vent.on('error', (e) => errors.push(e));
  const h = vent.subscribe('mine', {});
  const ws = last();
  ws.open();
  const login1 = await sent(ws, isLogin('t1'));
  ws.recv({ msg: 'connected', session: 's' });
  ws.recv({ msg: 'result', id: login1.id, error: meteorError(403, LOGGED_OUT) });
  ws.recv({ msg: 'nosub', id: h.id, error: meteorError(403, 'You must be logged in to subscribe to this publication') });
  await assert.rejects(h.whenReady(), (e) => e.error === 403);
  assert.equal(calls, 1, 'a token just fetched is not fetched again when refused');
  assert.ok(errors.some((e) => e.error === 403 && e.reason === LOGGED_OUT));
  vent.close();
});

test("HTTP 401 on the upgrade (ws's message) → 'unauthorized', no retry loop; setUrl() connects with the new URL", async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket?token=bad', { ...base, reconnect: fastRetry });
  const errors = [];
  vent.on('error', (e) => errors.push(e));
  const statuses = [];
  vent.on('status', (s) => statuses.push(s.status));
  last().failUpgrade('Unexpected server response: 401');
  assert.equal(vent.status().status, 'unauthorized');
  assert.match(vent.status().reason, /HTTP 401/);
  assert.deepEqual(statuses, ['unauthorized']);
  assert.equal(errors[0].error, 'unauthorized');
  assert.equal(vent._retryTimer, null, 'no retry is scheduled');
  vent.setUrl('ws://h/websocket?token=good');
  assert.equal(FakeSocket.instances.length, 2);
  assert.equal(last().url, 'ws://h/websocket?token=good');
  last().handshake();
  assert.equal(vent.status().status, 'connected');
  vent.close();
});

test('HTTP 401 with getToken(): one fresh token replaces the one in the URL', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket?x=1&token=old', { ...base, getToken: async () => 'fresh/+=' });
  const errors = [];
  vent.on('error', (e) => errors.push(e));
  last().failUpgrade('Unexpected server response: 401');
  const ws = await nextSocket(1);
  assert.equal(ws.url, 'ws://h/websocket?x=1&token=fresh%2F%2B%3D');
  ws.failUpgrade('Unexpected server response: 401');
  assert.equal(vent.status().status, 'unauthorized', 'a second refusal stops');
  assert.equal(FakeSocket.instances.length, 2);
  assert.deepEqual(errors.map((e) => e.error), ['unauthorized']);
  vent.close();
});

test('browser-like refusals (no status visible): a probe without the token tells a bad token from a dead server', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket?token=bad', { ...base, reconnect: fastRetry });
  const errors = [];
  vent.on('error', (e) => errors.push(e));
  // 1. refused with the token; 2. the probe without it fails too (server down).
  last().failUpgrade(undefined);
  let ws = await nextSocket(1);
  assert.equal(ws.url, 'ws://h/websocket');
  ws.failUpgrade(undefined);
  // 3. with the token again, refused; 4. the probe opens: it is closed at once
  // and 5. the token is tried at once; refused again → 'unauthorized'.
  ws = await nextSocket(2);
  assert.equal(ws.url, 'ws://h/websocket?token=bad');
  ws.failUpgrade(undefined);
  ws = await nextSocket(3);
  assert.equal(ws.url, 'ws://h/websocket');
  ws.open();
  assert.equal(ws.closedWith, 1000);
  assert.deepEqual(ws.sent, [], 'the probe sends no DDP');
  ws = last();
  assert.equal(FakeSocket.instances.length, 5);
  assert.equal(ws.url, 'ws://h/websocket?token=bad');
  ws.failUpgrade(undefined);
  assert.equal(vent.status().status, 'unauthorized');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].error, 'unauthorized');
  vent.close();
});

test('logout() forgets the token: it is not re-sent after a reconnect', async () => {
  fresh();
  const vent = new VentClient('ws://h/websocket', { ...base, reconnect: fastRetry });
  let ws = last();
  ws.handshake();
  const p = vent.login('tok');
  ws.recv({ msg: 'result', id: ws.take().find(isLogin()).id, result: ok('tok') });
  await p;
  const out = vent.logout();
  const m = ws.take().find((x) => x.method === 'logout');
  ws.recv({ msg: 'result', id: m.id });
  await out;
  const reopened = nextStatus(vent, (s) => s.status === 'connecting');
  ws.serverClose();
  await reopened;
  ws = last();
  assert.deepEqual(ws.handshake().filter(isLogin()), []);
  vent.close();
});
