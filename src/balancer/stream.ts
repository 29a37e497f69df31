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
import type { Init, ResponseHeader, ServiceMethods, ServiceName } from '../protocol/messages.generated.js';
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
  /** A message arrived with `header` (its raft term and the member's revision). */
  observeHeader(header: ResponseHeader | undefined): void;
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

/** What arrived before {@link BidiStream.listen}: messages, then possibly the end. */
interface Backlog<Res> {
  readonly messages: Res[];
  end: EtcdError | undefined;
}

/** A grpc-js call as `Channel.createCall` returns it (kept out of every public type). */
type LowLevelCall = ReturnType<grpc.Channel['createCall']>;

/**
 * The grpc-js backed implementation, on grpc-js's call API (`Channel.createCall`) rather than
 * its Duplex stream: each response reaches the handlers straight from the call's listener, with
 * no stream buffering, no extra ticks and no per-message wrapper object. What the Duplex did
 * for us is done here: requests are serialized and sent one at a time (the next once the
 * previous one is written, as a Writable would), the half-close waits for them, and reading
 * is re-armed after every message (the handlers never hold messages back; the watch layer
 * bounds its own buffers).
 */
class GrpcBidiStream<Req, Res> implements BidiStream<Req, Res> {
  readonly endpoint: string;
  readonly #call: LowLevelCall;
  readonly #serialize: (message: Init<Req>) => Buffer;
  readonly #deserialize: (bytes: Buffer) => Res;
  #handlers: StreamHandlers<Res> | undefined;
  #backlog: Backlog<Res> | undefined;
  /** Set once the call's status arrived (or a local failure ended it). */
  #status: grpc.StatusObject | undefined;
  /** Why the client side ended it (cancel / signal / close / bad message), if it did. */
  #localEnd: EtcdError | undefined;
  #halfClosed = false;
  #reported = false;
  /** Serialized requests waiting for the one being written. */
  #outbox: Buffer[] | undefined;
  #writing = false;
  readonly #written: { callback: () => void };
  readonly #signal: AbortSignal | undefined;
  readonly #closing: AbortSignal | undefined;
  readonly #onAbort: (() => void) | undefined;
  readonly #channel: EndpointChannel;
  readonly #health: EndpointChannel['health'];
  readonly #monitor: StreamObserver | undefined;
  /** This stream as its endpoint's health record sees it (this class moves `lastMessageAt`). */
  readonly #tracked: { -readonly [K in keyof TrackedStream]: TrackedStream[K] };

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
    this.#health = channel.health;
    this.#monitor = monitor;
    this.#serialize = def.requestSerialize as unknown as (message: Init<Req>) => Buffer;
    this.#deserialize = def.responseDeserialize as unknown as (bytes: Buffer) => Res;
    this.#written = { callback: () => this.#onWritten() };
    this.#tracked = {
      leaderBound: def.path === leaseKeepAlivePath,
      lastMessageAt: Date.now(),
      abandon: (error: EtcdError) => this.#abandon(error),
    };
    // No deadline, default host, no parent call, default propagation: what a Client call with
    // empty call options uses.
    const call = channel.client.getChannel().createCall(def.path, Infinity, undefined, null, undefined);
    this.#call = call;
    call.start(requireLeader ? leaderMetadata : plainMetadata, {
      onReceiveMetadata: () => {},
      onReceiveMessage: (bytes: Buffer) => this.#onMessage(bytes),
      onReceiveStatus: (status: grpc.StatusObject) => this.#onStatus(status),
    });
    call.startRead();
    this.#signal = signal;
    this.#closing = closing;
    if (signal !== undefined || closing !== undefined) {
      this.#onAbort = () => {
        this.#localEnd ??=
          closing?.aborted === true
            ? closedError(closing)
            : cancelledError(signal?.reason, { idempotent: true, endpoint: this.endpoint }, false);
        this.#cancelCall();
      };
      signal?.addEventListener('abort', this.#onAbort, { once: true });
      closing?.addEventListener('abort', this.#onAbort, { once: true });
    }
    this.#health.streams.add(this.#tracked);
    monitor?.streamOpened(channel);
  }

  get ended(): boolean {
    return this.#reported || this.#status !== undefined || this.#localEnd !== undefined;
  }

  listen(handlers: StreamHandlers<Res>): void {
    this.#handlers = handlers;
    const backlog = this.#backlog;
    if (backlog === undefined) return;
    this.#backlog = undefined;
    for (const message of backlog.messages) this.#deliver(handlers, message);
    if (backlog.end !== undefined) this.#deliverEnd(handlers, backlog.end);
  }

  write(message: Init<Req>): boolean {
    if (this.ended || this.#halfClosed) return false;
    let bytes: Buffer;
    try {
      bytes = this.#serialize(message);
    } catch (error) {
      // A request that cannot be encoded is a local failure, not the endpoint's: the stream
      // ends with it (not retryable), as when a handler throws.
      this.#localEnd = internalError(error, { idempotent: true, endpoint: this.endpoint });
      this.#cancelCall();
      return false;
    }
    if (this.#writing) {
      (this.#outbox ??= []).push(bytes);
    } else {
      this.#writing = true;
      this.#call.sendMessageWithContext(this.#written, bytes);
    }
    return true;
  }

  end(): void {
    if (this.ended || this.#halfClosed) return;
    this.#halfClosed = true;
    if (!this.#writing) this.#call.halfClose();
  }

  cancel(): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = cancelledError(undefined, { idempotent: true, endpoint: this.endpoint }, false);
    this.#cancelCall();
  }

  #cancelCall(): void {
    this.#outbox = undefined;
    this.#call.cancelWithStatus(GrpcCode.CANCELLED, 'Cancelled on client');
  }

  /** The previous request was written: send the next one, or the pending half-close. */
  #onWritten(): void {
    const next = this.#outbox?.shift();
    if (next !== undefined && !this.ended) {
      this.#call.sendMessageWithContext(this.#written, next);
      return;
    }
    this.#writing = false;
    if (this.#halfClosed && !this.ended) this.#call.halfClose();
  }

  /** Ends the stream with `error` (the endpoint stopped answering or was removed). */
  #abandon(error: EtcdError): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = error;
    this.#cancelCall();
  }

  #onMessage(bytes: Buffer): void {
    if (this.#status !== undefined) return;
    let message: Res;
    try {
      message = this.#deserialize(bytes);
    } catch (error) {
      // As grpc-js does for a response it cannot parse: the call fails with INTERNAL.
      this.#call.cancelWithStatus(GrpcCode.INTERNAL, `Response message parsing error: ${errorText(error)}`);
      return;
    }
    const now = Date.now();
    this.#health.lastHeard = now;
    this.#tracked.lastMessageAt = now;
    this.#monitor?.observeHeader((message as { header?: ResponseHeader }).header);
    const handlers = this.#handlers;
    if (handlers === undefined) (this.#backlog ??= { messages: [], end: undefined }).messages.push(message);
    else this.#deliver(handlers, message);
    // Ask for the next message (grpc-js holds the stream until asked).
    if (this.#status === undefined) this.#call.startRead();
  }

  /** grpc-js reports the status after every message it delivered: the end can be reported now. */
  #onStatus(status: grpc.StatusObject): void {
    if (this.#reported) return;
    this.#status = status;
    this.#reported = true;
    this.#outbox = undefined;
    this.#health.streams.delete(this.#tracked);
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#closing?.removeEventListener('abort', this.#onAbort);
    }
    const error = this.#endError(status);
    if (this.#localEnd === undefined) this.#monitor?.failed(this.#channel, error);
    const handlers = this.#handlers;
    if (handlers === undefined) (this.#backlog ??= { messages: [], end: undefined }).end = error;
    else this.#deliverEnd(handlers, error);
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

  /** Handlers must not throw; if one does, the stream is cancelled and ends with that failure. */
  #deliver(handlers: StreamHandlers<Res>, message: Res): void {
    try {
      handlers.data(message);
    } catch (error) {
      if (this.#reported || this.#localEnd !== undefined) return;
      this.#localEnd = internalError(error, { idempotent: true, endpoint: this.endpoint });
      this.#cancelCall();
    }
  }

  #deliverEnd(handlers: StreamHandlers<Res>, error: EtcdError): void {
    try {
      handlers.end(error);
    } catch {
      // Nothing is left to report to; the stream is over either way.
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
