/**
 * The seam every client namespace (kv, lease, watch) uses to run unary RPCs and open streams. Types only, and
 * free of grpc-js types so they can appear in public declarations.
 */
import type { Init, ServiceMethods, ServiceName } from '../protocol/messages.generated.js';
import type { CallOptions } from '../options.js';
import type { EtcdError } from '../errors.js';

/** Method names of a service. */
export type MethodNameOf<S extends ServiceName> = keyof ServiceMethods[S] & string;

/** Names of the unary (non-streaming) methods of a service. */
export type UnaryMethodName<S extends ServiceName> = {
  [M in MethodNameOf<S>]: ServiceMethods[S][M] extends { requestStream: false; responseStream: false } ? M : never;
}[MethodNameOf<S>];

/** Decoded request type of a method. */
export type RequestType<S extends ServiceName, M extends MethodNameOf<S>> = ServiceMethods[S][M] extends {
  request: infer R;
}
  ? R
  : never;

/** Decoded response type of a method. */
export type ResponseType<S extends ServiceName, M extends MethodNameOf<S>> = ServiceMethods[S][M] extends {
  response: infer R;
}
  ? R
  : never;

/** Runs unary RPCs: deadline, abort, endpoint choice, error classification, safe retries. */
export interface Invoke {
  invoke<S extends ServiceName, M extends UnaryMethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestType<S, M>>,
    options?: CallOptions,
  ): Promise<ResponseType<S, M>>;
}

// Bidirectional streams: the grpc-free side of stream.ts, so public declarations never
// reach grpc-js.

/** Names of the bidirectional-streaming methods of a service. */
export type BidiMethodName<S extends ServiceName> = {
  [M in MethodNameOf<S>]: ServiceMethods[S][M] extends { requestStream: true; responseStream: true } ? M : never;
}[MethodNameOf<S>];

/** Options of opening a bidirectional stream (`openBidiStream` in stream.ts). */
export interface OpenStreamOptions {
  /** Aborts the wait for an endpoint (the open rejects) or, once open, cancels the stream. */
  signal?: AbortSignal;
  /** Send `hasleader: true` metadata: the server refuses the stream (and ends it) without a leader. */
  requireLeader?: boolean;
  /** An endpoint address (`host:port`) to avoid when another one is ready (e.g. the one that just failed). */
  avoid?: string;
}

/** Receives a stream's messages and its end. */
export interface StreamHandlers<Res> {
  /** One response, in arrival order. */
  data(message: Res): void;
  /**
   * The stream ended, reported exactly once and after every `data`. The error says why:
   * the server's status classified (e.g. `UnavailableError`, `NoLeaderError`), a
   * `CancelledError` after {@link BidiStream.cancel}, `ClientClosedError` when the client
   * closed, or an `UnavailableError` when the server ended the stream normally.
   */
  end(error: EtcdError): void;
}

/** An open bidirectional stream (no grpc-js types). */
export interface BidiStream<Req, Res> {
  /** The endpoint (`host:port`) the stream runs on. */
  readonly endpoint: string;
  /** True once the end was reported (or is about to be, after remaining messages). */
  readonly ended: boolean;
  /**
   * Sets the handlers (once). Messages or an end that arrived before are delivered now, in
   * order. Calling it again replaces the handlers.
   */
  listen(handlers: StreamHandlers<Res>): void;
  /** Sends a message; returns false if the stream is ended/closing (then nothing was sent) or its buffer is full. */
  write(message: Init<Req>): boolean;
  /** Half-closes the sending side (the server may then finish the stream). */
  end(): void;
  /** Cancels the stream; the end is then reported with a `CancelledError`. Idempotent. */
  cancel(): void;
}
