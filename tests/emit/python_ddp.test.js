'use strict';
// The Python client end to end: clients/python/example.py (Debian's
// python3-grpcio under /usr/bin/python3) emits through vent-server, and a
// DDP client subscribed through vent-bridge receives the byte-exact frames.
const assert = require('node:assert/strict');
const childProcess = require('node:child_process');
const path = require('node:path');
const {test} = require('node:test');

const ROOT = path.resolve(__dirname, '../..');
const {startBridgeEnv} = require(path.join(ROOT, 'bridge/e2e/lib/bridge.js'));
const {MeteorClient} = require(path.join(ROOT, 'bridge/e2e/lib/meteor_client.js'));

test('Python example emits; the DDP subscriber of threadMessage{t1} gets both events', async () => {
  const env = await startBridgeEnv({withServer: true});
  const c = new MeteorClient(env.wsUrl('/websocket'));
  try {
    await c.connect();
    const sub = c.subscribe('threadMessage', [{threadId: 't1'}]);
    await sub.ready();
    const out = childProcess.execFileSync('/usr/bin/python3',
        [path.join(ROOT, 'clients/python/example.py'), env.server.grpcAddress], {encoding: 'utf8'});
    assert.match(out, /emitted [0-9A-Z]{26} to 1 receiver/);
    const prefix = `{"msg":"changed","__vent":"1","id":"${sub.rand}.threadMessage","e":`;
    const first = await c.take((m) => m.msg === 'changed', {what: 'first Vent frame'});
    assert.equal(first.raw, `${prefix}{"text":"hello from Python"}}`);
    const second = await c.take((m) => m.msg === 'changed', {what: 'second Vent frame'});
    assert.equal(second.raw, `${prefix}{"text": "raw JSON text is sent byte for byte"}}`);
  } finally {
    c.close();
    await env.stop();
  }
});
