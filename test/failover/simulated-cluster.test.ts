/**
 * Failover on the simulated 3-member cluster (etcdkit/server's startCluster): every fault
 * (stop + start, hang + unhang, lose + restore leader, latency) on every member in turn,
 * while a read loop, a write loop, a prefix watcher and a 5 s session run on one client.
 * Each loop must progress during and after each fault; no acknowledged write may be lost,
 * the watcher must see exactly the prefix's history, and the session must survive.
 */
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client.js';
import { startCluster } from '../../src/server/index.js';
import type { ClusterMember, EtcdCluster } from '../../src/server/index.js';
import { now, sleep, Workload } from './workload.js';
import type { Step } from './workload.js';

/** How long each fault lasts, and how long the loops run after it is lifted. */
const HOLD_MS = 2000;
const AFTER_MS = 1000;
const LATENCY_MS = 1500;

interface Fault {
  readonly name: string;
  apply(member: ClusterMember): Promise<void> | void;
  lift(member: ClusterMember): Promise<void> | void;
}

const faults: Fault[] = [
  { name: 'stop', apply: (m) => m.stop(), lift: (m) => m.start() },
  { name: 'hang', apply: (m) => m.hang(), lift: (m) => m.unhang() },
  { name: 'lose leader', apply: (m) => m.loseLeader(), lift: (m) => m.restoreLeader() },
  { name: `latency ${LATENCY_MS} ms`, apply: (m) => m.setLatency(LATENCY_MS), lift: (m) => m.setLatency(0) },
];

describe('failover on the simulated 3-member cluster', { timeout: 90_000 }, () => {
  let cluster: EtcdCluster;
  let client: Client;

  before(async () => {
    cluster = await startCluster({ members: 3, requestTimeoutMs: 1000, requireLeaderCancelMs: 300 });
    client = new Client({ endpoints: cluster.endpoints, dialTimeoutMs: 2000, timeoutMs: 5000 });
  });
  after(async () => {
    await client?.close();
    await cluster?.close();
  });

  it('reads, writes, a watcher and a session keep going through every fault on every member', async (t) => {
    const workload = new Workload(client, 'failover/sim/');
    await workload.start();
    const steps: Step[] = [];
    const began = now();
    try {
      await sleep(500);
      for (const fault of faults) {
        for (const member of cluster.members) {
          const label = `${fault.name} ${member.name}`;
          const faultAt = now();
          await fault.apply(member);
          await sleep(HOLD_MS);
          const liftedAt = now();
          await fault.lift(member);
          await sleep(AFTER_MS);
          steps.push({ label, faultAt, liftedAt, until: now() });
        }
      }
    } finally {
      await workload.stop();
    }
    t.diagnostic(`longest stalls (ms): ${JSON.stringify(workload.longestStalls(began, now()))}`);
    t.diagnostic(
      `writes acked ${workload.acked.size}, ambiguous ${workload.ambiguous.size}, not applied ${workload.notApplied.size}; ` +
        `reads ${workload.reads.length} (errors ${workload.readErrors.length}); events ${workload.seen.length}`,
    );
    t.diagnostic(workload.describeErrors());
    for (const step of steps) {
      t.diagnostic(`${step.label}: stalls ${JSON.stringify(workload.longestStalls(step.faultAt, step.until))}`);
    }
    workload.assertProgress(steps);
    await workload.verify();
    await workload.close();
  });
});
