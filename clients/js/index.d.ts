// Type declarations for vent-client (hand-written; the source is plain ES modules).

/** The 28 characters that identify a Vent frame: `{"msg":"changed","__vent":"1`. */
export const VENT_PREFIX: string;

/** Meteor's Random.id(): `n` (default 17) characters from the unmistakable alphabet. */
export function randomId(n?: number): string;

/**
 * A Meteor.Error-shaped failure. `error` is the numeric DDP code (404 unknown
 * publication/method, 400 bad params, 403 denied, 429, 503, ...) or a client
 * code: 'disconnected' | 'closed' | 'stopped' | 'protocol' | 'parse-error'.
 */
export class VentError extends Error {
  constructor(error: number | string, reason?: string, extra?: { details?: unknown; message?: string });
  name: 'VentError';
  error: number | string;
  reason: string | undefined;
  details?: unknown;
  static from(e: unknown): VentError;
}

export type ConnectionState = 'connecting' | 'connected' | 'waiting' | 'closed' | 'failed' | 'attached';

export interface VentStatus {
  connected: boolean;
  status: ConnectionState;
  /** Failed attempts since the last successful connect. */
  retryCount: number;
  /** Delay before the next attempt (status 'waiting'), else 0. */
  retryInMs: number;
  /** Why the connection went down, when it did. */
  reason?: string;
}

/** Anything with a WHATWG WebSocket shape (browser WebSocket, the `ws` package). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface ReconnectOptions {
  /** First retry delay, doubled per failed attempt (default 500). */
  initialMs?: number;
  /** Cap of the delay (default 30000). */
  maxMs?: number;
  /** Fraction of the delay removed at random, 0..1 (default 0.5). */
  jitter?: number;
}

export interface VentClientOptions {
  /** WebSocket constructor; default globalThis.WebSocket. In Node < 22 pass `(await import('ws')).default`. */
  WebSocket?: WebSocketConstructor;
  /** Backoff settings, or false to never reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Send a DDP ping after this much silence from the server (default 17500; 0 disables). */
  heartbeatMs?: number;
  /** Reconnect when a ping is not answered within this (default 15000). */
  heartbeatTimeoutMs?: number;
  /** Give up on a connection attempt that has not reached DDP `connected` (default 10000; 0 disables). */
  connectTimeoutMs?: number;
  /** Open the socket in the constructor (default true). */
  autoConnect?: boolean;
}

/** Handle returned by VentClient.subscribe(): the seed's handle plus whenReady/onReady/onError. */
export class VentSubscription<E = any> {
  /** DDP subscription id (17 chars); stable across reconnects. */
  readonly id: string;
  /** Vent collection id sent as params[0]; stable across reconnects. */
  readonly rand: string;
  readonly name: string;
  readonly params: unknown[];
  /** `${rand}.${name}`: the id carried by this subscription's Vent frames. */
  readonly key: string;
  /** Sets THE listener; a second call replaces the first. `null` removes it. */
  listen(fn: ((event: E) => void) | null): this;
  /** True while the server has acknowledged the subscription on the current connection. */
  ready(): boolean;
  /** Resolves on the first ready; rejects with a VentError on a nosub error or stop() before ready. */
  whenReady(): Promise<this>;
  /** Called after every ready, including re-subscriptions after a reconnect. */
  onReady(fn: () => void): this;
  /** Called when the server ends the subscription with an error (nosub with error). */
  onError(fn: (err: VentError) => void): this;
  /** Unsubscribes; the listener is never called after stop() returns. */
  stop(): void;
}

/** Adapter for running Vent on a DDP connection someone else owns. */
export interface DdpLink {
  /** Send one DDP message object (required unless both subscribe and call are given). */
  send?(msg: object): void;
  /** Register fn for every inbound DDP message, as raw JSON text. */
  onMessage(fn: (raw: string) => void): unknown;
  /** Register fn for every (re)established DDP session: Vent re-sends login and its subs. */
  onConnected?(fn: () => void): unknown;
  /** Let the host own subscriptions (Meteor): params already include the Vent rand first. */
  subscribe?(name: string, params: unknown[], callbacks: { onReady(): void; onStop(err?: unknown): void }): { stop(): void };
  /** Let the host run methods (used by login()). */
  call?(method: string, params: unknown[]): Promise<unknown>;
}

export interface LoginResult {
  id: string;
  token: string;
  tokenExpires?: unknown;
  type?: string;
  [k: string]: unknown;
}

export class VentClient {
  /** url: ws(s)://host:port/websocket; http(s):// is accepted and rewritten. */
  constructor(url: string, options?: VentClientOptions);
  /** Use an existing DDP connection (see DdpLink); no socket, heartbeat or reconnect of its own. */
  static attach(link: DdpLink, options?: VentClientOptions): VentClient;

  /** Sends `sub` with params [rand, ...params] (now, or right after the next connect). */
  subscribe<E = any>(name: string, ...params: unknown[]): VentSubscription<E>;
  /** DDP login with {resume: token}; re-sent first after every reconnect until logout() or a login error. */
  login(token: string): Promise<LoginResult>;
  logout(): Promise<unknown>;
  /** Calls a DDP method; queued while disconnected; rejects with VentError('disconnected') if the link drops mid-call. */
  call(method: string, ...params: unknown[]): Promise<unknown>;

  on(event: 'status', fn: (status: VentStatus) => void): () => void;
  on(event: 'error', fn: (err: unknown) => void): () => void;
  off(event: 'status' | 'error', fn: (...args: any[]) => void): void;
  status(): VentStatus;
  /** Drop the current socket and connect again now. */
  reconnect(): void;
  /** Stops every subscription, closes the socket, cancels reconnects. */
  close(): void;
}

/** The DdpLink for Meteor.connection (or a DDP.connect() result). */
export function meteorLink(connection: unknown): DdpLink;
/** VentClient.attach(meteorLink(connection)); connection defaults to globalThis.Meteor.connection. */
export function attachToMeteor(connection?: unknown, options?: VentClientOptions): VentClient;
