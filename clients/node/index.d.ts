// Types of the "vent-grpc" package (vent-client.js): the Node.js client of
// vent-server's gRPC API, vent.v1.Vent (proto/vent/v1/vent.proto).
import type * as grpc from '@grpc/grpc-js';

/** An event payload: a string is sent as JSON text byte for byte (it must be
 * valid JSON); a Buffer is decoded as UTF-8; anything else is JSON.stringify'd. */
export type Payload = string | Buffer | unknown;

export interface TlsOptions {
  rootCerts?: Buffer | null;
  privateKey?: Buffer | null;
  certChain?: Buffer | null;
}

export interface VentClientOptions {
  /** Sent as `authorization: Bearer KEY` on every call. */
  apiKey?: string;
  /** true: TLS with the system roots; an object: TLS with these PEM buffers. */
  tls?: boolean | TlsOptions;
  /** Default deadline of unary calls in ms (default 10000; 0 = none). */
  deadlineMs?: number;
  /** Passed to the grpc-js channel. */
  channelOptions?: grpc.ChannelOptions;
}

export interface EmitOptions {
  /** A repeat within the server's idempotency window is not published again. */
  idempotencyKey?: string;
  deadlineMs?: number;
}

export interface EmitResult {
  /** Receivers Redis' PUBLISH reported. */
  receivers: number;
  /** Server-assigned event id (26 characters). */
  id: string;
  /** true when idempotencyKey was seen before and nothing was published. */
  duplicate: boolean;
}

/** [channel, payload, options?] or {channel, data | json, idempotencyKey?}. */
export type BatchEvent =
  | [string, Payload]
  | [string, Payload, {idempotencyKey?: string}]
  | {channel: string; data?: Payload; json?: string; idempotencyKey?: string};

export interface EmitStreamOptions {
  /** Deadline of the whole call in ms; 0 (default) = none. */
  deadlineMs?: number;
  /** Events per EmitStreamRequest at most (default 256). */
  maxEventsPerMessage?: number;
}

export interface StreamResult {
  published: number;
  receivers: number;
}

export interface EmitStream {
  /** The underlying grpc-js call. */
  call: grpc.ClientWritableStream<unknown>;
  /** Resolves once the event is queued; waits while the queue is full. */
  write(channel: string, payload: Payload, options?: {idempotencyKey?: string}): Promise<void>;
  /** Sends what is queued, ends the call, resolves with the server's totals. */
  end(): Promise<StreamResult>;
  cancel(): void;
}

export interface SubscribedEvent {
  channel: string;
  /** The event exactly as published to Redis (on a history channel: as emitted). */
  json: string;
  emittedAt: Date | null;
  /** Its position on a history channel (docs/history.md); 0 and '' otherwise. */
  offset: number;
  epoch: string;
}

/** A position on a channel's history: the last event processed there. */
export interface Position {
  channel: string;
  offset: number;
  epoch: string;
}

/** Where the call starts on a history channel (or one given in `since`). */
export interface ChannelStart extends Position {
  /** A position was given and every event after it is delivered. */
  recovered: boolean;
  /** Why not, when a position was given ('' otherwise). */
  reason: string;
}

export interface SubscribeOptions {
  /** Resume after these positions: the missed events come first. */
  since?: Position[];
}

export interface Subscription {
  /** Resolves once Redis confirmed the subscription (and the histories were read). */
  ready: Promise<ChannelStart[]>;
  /** Resolves on cancel(); rejects with the gRPC error otherwise. */
  done: Promise<void>;
  cancel(): void;
}

/** Errors: every method rejects with the grpc-js ServiceError (`code` is a
 * `status` value, `details` the server's message). */
export class VentClient {
  constructor(address: string, options?: VentClientOptions);
  emit(channel: string, payload: Payload, options?: EmitOptions): Promise<EmitResult>;
  emitBatch(events: BatchEvent[], options?: {deadlineMs?: number}): Promise<EmitResult[]>;
  emitStream(options?: EmitStreamOptions): EmitStream;
  subscribe(channels: string[], onEvent: (event: SubscribedEvent) => void,
            options?: SubscribeOptions): Subscription;
  waitForReady(timeoutMs?: number): Promise<void>;
  close(): void;
}

export const status: typeof grpc.status;
export const Metadata: typeof grpc.Metadata;
/** The package's version (package.json). */
export const version: string;
/** The grpc-js service constructor of vent.v1.Vent. */
export function loadService(): grpc.ServiceClientConstructor;
