/**
 * One lease measurement in a fresh process (started by bench/lease.ts with --expose-gc):
 *
 *   lease-worker.ts --client etcdkit|etcd3 --endpoint HOST:PORT --leases N --ttl S --seconds D
 *
 * 1. creates N leases of TTL S that keep themselves alive (64 grants in flight), lets them settle
 *    and prints `READY setup`; waits for `GO` on stdin;
 * 2. measures this process's CPU, the renewals answered and the keepalive streams over D seconds,
 *    prints `READY window`; waits for `GO` (so no worker checks while another still measures);
 * 3. asks the server for the remaining TTL of every lease (with a separate etcdkit client,
 *    outside the measurement; the leases are still kept alive meanwhile) and prints one
 *    `RESULT {json}` line.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ClientId } from './clients.js';
import { runOps } from './load.js';
import type { LeaseMeasurement, StreamCount } from './lease.js';
import { waitForGo } from './watch-child.js';

const { values } = parseArgs({
  options: {
    client: { type: 'string' },
    endpoint: { type: 'string' },
    leases: { type: 'string', default: '1000' },
    ttl: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '60' },
  },
  strict: true,
});
const endpoint = values.endpoint ?? '';
if (!endpoint) throw new Error('--endpoint HOST:PORT is required');
const clientId = values.client as ClientId;
if (clientId !== 'etcdkit' && clientId !== 'etcd3') throw new Error('--client must be etcdkit or etcd3');
const positive = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
  return n;
};
const leaseCount = positive('leases', values.leases);
const ttl = positive('ttl', values.ttl);
const seconds = positive('seconds', values.seconds);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

/** What the worker needs from a client's self-renewing leases. */
interface LeaseHarness {
  /** Creates one lease kept alive by the client; resolves with its ID once granted. */
  create(): Promise<bigint>;
  /** Renewals answered so far (all leases). */
  readonly renewals: number;
  /** Leases reported lost so far. */
  readonly lost: number;
  /** LeaseKeepAlive streams the client opened so far, and how many are open now. */
  streams(): StreamCount;
  close(): Promise<void>;
}

async function openHarness(id: ClientId): Promise<LeaseHarness> {
  let renewals = 0;
  let lost = 0;
  const onRenewed = () => void renewals++;
  const onLost = () => void lost++;
  if (id === 'etcdkit') {
    const { Client } = await import('../src/index.js');
    const { keepAliveStats } = await import('../src/lease/lease-client.js');
    const client = new Client({ endpoints: [endpoint] });
    return {
      async create() {
        const lease = await client.lease.create(ttl);
        lease.on('renewed', onRenewed).on('lost', onLost);
        return lease.id;
      },
      get renewals() {
        return renewals;
      },
      get lost() {
        return lost;
      },
      streams() {
        const s = keepAliveStats(client.lease);
        return { opened: s.streamsOpened, open: s.streamOpen ? 1 : 0, source: 'keepAliveStats(client.lease)' };
      },
      close: () => client.close(),
    };
  }
  const etcd3 = await import('etcd3');
  // etcd3 opens LeaseKeepAlive streams through LeaseClient.leaseKeepAlive (one per lease);
  // count the streams it gets and those that have ended (grpc-js emits 'status' at the end).
  let opened = 0;
  let ended = 0;
  const proto = etcd3.LeaseClient.prototype;
  const original = proto.leaseKeepAlive;
  proto.leaseKeepAlive = function (this: InstanceType<typeof etcd3.LeaseClient>, ...args: Parameters<typeof original>) {
    return original.apply(this, args).then((stream) => {
      opened++;
      let done = false;
      const end = () => {
        if (!done) {
          done = true;
          ended++;
        }
      };
      // The typings declare only `on`; the object is a grpc-js ClientDuplexStream.
      const emitter = stream as unknown as NodeJS.EventEmitter;
      emitter.once('status', end);
      emitter.once('error', end);
      return stream;
    });
  };
  const client = new etcd3.Etcd3({ hosts: endpoint });
  return {
    async create() {
      const lease = client.lease(ttl);
      lease.on('keepaliveSucceeded', onRenewed);
      lease.on('lost', onLost);
      return BigInt(await lease.grant());
    },
    get renewals() {
      return renewals;
    },
    get lost() {
      return lost;
    },
    streams() {
      return { opened, open: opened - ended, source: 'LeaseClient.prototype.leaseKeepAlive, wrapped' };
    },
    async close() {
      client.close();
    },
  };
}

const harness = await openHarness(clientId);
const ids: bigint[] = [];
const setupStart = performance.now();
await runOps(leaseCount, 64, setupStart + 60_000, async () => {
  ids.push(await harness.create());
});
if (ids.length !== leaseCount) throw new Error(`only ${ids.length} of ${leaseCount} leases granted within 60 s`);
// Let every lease get its keepalive stream and first renewal before the window.
await sleep(1500);
const setupSeconds = (performance.now() - setupStart) / 1000;
console.log(`READY setup ${JSON.stringify({ streams: harness.streams() })}`);
await waitForGo(10 * 60_000);

gc();
const lost0 = harness.lost;
const renewals0 = harness.renewals;
const streams0 = harness.streams();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await sleep(seconds * 1000);
const cpu = process.cpuUsage(cpu0);
const windowSeconds = (performance.now() - t0) / 1000;
const renewals = harness.renewals - renewals0;
const streams1 = harness.streams();
const lostInWindow = harness.lost - lost0;
console.log('READY window');
await waitForGo(10 * 60_000);

// Outside the measurement: does the server still hold every lease? (A separate etcdkit client,
// loaded only now, for both clients alike.)
const { Client } = await import('../src/index.js');
const checker = new Client({ endpoints: [endpoint] });
let minTtl = Number.POSITIVE_INFINITY;
let missing = 0;
const ttlHistogram: Record<string, number> = {};
const checkStart = performance.now();
const checked = await runOps(ids.length, 64, checkStart + 30_000, async (i) => {
  const res = await checker.lease.timeToLive(ids[i]!);
  const left = Number(res.ttl);
  if (left < 0) missing++; // etcd answers -1 for a lease it does not have (0 is a lease with under 1 s left)
  minTtl = Math.min(minTtl, left);
  ttlHistogram[left] = (ttlHistogram[left] ?? 0) + 1;
});
const checkSeconds = (performance.now() - checkStart) / 1000;
const streamsAfterCheck = harness.streams();
await checker.close();
const lostTotal = harness.lost; // before close(), which ends etcdkit's leases with 'client-closed'
await harness.close();

const cpuUs = cpu.user + cpu.system;
const result: LeaseMeasurement = {
  client: clientId,
  leases: leaseCount,
  ttl,
  setupSeconds,
  windowSeconds,
  renewals,
  renewalsPerSec: renewals / windowSeconds,
  cpuMsPerMinute: cpuUs / 1000 / (windowSeconds / 60),
  cpuUsPerRenewal: renewals > 0 ? cpuUs / renewals : null,
  cpuShareOfCore: cpuUs / 1e6 / windowSeconds,
  streamsAtStart: streams0,
  streamsAtEnd: streams1,
  streamsOpenedInWindow: streams1.opened - streams0.opened,
  lostInWindow,
  lostTotal,
  checked,
  checkSeconds,
  missingAtEnd: missing,
  minTtlAtEnd: minTtl,
  ttlHistogramAtEnd: ttlHistogram,
  streamsAfterCheck,
};
console.log(`RESULT ${JSON.stringify(result)}`);
setTimeout(() => {
  console.error(`warning: lease worker (${clientId}) left handles open 1 s after close()`);
  process.exit(0);
}, 1000).unref();
