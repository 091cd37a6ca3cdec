// SockJS as VentClient's socket, for networks whose proxies block
// WebSockets (what Meteor's browser client does): SockJS falls back to
// xhr-streaming, xhr-polling, eventsource or htmlfile and vent-bridge
// serves them all (README.md, "SockJS over HTTP").
//
//   import SockJS from 'sockjs-client';     // or the page's window.SockJS
//   const vent = new VentClient('https://host/websocket',
//       {WebSocket: sockJsWebSocket(SockJS)});
//
// The VentClient URL (ws(s)://host/websocket or http(s)://host/...) is
// turned into SockJS's base URL http(s)://host/sockjs. `options` go to
// SockJS (e.g. {transports: ['xhr-streaming', 'xhr-polling']}). A `?token=`
// on the URL is not carried (log in with vent.login() instead).
export function sockJsWebSocket(SockJS, options = {}) {
  if (typeof SockJS !== 'function') throw new TypeError('sockJsWebSocket(SockJS): SockJS constructor required');
  return function VentSockJs(url) {
    const m = /^(ws|wss|http|https):\/\/([^/?#]+)/.exec(String(url));
    if (!m) throw new TypeError(`sockJsWebSocket: cannot map ${url} to a SockJS URL`);
    const scheme = m[1] === 'wss' || m[1] === 'https' ? 'https' : 'http';
    return new SockJS(`${scheme}://${m[2]}/sockjs`, null, options);
  };
}
