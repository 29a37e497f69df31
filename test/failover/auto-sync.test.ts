/**
 * Auto-sync of the endpoint list from the member list (`autoSyncIntervalMs`): members are
 * added and removed, streams on a removed member move, and the list never becomes empty.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { endpointsOfMembers } from '../../src/balancer/auto-sync.js';
import { Client } from '../../src/client.js';
import { startCluster } from '../../src/server/index.js';
import type { EtcdCluster } from '../../src/server/index.js';
import { memberFor, startFakeEtcd } from './fake-etcd.js';
import type { FakeEtcd } from './fake-etcd.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('endpoints of a member list', () => {
  it('takes the http client URLs of started voting members, once each', () => {
    const member = (ID: bigint, name: string, clientURLs: string[], isLearner = false) => ({ ID, name, peerURLs: [], clientURLs, isLearner });
    const endpoints = endpointsOfMembers([
      member(1n, 'a', ['http://10.0.0.1:2379', 'http://10.0.0.1:2379/']),
      member(2n, '', ['http://10.0.0.2:2379']), // never started
      member(3n, 'c', ['http://10.0.0.3:2379'], true), // learner
      member(4n, 'd', ['https://10.0.0.4:2379', 'unix://x', 'http://[::1]:2379']),
      member(5n, 'e', ['http://not a url']),
    ]);
    assert.deepEqual(
      endpoints.map((e) => e.address),
      ['10.0.0.1:2379', '[::1]:2379'],
    );
  });
});

describe('auto-sync of the endpoint list', { timeout: 30_000 }, () => {
  it('learns every member of the simulated cluster from one endpoint, and fails over to them', async () => {
    const cluster: EtcdCluster = await startCluster({ members: 3 });
    cleanup.push(() => cluster.close());
    const client = new Client({ endpoints: [cluster.endpoints[0]!], autoSyncIntervalMs: 100, dialTimeoutMs: 2000, timeoutMs: 5000 });
    cleanup.push(() => client.close());
    assert.deepEqual(client.endpoints, [cluster.endpoints[0]]);
    await until(() => client.endpoints.length === 3, 5000, 'the other members');
    assert.deepEqual([...client.endpoints].sort(), [...cluster.endpoints].sort());
    await client.kv.put('k', 'v');
    await cluster.members[0]!.stop();
    for (let i = 0; i < 5; i++) assert.equal((await client.kv.get('k')).kvs[0]?.valueText, 'v');
    await client.kv.put('k', 'w');
    // A stopped member stays in the member list (as in etcd), so it stays an endpoint.
    await sleep(300);
    assert.equal(client.endpoints.length, 3);
  });

  it('drops removed members, moves their streams, and never empties the list', async () => {
    const a: FakeEtcd = await startFakeEtcd();
    const b: FakeEtcd = await startFakeEtcd();
    cleanup.push(() => a.close(), () => b.close());
    const both = [memberFor(a.endpoint, a.memberId), memberFor(b.endpoint, b.memberId)];
    a.members = both;
    b.members = both;
    const client = new Client({ endpoints: [a.endpoint], autoSyncIntervalMs: 100, dialTimeoutMs: 2000, timeoutMs: 5000 });
    cleanup.push(() => client.close());
    const watch = client.watch('w');
    await watch.ready;
    assert.equal(a.streams.filter((s) => s.method === 'Watch').length, 1);
    await until(() => client.endpoints.length === 2, 3000, 'the second member');

    // `a` leaves the cluster: the watch moves to `b`, calls go to `b`.
    a.members = [both[1]!];
    b.members = [both[1]!];
    await until(() => client.endpoints.length === 1, 3000, 'the removal');
    assert.deepEqual(client.endpoints, [b.endpoint]);
    await until(() => b.streams.some((s) => s.method === 'Watch'), 3000, 'the watch to move');
    const before = a.count('Range');
    for (let i = 0; i < 3; i++) await client.kv.get('k');
    assert.equal(a.count('Range'), before);

    // An empty member list (or a failing MemberList) changes nothing.
    b.members = [];
    await until(() => b.count('MemberList') >= 3, 3000, 'more syncs');
    assert.deepEqual(client.endpoints, [b.endpoint]);
    b.script = (call) => (call.method === 'MemberList' ? { fail: 'noLeader' } : 'default');
    const syncs = b.count('MemberList');
    await until(() => b.count('MemberList') >= syncs + 2, 3000, 'failing syncs');
    assert.deepEqual(client.endpoints, [b.endpoint]);
    await watch.cancel();
  });
});
