// Shared by the demo pages: where the bridge and the demo backend are, one
// VentClient per page, and the connection badge.
import { VentClient } from './vent-client.js';

const query = new URLSearchParams(location.search);

// The bridge serves this page, so its WebSocket is on the same host.
export const bridgeUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/websocket`;

// ?backend=http://host:port, else port 3001 on the page's host.
export const backendUrl = (query.get('backend') || `${location.protocol}//${location.hostname}:3001`).replace(/\/$/, '');

export function param(name, fallback) {
  const v = query.get(name);
  return v && /^[A-Za-z0-9_-]{1,64}$/.test(v) ? v : fallback;
}

export const vent = new VentClient(bridgeUrl);

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
