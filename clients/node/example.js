'use strict';
// Emits one event and a small batch to a running vent-server.
//   node clients/node/example.js [host:port] [api-key]
// (run from the repository, so that node_modules/ is found)

const {VentClient, status} = require('./vent-client');

async function main() {
  const address = process.argv[2] || process.env.VENT_ADDRESS || '127.0.0.1:50051';
  const vent = new VentClient(address, {apiKey: process.argv[3] || process.env.VENT_API_KEY});
  try {
    const r = await vent.emit('threads::t1::new_message', {text: 'hello from Node', at: Date.now()});
    console.log(`emitted ${r.id} to ${r.receivers} receiver(s)`);

    const results = await vent.emitBatch([
      ['threads::t1::typing', {user: 'u1'}],
      ['threads::t1::new_message', '{"text": "raw JSON text is sent byte for byte"}'],
    ]);
    console.log(`batch: ${results.map((x) => x.id).join(', ')}`);
  } catch (err) {
    const name = Object.keys(status).find((k) => status[k] === err.code) || err.code;
    console.error(`emit failed: ${name}: ${err.details || err.message}`);
    process.exitCode = 1;
  } finally {
    vent.close();
  }
}

main();
