// Shared by the demo pages: where the bridge and the demo backend are, one
// VentClient per page, and the connection badge.
import { VentClient, sockJsWebSocket } from './vent-client.js';

const query = new URLSearchParams(location.search);

// The bridge serves this page, so its WebSocket is on the same host.
export const bridgeUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/websocket`;

// ?backend=http://host:port, else port 3001 on the page's host.
export const backendUrl = (query.get('backend') || `${location.protocol}//${location.hostname}:3001`).replace(/\/$/, '');

export function param(name, fallback) {
  const v = query.get(name);
  return v && /^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : fallback;
}

// ?transport=sockjs: through sockjs-client, as Meteor's browser client does
// (it falls back to xhr-streaming / xhr-polling where WebSockets are
// blocked); &sockjs=xhr-polling,eventsource,... picks its transports.
// sockjs.min.js is served next to this page (copy it from
// node_modules/sockjs-client/dist/, see demo/README.md).
function loadScript(src) {
  return new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = src;
    s.onload = resolve;
    s.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.append(s);
  });
}

async function makeClient() {
  if (query.get('transport') !== 'sockjs') return new VentClient(bridgeUrl);
  if (!globalThis.SockJS) await loadScript('./sockjs.min.js');
  const list = (query.get('sockjs') || '').split(',').filter((t) => /^[a-z-]+$/.test(t));
  return new VentClient(bridgeUrl,
      { WebSocket: sockJsWebSocket(globalThis.SockJS, list.length ? { transports: list } : {}) });
}

export const vent = await makeClient();

// Keeps <span id="connection"> in sync with the client's status events.
export function showConnection(el) {
  const render = (s) => {
    el.className = `badge ${s.connected ? 'ok' : 'down'}`;
    el.textContent = s.connected ? 'connected' :
      s.status === 'waiting' ? `reconnecting in ${Math.round(s.retryInMs / 100) / 10}s (try ${s.retryCount})` :
        s.status;
  };
  render(vent.status());
  vent.on('status', render);
}

// POSTs JSON to the demo backend; resolves the JSON reply or throws its error.
export async function post(path, body) {
  const res = await fetch(`${backendUrl}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const reply = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(reply.error || `HTTP ${res.status}`);
  return reply;
}

// For tests and the console.
globalThis.ventDemo = { vent, bridgeUrl, backendUrl };
