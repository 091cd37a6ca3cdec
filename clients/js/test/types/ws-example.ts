// The README's Node examples, with the `ws` package. Compiled by
// types.test.js with `tsc --strict`; every @ts-expect-error line must fail.
import WebSocket from 'ws';
import {
  VentClient, VentError, VentSubscription, type ReadyInfo, type VentStatus, type LoginResult, type VentPosition,
} from 'vent-client';

const vent = new VentClient('ws://127.0.0.1:3000/websocket', {
  WebSocket,
  reconnect: { initialMs: 500, maxMs: 30000, jitter: 0.5 },
  resubscribe: { initialMs: 1000 },
  heartbeatMs: 17500,
  heartbeatTimeoutMs: 15000,
  getToken: async () => 'a-jwt',
  tokenRefreshMarginMs: 60000,
  networkEvents: false,
});
vent.on('status', ({ connected, status, retryCount, retryInMs }: VentStatus) => {
  const s: string = status;
  console.log(connected, s, retryCount, retryInMs);
});
vent.on('error', (err) => console.error(err.error, err.reason, err.subscription?.name));

interface ThreadEvent { message: string }
const handle = vent.subscribe<ThreadEvent>('threadMessage', { threadId: 't1' }, {
  onReady: ({ first, recovered }: ReadyInfo) => console.log(first, recovered),
  onStop: (err?: VentError) => console.log(err?.reason),
});
handle.listen(({ message }) => console.log(message.toUpperCase()));
handle.onReady(({ first, recovered }) => { if (!first && recovered === false) console.log('refetch'); });
handle.on('subscribing', ({ code, reason }) => console.log(code, reason));
handle.on('unsubscribed', ({ code, error }) => console.log(code, error?.message));
handle.on('state', ({ state, previous }) => console.log(previous, '->', state));
const off: () => void = handle.on('error', (e: VentError) => console.log(e.error));
off();

async function main(): Promise<void> {
  try {
    const h: VentSubscription<ThreadEvent> = await handle.whenReady(5000);
    console.log(h.state, h.recovered, h.ready());
  } catch (e) {
    if (e instanceof VentError) console.error(e.error, e.reason);
  }
  const r: LoginResult = await vent.login('resume-token');
  const expires: Date | null | undefined = r.tokenExpires;
  console.log(r.id, expires?.getTime());
  await vent.call('someMethod', 1, 'two');
  vent.setUrl('ws://127.0.0.1:3000/websocket?token=new');
  vent.connect();
  vent.reconnect();
  handle.stop();
  vent.close();
}
void main();

// Publications with history: the position as the listener's second
// argument, position() to save, subscribeFrom() to resume.
interface RoomEvent { text: string }
const room = vent.subscribe<RoomEvent>('room', { r: 'lobby' });
room.listen((e, pos?: VentPosition) => console.log(e.text, pos?.channel, pos?.offset, pos?.epoch));
room.listen((e) => console.log(e.text)); // the one-argument form still fits
room.onReady(({ recovered }) => { if (recovered !== true) console.log('refetch'); });
const saved: VentPosition[] | null = room.position();
const resumed: VentSubscription<RoomEvent> = vent.subscribeFrom<RoomEvent>(saved, 'room', { r: 'lobby' },
    { onReady: ({ first, recovered }: ReadyInfo) => console.log(first, recovered) });
resumed.stop();
// @ts-expect-error a position has a channel, an offset and an epoch
vent.subscribeFrom([{ channel: 0, offset: 1 }], 'room');

// With a trailing function (Meteor's onReady).
vent.subscribe('paymentStatus', { paymentId: 'p1' }, () => console.log('ready'));

// @ts-expect-error handles come from VentClient.subscribe()
new VentSubscription();
// @ts-expect-error the listener receives the declared event type
handle.listen((e: { other: number }) => console.log(e.other));
// @ts-expect-error unknown event
handle.on('publication', () => {});
