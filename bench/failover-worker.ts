/**
 * One failover run of one client in a fresh process (started by bench/failover.ts):
 *
 *   failover-worker.ts --client etcdkit|etcd3 --endpoints H:P,H:P,H:P --seconds 25 --call-timeout-ms 2000 --prefix P
 *
 * 1. connects to the 3-member cluster, grants a 5 s lease kept alive by the client, opens a
 *    prefix watcher, checks it delivers a first put, prints `READY` and waits for `GO`;
 * 2. runs, for `--seconds`, a sequential read loop, a sequential write loop (one new key per
 *    write under the prefix) and the watcher, recording the wall-clock time (`Date.now()`) of
 *    every successful read, every acknowledged write and every watch event. Every call has a
 *    deadline of `--call-timeout-ms`, also enforced from outside the client (a call that hangs
 *    past it counts as failed); after a failure a loop waits 50 ms and goes on;
 * 3. waits 3 s more for late watch events, asks the server for the lease's remaining TTL (with
 *    a separate etcdkit client, the same check for both clients), and prints one
 *    `RESULT {json}` line with the raw timestamps (the runner computes the figures).
 *
 * The runner pauses and resumes a member during step 2; this process does not know which.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ClientId } from './clients.js';
import { waitForGo } from './watch-child.js';

const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    endpoints: { type: 'string' },
    seconds: { type: 'string', default: '25' },
    'call-timeout-ms': { type: 'string', default: '2000' },
    prefix: { type: 'string', default: 'failover/' },
  },
  strict: true,
});
const clientId = values.client as ClientId;
if (clientId !== 'etcdkit' && clientId !== 'etcd3') throw new Error('--client must be etcdkit or etcd3');
const endpoints = (values.endpoints ?? '').split(',').filter(Boolean);
if (endpoints.length === 0) throw new Error('--endpoints is required');
const seconds = Number(values.seconds);
const callTimeoutMs = Number(values['call-timeout-ms']);
const prefix = values.prefix;
const LEASE_TTL = 5;
const DRAIN_MS = 3000;

/** What the worker needs from a client. */
interface FailoverClient {
  get(key: string): Promise<void>;
  put(key: string, value: string): Promise<void>;
  /** Lease id as a decimal string. */
  leaseId: string;
  /** Wall time the lease's own loss signal fired, if it did. */
  leaseLostAt(): number | undefined;
  close(): Promise<void>;
}

export interface FailoverRaw {
  client: ClientId;
  start: number;
  end: number;
  callTimeoutMs: number;
  reads: number[];
  readErrors: number;
  /** [key, issued at, acknowledged at] of every acknowledged write. */
  writes: [string, number, number][];
  /** [key, issued at] of every write that failed or timed out (it may or may not have been applied). */
  failedWrites: [string, number][];
  /** [key, received at] of every put the watcher delivered under the prefix. */
  events: [string, number][];
  firstErrors: string[];
  leaseId: string;
  leaseLostAt: number | null;
  /** Remaining TTL the server reported after the run (-1: the lease no longer exists). */
  leaseTtlAtEnd: number | null;
  leaseCheckError?: string;
}

const events: [string, number][] = [];
const firstErrors: string[] = [];
const noteError = (where: string, err: unknown) => {
  if (firstErrors.length < 8) firstErrors.push(`${where}: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`.slice(0, 300));
};

/** Rejects after `ms` even if the client never settles the call. */
function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (bench bound)`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

async function openEtcdkit(): Promise<FailoverClient> {
  const { Client } = await import('../src/index.js');
  const client = new Client({ endpoints });
  const lease = await client.lease.create(LEASE_TTL);
  let lostAt: number | undefined;
  lease.on('lost', () => (lostAt ??= Date.now()));
  lease.signal.addEventListener('abort', () => (lostAt ??= Date.now()));
  const watch = client.watch(prefix, { prefix: true });
  watch.on('put', (e) => events.push([e.kv.keyText, Date.now()]));
  watch.on('error', (err) => noteError('watch', err));
  await bounded(watch.ready, 10_000);
  return {
    async get(key) {
      await client.kv.get(key, { timeoutMs: callTimeoutMs });
    },
    async put(key, value) {
      await client.kv.put(key, value, { timeoutMs: callTimeoutMs });
    },
    leaseId: lease.id.toString(),
    leaseLostAt: () => lostAt,
    close: () => client.close(),
  };
}

async function openEtcd3(): Promise<FailoverClient> {
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: endpoints.map((e) => `http://${e}`) });
  const lease = client.lease(LEASE_TTL);
  let lostAt: number | undefined;
  lease.on('lost', () => (lostAt ??= Date.now()));
  const leaseId = await bounded(lease.grant(), 10_000);
  const watcher = await bounded(client.watch().prefix(prefix).create(), 10_000);
  watcher.on('put', (kv) => events.push([kv.key.toString(), Date.now()]));
  watcher.on('error', (err) => noteError('watch', err));
  const deadline = () => ({ deadline: Date.now() + callTimeoutMs });
  return {
    async get(key) {
      await client.get(key).options(deadline()).string();
    },
    async put(key, value) {
      await client.put(key).value(value).options(deadline()).exec();
    },
    leaseId,
    leaseLostAt: () => lostAt,
    async close() {
      await lease.revoke().catch(() => undefined);
      await watcher.cancel().catch(() => undefined);
      client.close();
    },
  };
}

const client = clientId === 'etcdkit' ? await openEtcdkit() : await openEtcd3();
// The watcher must deliver before the run starts.
const warmKey = `${prefix}warm-up`;
await bounded(client.put(warmKey, 'x'), 10_000);
for (let i = 0; i < 100 && !events.some(([k]) => k === warmKey); i++) await sleep(50);
if (!events.some(([k]) => k === warmKey)) throw new Error('the watcher did not deliver the warm-up put within 5 s');
events.length = 0;
console.log('READY');
await waitForGo(120_000);

const start = Date.now();
const end = start + seconds * 1000;
const reads: number[] = [];
let readErrors = 0;
const writes: [string, number, number][] = [];
const failedWrites: [string, number][] = [];
const readKey = `${prefix}warm-up`;

async function readLoop(): Promise<void> {
  while (Date.now() < end) {
    try {
      await bounded(client.get(readKey), callTimeoutMs + 200);
      reads.push(Date.now());
    } catch (err) {
      readErrors++;
      noteError('read', err);
      await sleep(50);
    }
  }
}

async function writeLoop(): Promise<void> {
  let seq = 0;
  while (Date.now() < end) {
    const key = `${prefix}w${String(seq++).padStart(6, '0')}`;
    const issued = Date.now();
    try {
      await bounded(client.put(key, 'v'), callTimeoutMs + 200);
      writes.push([key, issued, Date.now()]);
    } catch (err) {
      failedWrites.push([key, issued]);
      noteError('write', err);
      await sleep(50);
    }
  }
}

await Promise.all([readLoop(), writeLoop()]);
const loopsEnd = Date.now();
await sleep(DRAIN_MS);

let leaseTtlAtEnd: number | null = null;
let leaseCheckError: string | undefined;
try {
  const { Client } = await import('../src/index.js');
  const checker = new Client({ endpoints });
  try {
    const res = await checker.lease.timeToLive(BigInt(client.leaseId), { timeoutMs: 5000 });
    leaseTtlAtEnd = Number(res.ttl);
  } finally {
    await checker.close();
  }
} catch (err) {
  leaseCheckError = err instanceof Error ? err.message : String(err);
}
const leaseLostAt = client.leaseLostAt() ?? null;
await bounded(client.close(), 5000).catch(() => undefined);

const result: FailoverRaw = {
  client: clientId,
  start,
  end: loopsEnd,
  callTimeoutMs,
  reads,
  readErrors,
  writes,
  failedWrites,
  events,
  firstErrors,
  leaseId: client.leaseId,
  leaseLostAt,
  leaseTtlAtEnd,
  ...(leaseCheckError ? { leaseCheckError } : {}),
};
// Exit only once the (large) line is flushed: stdout is an asynchronous pipe.
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`, () => process.exit(0));
