// Per-frame cost of vent-client's inbound fast path (WebSocket message →
// 28-character check → JSON.parse → route by "<rand>.<name>" → listener),
// against a baseline measured in the same run: the bare minimum any client
// does per Vent frame (JSON.parse + Map lookup + call). Prints ns/frame and
// the ratio client/baseline. No network: a stub socket hands frames to the
// client's onmessage.
// --history: frames of a publication with history (`"h":[0, offset, epoch]`
// after `e`, offsets rising per subscription; each round in a new epoch), so
// the client also checks and records every position and passes it to the
// listener; the baseline is unchanged.
//
//   node clients/js/bench/fastpath.mjs [frames=1000000] [subs=100] [--history]
import { VentClient } from '../src/index.js';

const history = process.argv.includes('--history');
const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const frames = Number(args[0] || (history ? 2e5 : 1e6));
const subCount = Number(args[1] || 100);

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
// --history: one text per frame, for two epochs (rounds alternate).
const historyTexts = !history ? null : ['Ab3dE5fG7hJ9', 'Zy8xW7vU6tS5'].map((epoch) =>
  Array.from({ length: frames }, (_, i) => `{"msg":"changed","__vent":"1","id":"${handles[i % subCount].key}",` +
    `"e":${payload},"h":[0,${Math.floor(i / subCount) + 1},"${epoch}"]}`));
let round = 0;

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / frames;
}

const client = history ? () => {
  const onmessage = ws.onmessage;
  const list = historyTexts[round++ % 2];
  for (let i = 0; i < frames; i++) onmessage({ data: list[i] });
} : () => {
  const onmessage = ws.onmessage;
  for (let i = 0; i < frames; i++) onmessage({ data: texts[i % subCount] });
};
const byKey = new Map(handles.map((h) => [h.key, () => { received++; }]));
const baseline = history ? () => {
  const list = historyTexts[0];
  for (let i = 0; i < frames; i++) {
    const m = JSON.parse(list[i]);
    const fn = byKey.get(m.id);
    if (fn) fn(m.e, m.h);
  }
} : () => {
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
console.log(`vent-client fast path: ${frames} frames over ${subCount} subscriptions${history ? ' (history frames)' : ''}`);
console.log(`  baseline (JSON.parse + Map lookup + call): ${best.baseline.toFixed(1)} ns/frame`);
console.log(`  vent-client (onmessage → listener):        ${best.client.toFixed(1)} ns/frame`);
console.log(`  ratio client/baseline: ${(best.client / best.baseline).toFixed(2)}`);
