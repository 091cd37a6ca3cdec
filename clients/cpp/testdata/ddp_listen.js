'use strict';
// Test helper: a Meteor-like DDP client (bridge/e2e/lib/meteor_client.js) that
// subscribes to one Vent publication and prints the raw Vent frames it gets.
//
//   node ddp_listen.js WS_URL PUBLICATION PARAMS_JSON COUNT [TIMEOUT_MS]
//
// stdout: "READY <rand>" once the bridge sent `ready` (the subscription is
// active in Redis), then the first COUNT Vent frames, one raw text per line,
// then exit 0. Errors (nosub, timeout, socket close) go to stderr, exit 1.
const path = require('node:path');
const {MeteorClient} = require(path.join(__dirname, '..', '..', '..', 'bridge', 'e2e', 'lib',
  'meteor_client.js'));

async function main() {
  const [url, name, paramsJson, countText, timeoutText] = process.argv.slice(2);
  if (!url || !name || !paramsJson || !countText) {
    throw new Error('usage: ddp_listen.js WS_URL PUBLICATION PARAMS_JSON COUNT [TIMEOUT_MS]');
  }
  const count = Number(countText);
  const timeoutMs = Number(timeoutText || 20000);
  const client = new MeteorClient(url);
  await client.connect();
  const sub = client.subscribe(name, [JSON.parse(paramsJson)]);
  await sub.ready({timeoutMs});
  process.stdout.write(`READY ${sub.rand}\n`);
  await sub.waitEvents(count, {timeoutMs});
  process.stdout.write(sub.raws.slice(0, count).map((r) => `${r}\n`).join(''));
  client.close();
}

main().then(() => process.exit(0), (e) => {
  process.stderr.write(`ddp_listen: ${e.stack || e}\n`);
  process.exit(1);
});
