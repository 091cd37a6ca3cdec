// Package entry: the client and the Meteor adapter.
export { VentClient, VentSubscription, VentError, VENT_PREFIX, randomId } from './vent-client.js';
export { meteorLink, attachToMeteor } from './meteor.js';
