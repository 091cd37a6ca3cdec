'use strict';
// grpc.health.v1 client for tests: healthCheck(address, service) resolves the
// status name ('SERVING', 'NOT_SERVING', ...) or rejects with the grpc error.

const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

let Health = null;
function healthService() {
  if (!Health) {
    const def = protoLoader.loadSync(path.join(__dirname, '..', 'proto', 'health.proto'),
        {keepCase: true, enums: String, defaults: true});
    Health = grpc.loadPackageDefinition(def).grpc.health.v1.Health;
  }
  return Health;
}

function healthCheck(address, service = '', {timeoutMs = 2000} = {}) {
  const Svc = healthService();
  const client = new Svc(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    client.Check({service}, {deadline: new Date(Date.now() + timeoutMs)}, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    });
  });
}

module.exports = {healthCheck};
