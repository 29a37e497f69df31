/**
 * The HTTP/2 connection that carries an endpoint's long-lived streams (Watch, LeaseKeepAlive),
 * on node:http2 directly. Unary calls stay on the endpoint's grpc-js channel; streams get a
 * connection of their own because grpc-js's receive path (a pause, a tick and a promise chain
 * per message) cost more client CPU per watch event than the rest of the watch path together
 * (measured in docs/bench.md; the reasoning is in docs/architecture.md).
 *
 * The session is opened when the first stream needs it and kept (unreferenced, so it never
 * holds the process open) while no stream runs. While streams run it sends a keepalive ping
 * every `keepaliveTimeMs` and drops the connection when one is not answered within
 * `keepaliveTimeoutMs`; its streams then end with a retryable error and re-open.
 */
import http2 from 'node:http2';
import type { Endpoint } from '../options.js';
import { connectFailureReason } from './unreachable.js';

/** Keepalive settings of a stream session (from the client options). */
export interface StreamSessionOptions {
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

/**
 * Receive windows. A watch catching up reads batches of up to a thousand revisions in one go,
 * so the stream window is far above HTTP/2's 64 KiB default; nothing holds data back on our
 * side (the watch layer bounds its own buffers), so the window only sets the pace.
 */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
const SESSION_WINDOW_BYTES = 16 * 1024 * 1024;

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE, HTTP2_HEADER_USER_AGENT } =
  http2.constants;

const userAgent = `etcdkit (node ${process.versions.node})`;

/** A call's HTTP/2 stream, and why its connection failed (once it did). */
export interface SessionStream {
  readonly stream: http2.ClientHttp2Stream;
  failure(): string | undefined;
}

/** One HTTP/2 connection per endpoint for streams, opened on demand. */
export class StreamSession {
  readonly #endpoint: Endpoint;
  readonly #options: StreamSessionOptions;
  #session: http2.ClientHttp2Session | undefined;
  /** Streams open on the current session. */
  #active = 0;
  #pingTimer: NodeJS.Timeout | undefined;
  #pingDeadline: NodeJS.Timeout | undefined;
  /** Why each session failed (socket error, unanswered ping), for the streams it ended. */
  readonly #failures = new WeakMap<http2.ClientHttp2Session, string>();
  #closed = false;

  constructor(endpoint: Endpoint, options: StreamSessionOptions) {
    this.#endpoint = endpoint;
    this.#options = options;
  }

  /**
   * Starts a gRPC call on `path` with `metadata` as extra headers. The returned stream's
   * `close` event always comes, also when the connection cannot be made; `failure()` then
   * says why the connection failed, if it did. Throws only when this session was closed.
   */
  request(path: string, metadata: Readonly<Record<string, string>>): SessionStream {
    if (this.#closed) throw new Error('stream session closed');
    const headers: http2.OutgoingHttpHeaders = {
      [HTTP2_HEADER_METHOD]: 'POST',
      [HTTP2_HEADER_PATH]: path,
      [HTTP2_HEADER_CONTENT_TYPE]: 'application/grpc',
      [HTTP2_HEADER_TE]: 'trailers',
      [HTTP2_HEADER_USER_AGENT]: userAgent,
      ...metadata,
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = this.#current().request(headers, { endStream: false });
    } catch {
      // The session was going away (GOAWAY or closing) between checks: start a fresh one.
      this.#drop(this.#session);
      stream = this.#current().request(headers, { endStream: false });
    }
    const session = this.#session!;
    this.#active++;
    if (this.#active === 1) {
      session.ref();
      this.#startKeepalive(session);
    }
    stream.once('close', () => {
      if (this.#session !== session) return;
      this.#active--;
      if (this.#active === 0) {
        this.#stopKeepalive();
        if (!session.destroyed) session.unref();
      }
    });
    // A session destroyed under its streams (socket closed, reset, unanswered ping) is their failure.
    return { stream, failure: () => this.#failures.get(session) ?? (session.destroyed ? 'connection closed' : undefined) };
  }

  /** Closes the connection; its streams end. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const session = this.#session;
    this.#drop(session);
    session?.destroy();
  }

  #current(): http2.ClientHttp2Session {
    const existing = this.#session;
    if (existing !== undefined && !existing.destroyed && !existing.closed) return existing;
    const session = http2.connect(`http://${this.#endpoint.address}`, {
      settings: { enablePush: false, initialWindowSize: STREAM_WINDOW_BYTES },
    });
    this.#session = session;
    this.#active = 0;
    session.once('connect', () => {
      if (!session.destroyed) session.setLocalWindowSize(SESSION_WINDOW_BYTES);
    });
    session.on('error', (error: Error) => {
      if (!this.#failures.has(session)) {
        this.#failures.set(session, connectFailureReason((error as { code?: string }).code ?? error.message));
      }
    });
    // A server going away finishes its streams; new ones go to a new connection.
    session.once('goaway', () => this.#drop(session));
    session.once('close', () => this.#drop(session));
    return session;
  }

  /** Forgets `session` (its streams finish on their own; new ones get a new session). */
  #drop(session: http2.ClientHttp2Session | undefined): void {
    if (session === undefined || this.#session !== session) return;
    this.#stopKeepalive();
    this.#session = undefined;
    this.#active = 0;
    if (!session.destroyed) {
      // Its remaining streams still keep it open; once they end it closes.
      session.close();
    }
  }

  #startKeepalive(session: http2.ClientHttp2Session): void {
    const { keepaliveTimeMs, keepaliveTimeoutMs } = this.#options;
    this.#pingTimer = setInterval(() => {
      if (this.#pingDeadline !== undefined || session.destroyed) return;
      const sent = session.ping((error) => {
        clearTimeout(this.#pingDeadline);
        this.#pingDeadline = undefined;
        void error; // a ping cancelled by the session closing: the close reports it
      });
      if (!sent) return;
      this.#pingDeadline = setTimeout(() => {
        this.#pingDeadline = undefined;
        this.#failures.set(session, `keepalive ping not answered within ${keepaliveTimeoutMs} ms`);
        session.destroy();
      }, keepaliveTimeoutMs);
    }, keepaliveTimeMs);
    this.#pingTimer.unref();
  }

  #stopKeepalive(): void {
    clearInterval(this.#pingTimer);
    clearTimeout(this.#pingDeadline);
    this.#pingTimer = undefined;
    this.#pingDeadline = undefined;
  }
}
