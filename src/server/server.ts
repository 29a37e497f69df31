import { Server, ServerCredentials } from '@grpc/grpc-js';
import { grpcServiceDefinition } from '../protocol/services.js';
import { Alarms } from './alarms.js';
import type { ServerContext } from './context.js';
import { HeaderFactory } from './grpc/header.js';
import { Lessor } from './lease/lessor.js';
import { newMemberIdentity } from './member.js';
import { MvccStore } from './mvcc/store.js';
import type { ResolvedServerOptions } from './options.js';
import { RaftState } from './raft-state.js';
import { clusterService } from './services/cluster.js';
import { kvService } from './services/kv.js';
import { leaseService } from './services/lease.js';
import { maintenanceService } from './services/maintenance.js';
import type { ServiceModule } from './services/service-module.js';
import { watchService } from './services/watch.js';

/** Transport limits and keepalive settings, as etcd's defaults. */
const GRPC_OPTIONS = {
  // --max-request-bytes (1.5 MiB) + 512 KiB of gRPC slack
  'grpc.max_receive_message_length': 2097152,
  'grpc.max_send_message_length': 2147483647,
  'grpc.keepalive_time_ms': 2 * 60 * 60 * 1000,
  'grpc.keepalive_timeout_ms': 20_000,
  // 'grpc.enable_channelz' must stay on: grpc-js 1.14's forceShutdown() only destroys the
  // sessions it tracks for channelz, so with it off stop() could not cancel running calls.
};

/** How long stop() lets running calls finish before cancelling them. */
const GRACE_MS = 100;
/** After cancelling, how long stop() waits at most for the sockets to report closed. */
const FORCED_CLOSE_MS = 1000;

type State = 'stopped' | 'running' | 'closed';

/**
 * A running (or stopped) etcd-compatible server. Its store and identity live as long as the
 * object: {@link stop} then {@link start} is a member restarting from disk on the same port.
 */
export class EtcdServer {
  private state: State = 'stopped';
  private grpcServer: Server | undefined;
  private boundPort: number;
  private started = false;
  /** Serializes start/stop/close. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly context: ServerContext;
  private readonly modules: readonly ServiceModule[];

  /** @internal use {@link startServer}. */
  constructor(private readonly options: ResolvedServerOptions) {
    this.boundPort = options.port;
    const store = new MvccStore();
    const member = newMemberIdentity(options.name);
    const raft = new RaftState();
    const leases = new Lessor({
      store,
      raft,
      clock: options.clock,
      memberId: member.memberId,
      minTtl: options.minLeaseTtl,
    });
    store.setLeaseAttachments(leases);
    this.context = {
      store,
      member,
      raft,
      headers: new HeaderFactory(member, raft),
      alarms: new Alarms(),
      clock: options.clock,
      leases,
      clientUrls: () => (this.state === 'running' ? [this.url] : []),
    };
    this.modules = [
      kvService(this.context),
      maintenanceService(this.context),
      clusterService(this.context),
      leaseService(this.context),
      watchService(this.context, { progressNotifyIntervalMs: options.watchProgressNotifyInterval }),
    ];
  }

  /** The listening port (fixed by the first start, kept across restarts). */
  get port(): number {
    return this.boundPort;
  }

  /** The host the server listens on. */
  get host(): string {
    return this.options.host;
  }

  /** `host:port`, as gRPC clients dial it (`[::1]:port` for IPv6). */
  get endpoint(): string {
    const h = this.options.host;
    return `${h.includes(':') ? `[${h}]` : h}:${this.boundPort}`;
  }

  /** `http://host:port`, as etcd's `--listen-client-urls` spells it. */
  get url(): string {
    return `http://${this.endpoint}`;
  }

  /** Whether the server is listening. */
  get running(): boolean {
    return this.state === 'running';
  }

  /** etcd cluster and member ids of this server (stable across restarts). */
  get memberId(): bigint {
    return this.context.member.memberId;
  }

  get clusterId(): bigint {
    return this.context.member.clusterId;
  }

  /** The current store revision. */
  get revision(): bigint {
    return this.context.store.revision;
  }

  /** @internal the shared state, for service modules of later issues and tests. */
  get serverContext(): ServerContext {
    return this.context;
  }

  /**
   * Starts listening (again), on the same port as before, with the store kept. A no-op when
   * running; fails once closed or when the port is taken.
   */
  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  /**
   * Stops listening and cancels every call (after a short grace period), keeping the store
   * for a later {@link start}. A no-op when not running.
   */
  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Stops for good: like {@link stop}, then releases every timer and resource. Idempotent. */
  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.state === 'closed') return;
      await this.doStop();
      this.state = 'closed';
      for (const m of this.modules) m.close?.();
    });
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.queue.then(op);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async doStart(): Promise<void> {
    if (this.state === 'closed') throw new Error('etcdkit server: start() after close()');
    if (this.state === 'running') return;
    const server = new Server(GRPC_OPTIONS);
    for (const m of this.modules) server.addService(grpcServiceDefinition(m.service), m.implementation);
    const address = `${this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host}:${this.boundPort}`;
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      server.forceShutdown();
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(`etcdkit server: cannot listen on ${address}: ${reason}`);
    });
    this.grpcServer = server;
    this.boundPort = port;
    if (this.started) this.context.raft.newTerm();
    this.started = true;
    this.state = 'running';
    for (const m of this.modules) m.started?.();
  }

  private async doStop(): Promise<void> {
    if (this.state !== 'running') return;
    const server = this.grpcServer!;
    this.grpcServer = undefined;
    this.state = 'stopped';
    // End open streams (watch, keepalive) first, so the graceful shutdown does not wait on them.
    for (const m of this.modules) m.stopped?.();
    await new Promise<void>((resolve) => {
      let cap: NodeJS.Timeout | undefined;
      const grace = setTimeout(() => {
        server.forceShutdown();
        // sessions are destroyed by now; never wait on a straggling close event
        cap = setTimeout(finish, FORCED_CLOSE_MS);
      }, GRACE_MS);
      function finish(): void {
        clearTimeout(grace);
        clearTimeout(cap);
        resolve();
      }
      server.tryShutdown(finish);
    });
  }
}
