// vent-client logins against a real vent-bridge verifying HS256 JWTs
// (redis-server, vent-server and vent-bridge started here): concurrent
// logins, a nosub after a reconnect reaching the app, getToken() for the
// first login and ahead of `exp` (no spurious first ready), a refused token
// refreshed and the subscriptions sent again, the bridge's logout at `exp`
// (refresh + resubscribe, or the end without getToken), HTTP 401 on the upgrade
// reported as 'unauthorized' (with `ws`, and with a WebSocket that hides the
// status as browsers do), and Meteor-style {onReady, onStop} callbacks.
// No sleeps, no fake timers.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import WebSocket from 'ws';

import { VentError } from '../src/index.js';
import {
  EXPIRED, EmitClient, LOGGED_OUT, closeClients, collector, connect, emitUntilDelivered, once, recordEvents,
  stack, startBridge, token, uniq,
} from './lib/e2e.js';

const SECRET = `jsclient-${process.pid}-a`;
const OTHER_SECRET = `jsclient-${process.pid}-b`;
let redis;
let server;
let emitter;
let bridge; // shared; tests that restart a bridge use their own
const own = [];

before(async () => {
  redis = await stack.startRedis();
  server = await stack.startVentServer({ redis });
  emitter = new EmitClient(server.grpcAddress);
  bridge = await startBridge({ redis, secret: SECRET });
});

after(async () => {
  closeClients();
  if (emitter) emitter.close();
  for (const b of [bridge, ...own]) if (b && b.proc.isRunning()) await b.proc.stop();
  if (server) await server.stop();
  if (redis) await redis.stop();
});

test('concurrent logins each get their own result; a refused one keeps the accepted token for reconnects', async () => {
  const vent = connect(bridge.url());
  const good = token('alice', SECRET);
  const [bad, ok] = await Promise.allSettled([vent.login('not-a-jwt'), vent.login(good)]);
  assert.equal(bad.status, 'rejected');
  assert.ok(bad.reason instanceof VentError && bad.reason.error === 403, String(bad.reason));
  assert.equal(ok.status, 'fulfilled');
  assert.equal(ok.value.id, 'alice');
  assert.ok(ok.value.tokenExpires instanceof Date);
  // The other order: the later refused login leaves the session logged in.
  const [ok2, bad2] = await Promise.allSettled([vent.login(good), vent.login(token('mallory', OTHER_SECRET))]);
  assert.equal(ok2.value.id, 'alice');
  assert.equal(bad2.reason.error, 403);
  const mine = vent.subscribe('mine');
  await mine.whenReady();
  // After a reconnect the accepted token is sent again: the `auth: user` sub comes back.
  const again = once(mine, 'ready', (x) => !x.first);
  vent.reconnect();
  assert.deepEqual(await again, { first: false, recovered: false });
  const c = collector(mine);
  await emitUntilDelivered(emitter, 'users::alice::events', c, { hi: 1 });
});

test('a nosub after a reconnect reaches whenReady callers, error and onStop listeners, and the client', async () => {
  const b = await startBridge({ redis, secret: SECRET });
  own.push(b);
  const vent = connect(b.url());
  const clientErrors = [];
  vent.on('error', (e) => clientErrors.push(e));
  await vent.login(token('bob', SECRET));
  const quiet = vent.subscribe('mine'); // the README pattern: await whenReady(), nothing else
  const watched = vent.subscribe('room', { room: 'r1' });
  const stops = [];
  const errors = [];
  watched.onStop((e) => stops.push(e));
  watched.onError((e) => errors.push(e));
  await quiet.whenReady();
  await watched.whenReady();
  const down = once(watched, 'subscribing');
  await b.proc.kill('SIGKILL');
  await down;
  const pending = watched.whenReady();
  pending.catch(() => {});
  // The bridge comes back with another key: the re-sent token is refused, the
  // `auth: user` subs get nosub 403.
  const b2 = await startBridge({ redis, secret: OTHER_SECRET, port: b.port, config: b.config });
  own.push(b2);
  await assert.rejects(pending, (e) => e instanceof VentError && e.error === 403 && e.subscription === watched);
  await assert.rejects(quiet.whenReady(), (e) => e.error === 403);
  assert.equal(quiet.state, 'unsubscribed');
  assert.equal(stops.length, 1);
  assert.equal(stops[0].error, 403);
  assert.equal(errors.length, 1);
  const aboutQuiet = clientErrors.filter((e) => e.subscription === quiet);
  assert.equal(aboutQuiet.length, 1, 'nobody listened on quiet: the client says it, naming the subscription');
  assert.ok(clientErrors.some((e) => e.error === 403 && e.reason === LOGGED_OUT && !e.subscription),
      'the refused re-login is reported');
});

test('getToken(): first login before the subscriptions, a refresh ahead of exp without a first ready again', async () => {
  const issued = [];
  const getToken = async () => {
    const t = token('carol', SECRET, 10);
    issued.push(Date.now());
    return t;
  };
  const vent = connect(bridge.url(), { getToken });
  const h = vent.subscribe('mine'); // `auth: user`: would be 403 without the login first
  const seen = recordEvents(h);
  const c = collector(h);
  await h.whenReady();
  assert.equal(issued.length, 1);
  // exp is 10 s away: refreshed at about half of it, on the same connection.
  const reReady = once(h, 'ready', (x) => !x.first, { timeoutMs: 15000, what: 'the re-ready after the refresh' });
  const info = await reReady;
  assert.equal(issued.length, 2);
  const after = issued[1] - issued[0];
  assert.ok(after >= 3000 && after <= 9000, `refreshed ${after} ms after the first token`);
  assert.deepEqual(info, { first: false, recovered: undefined });
  assert.equal(vent.status().retryCount, 0);
  assert.deepEqual(seen.filter(([ev]) => ev === 'ready').map(([, x]) => x.first), [true, false]);
  assert.deepEqual(seen.filter(([ev]) => ev === 'state').map(([, x]) => x.state), ['subscribed'], 'never left subscribed');
  await emitUntilDelivered(emitter, 'users::carol::events', c, { after: 'refresh' });
});

test('getToken(): a token the server refuses on reconnect is replaced and the subscriptions come back', async () => {
  const b = await startBridge({ redis, secret: SECRET });
  own.push(b);
  let secret = SECRET;
  let calls = 0;
  const trace = [];
  const getToken = () => {
    calls++;
    trace.push(`getToken #${calls} (${secret === SECRET ? 'old' : 'new'} key)`);
    return token('dave', secret);
  };
  const vent = connect(b.url(), { getToken });
  vent.on('status', (s) => trace.push(`status ${s.status} ${s.reason || ''}`));
  vent.on('error', (e) => trace.push(`error ${e.error} ${e.reason}`));
  const h = vent.subscribe('room', { room: uniq('r') });
  for (const ev of ['subscribing', 'ready', 'unsubscribed']) h.on(ev, (x) => trace.push(`${ev} ${JSON.stringify(x)}`));
  let b2 = null;
  const traced = (p) => p.catch(async (e) => {
    const info = b2 ? `\nbridge running=${b2.proc.isRunning()} exit=${JSON.stringify(b2.proc.isRunning() ? null : await b2.proc.exited)}\n${b2.proc.stderr().slice(-3000)}` : '';
    throw new Error(`${e.message}; trace:\n${trace.join('\n')}${info}`);
  });
  await h.whenReady();
  const down = once(h, 'subscribing');
  await b.proc.kill('SIGKILL');
  await down;
  secret = OTHER_SECRET; // keys rotated: the stored token is refused, getToken() gives a good one
  trace.push('keys rotated');
  const sub403 = traced(once(h, 'subscribing', (x) => x.code === 403));
  const back = traced(once(h, 'ready', undefined, { timeoutMs: 20000 }));
  back.catch(() => {});
  b2 = await startBridge({ redis, secret: OTHER_SECRET, port: b.port, config: b.config });
  own.push(b2);
  trace.push('new bridge up');
  assert.equal((await sub403).error.error, 403);
  assert.deepEqual(await back, { first: false, recovered: false });
  assert.equal(calls, 2);
  assert.equal(h.state, 'subscribed');
});

test("HTTP 401 on the upgrade: 'unauthorized' (ws, and a browser-like WebSocket), no retry loop; setUrl() / getToken() recover", async () => {
  const bad = bridge.url(`/websocket?token=${token('erin', OTHER_SECRET)}`);
  const good = bridge.url(`/websocket?token=${token('erin', SECRET)}`);
  // `ws` reports "Unexpected server response: 401".
  const a = connect(bad);
  const errors = [];
  a.on('error', (e) => errors.push(e));
  const statuses = [];
  a.on('status', (s) => statuses.push(s.status));
  const h = a.subscribe('mine');
  const st = await once(a, 'status', (s) => s.status === 'unauthorized');
  assert.match(st.reason, /401/);
  assert.equal(errors[0].error, 'unauthorized');
  assert.deepEqual(statuses, ['unauthorized']);
  a.setUrl(good);
  await h.whenReady(20000); // authenticated by the URL token: no login message
  assert.equal(a.status().status, 'connected');

  // A WebSocket that, like a browser's, does not say why the upgrade failed.
  class BrowserLikeWebSocket extends WebSocket {
    set onerror(fn) { super.onerror = fn && (() => fn({ type: 'error' })); }
    get onerror() { return super.onerror; }
  }
  const b = connect(bad, { WebSocket: BrowserLikeWebSocket, reconnect: { initialMs: 20, maxMs: 100, jitter: 0 } });
  b.on('error', () => {});
  const st2 = await once(b, 'status', (s) => s.status === 'unauthorized', { timeoutMs: 20000 });
  assert.match(st2.reason, /token in the URL/);

  // With getToken(): one fresh token replaces the refused one in the URL.
  const d = connect(bad, { getToken: () => token('erin', SECRET) });
  const hd = d.subscribe('mine');
  await hd.whenReady(20000);
  assert.equal(d.status().status, 'connected');
});

test('at exp the bridge logs the connection out: getToken() refreshes and the `auth: user` sub comes back; without it the sub ends', async () => {
  const b = await startBridge({ redis, secret: SECRET, args: ['--jwt-leeway', '0s'] });
  own.push(b);
  let calls = 0;
  const getToken = () => {
    calls++;
    if (calls === 2) throw new Error('auth service down'); // the refresh ahead of exp fails...
    return token('frank', SECRET, calls === 1 ? 3 : 3600);
  };
  // ...and is retried only after 60 s, so the bridge's logout at exp comes first.
  const vent = connect(b.url(), { getToken, resubscribe: { initialMs: 60000, maxMs: 60000, jitter: 0 } });
  const tokenErrors = [];
  vent.on('error', (e) => { if (e.error === 'token') tokenErrors.push(e); });
  const h = vent.subscribe('mine');
  const seen = recordEvents(h);
  await h.whenReady();
  const expired = once(h, 'subscribing', (x) => x.code === 403, { timeoutMs: 20000, what: 'the 403 at exp' });
  const back = once(h, 'ready', (x) => !x.first, { timeoutMs: 25000, what: 'the ready after the refresh' });
  assert.equal((await expired).reason, EXPIRED);
  assert.deepEqual(await back, { first: false, recovered: false });
  assert.equal(calls, 3);
  assert.equal(tokenErrors.length, 1);
  assert.ok(!seen.some(([ev]) => ev === 'unsubscribed'));

  // login() without getToken: the subscription ends with the bridge's error.
  const plain = connect(b.url());
  await plain.login(token('gina', SECRET, 2));
  const p = plain.subscribe('mine');
  await p.whenReady();
  const stop = new Promise((resolve) => p.onStop(resolve));
  const err = await stop;
  assert.ok(err instanceof VentError && err.error === 403 && err.reason === EXPIRED, String(err));
  assert.equal(p.state, 'unsubscribed');
});

test('Meteor-style callbacks: subscribe(name, params, {onReady, onStop}) and a trailing function', async () => {
  const vent = connect(bridge.url());
  const calls = [];
  const threadId = uniq('t');
  const h = vent.subscribe('threadMessage', { threadId }, {
    onReady: (info) => calls.push(['ready', info.first]),
    onStop: (err) => calls.push(['stop', err]),
  });
  const c = collector(h);
  await h.whenReady();
  await emitUntilDelivered(emitter, `threads::${threadId}::new_message`, c, { message: 'm' });
  h.stop();
  assert.deepEqual(calls, [['ready', true], ['stop', undefined]]);

  const stopped = new Promise((resolve) => {
    vent.subscribe('threadMessage', { threadId: 'not valid!' }, { onStop: resolve });
  });
  const err = await stopped;
  assert.ok(err instanceof VentError && err.error === 400 && err.reason === 'Match failed');

  const readyFn = new Promise((resolve) => vent.subscribe('threadMessage', { threadId: uniq('t') }, resolve));
  assert.deepEqual(await readyFn, { first: true, recovered: undefined });
});
