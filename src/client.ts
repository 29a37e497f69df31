/**
 * The etcd client: validates options, owns the connections, exposes the API namespaces.
 */
import { Invoker } from './balancer/invoker.js';
import { KV } from './kv/kv.js';
import { KeepAliveManager } from './lease/keepalive-manager.js';
import { LeaseClient } from './lease/lease-client.js';
import { parseClientOptions } from './options.js';
import type { ClientOptions } from './options.js';
import type { Bytes } from './bytes.js';
import { WatchManager } from './watch/manager.js';
import { parseWatchSpec } from './watch/spec.js';
import type { WatchOptions } from './watch/types.js';
import { Watch } from './watch/watch.js';
import { Watcher } from './watch/watcher.js';

/**
 * A client for an etcd v3 cluster.
 *
 * ```ts
 * const client = new Client({ endpoints: ['127.0.0.1:2379'] });
 * await client.kv.put('greeting', 'hello');
 * const { kvs } = await client.kv.get('greeting');
 * await client.close();
 * ```
 *
 * Connections are opened lazily on the first call. Always `close()` the client: it is the
 * only way to release its sockets.
 */
export class Client {
  /** Key-value operations. */
  readonly kv: KV;
  /** Leases: grant, revoke, inspect, and leases that keep themselves alive. */
  readonly lease: LeaseClient;
  readonly #invoker: Invoker;
  readonly #keeper: KeepAliveManager;
  #closing: Promise<void> | undefined;
  readonly #dialTimeoutMs: number;
  /** Created with the first watch: every watch of the client shares its stream. */
  #watches: WatchManager | undefined;

  /** @throws InvalidArgumentError naming the option at fault. */
  constructor(options: ClientOptions) {
    const resolved = parseClientOptions(options);
    this.#invoker = new Invoker(resolved);
    this.#dialTimeoutMs = resolved.dialTimeoutMs;
    this.kv = new KV(this.#invoker);
    const invoker = this.#invoker;
    const openKeepAlive = (opts: Parameters<Invoker['openStream']>[2]) => invoker.openStream('Lease', 'LeaseKeepAlive', opts);
    this.#keeper = new KeepAliveManager(openKeepAlive);
    this.lease = new LeaseClient({ rpc: invoker, openStream: openKeepAlive, keeper: this.#keeper, timeoutMs: resolved.timeoutMs });
  }

  /** The configured endpoints (`host:port`). */
  get endpoints(): string[] {
    return this.#invoker.pool.channels.map((channel) => channel.endpoint.address);
  }

  /**
   * Watches a key, or a range with `prefix` / `rangeEnd` / `fromKey`, persistently: the watch
   * survives connection failures and resumes without losing, repeating or reordering events.
   * All watches of a client share one gRPC stream. See `docs/watch.md`.
   * @throws InvalidArgumentError naming the argument at fault.
   */
  watch(key: Bytes, options?: WatchOptions): Watch {
    const spec = parseWatchSpec(key, options);
    this.#watches ??= new WatchManager(this.#invoker, { dialTimeoutMs: this.#dialTimeoutMs });
    const watcher = new Watcher(this.#watches, spec);
    const watch = new Watch(watcher);
    watcher.start();
    return watch;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#invoker.closed;
  }

  /**
   * Closes the client: calls in flight reject with `ClientClosedError`, connections close,
   * and later calls reject with `ClientClosedError`. Idempotent; resolves once every call has
   * settled and the connections are shutting down (sockets finish closing with the peer's
   * acknowledgement, without keeping the process alive).
   */
  close(): Promise<void> {
    // Kept-alive leases are lost with reason 'client-closed' before the connections go.
    this.#keeper.close();
    // Every watch ends (iterators complete) before the connections go.
    this.#watches?.close();
    // grpc-js ends sockets asynchronously; one more turn lets it start their shutdown.
    this.#closing ??= this.#invoker.close().then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    return this.#closing;
  }
}
