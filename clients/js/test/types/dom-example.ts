// The README's browser example with the DOM's WebSocket (lib "dom", no Node
// types). Compiled by types.test.js with `tsc --strict`.
import { VentClient, VentError } from 'vent-client';

const vent = new VentClient(`ws://${location.host}/websocket`);
const explicit = new VentClient('wss://events.example.com/websocket', { WebSocket, networkEvents: window });
const handle = vent.subscribe<{ status: string }>('paymentStatus', { paymentId: 'p1' });
handle.listen(({ status }) => { document.title = status; });
handle.whenReady().then(() => console.log('ready'), (e: VentError) => console.log(e.reason));
explicit.close();
