'use strict';
// gRPC replay speed (bench/history.sh, part 3): events/s a Subscribe with
// `since` receives from a channel's history, against the same Subscribe
// receiving the same number of events live in the same run (an open
// Subscribe while EmitStream sends them). Client: clients/node (grpc-js).
// Prints JSON on stdout.
//
//   node bench/history_replay.js HOST:PORT CHANNEL_PREFIX EVENTS ROUNDS PAYLOAD_JSON
// The channels CHANNEL_PREFIX::<round>-{live,replay} must keep at least
// EVENTS events (vent-server --config), and vent-server's --subscribe-queue
// must hold EVENTS (a live reader may fall that far behind).

const path = require('node:path');
const {VentClient} = require(path.join(__dirname, '..', 'clients', 'node', 'vent-client'));

const [address, prefix, eventsArg, roundsArg, payload] = process.argv.slice(2);
const N = Number(eventsArg);
const ROUNDS = Number(roundsArg);
const now = () => Number(process.hrtime.bigint()) / 1e9;

async function emitAll(client, channel) {
  const stream = client.emitStream({maxEventsPerMessage: 256});
  for (let i = 0; i < N; i++) await stream.write(channel, payload);
  const r = await stream.end();
  if (r.published !== N) throw new Error(`published ${r.published} of ${N}`);
}

// Resolves with the time the N-th event arrived.
function receive(client, channel, since) {
  let n = 0;
  let done;
  let fail;
  const finished = new Promise((resolve, reject) => { done = resolve; fail = reject; });
  const sub = client.subscribe([channel], () => {
    if (++n === N) done(now());
  }, {since});
  // A call that ends first (e.g. RESOURCE_EXHAUSTED: the reader fell behind
  // --subscribe-queue) fails the run instead of leaving it waiting.
  sub.done.then(() => fail(new Error(`${channel}: the call ended after ${n} events`)), fail);
  return {sub, finished};
}

(async () => {
  const client = new VentClient(address, {deadlineMs: 0});
  const out = {events: N, live_per_s: [], replay_per_s: []};
  for (let r = 1; r <= ROUNDS; r++) {
    // Live: subscribed first, then emitted; from the first emit to the last event.
    const live = receive(client, `${prefix}::${r}-live`);
    await live.sub.ready;
    const t0 = now();
    await emitAll(client, `${prefix}::${r}-live`);
    out.live_per_s.push(N / ((await live.finished) - t0));
    live.sub.cancel();
    // Replay: the events are in the history; from the call to the last event.
    await emitAll(client, `${prefix}::${r}-replay`);
    const t1 = now();
    const rep = receive(client, `${prefix}::${r}-replay`, [{channel: `${prefix}::${r}-replay`, offset: 0, epoch: ''}]);
    const starts = await rep.sub.ready;
    if (!starts[0].recovered) throw new Error(`not recovered: ${starts[0].reason}`);
    out.replay_per_s.push(N / ((await rep.finished) - t1));
    rep.sub.cancel();
  }
  client.close();
  process.stdout.write(JSON.stringify(out));
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
