#!/usr/bin/env node
// Example Authorizer backend for vent-bridge (service vent.v1.Authorizer in
// proto/vent/v1/authorizer.proto), with @grpc/grpc-js.
//
//   node authorizer.js --listen 127.0.0.1:50060 [--api-key KEY]
//                      [--users users.json] [--login-expiration-days 90]
//   node authorizer.js --hash-token TOKEN   (prints Meteor's hashedToken)
//
// Prints "authorizer listening on HOST:PORT" once bound (port 0 = any free
// port). SIGINT/SIGTERM shut it down. Policy: see decide() and README.md.
// Logins (vent-bridge --login authorizer): see authenticate().
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');

function usage(msg) {
  if (msg) console.error(`authorizer.js: ${msg}`);
  console.error('usage: node authorizer.js --listen HOST:PORT [--api-key KEY] [--proto-root DIR]\n' +
                '         [--users FILE] [--login-expiration-days N]\n' +
                '       node authorizer.js --hash-token TOKEN');
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    listen: '127.0.0.1:50060',
    apiKey: process.env.VENT_AUTHORIZER_API_KEY || '',
    protoRoot: PROTO_ROOT,
    users: '',
    expirationDays: 90,
  };
  for (let i = 0; i < argv.length; i++) {
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${argv[i]} needs a value`));
    switch (argv[i]) {
      case '--listen': opts.listen = value(); break;
      case '--api-key': opts.apiKey = value(); break;
      case '--proto-root': opts.protoRoot = value(); break;
      case '--users': opts.users = value(); break;
      case '--login-expiration-days': opts.expirationDays = Number(value()); break;
      case '--hash-token': console.log(hashToken(value())); process.exit(0); break;
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

// ---- Logins: Meteor resume tokens ------------------------------------------
//
// Meteor keeps a user's login tokens hashed in the users collection:
//   {_id, services: {resume: {loginTokens: [{hashedToken, when}]}}}
// with hashedToken = base64(SHA-256(token)) (accounts-base's
// Accounts._hashLoginToken). A token expires `loginExpirationInDays` (90 by
// default) after `when`.
//
// This example reads such user documents from a JSON file (--users: an
// array, e.g. `mongoexport --collection users --jsonArray` output, where
// `when` is {"$date": ...}). To check tokens against the live Meteor app,
// replace findByHashedToken() with a query on its MongoDB, e.g. with the
// `mongodb` driver:
//   db.collection('users').findOne(
//     {'services.resume.loginTokens.hashedToken': hashed},
//     {projection: {'services.resume.loginTokens.$': 1, deactivated: 1}})
// and keep the rest (expiry, refusals) as it is.

function hashToken(token) {
  return crypto.createHash('sha256').update(token, 'utf8').digest('base64');
}

// A Meteor/Mongo date as milliseconds: a number, an ISO string, or EJSON /
// Extended JSON {"$date": ms | iso | {"$numberLong": "ms"}}. NaN if none.
function dateMs(v) {
  if (v && typeof v === 'object' && '$date' in v) v = v.$date;
  if (v && typeof v === 'object' && '$numberLong' in v) v = Number(v.$numberLong);
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Date.parse(v);
  return NaN;
}

class UserStore {
  constructor(users = []) {
    this.byHash = new Map(); // hashedToken -> {user, when}
    for (const user of users) {
      const tokens = (((user || {}).services || {}).resume || {}).loginTokens || [];
      for (const t of tokens) {
        // Meteor accepts legacy unhashed tokens too (and hashes them).
        const hashed = t.hashedToken || (typeof t.token === 'string' ? hashToken(t.token) : null);
        if (hashed) this.byHash.set(hashed, {user, when: dateMs(t.when)});
      }
    }
  }

  static load(file) {
    if (!file) return new UserStore();
    const users = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(users)) throw new Error(`${file}: expected a JSON array of user documents`);
    return new UserStore(users);
  }

  findByHashedToken(hashed) {
    return this.byHash.get(hashed) || null;
  }
}

// The answer to one login: AuthenticateResponse fields.
function authenticate(store, token, {expirationDays = 90, now = Date.now()} = {}) {
  if (typeof token !== 'string' || token.length === 0) return { refusal: 'UNKNOWN_TOKEN' };
  const found = store.findByHashedToken(hashToken(token));
  if (!found) return { refusal: 'UNKNOWN_TOKEN', cache_seconds: -1 };
  // Meteor's validateLoginAttempt hooks would veto here; the example vetoes
  // users marked deactivated.
  if (found.user.deactivated) return { refusal: 'FORBIDDEN', cache_seconds: -1 };
  const expires = found.when + expirationDays * 24 * 3600 * 1000;
  if (!Number.isFinite(expires) || expires <= now) return { refusal: 'EXPIRED', cache_seconds: -1 };
  // A logout on the Meteor side deletes the token: cache briefly.
  return { user_id: String(found.user._id), expires_at_ms: String(expires), cache_seconds: 30 };
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

  const store = UserStore.load(opts.users);
  const authorized = (call, callback) => {
    if (!opts.apiKey) return true;
    const got = call.metadata.get('authorization')[0];
    if (typeof got === 'string' && sameSecret(got, `Bearer ${opts.apiKey}`)) return true;
    callback({ code: grpc.status.UNAUTHENTICATED, details: 'bad API key' });
    return false;
  };
  const server = new grpc.Server();
  server.addService(v1.Authorizer.service, {
    Authorize(call, callback) {
      if (authorized(call, callback)) callback(null, decide(call.request));
    },
    Authenticate(call, callback) {
      if (authorized(call, callback)) {
        callback(null, authenticate(store, call.request.token, { expirationDays: opts.expirationDays }));
      }
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
module.exports = { authenticate, decide, hashToken, UserStore };
