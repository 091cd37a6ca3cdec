// Adapter: run Vent subscriptions on Meteor's own DDP connection
// (Meteor.connection or any DDP.connect() result), like redis-oplog's client.
//
//   import { attachToMeteor } from 'vent-client';
//   const vent = attachToMeteor(Meteor.connection);
//   vent.subscribe('threadMessage', {threadId}).listen(fn);
//
// Meteor keeps owning the socket, reconnects, login and the subs themselves
// (Meteor re-sends them with the same id and params after a reconnect); Vent
// only adds a raw-message listener on connection._stream for the 28-char fast
// path. Untested here: there is no Meteor runtime in this repository.
import { VentClient } from './vent-client.js';

// Builds the VentClient.attach() link for a Meteor connection.
export function meteorLink(connection) {
  if (!connection || !connection._stream || typeof connection.subscribe !== 'function') {
    throw new TypeError('meteorLink(connection): expected Meteor.connection or a DDP.connect() result');
  }
  return {
    send: (msg) => connection._send(msg),
    onMessage: (fn) => connection._stream.on('message', fn),
    // Meteor strips a trailing {onReady, onStop} argument and never sends it.
    subscribe: (name, params, callbacks) => connection.subscribe(name, ...params, callbacks),
    call: (method, params) => new Promise((resolve, reject) => {
      connection.apply(method, params, (err, res) => (err ? reject(err) : resolve(res)));
    }),
  };
}

// VentClient.attach(meteorLink(connection)); connection defaults to Meteor.connection.
export function attachToMeteor(connection = globalThis.Meteor && globalThis.Meteor.connection, options = {}) {
  return VentClient.attach(meteorLink(connection), options);
}
