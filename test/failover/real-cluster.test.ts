/**
 * Failover on a real 3-member etcd cluster (Debian's etcd 3.4, started by the test on
 * loopback): each member in turn is killed with SIGKILL and started again, then the leader is
 * frozen with SIGSTOP for 5 s and resumed, while a read loop, a write loop, a prefix watcher
 * and a 5 s session run on one client. Same assertions as on the simulated cluster.
 */
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client.js';
import { etcdClusterAvailable, startRealCluster } from '../harness/real-cluster.js';
import type { RealCluster, RealClusterMember } from '../harness/real-cluster.js';
import { now, sleep, Workload } from './workload.js';
import type { Step } from './workload.js';

const skip = etcdClusterAvailable();
/**
 * How long a killed member stays down. Progress is required while it is down, so this must
 * exceed the time the other two need to elect a leader when the leader was killed: with etcd's
 * defaults (election timeout 1 s, randomised up to 2 s, no pre-vote in 3.4) that is 1-2 s,
 * and about 3 s after a split vote. A 2.5 s hold once saw no progress at all (a 2.7 s election).
 */
const HOLD_MS = 4000;
const AFTER_MS = 2000;
const PAUSE_MS = 5000;

/** The index of the member the others follow, from the members' own status (grpc-gateway). */
async function leaderIndex(cluster: RealCluster): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    for (const member of cluster.members) {
      if (!member.running || member.paused) continue;
      try {
        const res = await fetch(`${member.url}/v3/maintenance/status`, {
          method: 'POST',
          body: '{}',
          signal: AbortSignal.timeout(1000),
        });
        const status = (await res.json()) as { header?: { member_id?: string }; leader?: string };
        if (status.leader === undefined || status.leader === '0') continue;
        const ids = await memberIds(member);
        const index = cluster.members.findIndex((m) => ids.get(m.name) === status.leader);
        if (index >= 0) return index;
      } catch {
        // try the next member
      }
    }
    await sleep(100);
  }
  throw new Error('no member reports a leader');
}

async function memberIds(member: RealClusterMember): Promise<Map<string, string>> {
  const res = await fetch(`${member.url}/v3/cluster/member/list`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
  const list = (await res.json()) as { members?: { ID: string; name: string }[] };
  return new Map((list.members ?? []).map((m) => [m.name, m.ID]));
}

describe('failover on a real 3-member etcd cluster', { skip, timeout: 150_000 }, () => {
  let cluster: RealCluster;
  let client: Client;

  before(async () => {
    cluster = await startRealCluster({ size: 3 });
    client = new Client({ endpoints: cluster.endpoints, dialTimeoutMs: 2000, timeoutMs: 5000 });
  });
  after(async () => {
    await client?.close();
    await cluster?.close();
  });

  it('reads, writes, a watcher and a session keep going through kills, restarts and a frozen leader', async (t) => {
    const workload = new Workload(client, 'failover/real/');
    await workload.start();
    const steps: Step[] = [];
    const began = now();
    try {
      await sleep(500);
      for (const member of cluster.members) {
        const faultAt = now();
        await member.kill('SIGKILL');
        await sleep(HOLD_MS);
        const liftedAt = now();
        await member.start();
        await sleep(AFTER_MS);
        steps.push({ label: `SIGKILL + restart ${member.name}`, faultAt, liftedAt, until: now() });
      }
      const leader = cluster.members[await leaderIndex(cluster)]!;
      const faultAt = now();
      leader.pause();
      await sleep(PAUSE_MS);
      const liftedAt = now();
      leader.resume();
      await sleep(AFTER_MS);
      steps.push({ label: `SIGSTOP + SIGCONT leader ${leader.name}`, faultAt, liftedAt, until: now() });
    } finally {
      await workload.stop();
    }
    t.diagnostic(`longest stalls (ms): ${JSON.stringify(workload.longestStalls(began, now()))}`);
    t.diagnostic(
      `writes acked ${workload.acked.size}, ambiguous ${workload.ambiguous.size}, not applied ${workload.notApplied.size}; ` +
        `reads ${workload.reads.length} (errors ${workload.readErrors.length}); events ${workload.seen.length}`,
    );
    t.diagnostic(workload.describeErrors());
    t.diagnostic(`renewal gaps: ${workload.renewalGaps(began)}`);
    for (const step of steps) {
      t.diagnostic(`${step.label} at +${Math.round(step.faultAt - began)} ms: stalls ${JSON.stringify(workload.longestStalls(step.faultAt, step.until))}`);
    }
    workload.assertProgress(steps);
    await workload.verify();
    await workload.close();
  });
});
