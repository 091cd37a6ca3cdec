'use strict';
// --write-delay: Vent frames are held up to the delay to share writes; every
// event still arrives, in order, and control messages (ready, pong) are not
// held back.
const assert = require('node:assert/strict');
const {after, before, test} = require('node:test');

const {startBridgeEnv} = require('./lib/bridge.js');
const {MeteorClient} = require('./lib/meteor_client.js');

let env;
const clients = [];
before(async () => {
  env = await startBridgeEnv({bridgeArgs: ['--write-delay', '20ms']});
});
after(async () => {
  for (const c of clients) c.close();
  if (env) await env.stop();
});

test('a 300-event burst to 3 subscribers arrives complete and in order', async () => {
  const thread = `wd${process.pid}`;
  const subs = [];
  for (let i = 0; i < 3; ++i) {
    const c = new MeteorClient(env.wsUrl('/websocket'));
    clients.push(c);
    await c.connect();
    const s = c.subscribe('threadMessage', [{threadId: thread}]);
    await s.ready();
    subs.push(s);
  }
  const pairs = [];
  for (let i = 0; i < 300; ++i) pairs.push([`threads::${thread}::new_message`, `{"i":${i}}`]);
  await env.publishMany(pairs);
  for (const s of subs) {
    const events = await s.waitEvents(300);
    assert.deepEqual(events.map((e) => e.i), pairs.map((_, i) => i));
  }
  assert.equal((await clients[0].ping('p1')).msg.id, 'p1');
});
