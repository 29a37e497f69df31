/**
 * One gRPC channel to one endpoint, with its connectivity state tracked by a watcher (no
 * polling, no timers). The balancer reads `ready` on every call, so it is a plain field.
 */
import * as grpc from '@grpc/grpc-js';
import type { ChannelOptions } from '@grpc/grpc-js';
import type { Endpoint, ResolvedClientOptions } from '../options.js';

const { connectivityState } = grpc;

/** Channel settings shared by every endpoint channel. */
export function channelOptions(options: ResolvedClientOptions): ChannelOptions {
  return {
    // etcd accepts pings no more often than every 5 s and never without active calls.
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

/** Listener of connectivity changes. */
export type ChannelListener = (channel: EndpointChannel) => void;

/** A grpc-js client for one endpoint plus its connectivity state. */
export class EndpointChannel {
  readonly endpoint: Endpoint;
  /** The grpc-js client (a channel) used to start calls. */
  readonly client: grpc.Client;
  /** True while the channel has a ready connection. */
  ready = false;
  #state: grpc.connectivityState;
  #closed = false;
  readonly #listeners = new Set<ChannelListener>();

  constructor(endpoint: Endpoint, options: ChannelOptions) {
    this.endpoint = endpoint;
    this.client = new grpc.Client(endpoint.address, grpc.credentials.createInsecure(), options);
    this.#state = this.client.getChannel().getConnectivityState(false);
    this.#watch();
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
    this.#update(this.client.getChannel().getConnectivityState(true));
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
    this.#state = state;
    this.ready = state === connectivityState.READY;
    for (const listener of this.#listeners) listener(this);
  }
}
