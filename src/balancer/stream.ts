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
import http2 from 'node:http2';
import { cancelledError, classifyStatus, ClientClosedError, EtcdError, internalError, UnavailableError } from '../errors.js';
import type { CallFacts } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Init, ResponseHeader, ServiceName } from '../protocol/messages.generated.js';
import { methodDef } from '../protocol/services.js';
import type { MethodDef } from '../protocol/services.js';
import { frameMessage, MessageReader, refusedResponse, statusForReset, statusFromHeaders } from '../protocol/grpc-frames.js';
import type { GrpcStatus } from '../protocol/grpc-frames.js';
import { connectFailureReason } from './unreachable.js';
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
    return new Http2BidiStream<RequestType<S, M>, ResponseType<S, M>>(
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

const noMetadata: Readonly<Record<string, string>> = {};
const leaderMetadata: Readonly<Record<string, string>> = { hasleader: 'true' };
const { NGHTTP2_CANCEL, NGHTTP2_NO_ERROR } = http2.constants;

/**
 * A gRPC bidi call on the endpoint's stream session (node:http2): requests are framed and
 * written as they come (the HTTP/2 stream buffers them), responses are cut out of DATA chunks
 * and handed to the handlers as they arrive, with no extra tick per message. The end is
 * decided once, from (in this order) a local reason, the server's status, or what the
 * connection did, and reported after every message.
 */
class Http2BidiStream<Req, Res> implements BidiStream<Req, Res> {
  readonly endpoint: string;
  readonly #h2: http2.ClientHttp2Stream;
  /** Why the stream's connection failed, once it did. */
  readonly #connectionFailure: () => string | undefined;
  readonly #reader = new MessageReader();
  readonly #onMessageBound = (bytes: Buffer) => this.#onMessage(bytes);
  readonly #serialize: (message: Init<Req>) => Buffer;
  readonly #deserialize: (bytes: Buffer) => Res;
  #handlers: StreamHandlers<Res> | undefined;
  #backlog: Backlog<Res> | undefined;
  /** The call's status: from the server's trailers (or refused headers), or a bad response. */
  #status: GrpcStatus | undefined;
  /** Why the client side ended it (cancel / signal / close / bad request), if it did. */
  #localEnd: EtcdError | undefined;
  /** A transport error the HTTP/2 stream reported (socket reset, stream error). */
  #transportError: Error | undefined;
  #halfClosed = false;
  #reported = false;
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
    this.#tracked = {
      leaderBound: def.path === leaseKeepAlivePath,
      lastMessageAt: Date.now(),
      abandon: (error: EtcdError) => this.#abandon(error),
    };
    const { stream, failure } = channel.streams.request(def.path, requireLeader ? leaderMetadata : noMetadata);
    this.#h2 = stream;
    this.#connectionFailure = failure;
    stream.on('response', (headers) => {
      this.#status ??= refusedResponse(headers) ?? statusFromHeaders(headers);
      if (this.#status !== undefined) this.#closeStream(NGHTTP2_NO_ERROR);
    });
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('trailers', (trailers) => {
      this.#status ??= statusFromHeaders(trailers) ?? { code: GrpcCode.UNKNOWN, details: 'the server sent trailers without grpc-status' };
    });
    stream.on('error', (error: Error) => {
      this.#transportError ??= error;
    });
    // The answer is complete once the server ended its side (with its status in the trailers);
    // 'close' covers every other way, and a server side that ended without a status.
    stream.on('end', () => {
      if (this.#status !== undefined || this.#localEnd !== undefined) this.#finish();
      else this.#closeStream(NGHTTP2_NO_ERROR);
    });
    stream.on('close', () => this.#finish());
    this.#signal = signal;
    this.#closing = closing;
    if (signal !== undefined || closing !== undefined) {
      this.#onAbort = () => {
        this.#localEnd ??=
          closing?.aborted === true
            ? closedError(closing)
            : cancelledError(signal?.reason, { idempotent: true, endpoint: this.endpoint }, false);
        this.#closeStream(NGHTTP2_CANCEL);
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
      this.#closeStream(NGHTTP2_CANCEL);
      return false;
    }
    this.#h2.write(frameMessage(bytes));
    return true;
  }

  end(): void {
    if (this.ended || this.#halfClosed) return;
    this.#halfClosed = true;
    this.#h2.end();
  }

  cancel(): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = cancelledError(undefined, { idempotent: true, endpoint: this.endpoint }, false);
    this.#closeStream(NGHTTP2_CANCEL);
  }

  /** Resets the HTTP/2 stream (if still open); its 'close' then reports the end. */
  #closeStream(code: number): void {
    if (!this.#h2.closed && !this.#h2.destroyed) this.#h2.close(code);
  }

  /** Ends the stream with `error` (the endpoint stopped answering or was removed). */
  #abandon(error: EtcdError): void {
    if (this.#reported || this.#localEnd !== undefined) return;
    this.#localEnd = error;
    this.#closeStream(NGHTTP2_CANCEL);
  }

  #onData(chunk: Buffer): void {
    if (this.ended) return;
    try {
      this.#reader.push(chunk, this.#onMessageBound);
    } catch (error) {
      this.#badResponse(error);
    }
  }

  #onMessage(bytes: Buffer): void {
    if (this.ended) return;
    let message: Res;
    try {
      message = this.#deserialize(bytes);
    } catch (error) {
      this.#badResponse(error);
      return;
    }
    const now = Date.now();
    this.#health.lastHeard = now;
    this.#tracked.lastMessageAt = now;
    this.#monitor?.observeHeader((message as { header?: ResponseHeader }).header);
    const handlers = this.#handlers;
    if (handlers === undefined) (this.#backlog ??= { messages: [], end: undefined }).messages.push(message);
    else this.#deliver(handlers, message);
  }

  /** A response that cannot be read fails the call with INTERNAL, as grpc's clients do. */
  #badResponse(error: unknown): void {
    this.#status ??= { code: GrpcCode.INTERNAL, details: `Response message parsing error: ${errorText(error)}` };
    this.#closeStream(NGHTTP2_CANCEL);
  }

  /** Reports the end once: after the server's side ended with a status, or the HTTP/2 stream closed. */
  #finish(): void {
    if (this.#reported) return;
    this.#reported = true;
    this.#closeStream(NGHTTP2_NO_ERROR);
    this.#health.streams.delete(this.#tracked);
    if (this.#onAbort !== undefined) {
      this.#signal?.removeEventListener('abort', this.#onAbort);
      this.#closing?.removeEventListener('abort', this.#onAbort);
    }
    const error = this.#endError();
    if (this.#localEnd === undefined) this.#monitor?.failed(this.#channel, error);
    const handlers = this.#handlers;
    if (handlers === undefined) (this.#backlog ??= { messages: [], end: undefined }).end = error;
    else this.#deliverEnd(handlers, error);
  }

  #endError(): EtcdError {
    if (this.#localEnd !== undefined) return this.#localEnd;
    const status = this.#status ?? this.#statusWithoutTrailers();
    if (status.code === GrpcCode.OK) {
      return new UnavailableError({
        code: GrpcCode.UNAVAILABLE,
        etcdMessage: 'the server ended the stream',
        message: `the server ended the stream (endpoint ${this.endpoint})`,
        retryable: true,
        endpoint: this.endpoint,
      });
    }
    return classifyStatus(status, { idempotent: true, endpoint: this.endpoint }, this.#transportError ?? status);
  }

  /**
   * The status of a stream that closed before the server sent one: the server reset it
   * (RST_STREAM with a code), or the connection went away (always retryable).
   */
  #statusWithoutTrailers(): GrpcStatus {
    const failure = this.#connectionFailure();
    const transport = this.#transportError as { code?: string } | undefined;
    const resetCode = this.#h2.rstCode;
    // Node reports a reset from the server as a stream error of its own kind; other errors
    // (a socket reset) are the connection's.
    const streamOnly = transport === undefined || transport.code === 'ERR_HTTP2_STREAM_ERROR';
    if (failure === undefined && streamOnly && resetCode !== undefined && resetCode !== NGHTTP2_NO_ERROR) {
      return statusForReset(resetCode);
    }
    const reason = failure ?? (transport?.code !== undefined ? connectFailureReason(transport.code) : undefined);
    return { code: GrpcCode.UNAVAILABLE, details: reason === undefined ? 'Connection dropped' : `Connection dropped: ${reason}` };
  }

  /** Handlers must not throw; if one does, the stream is cancelled and ends with that failure. */
  #deliver(handlers: StreamHandlers<Res>, message: Res): void {
    try {
      handlers.data(message);
    } catch (error) {
      if (this.#reported || this.#localEnd !== undefined) return;
      this.#localEnd = internalError(error, { idempotent: true, endpoint: this.endpoint });
      this.#closeStream(NGHTTP2_CANCEL);
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
