/**
 * Per-member fault injection of startCluster, as a gRPC client sees it: hang/unhang (a frozen
 * process), loseLeader/restoreLeader (a member cut off from the leader), setLatency, and
 * close() in every fault state leaving nothing behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import { GrpcCode, etcdErrors } from '../../src/protocol/error-table.js';
import { startCluster, type EtcdCluster } from '../../src/server/index.js';
import { activeResources, call, client, keepAlive, leftOver, ok, within } from './cluster-harness.js';
import { b, s } from './rpc-client.js';
import { WatchCall } from './watch-stream.js';

const noLeader = { code: etcdErrors.noLeader.code, details: etcdErrors.noLeader.message };
const timedOut = { code: etcdErrors.timeout.code, details: etcdErrors.timeout.message };

/** Runs `body` with a fresh cluster and one client per member, closing everything after. */
async function withCluster(
  options: Parameters<typeof startCluster>[0],
  body: (cluster: EtcdCluster, clients: grpc.Client[]) => Promise<void>,
): Promise<void> {
  const cluster = await startCluster(options);
  const clients = cluster.endpoints.map((e) => client(e));
  try {
    await body(cluster, clients);
  } finally {
    for (const c of clients) c.close();
    await cluster.close();
  }
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const frame = (type: number, flags: number, payload: Buffer): Buffer => {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  return Buffer.concat([h, payload]);
};
const PING_DATA = Buffer.from('etcdkit!');

/** Whether `bytes` (server-to-client HTTP/2) hold an ack of our PING. */
function hasPingAck(bytes: Buffer): boolean {
  let at = 0;
  while (at + 9 <= bytes.length) {
    const len = bytes.readUIntBE(at, 3);
    if (bytes[at + 3] === 6 && (bytes[at + 4]! & 1) === 1 && bytes.subarray(at + 9, at + 9 + len).equals(PING_DATA)) return true;
    at += 9 + len;
  }
  return false;
}

test('hang: calls to the hung member time out on the client, others answer; unhang resumes', async () => {
  await withCluster({ members: 3 }, async (cluster, clients) => {
    const [m0, m1, m2] = cluster.members;
    await ok(clients[2]!, 'KV', 'Put', { key: b('h'), value: b('1') }); // connect first
    m2!.hang();
    m2!.hang(); // idempotent
    assert.equal(m2!.hung, true);
    const stuck = await call(clients[2]!, 'KV', 'Range', { key: b('h') }, 300);
    assert.equal(stuck.err?.code, GrpcCode.DEADLINE_EXCEEDED);
    // a new connection is accepted but gets nothing either
    const late = client(m2!.endpoint);
    try {
      const fresh = await call(late, 'Maintenance', 'Status', {}, 300);
      assert.equal(fresh.err?.code, GrpcCode.DEADLINE_EXCEEDED);
    } finally {
      late.close();
    }
    const other = await ok(clients[1]!, 'KV', 'Range', { key: b('h') });
    assert.equal(s(other.kvs[0]!.value), '1');
    assert.equal(cluster.leader, m0, 'a hung follower does not move the leader');

    m2!.unhang();
    m2!.unhang();
    assert.equal(m2!.hung, false);
    const back = await ok(clients[2]!, 'KV', 'Range', { key: b('h') });
    assert.equal(back.header!.member_id, m2!.memberId);

    // hanging the leader: the others elect another one
    m0!.hang();
    assert.equal(cluster.leader, m1);
    m0!.unhang();
    assert.equal(cluster.leader, m1);
  });
});

test('hang: HTTP/2 PINGs go unanswered until unhang, then the held bytes flow in order', async () => {
  await withCluster({ members: 3 }, async (cluster) => {
    const m1 = cluster.members[1]!;
    m1.hang();
    const socket: Socket = connect({ host: m1.host, port: m1.port });
    let received = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      wake?.();
    });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.write(Buffer.concat([PREFACE, frame(4, 0, Buffer.alloc(0)), frame(6, 0, PING_DATA)]));
      // negative check: a frozen process sends nothing (not even its SETTINGS)
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(received.length, 0);
      m1.unhang();
      await within(
        new Promise<void>((resolve) => {
          wake = () => {
            if (hasPingAck(received)) resolve();
          };
          wake();
        }),
        5000,
        'the PING ack after unhang',
      );
      assert.equal(received[3], 4, 'the server SETTINGS come first');
    } finally {
      socket.destroy();
    }
  });
});

test('hang: a watch on the hung member gets its events only after unhang', async () => {
  await withCluster({ members: 3 }, async (cluster, clients) => {
    const m1 = cluster.members[1]!;
    const wc = client(m1.endpoint);
    const watch = new WatchCall(wc);
    try {
      watch.create({ key: b('w') });
      assert.equal((await watch.next()).created, true);
      m1.hang();
      const put = await ok(clients[0]!, 'KV', 'Put', { key: b('w'), value: b('held') });
      await watch.none(200);
      m1.unhang();
      const ev = await watch.next();
      assert.equal(ev.header!.revision, put.header!.revision);
      assert.equal(s(ev.events[0]!.kv!.value), 'held');
    } finally {
      watch.cancel();
      wc.close();
    }
  });
});

test('stop() ends a hang; start() comes back serving', async () => {
  await withCluster({ members: 3 }, async (cluster) => {
    const m2 = cluster.members[2]!;
    m2.hang();
    await m2.stop();
    assert.equal(m2.hung, false);
    await m2.start();
    const c = client(m2.endpoint);
    try {
      await ok(c, 'KV', 'Range', { key: b('x') });
    } finally {
      c.close();
    }
  });
});

test('loseLeader: hasleader calls fail at once, writes and linearizable reads time out, serializable reads answer', async () => {
  await withCluster({ members: 3, requestTimeoutMs: 300 }, async (cluster, clients) => {
    const [m0, m1] = cluster.members;
    await ok(clients[0]!, 'KV', 'Put', { key: b('k'), value: b('v1') });
    const leaderClient = client(m0!.endpoint, { requireLeader: true });
    try {
      m0!.loseLeader();
      m0!.loseLeader();
      assert.equal(m0!.leaderLost, true);
      assert.equal(m0!.hasLeader, false);
      assert.equal(cluster.leader, m1, 'the leader moved away from the cut-off member');

      // require-leader: refused at once, whatever the call
      assert.deepEqual((await call(leaderClient, 'KV', 'Range', { key: b('k'), serializable: true }, 2000)).err, noLeader);
      assert.deepEqual((await call(leaderClient, 'Maintenance', 'Status', {}, 2000)).err, noLeader);

      // without it: proposals and linearizable reads wait for the request timeout
      const c0 = clients[0]!;
      assert.deepEqual((await call(c0, 'KV', 'Put', { key: b('k'), value: b('v2') })).err, timedOut);
      assert.deepEqual((await call(c0, 'KV', 'Range', { key: b('k') })).err, timedOut);
      assert.deepEqual((await call(c0, 'KV', 'DeleteRange', { key: b('k') })).err, timedOut);
      assert.deepEqual((await call(c0, 'Lease', 'LeaseGrant', { TTL: 10n })).err, timedOut);
      assert.deepEqual((await call(c0, 'Lease', 'LeaseTimeToLive', { ID: 1n })).err, noLeader);
      const roTxn = { success: [{ request_range: { key: b('k'), serializable: true } }] };
      const ro = await ok(c0, 'KV', 'Txn', roTxn);
      assert.equal(s(ro.responses[0]!.response_range!.kvs[0]!.value), 'v1');
      assert.deepEqual((await call(c0, 'KV', 'Txn', { success: [{ request_range: { key: b('k') } }] })).err, timedOut);
      // a client deadline shorter than the request timeout ends the call first
      assert.equal((await call(c0, 'KV', 'Put', { key: b('k'), value: b('v3') }, 100)).err?.code, GrpcCode.DEADLINE_EXCEEDED);

      // local answers
      const ser = await ok(c0, 'KV', 'Range', { key: b('k'), serializable: true });
      assert.equal(s(ser.kvs[0]!.value), 'v1');
      assert.equal(ser.header!.member_id, m0!.memberId);
      const st = await ok(c0, 'Maintenance', 'Status', {});
      assert.equal(st.leader, 0n);
      assert.deepEqual(st.errors, [etcdErrors.noLeader.message]);
      await ok(c0, 'Cluster', 'MemberList', {});
      await ok(c0, 'Lease', 'LeaseLeases', {});

      // the other members go on
      await ok(clients[1]!, 'KV', 'Put', { key: b('k'), value: b('v4') });
      assert.equal((await ok(clients[2]!, 'Maintenance', 'Status', {})).leader, m1!.memberId);

      m0!.restoreLeader();
      assert.equal(m0!.hasLeader, true);
      assert.equal((await ok(c0, 'Maintenance', 'Status', {})).leader, m1!.memberId);
      await ok(c0, 'KV', 'Put', { key: b('k'), value: b('v5') });
      await ok(leaderClient, 'KV', 'Range', { key: b('k') });
    } finally {
      leaderClient.close();
    }
  });
});

test('loseLeader: require-leader streams are cancelled with no leader, new ones refused; plain watches stay', async () => {
  await withCluster({ members: 3, requireLeaderCancelMs: 150 }, async (cluster, clients) => {
    const m2 = cluster.members[2]!;
    const lease = await ok(clients[0]!, 'Lease', 'LeaseGrant', { TTL: 60n });
    const rl = client(m2.endpoint, { requireLeader: true });
    const plainClient = client(m2.endpoint);
    const guarded = new WatchCall(rl);
    const plain = new WatchCall(plainClient);
    const ka = keepAlive(rl);
    try {
      guarded.create({ key: b('g') });
      plain.create({ key: b('g') });
      assert.equal((await guarded.next()).created, true);
      assert.equal((await plain.next()).created, true);
      ka.send(lease.ID);
      assert.equal((await ka.next()).ID, lease.ID);

      m2.loseLeader();
      const status = await guarded.ended(5000);
      assert.deepEqual({ code: status.code, details: status.details }, noLeader);
      const kaStatus = await within(ka.ended, 5000, 'the keepalive cancel');
      assert.deepEqual({ code: kaStatus.code, details: kaStatus.details }, noLeader);

      // a new require-leader stream is refused at once
      const refused = new WatchCall(rl);
      const refusedStatus = await refused.ended(5000);
      assert.deepEqual({ code: refusedStatus.code, details: refusedStatus.details }, noLeader);

      // a watch without require-leader stays open (and, sharing the store, still sees writes)
      await ok(clients[0]!, 'KV', 'Put', { key: b('g'), value: b('still') });
      const ev = await plain.next();
      assert.equal(s(ev.events[0]!.kv!.value), 'still');
      assert.equal(plain.status, undefined);

      m2.restoreLeader();
      const again = new WatchCall(rl);
      again.create({ key: b('g') });
      assert.equal((await again.next()).created, true);
      again.cancel();
    } finally {
      guarded.cancel();
      plain.cancel();
      ka.cancel();
      rl.close();
      plainClient.close();
    }
  });
});

test('loseLeader on two of three members: no quorum, no member has a leader', async () => {
  await withCluster({ members: 3, requestTimeoutMs: 200 }, async (cluster, clients) => {
    const [m0, m1, m2] = cluster.members;
    m1!.loseLeader();
    assert.equal(cluster.leader, m0);
    m2!.loseLeader();
    assert.equal(cluster.leader, undefined);
    assert.equal(m0!.hasLeader, false);
    assert.equal((await ok(clients[0]!, 'Maintenance', 'Status', {})).leader, 0n);
    assert.deepEqual((await call(clients[0]!, 'KV', 'Put', { key: b('q'), value: b('1') })).err, timedOut);
    m2!.restoreLeader();
    assert.ok(cluster.leader !== undefined);
    await ok(clients[0]!, 'KV', 'Put', { key: b('q'), value: b('1') });
  });
});

test('setLatency delays unary responses and stream messages; 0 clears it', async () => {
  await withCluster({ members: 3 }, async (cluster, clients) => {
    const m1 = cluster.members[1]!;
    await ok(clients[1]!, 'KV', 'Range', { key: b('l') }); // connect first
    const watch = new WatchCall(clients[1]!);
    try {
      watch.create({ key: b('l') });
      assert.equal((await watch.next()).created, true);
      m1.setLatency(250);
      assert.equal(m1.latency, 250);
      let t = performance.now();
      await ok(clients[1]!, 'KV', 'Range', { key: b('l') });
      assert.ok(performance.now() - t >= 245, 'the response waited for the latency');
      t = performance.now();
      await ok(clients[0]!, 'KV', 'Put', { key: b('l'), value: b('x') });
      await watch.next();
      assert.ok(performance.now() - t >= 245, 'the watch event waited for the latency');
      m1.setLatency(0);
      await ok(clients[1]!, 'KV', 'Range', { key: b('l') });
      assert.throws(() => m1.setLatency(-1), /setLatency: expected a number of milliseconds >= 0, got number -1/);
    } finally {
      watch.cancel();
    }
  });
});

test('close() in every fault state leaves no socket or timer behind; controls then throw', async () => {
  const baseline = activeResources();
  const cluster = await startCluster({ members: 5, requestTimeoutMs: 10_000, requireLeaderCancelMs: 10_000 });
  const clients = cluster.endpoints.map((e) => client(e));
  const rl = client(cluster.endpoints[1]!, { requireLeader: true });
  const [m0, m1, m2, m3, m4] = cluster.members;
  for (const c of clients) await ok(c, 'KV', 'Range', { key: b('z') });
  const watches = [new WatchCall(rl), new WatchCall(clients[4]!)];
  for (const w of watches) w.create({ key: b('z') });
  for (const w of watches) await w.next();

  m0!.hang();
  const onHung = call(clients[0]!, 'KV', 'Range', { key: b('z') }, 20_000);
  m1!.loseLeader();
  const waiting = call(clients[1]!, 'KV', 'Put', { key: b('z'), value: b('1') }, 20_000);
  m2!.setLatency(10_000);
  const slow = call(clients[2]!, 'KV', 'Range', { key: b('z') }, 20_000);
  await m3!.stop();
  await new Promise((r) => setTimeout(r, 50)); // let the calls reach the members

  await cluster.close();
  await cluster.close(); // idempotent
  const results = await within(Promise.all([onHung, waiting, slow]), 5000, 'the calls ending with the cluster');
  assert.ok(results.every((r) => r.err !== undefined));
  assert.deepEqual(results[1]!.err, { code: GrpcCode.UNAVAILABLE, details: etcdErrors.stopped.message });
  for (const w of watches) w.cancel();
  rl.close();
  for (const c of clients) c.close();
  assert.deepEqual(await leftOver(baseline), []);

  assert.throws(() => m4!.hang(), /hang\(\) after close\(\)/);
  assert.throws(() => m4!.loseLeader(), /loseLeader\(\) after close\(\)/);
  await assert.rejects(m4!.start(), /start\(\) after close\(\)/);
});
