// Package entry: the client, its handle and error types, and the Meteor adapter.
export { VENT_PREFIX, randomId } from './util.js';
export { VentError } from './errors.js';
export { VentSubscription } from './subscription.js';
export { VentClient } from './vent-client.js';
export { meteorLink, attachToMeteor } from './meteor.js';
export { sockJsWebSocket } from './sockjs.js';
