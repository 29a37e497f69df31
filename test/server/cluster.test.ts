/**
 * The simulated cluster (startCluster) at the gRPC level: one shared store seen through every
 * member, per-member identity in headers, MemberList/Status as etcd reports them, leadership
 * (MoveLeader, quorum), stop/start, and options.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { GrpcCode, etcdErrors } from '../../src/protocol/error-table.js';
import { startCluster, startServer, type EtcdCluster } from '../../src/server/index.js';
import { call, client, ok, within } from './cluster-harness.js';
import { b, s } from './rpc-client.js';
import { WatchCall } from './watch-stream.js';

describe('a 3-member cluster', () => {
  let cluster: EtcdCluster;
  let clients: grpc.Client[];

  before(async () => {
    cluster = await startCluster({ members: 3 });
    clients = cluster.endpoints.map((e) => client(e));
  });
  after(async () => {
    for (const c of clients) c.close();
    await cluster.close();
  });

  test('handles: members, endpoints, names, ids', () => {
    assert.equal(cluster.members.length, 3);
    assert.deepEqual(
      cluster.members.map((m) => m.name),
      ['member-0', 'member-1', 'member-2'],
    );
    assert.deepEqual(cluster.endpoints, cluster.members.map((m) => `127.0.0.1:${m.port}`));
    assert.deepEqual(cluster.urls, cluster.members.map((m) => `http://127.0.0.1:${m.port}`));
    assert.equal(new Set(cluster.members.map((m) => m.port)).size, 3);
    assert.equal(new Set(cluster.members.map((m) => m.memberId)).size, 3);
    assert.ok(cluster.members.every((m) => m.clusterId === cluster.clusterId && m.running));
    assert.equal(cluster.leader, cluster.members[0]);
    assert.deepEqual(
      cluster.members.map((m) => [m.isLeader, m.hasLeader]),
      [
        [true, true],
        [false, true],
        [false, true],
      ],
    );
  });

  test('a write through member 0 is read on member 2 and seen by a watcher on member 1', async () => {
    const watchClient = client(cluster.endpoints[1]!);
    const watch = new WatchCall(watchClient);
    try {
      watch.create({ key: b('shared/'), range_end: b('shared0') });
      const created = await watch.next();
      assert.equal(created.created, true);
      assert.equal(created.header!.member_id, cluster.members[1]!.memberId);

      const put = await ok(clients[0]!, 'KV', 'Put', { key: b('shared/a'), value: b('one') });
      assert.equal(put.header!.member_id, cluster.members[0]!.memberId);

      const got = await ok(clients[2]!, 'KV', 'Range', { key: b('shared/a') });
      assert.equal(s(got.kvs[0]!.value), 'one');
      assert.equal(got.header!.revision, put.header!.revision);
      assert.equal(got.header!.member_id, cluster.members[2]!.memberId);

      const ev = await watch.next();
      assert.equal(ev.header!.member_id, cluster.members[1]!.memberId);
      assert.equal(ev.header!.revision, put.header!.revision);
      assert.deepEqual(
        ev.events.map((e) => [s(e.kv!.key), s(e.kv!.value)]),
        [['shared/a', 'one']],
      );
    } finally {
      watch.cancel();
      watchClient.close();
    }
  });

  test('headers: each member its own member_id, one cluster_id and raft term', async () => {
    const headers = await Promise.all(clients.map(async (c) => (await ok(c, 'KV', 'Range', { key: b('x') })).header!));
    assert.deepEqual(
      headers.map((h) => h.member_id),
      cluster.members.map((m) => m.memberId),
    );
    assert.deepEqual(new Set(headers.map((h) => h.cluster_id)), new Set([cluster.clusterId]));
    assert.equal(new Set(headers.map((h) => h.raft_term)).size, 1);
    assert.equal(new Set(headers.map((h) => h.revision)).size, 1);
  });

  test('MemberList lists every member with its client URL, from any member', async () => {
    for (const c of clients) {
      const list = await ok(c, 'Cluster', 'MemberList', {});
      assert.equal(list.header!.revision, 0n);
      assert.deepEqual(
        list.members.map((m) => ({ ID: m.ID, name: m.name, clientURLs: m.clientURLs, isLearner: m.isLearner })),
        cluster.members.map((m) => ({ ID: m.memberId, name: m.name, clientURLs: [m.url], isLearner: false })),
      );
      assert.equal(new Set(list.members.map((m) => m.peerURLs[0])).size, 3);
    }
  });

  test('Status: own member_id, the same leader, raft index and term everywhere', async () => {
    const statuses = await Promise.all(clients.map((c) => ok(c, 'Maintenance', 'Status', {})));
    for (const [i, st] of statuses.entries()) {
      assert.equal(st.header!.member_id, cluster.members[i]!.memberId);
      assert.equal(st.leader, cluster.members[0]!.memberId);
      assert.equal(st.isLearner, false);
      assert.deepEqual(st.errors, []);
      assert.equal(st.raftTerm, statuses[0]!.raftTerm);
      assert.equal(st.raftIndex, statuses[0]!.raftIndex);
    }
  });

  test('MoveLeader: only the leader hands over; the term goes up; unknown ids are refused', async () => {
    const [m0, m1, m2] = cluster.members;
    const before = await ok(clients[1]!, 'Maintenance', 'Status', {});
    const notLeader = await call(clients[1]!, 'Maintenance', 'MoveLeader', { targetID: m2!.memberId });
    assert.deepEqual(notLeader.err, { code: etcdErrors.notLeader.code, details: etcdErrors.notLeader.message });
    const bad = await call(clients[0]!, 'Maintenance', 'MoveLeader', { targetID: 12345n });
    assert.equal(bad.err?.details, etcdErrors.badLeaderTransferee.message);
    await ok(clients[0]!, 'Maintenance', 'MoveLeader', { targetID: m1!.memberId });
    assert.equal(cluster.leader, m1);
    const after = await ok(clients[2]!, 'Maintenance', 'Status', {});
    assert.equal(after.leader, m1!.memberId);
    assert.equal(after.raftTerm, before.raftTerm + 1n);
    // back, so later tests see member 0 lead
    await ok(clients[1]!, 'Maintenance', 'MoveLeader', { targetID: m0!.memberId });
    assert.equal(cluster.leader, m0);
  });

  test('stop/start: the member refuses calls while stopped, others serve; data and port kept', async () => {
    const m2 = cluster.members[2]!;
    const port = m2.port;
    await ok(clients[0]!, 'KV', 'Put', { key: b('restart'), value: b('before') });
    await m2.stop();
    assert.equal(m2.running, false);
    const down = await call(clients[2]!, 'KV', 'Range', { key: b('restart') }, 2000);
    assert.equal(down.err?.code, GrpcCode.UNAVAILABLE);
    await ok(clients[1]!, 'KV', 'Put', { key: b('restart'), value: b('while-down') });
    // a stopped member is still listed, as etcd lists it
    const list = await ok(clients[0]!, 'Cluster', 'MemberList', {});
    assert.deepEqual(list.members[2]!.clientURLs, [m2.url]);
    await m2.start();
    assert.equal(m2.port, port);
    const fresh = client(m2.endpoint);
    try {
      const got = await ok(fresh, 'KV', 'Range', { key: b('restart') });
      assert.equal(s(got.kvs[0]!.value), 'while-down');
      assert.equal(got.header!.member_id, m2.memberId);
    } finally {
      fresh.close();
    }
    assert.equal(cluster.leader, cluster.members[0]);
  });
});

test('the leader moves when the leader stops; without a quorum no member has a leader', async () => {
  const cluster = await startCluster({ members: 3, requestTimeoutMs: 200 });
  const c2 = client(cluster.endpoints[2]!);
  try {
    const [m0, m1, m2] = cluster.members;
    const term = (await ok(c2, 'Maintenance', 'Status', {})).raftTerm;
    await m0!.stop();
    assert.equal(cluster.leader, m1);
    const st = await ok(c2, 'Maintenance', 'Status', {});
    assert.equal(st.leader, m1!.memberId);
    assert.equal(st.raftTerm, term + 1n);

    await m1!.stop();
    assert.equal(cluster.leader, undefined);
    assert.equal(m2!.hasLeader, false);
    const lost = await ok(c2, 'Maintenance', 'Status', {});
    assert.equal(lost.leader, 0n);
    assert.deepEqual(lost.errors, [etcdErrors.noLeader.message]);
    const put = await call(c2, 'KV', 'Put', { key: b('k'), value: b('v') });
    assert.deepEqual(put.err, { code: GrpcCode.UNAVAILABLE, details: etcdErrors.timeout.message });

    await m0!.start();
    assert.equal(cluster.leader, m0, 'the lowest member taking part is elected');
    await ok(c2, 'KV', 'Put', { key: b('k'), value: b('v') });
  } finally {
    c2.close();
    await cluster.close();
  }
});

test('a write waiting for a leader goes through once one is elected', async () => {
  const cluster = await startCluster({ members: 3, requestTimeoutMs: 5000 });
  const c0 = client(cluster.endpoints[0]!);
  try {
    const m0 = cluster.members[0]!;
    m0.loseLeader();
    const pending = call(c0, 'KV', 'Put', { key: b('late'), value: b('ok') });
    const rev = cluster.revision;
    m0.restoreLeader();
    const put = await within(pending, 4000, 'the held put');
    assert.ok(put.ok, JSON.stringify(put.err));
    assert.equal(put.ok.header!.revision, rev + 1n);
  } finally {
    c0.close();
    await cluster.close();
  }
});

test('options: leader, basePort, names, members; bad options name the option', async () => {
  const cluster = await startCluster({ members: 2, leader: 1, name: 'node' });
  try {
    assert.deepEqual(
      cluster.members.map((m) => m.name),
      ['node-0', 'node-1'],
    );
    assert.equal(cluster.leader, cluster.members[1]);
  } finally {
    await cluster.close();
  }
  await assert.rejects(startCluster({ members: 0 }), /startCluster: invalid option "members": expected an integer from 1 to 15, got number 0/);
  await assert.rejects(startCluster({ members: 2, leader: 2 }), /invalid option "leader": expected a member index below 2/);
  await assert.rejects(startCluster({ members: 2, ports: [0] }), /invalid option "ports": expected 2 ports/);
  await assert.rejects(startCluster({ ports: [0, 0, 0], basePort: 2379 }), /invalid option "ports": give either/);
  await assert.rejects(startCluster({ requestTimeoutMs: 0 }), /invalid option "requestTimeoutMs"/);
  await assert.rejects(startCluster({ memebrs: 3 } as never), /unknown option "memebrs" \(known options: members, host, basePort, ports/);
});

test('a taken port fails startCluster clearly and leaves nothing running', async () => {
  const blocker = await startServer();
  try {
    await assert.rejects(startCluster({ members: 2, ports: [0, blocker.port] }), /cannot listen on 127\.0\.0\.1:\d+/);
  } finally {
    await blocker.close();
  }
});

test('a 1-member cluster behaves like startServer: leader, restart bumps the term', async () => {
  const cluster = await startCluster({ members: 1 });
  const c = client(cluster.endpoints[0]!);
  try {
    const m = cluster.members[0]!;
    const st = await ok(c, 'Maintenance', 'Status', {});
    assert.equal(st.leader, m.memberId);
    await m.stop();
    await m.start();
    const fresh = client(m.endpoint);
    try {
      const again = await ok(fresh, 'Maintenance', 'Status', {});
      assert.equal(again.raftTerm, st.raftTerm + 1n);
    } finally {
      fresh.close();
    }
  } finally {
    c.close();
    await cluster.close();
  }
});
