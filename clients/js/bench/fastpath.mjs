// Per-frame cost of vent-client's inbound fast path (WebSocket message →
// 28-character check → JSON.parse → route by "<rand>.<name>" → listener),
// against a baseline measured in the same run: the bare minimum any client
// does per Vent frame (JSON.parse + Map lookup + call). Prints ns/frame and
// the ratio client/baseline. No network: a stub socket hands frames to the
// client's onmessage.
//
//   node clients/js/bench/fastpath.mjs [frames=1000000] [subs=100]
import { VentClient } from '../src/index.js';

const frames = Number(process.argv[2] || 1e6);
const subCount = Number(process.argv[3] || 100);

class StubSocket {
  constructor() { this.readyState = 0; StubSocket.last = this; }
  send() {}
  close() { this.readyState = 3; }
}

const vent = new VentClient('ws://h/websocket', {
  WebSocket: StubSocket, heartbeatMs: 17500, connectTimeoutMs: 0, networkEvents: false,
});
const ws = StubSocket.last;
ws.readyState = 1;
ws.onopen({});
ws.onmessage({ data: '{"msg":"connected","session":"s"}' });
let received = 0;
const handles = [];
for (let i = 0; i < subCount; i++) {
  const h = vent.subscribe('threadMessage', { threadId: `t${i}` });
  h.listen(() => { received++; });
  handles.push(h);
}
ws.onmessage({ data: JSON.stringify({ msg: 'ready', subs: handles.map((h) => h.id) }) });
const payload = JSON.stringify({ message: 'hello world, this is a typical chat message of some length' });
const texts = handles.map((h) => `{"msg":"changed","__vent":"1","id":"${h.key}","e":${payload}}`);

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / frames;
}

const client = () => {
  const onmessage = ws.onmessage;
  for (let i = 0; i < frames; i++) onmessage({ data: texts[i % subCount] });
};
const byKey = new Map(handles.map((h) => [h.key, () => { received++; }]));
const baseline = () => {
  for (let i = 0; i < frames; i++) {
    const m = JSON.parse(texts[i % subCount]);
    const fn = byKey.get(m.id);
    if (fn) fn(m.e);
  }
};

// Warm up both, then alternate nine rounds and keep each one's best.
const best = { client: Infinity, baseline: Infinity };
timeIt(client);
timeIt(baseline);
for (let r = 0; r < 9; r++) {
  best.client = Math.min(best.client, timeIt(client));
  best.baseline = Math.min(best.baseline, timeIt(baseline));
}
vent.close();
if (received < frames * 20) throw new Error(`only ${received} frames reached the listeners`);
console.log(`vent-client fast path: ${frames} frames over ${subCount} subscriptions`);
console.log(`  baseline (JSON.parse + Map lookup + call): ${best.baseline.toFixed(1)} ns/frame`);
console.log(`  vent-client (onmessage → listener):        ${best.client.toFixed(1)} ns/frame`);
console.log(`  ratio client/baseline: ${(best.client / best.baseline).toFixed(2)}`);
