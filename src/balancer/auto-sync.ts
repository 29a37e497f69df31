/**
 * Auto-sync of the endpoint list (opt-in, `autoSyncIntervalMs`): at every interval, ask the
 * cluster for its member list and make the pool's endpoints the client URLs of the started,
 * voting members (like clientv3's `Sync`). New members get a connection; removed ones are
 * retired (their streams move, their channel closes once its calls end). A failed or empty
 * answer changes nothing, so the list never becomes empty.
 *
 * States: `waiting` (timer armed) -> `syncing` (MemberList in flight) -> `waiting` ...;
 * `closed` is final. One timer, unref'd, so it never keeps a process alive by itself.
 */
import { ClientClosedError, UnavailableError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Member } from '../protocol/messages.generated.js';
import { parseEndpoint } from '../options.js';
import type { Endpoint } from '../options.js';
import type { Invoke } from './invoke.js';
import type { EndpointChannel } from './channel.js';
import type { EndpointPool } from './pool.js';

/** Settings of {@link EndpointSync}. */
export interface EndpointSyncOptions {
  /** Interval between syncs, in ms. */
  readonly intervalMs: number;
  /** Deadline of one MemberList call. Default: the interval, at most 5000 ms. */
  readonly timeoutMs?: number;
}

type SyncState = 'waiting' | 'syncing' | 'closed';

/**
 * The client URLs of the members worth connecting to: started (they have a name) and not
 * learners; URLs other than `http://host:port` are skipped.
 */
export function endpointsOfMembers(members: readonly Member[]): Endpoint[] {
  const endpoints: Endpoint[] = [];
  const seen = new Set<string>();
  for (const member of members) {
    if (member.name === '' || member.isLearner) continue;
    for (const url of member.clientURLs) {
      if (!/^http:\/\//i.test(url)) continue;
      const parsed = parseEndpoint(url);
      if (typeof parsed === 'string' || seen.has(parsed.address)) continue;
      seen.add(parsed.address);
      endpoints.push(parsed);
    }
  }
  return endpoints;
}

/** Keeps a pool's endpoints in line with the cluster's member list. */
export class EndpointSync {
  readonly #rpc: Invoke;
  readonly #pool: EndpointPool;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  readonly #stop = new AbortController();
  #state: SyncState = 'waiting';
  #timer: NodeJS.Timeout | undefined;

  constructor(rpc: Invoke, pool: EndpointPool, options: EndpointSyncOptions) {
    this.#rpc = rpc;
    this.#pool = pool;
    this.#intervalMs = options.intervalMs;
    this.#timeoutMs = options.timeoutMs ?? Math.min(options.intervalMs, 5000);
    this.#schedule();
  }

  /**
   * Syncs now: resolves once the endpoint list follows the member list (true if it changed).
   * Rejects with the MemberList error, or ClientClosedError after {@link close}.
   */
  async syncNow(): Promise<boolean> {
    if (this.#state === 'closed') throw new ClientClosedError();
    const response = await this.#rpc.invoke('Cluster', 'MemberList', {}, { timeoutMs: this.#timeoutMs, signal: this.#stop.signal });
    if (this.closed) throw new ClientClosedError();
    return this.#pool.setEndpoints(endpointsOfMembers(response.members), removedError);
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#state === 'closed';
  }

  /** Stops syncing. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stop.abort(new ClientClosedError());
  }

  #schedule(): void {
    if (this.#state === 'closed') return;
    this.#state = 'waiting';
    this.#timer = setTimeout(() => this.#run(), this.#intervalMs);
    this.#timer.unref();
  }

  #run(): void {
    this.#timer = undefined;
    if (this.#state === 'closed') return;
    this.#state = 'syncing';
    // A failed sync changes nothing; the next one is tried after the interval.
    this.syncNow().then(
      () => this.#schedule(),
      () => this.#schedule(),
    );
  }
}

function removedError(channel: EndpointChannel): EtcdError {
  const text = `the endpoint was removed from the endpoint list (it is no longer a member)`;
  return new UnavailableError({
    code: GrpcCode.UNAVAILABLE,
    etcdMessage: text,
    message: `${text} (endpoint ${channel.endpoint.address})`,
    retryable: true,
    endpoint: channel.endpoint.address,
  });
}
