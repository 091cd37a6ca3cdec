#!/usr/bin/env node
// Example Authorizer backend for vent-bridge (service vent.v1.Authorizer in
// proto/vent/v1/authorizer.proto), with @grpc/grpc-js.
//
//   node authorizer.js --listen 127.0.0.1:50060 [--api-key KEY]
//
// Prints "authorizer listening on HOST:PORT" once bound (port 0 = any free
// port). SIGINT/SIGTERM shut it down. Policy: see decide() and README.md.
'use strict';

const crypto = require('crypto');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');

function usage(msg) {
  if (msg) console.error(`authorizer.js: ${msg}`);
  console.error('usage: node authorizer.js --listen HOST:PORT [--api-key KEY] [--proto-root DIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    listen: '127.0.0.1:50060',
    apiKey: process.env.VENT_AUTHORIZER_API_KEY || '',
    protoRoot: PROTO_ROOT,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${argv[i]} needs a value`));
    switch (argv[i]) {
      case '--listen': opts.listen = value(); break;
      case '--api-key': opts.apiKey = value(); break;
      case '--proto-root': opts.protoRoot = value(); break;
      case '--help': case '-h': usage(); break;
      default: usage(`unknown argument ${argv[i]}`);
    }
  }
  return opts;
}

// The example policy. Return {allow, reason, cache_seconds}.
//  - "admin" may listen to everything;
//  - "threadMessage" is allowed when params.threadId is the user's id or
//    starts with "<userId>-" (so user "u1" does NOT get thread "u10-x");
//  - anything else is denied (deny by default).
function decide(req) {
  const user = req.user_id;
  if (user === 'admin') return { allow: true, reason: '', cache_seconds: 60 };
  if (req.publication !== 'threadMessage') {
    return { allow: false, reason: 'No access rule for this publication', cache_seconds: 60 };
  }
  if (!user) return { allow: false, reason: 'Login required', cache_seconds: 0 };
  let params;
  try {
    params = JSON.parse(req.params_json || '{}');
  } catch (e) {
    return { allow: false, reason: 'Bad params', cache_seconds: -1 };
  }
  const threadId = params && typeof params.threadId === 'string' ? params.threadId : '';
  if (threadId === user || threadId.startsWith(`${user}-`)) {
    return { allow: true, reason: '', cache_seconds: 30 };
  }
  return { allow: false, reason: 'This thread belongs to another user', cache_seconds: 30 };
}

function sameSecret(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const def = protoLoader.loadSync('vent/v1/authorizer.proto', {
    includeDirs: [opts.protoRoot],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  const v1 = grpc.loadPackageDefinition(def).vent.v1;

  const server = new grpc.Server();
  server.addService(v1.Authorizer.service, {
    Authorize(call, callback) {
      if (opts.apiKey) {
        const got = call.metadata.get('authorization')[0];
        if (typeof got !== 'string' || !sameSecret(got, `Bearer ${opts.apiKey}`)) {
          callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad API key' });
          return;
        }
      }
      callback(null, decide(call.request));
    },
  });
  server.bindAsync(opts.listen, grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) {
      console.error(`authorizer.js: cannot listen on ${opts.listen}: ${err.message}`);
      process.exit(1);
    }
    const host = opts.listen.slice(0, opts.listen.lastIndexOf(':'));
    console.log(`authorizer listening on ${host}:${port}`);
  });
  const stop = () => server.tryShutdown(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) main();
module.exports = { decide };
