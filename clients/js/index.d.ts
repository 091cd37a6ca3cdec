// Type declarations for vent-client (hand-written; the source is plain ES
// modules). Checked with `tsc --strict` by clients/js/test/types.test.js.

/** The 28 characters that identify a Vent frame: `{"msg":"changed","__vent":"1`. */
export const VENT_PREFIX: string;

/** Meteor's Random.id(): `n` (default 17) characters from the unmistakable alphabet. */
export function randomId(n?: number): string;

/**
 * Codes the client itself uses in `VentError.error` (the server's are numbers:
 * 400, 403, 404, 429, 503, ...).
 */
export type VentClientErrorCode =
  | 'disconnected' | 'closed' | 'stopped' | 'nosub' | 'timeout' | 'too-big' | 'unauthorized'
  | 'failed' | 'token' | 'listener' | 'protocol' | 'parse-error';

/**
 * A Meteor.Error-shaped failure. `error` is the numeric DDP code (404 unknown
 * publication/method, 400 bad params, 403 denied, 429, 503, ...) or a client
 * code (VentClientErrorCode). `subscription` is the handle it concerns, if any.
 */
export class VentError extends Error {
  constructor(error: number | string, reason?: string,
    extra?: { details?: unknown; message?: string; cause?: unknown; subscription?: VentSubscription | null });
  name: 'VentError';
  error: number | VentClientErrorCode | string;
  reason: string | undefined;
  details?: unknown;
  cause?: unknown;
  /** The subscription this error concerns (not enumerable), or null. */
  subscription: VentSubscription | null;
  static from(e: unknown, extra?: { subscription?: VentSubscription }): VentError;
}

export type ConnectionState =
  | 'disconnected' | 'connecting' | 'connected' | 'waiting' | 'unauthorized' | 'closed' | 'failed' | 'attached';

export interface VentStatus {
  connected: boolean;
  status: ConnectionState;
  /** Connection attempts since the last one that was healthy and ended normally. */
  retryCount: number;
  /** Delay before the next attempt (status 'waiting'), else 0. */
  retryInMs: number;
  /** Why the connection went down, when it did. */
  reason?: string;
  /** The WebSocket close code, when there was one. */
  code?: number;
}

/**
 * The part of a WHATWG WebSocket the client uses. Both the DOM's `WebSocket`
 * and the `ws` package's class fit (handler parameters are `any` so that
 * either's event types are accepted under `strictFunctionTypes`).
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => any) | null;
  onmessage: ((ev: any) => any) | null;
  onclose: ((ev: any) => any) | null;
  onerror: ((ev: any) => any) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export interface BackoffOptions {
  /** First delay, doubled per failed attempt. */
  initialMs?: number;
  /** Cap of the delay. */
  maxMs?: number;
  /** Fraction of the delay removed at random, 0..1 (default 0.5). */
  jitter?: number;
}
/** @deprecated use BackoffOptions */
export type ReconnectOptions = BackoffOptions;

/** Where 'online'/'offline' events come from (default: globalThis, i.e. `window`). */
export interface NetworkEventSource {
  addEventListener(type: 'online' | 'offline', fn: () => void): void;
  removeEventListener(type: 'online' | 'offline', fn: () => void): void;
}

export interface VentClientOptions {
  /** WebSocket constructor; default globalThis.WebSocket. In Node < 22 pass the `ws` package's default export. */
  WebSocket?: WebSocketConstructor;
  /** Reconnect backoff ({initialMs: 500, maxMs: 30000, jitter: 0.5}), or false to never reconnect. */
  reconnect?: BackoffOptions | false;
  /** Backoff of a subscription retried after a 503/429 nosub ({initialMs: 1000, maxMs: 30000, jitter: 0.5}). */
  resubscribe?: BackoffOptions;
  /** Send a DDP ping after this much silence from the server (default 17500; 0 disables). */
  heartbeatMs?: number;
  /** Drop the connection when nothing arrives within this after a ping (default 15000). */
  heartbeatTimeoutMs?: number;
  /** Give up on a connection attempt that has not reached DDP `connected` (default 10000; 0 disables). */
  connectTimeoutMs?: number;
  /** Open the socket in the constructor (default true); else call connect(). */
  autoConnect?: boolean;
  /**
   * Returns the login token (a JWT for vent-bridge), or null for no user. Called
   * for the first login, ahead of the token's expiry, after a 403 "expired", and
   * for a `?token=` URL refused with HTTP 401.
   */
  getToken?: () => Promise<string | null | undefined> | string | null | undefined;
  /** Refresh this long before the token expires (default 60000; at most half its life). */
  tokenRefreshMarginMs?: number;
  /** Listen to 'online'/'offline' (default true: globalThis when it has addEventListener). */
  networkEvents?: boolean | NetworkEventSource;
  /**
   * Decode EJSON in events as Meteor's client does (default true):
   * {"$date": ms} -> Date, {"$binary": base64} -> Uint8Array, {"$escape": {...}}
   * -> its object; other EJSON forms are left as they are.
   */
  ejson?: boolean;
}

export interface ReadyInfo {
  /** True for the first ready of this handle only. */
  first: boolean;
  /**
   * false: events may have been missed since the previous ready (a reconnect,
   * a resubscribe after an error, or the server lost its Redis subscription);
   * true: a publication with history was resubscribed from the handle's
   * positions and the server replayed every missed event (they reached the
   * listener, in order, before this ready): nothing to refetch;
   * undefined: no gap is known (first ready, re-login).
   */
  recovered: boolean | undefined;
}

/**
 * Where a subscription stands in one channel of a publication with history
 * (docs/history.md): `channel` is the index of the Redis channel in the
 * publication's channel list, `offset` counts 1, 2, 3... per channel within
 * an `epoch` (an opaque string; "" = the channel had no history).
 */
export interface VentPosition {
  channel: number;
  offset: number;
  epoch: string;
}

export type SubscriptionState = 'subscribing' | 'subscribed' | 'unsubscribed';

export interface SubscriptionChange {
  /** 'subscribe' | 'disconnected' | 'stopped' | 'closed' | 'nosub' | 'too-big' | a DDP error code ... */
  code: number | string;
  reason: string | undefined;
  error?: VentError;
}

export interface StateChange extends Partial<SubscriptionChange> {
  state: SubscriptionState;
  previous: SubscriptionState;
  first?: boolean;
  recovered?: boolean | undefined;
}

export interface SubscriptionEvents {
  state: StateChange;
  subscribing: SubscriptionChange;
  ready: ReadyInfo;
  unsubscribed: SubscriptionChange;
  error: VentError;
}

/** Meteor.subscribe's trailing callbacks. onReady runs once (the first ready); onStop on every end. */
export interface SubscribeCallbacks {
  onReady?: (info: ReadyInfo) => void;
  onStop?: (error?: VentError) => void;
  onError?: (error: VentError) => void;
}

/** Handle returned by VentClient.subscribe(). Only the client creates them. */
export class VentSubscription<E = any> {
  private constructor();
  /** DDP subscription id (17 chars); stable across reconnects. */
  readonly id: string;
  /** Vent collection id sent as params[0]; stable across reconnects. */
  readonly rand: string;
  readonly name: string;
  readonly params: unknown[];
  /** `${rand}.${name}`: the id carried by this subscription's Vent frames. */
  readonly key: string;
  readonly state: SubscriptionState;
  /** `recovered` of the last ready (see ReadyInfo). */
  readonly recovered: boolean | undefined;
  /** The error it ended with, if any. */
  readonly error: VentError | null;
  /**
   * Sets THE listener; a second call replaces the first. `null` removes it.
   * For a publication with history the event's position comes second
   * (undefined otherwise, and for events published without one).
   */
  listen(fn: ((event: E, position: VentPosition | undefined) => void) | null): this;
  /**
   * The handle's position in each channel of a publication with history (a
   * copy), or null when none is known (no history, or no ready yet). Save it
   * to resume with VentClient.subscribeFrom(); it stays readable after stop().
   */
  position(): VentPosition[] | null;
  /** True while the server has acknowledged the subscription on the current connection. */
  ready(): boolean;
  /**
   * Resolves once subscribed (at once if it is); rejects with a VentError when
   * the subscription ends first, or with code 'timeout' after timeoutMs.
   */
  whenReady(timeoutMs?: number): Promise<this>;
  /** Called after every ready, including re-subscriptions. */
  onReady(fn: (info: ReadyInfo) => void): this;
  /** Called when the subscription ends with an error. */
  onError(fn: (err: VentError) => void): this;
  /** Called once when the subscription ends: no argument after stop()/close(), the error otherwise. */
  onStop(fn: (err?: VentError) => void): this;
  on<K extends keyof SubscriptionEvents>(event: K, fn: (arg: SubscriptionEvents[K]) => void): () => void;
  off<K extends keyof SubscriptionEvents>(event: K, fn: (arg: SubscriptionEvents[K]) => void): void;
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
  /** When the token expires (the server's `{$date}` turned into a Date). */
  tokenExpires?: Date | null;
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
  /**
   * subscribe(), resuming from a position saved from handle.position() (a
   * publication with history): the server replays what followed it, and the
   * first ready says whether that was everything. null: a plain subscribe.
   * Throws a TypeError for an invalid position.
   */
  subscribeFrom<E = any>(position: readonly VentPosition[] | null, name: string, ...params: unknown[]): VentSubscription<E>;
  /** DDP login with {resume: token}; resolves this call's own result. */
  login(token: string): Promise<LoginResult>;
  logout(): Promise<unknown>;
  /** Calls a DDP method; queued while disconnected; rejects with VentError('disconnected') if the link drops mid-call. */
  call(method: string, ...params: unknown[]): Promise<unknown>;

  on(event: 'status', fn: (status: VentStatus) => void): () => void;
  on(event: 'error', fn: (err: VentError) => void): () => void;
  off(event: 'status' | 'error', fn: (...args: any[]) => void): void;
  status(): VentStatus;
  /** Connect now if there is no socket (autoConnect: false, 'unauthorized', or skip the backoff wait). */
  connect(): void;
  /** Drop the current socket and connect again now. */
  reconnect(): void;
  /** The URL for the next connection (e.g. a new ?token=); connects at once after 'unauthorized'. */
  setUrl(url: string): void;
  /** Ends every subscription, rejects what is pending with VentError('closed'), stops reconnecting. */
  close(): void;
}

/** The DdpLink for Meteor.connection (or a DDP.connect() result). */
export function meteorLink(connection: unknown): DdpLink;
/** VentClient.attach(meteorLink(connection)); connection defaults to globalThis.Meteor.connection. */
export function attachToMeteor(connection?: unknown, options?: VentClientOptions): VentClient;
/**
 * A WebSocket constructor for VentClient that opens a SockJS connection to the
 * same host (ws(s)://host/... -> http(s)://host/sockjs), for networks that block
 * WebSockets. `SockJS` is sockjs-client's constructor; `options` go to it.
 */
export function sockJsWebSocket(
  SockJS: new (url: string, protocols?: unknown, options?: unknown) => WebSocketLike,
  options?: { transports?: string[]; [key: string]: unknown },
): WebSocketConstructor;
