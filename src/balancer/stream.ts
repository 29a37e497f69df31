/**
 * The bidi-stream seam: opens one gRPC bidirectional stream (Watch, LeaseKeepAlive) on a
 * ready endpoint and wraps it in a small object free of grpc-js types. The stream's end is
 * reported exactly once, after every message it delivered, as a classified EtcdError.
 *
 * Endpoint choice follows the balancer's view: a healthy endpoint other than `avoid` first,
 * then a healthy one, and a set-aside endpoint only when nothing healthy is connected. Every
 * open stream is registered on its endpoint: its messages count as signs of life, and the
 * health monitor ends it (with a retryable UnavailableError, so its owner re-opens elsewhere)
 * when the endpoint stops answering or is removed.
 */
import * as grpc from '@grpc/grpc-js';
import { cancelledError, classifyStatus, ClientClosedError, EtcdError, internalError, UnavailableError } from '../errors.js';
import type { CallFacts } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Init, ServiceMethods, ServiceName } from '../protocol/messages.generated.js';
import { methodDef } from '../protocol/services.js';
import type { MethodDef } from '../protocol/services.js';
import type { EndpointChannel } from './channel.js';
import type { TrackedStream } from './health.js';
import type { BidiMethodName, BidiStream, OpenStreamOptions, RequestType, ResponseType, StreamHandlers } from './invoke.js';

export type { BidiMethodName, BidiStream, OpenStreamOptions, StreamHandlers } from './invoke.js';
import type { EndpointPool } from './pool.js';

/** What the stream opener needs besides the pool. */
export interface StreamContext {
  /** How long to wait for a ready endpoint. */
  readonly dialTimeoutMs: number;
  /** Aborted when the client closes (its reason is the ClientClosedError reported). */
  readonly closing?: AbortSignal;
  /** Told about streams opening and failing (the health monitor). */
  readonly monitor?: StreamObserver;
}

/** What the health monitor learns from streams. */
export interface StreamObserver {
  /** A stream was opened on `channel`. */
  streamOpened(channel: EndpointChannel): void;
  /** A stream on `channel` ended by the server or the transport with `error`. */
  failed(channel: EndpointChannel, error: EtcdError): void;
  /** The highest raft term seen so far. */
  readonly term: bigint;
  /** A message carried raft term `term`. */
  observeTerm(term: bigint): void;
}

/** The stream whose requests followers forward to the leader. */
const leaseKeepAlivePath = '/etcdserverpb.Lease/LeaseKeepAlive';

const plainMetadata = new grpc.Metadata();
const leaderMetadata = new grpc.Metadata();
leaderMetadata.set('hasleader', 'true');

/**
 * Opens a bidi stream on a ready endpoint, waiting for one at most `dialTimeoutMs`.
 * Rejects with `UnavailableError` (no endpoint within the dial timeout), `CancelledError`
 * (signal aborted), or `ClientClosedError`.
 */
export function openBidiStream<S extends ServiceName, M extends BidiMethodName<S>>(
  pool: EndpointPool,
  context: StreamContext,
  service: S,
  method: M,
  options: OpenStreamOptions = {},
): Promise<BidiStream<RequestType<S, M>, ResponseType<S, M>>> {
  const def = methodDef(service, method as never) as unknown as MethodDef<ServiceName, never>;
  const { signal, avoid } = options;
  const closing = context.closing;
  const facts: CallFacts = { idempotent: true, endpoint: undefined };
  if (closing?.aborted === true) return Promise.reject(closedError(closing));
  if (signal?.aborted === true) return Promise.reject(cancelledError(signal.reason, facts, false));
  const open = (channel: EndpointChannel) => {
    if (closing?.aborted === true) throw closedError(closing);
    if (signal?.aborted === true) throw cancelledError(signal.reason, facts, false);
    return new GrpcBidiStream<RequestType<S, M>, ResponseType<S, M>>(
      channel,
      def,
      options.requireLeader === true,
      signal,
      closing,
      context.monitor,
    );
  };
  const ready = pool.pickReady(avoid);
  if (ready !== undefined) {
    try {
      return Promise.resolve(open(ready));
    } catch (error) {
      return Promise.reject(error instanceof EtcdError ? error : internalError(error, facts));
    }
  }
  const waitSignal = signal === undefined ? closing : closing === undefined ? signal : AbortSignal.any([signal, closing]);
  return pool
    .waitForReady(context.dialTimeoutMs, 'dial-timeout', waitSignal, () =>
      closing?.aborted === true ? closedError(closing) : cancelledError(signal?.reason, facts, false),
    )
    .then((channel) => {
      try {
        return open(pool.pickReady(avoid) ?? channel);
      } catch (error) {
        throw error instanceof EtcdError ? error : internalError(error, facts);
      }
    });
}

function closedError(closing: AbortSignal): EtcdError {
  return closing.reason instanceof EtcdError ? closing.reason : new ClientClosedError();
}

/** Queued events before {@link BidiStream.listen}. */
type Pending<Res> = { data: Res } | { end: EtcdError };

/** The grpc-js backed implementation. */
class GrpcBidiStream<Req, Res> implements BidiStream<Req, Res> {
  readonly endpoint: string;
  readonly #call: grpc.ClientDuplexStream<unknown, unknown>;
  #handlers: StreamHandlers<Res> | undefined;
  #pending: Pending<Res>[] | undefined;
  #status: grpc.StatusObject | undefined;
  /** Why the client side ended it (cancel / signal / close), if it did. */
  #localEnd: EtcdError | undefined;
  #halfClosed = false;
  #reported = false;
  readonly #signal: AbortSignal | undefined;
  readonly #closing: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #channel: EndpointChannel;
  readonly #monitor: StreamObserver | undefined;
  /** This stream as its endpoint's health record sees it. */
  readonly #tracked: TrackedStream;

  constructor(
    channel: EndpointChannel,
    def: MethodDef<ServiceName, never>,
    requireLeader: boolean,
    signal: AbortSignal | undefined,
    closing: AbortSignal | undefined,
    monitor: StreamObserver | undefined,
  ) {
    this.endpoint = channel.endpoint.address;
    this.#channel = channel;
    this.#monitor = monitor;
    const tracked = {
      leaderBound: def.path === leaseKeepAlivePath,
      lastMessageAt: Date.now(),
      abandon: (error: EtcdError) => this.#abandon(error),
    };
    this.#tracked = tracked;
    this.#call = channel.client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize as (value: unknown) => Buffer,
      def.responseDeserialize,
      requireLeader ? leaderMetadata : plainMetadata,
      {},
    );
    const call = this.#call;
    const health = channel.health;
    call.on('data', (message: Res) => {
      const now = Date.now();
      health.lastHeard = now;
      tracked.lastMessageAt = now;
      const term = (message as { header?: { raft_term?: bigint } } | undefined)?.header?.raft_term;
      if (monitor !== undefined && term !== undefined && term > monitor.term) monitor.observeTerm(term);
      this.#emit({ data: message });
    });
    // grpc-js emits 'error' for every non-OK status; 'status' follows and carries the same facts.
    call.on('error', () => {});
    call.on('status', (status: grpc.StatusObject) => {
      this.#status = status;
      // The readable side ends after its buffered messages; report then (or now if it has).
      if (call.readableEnded) this.#finish();
    });
    call.on('end', () => this.#finish());
    call.on('close', () => this.#finish());
    this.#signal = signal;
    this.#closing = closing;
    if (signal !== undefined || closing !== undefined) {
      this.#onAbort = () => {
        this.#localEnd ??=
          closing?.aborted === true
            ? closedError(closing)
            : cancelledError(signal?.reason, { idempotent: true, endpoint: this.endpoint }, false);
        call.cancel();
      };
      signal?.addEventListener('abort', this.#onAbort, { once: true });
      closing?.addEventListener('abort', this.#onAbort, { once: true });
    }
    health.streams.add(this.#tracked);
    monitor?.streamOpened(channel);
  }

  get ended(): boolean {
    return this.#reported || this.#status !== undefined || this.#localEnd !== undefined;
  }

  listen(handlers: StreamHandlers<Res>): void {
    this.#handlers = handlers;
    const pending = this.#pending;
    if (pending === undefined) return;
    this.#pending = undefined;
    for (const item of pending) this.#deliver(handlers, item);
  }

  write(message: Init<Req>): boolean {
    if (this.ended || this.#halfClosed) return false;
    return this.#call.write(message);
  }

  end(): void {
    if (this.ended || this.#halfClosed) return;
    this.#halfClosed = true;
    this.#call.end();
  }

  cancel(): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = cancelledError(undefined, { idempotent: true, endpoint: this.endpoint }, false);
    this.#call.cancel();
  }

  /** Ends the stream with `error` (the endpoint stopped answering or was removed). */
  #abandon(error: EtcdError): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = error;
    this.#call.cancel();
  }

  /** Reports the end once the status is known and the readable side has delivered everything. */
  #finish(): void {
    if (this.#reported || this.#status === undefined) return;
    this.#reported = true;
    this.#channel.health.streams.delete(this.#tracked);
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#closing?.removeEventListener('abort', this.#onAbort);
    }
    const error = this.#endError(this.#status);
    if (this.#localEnd === undefined) this.#monitor?.failed(this.#channel, error);
    this.#emit({ end: error });
  }

  #endError(status: grpc.StatusObject): EtcdError {
    if (this.#localEnd !== undefined) return this.#localEnd;
    if (status.code === GrpcCode.OK) {
      return new UnavailableError({
        code: GrpcCode.UNAVAILABLE,
        etcdMessage: 'the server ended the stream',
        message: `the server ended the stream (endpoint ${this.endpoint})`,
        retryable: true,
        endpoint: this.endpoint,
      });
    }
    return classifyStatus(status, { idempotent: true, endpoint: this.endpoint }, status);
  }

  #emit(item: Pending<Res>): void {
    const handlers = this.#handlers;
    if (handlers === undefined) {
      (this.#pending ??= []).push(item);
      return;
    }
    this.#deliver(handlers, item);
  }

  /** Handlers must not throw; if one does, the stream is cancelled and ends with that failure. */
  #deliver(handlers: StreamHandlers<Res>, item: Pending<Res>): void {
    if ('end' in item) {
      try {
        handlers.end(item.end);
      } catch {
        // Nothing is left to report to; the stream is over either way.
      }
      return;
    }
    try {
      handlers.data(item.data);
    } catch (error) {
      if (this.#reported || this.#localEnd !== undefined) return;
      this.#localEnd = internalError(error, { idempotent: true, endpoint: this.endpoint });
      this.#call.cancel();
    }
  }
}
