/**
 * One gRPC channel to one endpoint, with its connectivity state tracked by a watcher (no
 * polling, no timers). The balancer reads `ready` on every call, so it is a plain field.
 * The channel also remembers why its last connection attempt failed (for the dial-timeout
 * error) and carries the balancer's health view of the endpoint.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import type { Endpoint, ResolvedClientOptions } from '../options.js';
import { EndpointHealth } from './health.js';
import { StreamSession } from './stream-session.js';
import type { StreamSessionOptions } from './stream-session.js';
import { connectFailureReason } from './unreachable.js';

const { connectivityState } = grpc;

/** Settings shared by every endpoint channel: grpc-js's for unary calls, the stream session's. */
export interface ChannelSettings {
  readonly grpc: ChannelOptions;
  readonly streams: StreamSessionOptions;
}

/** Channel settings from the client options. */
export function channelSettings(options: ResolvedClientOptions): ChannelSettings {
  return {
    grpc: grpcChannelOptions(options),
    streams: { keepaliveTimeMs: options.keepaliveTimeMs, keepaliveTimeoutMs: options.keepaliveTimeoutMs },
  };
}

function grpcChannelOptions(options: ResolvedClientOptions): ChannelOptions {
  return {
    // etcd accepts pings no more often than every 5 s and never without active calls
    // (options.ts enforces keepaliveTimeMs >= 10 s).
    'grpc.keepalive_time_ms': options.keepaliveTimeMs,
    'grpc.keepalive_timeout_ms': options.keepaliveTimeoutMs,
    'grpc.keepalive_permit_without_calls': 0,
    // Like clientv3: unlimited receive size, 2 MiB send size (etcd's own request cap is 1.5 MiB).
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': 2 * 1024 * 1024,
    // Reconnect quickly after a member restarts, so a waiting call sees it within the dial timeout.
    'grpc.initial_reconnect_backoff_ms': 250,
    'grpc.max_reconnect_backoff_ms': Math.max(1000, Math.min(options.dialTimeoutMs, 5000)),
    // Private subchannels: closing this client never touches another client's connections,
    // and no shared-pool cleanup timer stays behind.
    'grpc.use_local_subchannel_pool': 1,
  };
}

/** Listener of connectivity changes; `previous` is the state before the change. */
export type ChannelListener = (channel: EndpointChannel, previous: grpc.connectivityState) => void;

/** A method every etcd member serves; used only to read why a connection failed (never sent). */
const diagnosePath = '/etcdserverpb.Maintenance/Status';
const emptyRequest = (): Buffer => Buffer.alloc(0);
const keepBytes = (bytes: Buffer): Buffer => bytes;
const diagnoseMetadata = new grpc.Metadata();

/**
 * One endpoint: a grpc-js client for unary calls plus its connectivity state, and the HTTP/2
 * session its streams run on (see stream-session.ts).
 */
export class EndpointChannel {
  readonly endpoint: Endpoint;
  /** The grpc-js client (a channel) used to start calls. */
  readonly client: grpc.Client;
  /** The connection that carries this endpoint's bidi streams (opened when first needed). */
  readonly streams: StreamSession;
  /** True while the channel has a ready connection. */
  ready = false;
  /** The balancer's view of the endpoint (set aside, calls and streams on it). */
  readonly health = new EndpointHealth();
  /** Why the last connection attempt failed (`connection refused` ...), if one did. */
  lastError: string | undefined;
  /** When `lastError` was learnt (ms timestamp). */
  lastErrorAt = 0;
  #retired = false;
  #state: grpc.connectivityState;
  #closed = false;
  readonly #listeners = new Set<ChannelListener>();

  constructor(endpoint: Endpoint, settings: ChannelSettings) {
    this.endpoint = endpoint;
    this.client = new grpc.Client(endpoint.address, grpc.credentials.createInsecure(), settings.grpc);
    this.streams = new StreamSession(endpoint, settings.streams);
    this.#state = this.client.getChannel().getConnectivityState(false);
    this.#watch();
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once removed from the pool (auto-sync): it takes no new calls and closes once its calls end. */
  get retired(): boolean {
    return this.#retired;
  }

  /** Takes the channel out of service: `ready` stays false from now on. */
  retire(): void {
    this.#retired = true;
    this.ready = false;
  }

  /**
   * Why the endpoint is not usable, for an error message: the last connection failure, or
   * `no answer within N ms` when a connection attempt has been pending since before the wait
   * of `waitMs` started at `since` (a black hole, or a frozen process).
   */
  unreachableReason(since: number, waitMs: number): string {
    const recentError = this.lastError !== undefined && this.lastErrorAt >= since ? this.lastError : undefined;
    switch (this.#state) {
      case connectivityState.TRANSIENT_FAILURE:
        return this.lastError ?? 'connection failed';
      case connectivityState.CONNECTING:
        return recentError ?? `no answer within ${waitMs} ms`;
      case connectivityState.IDLE:
        return recentError ?? 'not connected';
      case connectivityState.READY:
        return this.health.setAside ? `set aside: ${this.health.detail || 'unhealthy'}` : 'connected';
      default:
        return 'closed';
    }
  }

  /** Current connectivity state. */
  get state(): grpc.connectivityState {
    return this.#state;
  }

  /** True while the channel has no connection and is not trying to get one. */
  get idle(): boolean {
    return this.#state === connectivityState.IDLE;
  }

  /** Starts connecting when idle (no-op otherwise). */
  connect(): void {
    if (this.#closed) return;
    const channel = this.client.getChannel();
    channel.getConnectivityState(true);
    // Read the state again: leaving IDLE may have changed it (and told the watcher) already.
    this.#update(channel.getConnectivityState(false));
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onChange(listener: ChannelListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Closes the channel and its connection. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.ready = false;
    this.#listeners.clear();
    this.client.close();
    this.streams.close();
  }

  #watch(): void {
    const channel = this.client.getChannel();
    // Infinity: no grpc-js timer; the watcher fires on the next change (SHUTDOWN at close).
    channel.watchConnectivityState(this.#state, Infinity, () => {
      this.#update(channel.getConnectivityState(false));
      if (this.#state !== connectivityState.SHUTDOWN) this.#watch();
    });
  }

  #update(state: grpc.connectivityState): void {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.ready = state === connectivityState.READY && !this.#retired;
    if (state === connectivityState.TRANSIENT_FAILURE) this.#diagnose();
    for (const listener of this.#listeners) listener(this, previous);
  }

  /**
   * Learns why the connection failed: grpc-js keeps the reason to itself, but a call made
   * while the channel is in TRANSIENT_FAILURE fails at once with it, without being sent.
   */
  #diagnose(): void {
    if (this.#closed) return;
    try {
      this.client.makeUnaryRequest(
        diagnosePath,
        emptyRequest,
        keepBytes,
        Buffer.alloc(0),
        diagnoseMetadata,
        { deadline: Date.now() + 1000 },
        (error) => {
          if (error == null || error.code !== grpc.status.UNAVAILABLE) return;
          this.lastError = connectFailureReason(error.details);
          this.lastErrorAt = Date.now();
        },
      );
    } catch {
      // Closed meanwhile: nothing to learn.
    }
  }
}
