import { ClusterRuntime } from './cluster/runtime.js';
import type { ServerContext } from './context.js';
import { newMemberIdentity } from './member.js';
import type { MemberServer } from './member-server.js';
import type { ResolvedServerOptions } from './options.js';

/** Defaults of the leader rules; a single member never waits for a leader while it runs. */
const REQUEST_TIMEOUT_MS = 5000;
const REQUIRE_LEADER_CANCEL_MS = 300;

/**
 * A running (or stopped) etcd-compatible server: a one-member cluster. Its store and
 * identity live as long as the object: {@link stop} then {@link start} is a member
 * restarting from disk on the same port.
 */
export class EtcdServer {
  private readonly runtime: ClusterRuntime;
  private readonly member: MemberServer;

  /** @internal use {@link startServer}. */
  constructor(options: ResolvedServerOptions) {
    this.runtime = new ClusterRuntime({
      identities: [newMemberIdentity(options.name)],
      host: options.host,
      ports: [options.port],
      // Behind the same TCP front as a cluster member: it rewrites the `:authority` etcdctl
      // sends on its direct Maintenance dials (`http://host:port`), which Node's HTTP/2 server
      // would otherwise reset (see cluster/authority-fix.ts). Never faulted here.
      proxied: true,
      leader: 0,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      requireLeaderCancelMs: REQUIRE_LEADER_CANCEL_MS,
      clock: options.clock,
      minLeaseTtl: options.minLeaseTtl,
      watchProgressNotifyInterval: options.watchProgressNotifyInterval,
    });
    this.member = this.runtime.members[0]!.server;
  }

  /** The listening port (fixed by the first start, kept across restarts). */
  get port(): number {
    return this.member.port;
  }

  /** The host the server listens on. */
  get host(): string {
    return this.member.host;
  }

  /** `host:port`, as gRPC clients dial it (`[::1]:port` for IPv6). */
  get endpoint(): string {
    return this.member.endpoint;
  }

  /** `http://host:port`, as etcd's `--listen-client-urls` spells it. */
  get url(): string {
    return this.member.url;
  }

  /** Whether the server is listening. */
  get running(): boolean {
    return this.member.running;
  }

  /** etcd cluster and member ids of this server (stable across restarts). */
  get memberId(): bigint {
    return this.member.context.member.memberId;
  }

  get clusterId(): bigint {
    return this.member.context.member.clusterId;
  }

  /** The current store revision. */
  get revision(): bigint {
    return this.runtime.shared.store.revision;
  }

  /** @internal the member's context, for service modules of later issues and tests. */
  get serverContext(): ServerContext {
    return this.member.context;
  }

  /**
   * Starts listening (again), on the same port as before, with the store kept. A no-op when
   * running; fails once closed or when the port is taken.
   */
  start(): Promise<void> {
    return this.runtime.startAll();
  }

  /**
   * Stops listening and cancels every call (after a short grace period), keeping the store
   * for a later {@link start}. A no-op when not running.
   */
  stop(): Promise<void> {
    return this.member.stop();
  }

  /** Stops for good: like {@link stop}, then releases every timer and resource. Idempotent. */
  close(): Promise<void> {
    return this.runtime.close();
  }
}
