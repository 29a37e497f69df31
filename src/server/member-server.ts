import { Server, ServerCredentials } from '@grpc/grpc-js';
import { grpcServiceDefinition } from '../protocol/services.js';
import type { FaultProxy } from './cluster/fault-proxy.js';
import type { ServerContext } from './context.js';
import type { LeaderGate } from './leader/gate.js';
import { guardService } from './leader/guard.js';
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
/** Where a proxied member's real gRPC listener binds (a free port on loopback). */
const INTERNAL_HOST = '127.0.0.1';

export interface MemberServerOptions {
  readonly host: string;
  /** 0 = a free port, fixed by the first start. */
  readonly port: number;
  readonly watchProgressNotifyInterval?: number | undefined;
  /** The member's leader rules, applied to every call. */
  readonly gate: LeaderGate;
  /** A TCP front owning the public port (cluster members); without it gRPC binds the port itself. */
  readonly proxy?: FaultProxy | undefined;
  /** Told when the member starts or stops listening. */
  readonly onRunning: (running: boolean) => void;
}

type State = 'stopped' | 'running' | 'closed';

const bracket = (host: string): string => (host.includes(':') ? `[${host}]` : host);

/**
 * One member's listener and service modules: stopped -> running -> stopped ... -> closed.
 * Its modules are built once (their state survives restarts); the data lives in the shared
 * state of the context, which this class never closes.
 */
export class MemberServer {
  private state: State = 'stopped';
  private grpcServer: Server | undefined;
  private boundPort: number;
  private everStarted = false;
  /** Serializes start/stop/close. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly modules: readonly ServiceModule[];

  constructor(
    readonly context: ServerContext,
    private readonly options: MemberServerOptions,
  ) {
    this.boundPort = options.port;
    this.modules = [
      kvService(context),
      maintenanceService(context),
      clusterService(context),
      leaseService(context),
      watchService(context, { progressNotifyIntervalMs: options.watchProgressNotifyInterval }),
    ];
  }

  /** The public port (fixed by the first start, kept across restarts). */
  get port(): number {
    return this.boundPort;
  }

  get host(): string {
    return this.options.host;
  }

  /** `host:port`, as gRPC clients dial it (`[::1]:port` for IPv6). */
  get endpoint(): string {
    return `${bracket(this.options.host)}:${this.boundPort}`;
  }

  /** `http://host:port`, as etcd's `--listen-client-urls` spells it. */
  get url(): string {
    return `http://${this.endpoint}`;
  }

  get running(): boolean {
    return this.state === 'running';
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Whether it has ever listened (it then has client URLs to advertise). */
  get hasStarted(): boolean {
    return this.everStarted;
  }

  /** Listens (again) on the same port. A no-op when running; fails once closed or when the port is taken. */
  start(): Promise<void> {
    return this.enqueue(() => this.doStart());
  }

  /** Stops listening and cancels every call after a short grace period. A no-op when not running. */
  stop(): Promise<void> {
    return this.enqueue(() => this.doStop());
  }

  /** Stops for good and releases the modules' resources. Idempotent. */
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
    for (const m of this.modules) {
      server.addService(grpcServiceDefinition(m.service), guardService(m.service, m.implementation, this.options.gate));
    }
    const proxy = this.options.proxy;
    const publicAddress = `${bracket(this.options.host)}:${this.boundPort}`;
    const grpcAddress = proxy === undefined ? publicAddress : `${INTERNAL_HOST}:0`;
    let port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(grpcAddress, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
    }).catch((err: unknown) => {
      server.forceShutdown();
      throw listenError(publicAddress, err);
    });
    if (proxy !== undefined) {
      const internal = port;
      port = await proxy.listen(this.options.host, this.boundPort, { host: INTERNAL_HOST, port: internal }).catch((err: unknown) => {
        server.forceShutdown();
        throw listenError(publicAddress, err);
      });
    }
    this.grpcServer = server;
    this.boundPort = port;
    this.everStarted = true;
    this.state = 'running';
    for (const m of this.modules) m.started?.();
    this.options.onRunning(true);
  }

  private async doStop(): Promise<void> {
    if (this.state !== 'running') return;
    const server = this.grpcServer!;
    const proxy = this.options.proxy;
    this.grpcServer = undefined;
    this.state = 'stopped';
    // A dead process takes no new connections.
    void proxy?.stopListening();
    // End open streams (watch, keepalive) first, so the graceful shutdown does not wait on them.
    for (const m of this.modules) m.stopped?.();
    this.options.onRunning(false);
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
    proxy?.dropConnections();
  }
}

function listenError(address: string, err: unknown): Error {
  const reason = err instanceof Error ? err.message : String(err);
  return new Error(`etcdkit server: cannot listen on ${address}: ${reason}`);
}
