/**
 * The Lease service over gRPC (raw protocol layer, no etcdkit client): server-spec §10 and the
 * golden observations of §16.13. Time is driven by a ManualClock, so nothing sleeps; one
 * suite replays the same sequence on real etcd 3.4.23 and compares.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { etcdErrors, GrpcCode, type EtcdErrorName } from '../../src/protocol/error-table.js';
import type { LeaseKeepAliveResponse } from '../../src/protocol/messages.generated.js';
import { methodDef } from '../../src/protocol/services.js';
import { ManualClock, startServer, type Clock, type EtcdServer, type ServerOptions } from '../../src/server/index.js';
import { AlarmRequest_AlarmAction, AlarmType } from '../../src/server/wire.js';
import { etcdAvailable, startRealEtcd, type RealEtcdHandle } from '../harness/real-etcd.js';
import { RpcClient, b, s, type RpcError } from './rpc-client.js';

/** Bound on every wait of a keepalive stream. */
const STREAM_WAIT_MS = 5000;

function assertEtcdError(err: RpcError, name: EtcdErrorName): void {
  assert.deepEqual(err, { code: etcdErrors[name].code, details: etcdErrors[name].message });
}

/** One LeaseKeepAlive bidi call: send an ID, await its response; half-close and await the status. */
class KeepAliveCall {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<{ ID?: bigint }, LeaseKeepAliveResponse>;
  private readonly received: LeaseKeepAliveResponse[] = [];
  private readonly waiters: ((r: LeaseKeepAliveResponse) => void)[] = [];
  readonly status: Promise<{ code: number; details: string }>;

  constructor(endpoint: string) {
    this.client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
    const def = methodDef('Lease', 'LeaseKeepAlive');
    this.call = this.client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize);
    this.call.on('data', (r: LeaseKeepAliveResponse) => {
      const w = this.waiters.shift();
      if (w) w(r);
      else this.received.push(r);
    });
    this.call.on('error', () => {}); // the status below carries it
    this.status = new Promise((resolve) => this.call.on('status', (st) => resolve({ code: st.code, details: st.details })));
  }

  /** Sends `{ID}` and resolves to the next response. */
  send(id: bigint): Promise<LeaseKeepAliveResponse> {
    this.call.write({ ID: id });
    const ready = this.received.shift();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no keepalive response')), STREAM_WAIT_MS);
      this.waiters.push((r) => {
        clearTimeout(timer);
        resolve(r);
      });
    });
  }

  /** Half-closes and resolves to the final status. */
  async end(): Promise<{ code: number; details: string }> {
    this.call.end();
    return this.waitStatus();
  }

  /** The final status, bounded in time. */
  async waitStatus(): Promise<{ code: number; details: string }> {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('no keepalive status')), STREAM_WAIT_MS);
    });
    try {
      return await Promise.race([this.status, bound]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** A server on a ManualClock plus a raw client, closed after the test. */
async function withServer(
  body: (ctx: { server: EtcdServer; rpc: RpcClient; clock: ManualClock }) => Promise<void>,
  options: ServerOptions = {},
): Promise<void> {
  const clock = new ManualClock();
  const server = await startServer({ clock, ...options });
  const rpc = new RpcClient(server.endpoint);
  try {
    await body({ server, rpc, clock });
  } finally {
    rpc.close();
    await server.close();
  }
}

const grant = (rpc: RpcClient, TTL: bigint, ID = 0n) => rpc.call('Lease', 'LeaseGrant', { TTL, ID });
const ttlOf = (rpc: RpcClient, ID: bigint, keys = false) => rpc.call('Lease', 'LeaseTimeToLive', { ID, keys });
const keysOf = async (rpc: RpcClient, ID: bigint) => (await ttlOf(rpc, ID, true)).keys.map(s).sort();
const put = (rpc: RpcClient, key: string, lease = 0n) => rpc.call('KV', 'Put', { key: b(key), value: b('v'), lease });
const revision = async (rpc: RpcClient) => (await rpc.call('KV', 'Range', { key: b('any') })).header!.revision;
const liveKeys = async (rpc: RpcClient, revision = 0n) =>
  (await rpc.call('KV', 'Range', { key: new Uint8Array([0]), range_end: new Uint8Array([0]), revision })).kvs.map((kv) => s(kv.key));

describe('§16.13 golden observations', () => {
  let server: EtcdServer;
  let rpc: RpcClient;
  let clock: ManualClock;

  before(async () => {
    clock = new ManualClock();
    server = await startServer({ clock });
    rpc = new RpcClient(server.endpoint);
  });
  after(async () => {
    rpc.close();
    await server.close();
  });

  test('TTL 1, 0 and -5 are raised to the 2 s minimum', async () => {
    for (const ttl of [1n, 0n, -5n]) {
      const g = await grant(rpc, ttl);
      assert.equal(g.TTL, 2n, `TTL ${ttl}`);
      assert.equal((await ttlOf(rpc, g.ID)).grantedTTL, 2n);
    }
  });

  test('ID 100 twice: lease already exists', async () => {
    assert.equal((await grant(rpc, 60n, 100n)).ID, 100n);
    assertEtcdError(await rpc.fail('Lease', 'LeaseGrant', { TTL: 60n, ID: 100n }), 'leaseExists');
  });

  test('TTL 9000000001: too large lease TTL; 9000000000 is accepted', async () => {
    assertEtcdError(await rpc.fail('Lease', 'LeaseGrant', { TTL: 9000000001n }), 'leaseTtlTooLarge');
    assert.equal((await grant(rpc, 9000000000n)).TTL, 9000000000n);
  });

  test('unknown lease 999: TimeToLive TTL -1, KeepAlive TTL 0, Revoke NotFound', async () => {
    const t = await ttlOf(rpc, 999n, true);
    assert.deepEqual({ ID: t.ID, TTL: t.TTL, grantedTTL: t.grantedTTL, keys: t.keys }, { ID: 999n, TTL: -1n, grantedTTL: 0n, keys: [] });
    assert.equal(t.header!.revision, await revision(rpc));
    const ka = new KeepAliveCall(server.endpoint);
    try {
      const r = await ka.send(999n);
      assert.deepEqual({ ID: r.ID, TTL: r.TTL }, { ID: 999n, TTL: 0n });
      assert.deepEqual(await ka.end(), { code: GrpcCode.OK, details: 'OK' });
    } finally {
      ka.close();
    }
    const err = await rpc.fail('Lease', 'LeaseRevoke', { ID: 999n });
    assert.equal(err.code, GrpcCode.NOT_FOUND);
    assertEtcdError(err, 'leaseNotFound');
  });

  test('revoking a lease with one key: +1 revision, the key is gone', async () => {
    const g = await grant(rpc, 60n);
    await put(rpc, 'golden/one', g.ID);
    const before = await revision(rpc);
    const r = await rpc.call('Lease', 'LeaseRevoke', { ID: g.ID });
    assert.equal(r.header!.revision, before + 1n);
    assert.equal((await rpc.call('KV', 'Range', { key: b('golden/one') })).kvs.length, 0);
  });

  test('expiry of a 2 s lease with 2 keys: +1 revision', async () => {
    const g = await grant(rpc, 1n);
    await put(rpc, 'golden/x', g.ID);
    await put(rpc, 'golden/y', g.ID);
    const before = await revision(rpc);
    clock.advance(1999);
    assert.equal(await revision(rpc), before);
    clock.advance(1);
    assert.equal(await revision(rpc), before + 1n);
    assert.equal((await rpc.call('KV', 'Range', { key: b('golden/'), range_end: b('golden0') })).kvs.length, 0);
  });
});

describe('LeaseGrant', () => {
  test('ID 0 picks fresh positive ids; a negative ID is accepted; no revision bump; full header', () =>
    withServer(async ({ server, rpc }) => {
      const ids = new Set<bigint>();
      for (let i = 0; i < 20; i++) {
        const g = await grant(rpc, 10n);
        assert.ok(g.ID > 0n && g.ID < 2n ** 63n, `id ${g.ID}`);
        ids.add(g.ID);
      }
      assert.equal(ids.size, 20);
      const neg = await grant(rpc, 10n, -7n);
      assert.equal(neg.ID, -7n);
      assert.deepEqual(neg.header, {
        cluster_id: server.clusterId,
        member_id: server.memberId,
        revision: 1n,
        raft_term: neg.header!.raft_term,
      });
      assert.notEqual(neg.header!.raft_term, 0n);
      assert.equal(await revision(rpc), 1n);
    }));

  test('the minimum TTL is configurable (minLeaseTtl)', () =>
    withServer(
      async ({ rpc }) => {
        assert.equal((await grant(rpc, 1n)).TTL, 5n);
        assert.equal((await grant(rpc, 6n)).TTL, 6n);
      },
      { minLeaseTtl: 5 },
    ));

  test('NOSPACE: grant fails with space exceeded, revoke still works; CORRUPT fails both', () =>
    withServer(async ({ server, rpc }) => {
      const g = await grant(rpc, 60n);
      const alarm = (action: AlarmRequest_AlarmAction, type: AlarmType) =>
        rpc.call('Maintenance', 'Alarm', { action, alarm: type, memberID: server.memberId });
      await alarm(AlarmRequest_AlarmAction.ACTIVATE, AlarmType.NOSPACE);
      assertEtcdError(await rpc.fail('Lease', 'LeaseGrant', { TTL: 60n }), 'noSpace');
      await rpc.call('Lease', 'LeaseRevoke', { ID: g.ID });
      await alarm(AlarmRequest_AlarmAction.DEACTIVATE, AlarmType.NOSPACE);
      const g2 = await grant(rpc, 60n);
      await alarm(AlarmRequest_AlarmAction.ACTIVATE, AlarmType.CORRUPT);
      assertEtcdError(await rpc.fail('Lease', 'LeaseGrant', { TTL: 60n }), 'corrupt');
      assertEtcdError(await rpc.fail('Lease', 'LeaseRevoke', { ID: g2.ID }), 'corrupt');
      await alarm(AlarmRequest_AlarmAction.DEACTIVATE, AlarmType.CORRUPT);
      await rpc.call('Lease', 'LeaseRevoke', { ID: g2.ID });
    }));
});

describe('LeaseRevoke', () => {
  test('deletes every attached key in one revision, in key order, and forgets the lease', () =>
    withServer(async ({ server, rpc }) => {
      const g = await grant(rpc, 60n);
      await put(rpc, 'r/b', g.ID);
      await put(rpc, 'r/a', g.ID);
      await put(rpc, 'r/free');
      const before = await revision(rpc);
      const r = await rpc.call('Lease', 'LeaseRevoke', { ID: g.ID });
      assert.equal(r.header!.revision, before + 1n);
      assert.deepEqual(await liveKeys(rpc), ['r/free']);
      assert.deepEqual(await liveKeys(rpc, before), ['r/a', 'r/b', 'r/free']);
      // one revision holding two DELETE events, ascending by key (what watchers are sent)
      const records = server.serverContext.store.recordsFrom(before + 1n);
      assert.equal(records.length, 1);
      assert.deepEqual(
        records[0]!.events.map((e) => [e.type, s(e.kv.key), e.kv.mod_revision]),
        [
          ['delete', 'r/a', before + 1n],
          ['delete', 'r/b', before + 1n],
        ],
      );
      assert.equal((await ttlOf(rpc, g.ID)).TTL, -1n);
      assertEtcdError(await rpc.fail('Lease', 'LeaseRevoke', { ID: g.ID }), 'leaseNotFound');
    }));

  test('a lease without keys revokes without a revision', () =>
    withServer(async ({ rpc }) => {
      const g = await grant(rpc, 60n);
      const r = await rpc.call('Lease', 'LeaseRevoke', { ID: g.ID });
      assert.equal(r.header!.revision, 1n);
      assert.equal(await revision(rpc), 1n);
    }));
});

describe('expiry', () => {
  test('an expired lease is revoked like an explicit revoke: keys deleted in one revision per lease', () =>
    withServer(async ({ server, rpc, clock }) => {
      const a = await grant(rpc, 3n);
      const c = await grant(rpc, 3n);
      await put(rpc, 'e/a1', a.ID);
      await put(rpc, 'e/a2', a.ID);
      await put(rpc, 'e/c1', c.ID);
      const before = await revision(rpc);
      clock.advance(2999);
      assert.deepEqual(await liveKeys(rpc), ['e/a1', 'e/a2', 'e/c1']);
      assert.equal((await ttlOf(rpc, a.ID)).TTL, 0n);
      clock.advance(1);
      assert.deepEqual(await liveKeys(rpc), []);
      assert.equal(await revision(rpc), before + 2n);
      const records = server.serverContext.store.recordsFrom(before + 1n);
      assert.deepEqual(
        records.map((r) => r.events.map((e) => `${e.type} ${s(e.kv.key)}`)),
        [['delete e/a1', 'delete e/a2'], ['delete e/c1']],
      );
      assert.equal((await ttlOf(rpc, a.ID)).TTL, -1n);
      assert.deepEqual((await rpc.call('Lease', 'LeaseLeases', {})).leases, []);
    }));

  test('at most 500 leases are revoked per pass; the rest 500 ms later', () =>
    withServer(async ({ server, rpc, clock }) => {
      const total = 600;
      await Promise.all(Array.from({ length: total }, () => grant(rpc, 2n)));
      const count = async () => (await rpc.call('Lease', 'LeaseLeases', {})).leases.length;
      assert.equal(await count(), total);
      clock.advance(2000);
      assert.equal(await count(), total - 500);
      clock.advance(499);
      assert.equal(await count(), total - 500);
      clock.advance(1);
      assert.equal(await count(), 0);
      assert.equal(server.serverContext.leases.timerArmed, false);
    }));

  test('with the real clock a lease expires on its own', async () => {
    const server = await startServer({ minLeaseTtl: 1 });
    const rpc = new RpcClient(server.endpoint);
    try {
      const g = await grant(rpc, 1n);
      await put(rpc, 'real/k', g.ID);
      // bounded poll: the 1 s lease must be gone well within 10 s
      for (let i = 0; i < 200 && (await liveKeys(rpc)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await liveKeys(rpc), []);
      assert.equal((await ttlOf(rpc, g.ID)).TTL, -1n);
      assert.equal(server.serverContext.leases.timerArmed, false);
    } finally {
      rpc.close();
      await server.close();
    }
  });

  test('a keepalive for a lease that expired but was not revoked yet revokes it and answers TTL 0', async () => {
    // a clock whose timers never fire: the expiry pass never runs on its own
    let now = 0;
    const stuck: Clock = { now: () => now, setTimer: () => ({}), clearTimer: () => {} };
    const server = await startServer({ clock: stuck });
    const rpc = new RpcClient(server.endpoint);
    const ka = new KeepAliveCall(server.endpoint);
    try {
      const g = await grant(rpc, 2n);
      await put(rpc, 'x/k', g.ID);
      const before = await revision(rpc);
      now = 2500;
      assert.equal((await ttlOf(rpc, g.ID)).TTL, 0n);
      assert.deepEqual(await liveKeys(rpc), ['x/k']);
      const r = await ka.send(g.ID);
      assert.deepEqual({ ID: r.ID, TTL: r.TTL, revision: r.header!.revision }, { ID: g.ID, TTL: 0n, revision: before });
      assert.deepEqual(await liveKeys(rpc), []);
      assert.equal(await revision(rpc), before + 1n);
      assert.equal((await ka.send(g.ID)).TTL, 0n);
    } finally {
      ka.close();
      rpc.close();
      await server.close();
    }
  });
});

describe('LeaseKeepAlive', () => {
  test('one response per request: ID, the granted TTL, a header with the current revision; renewal restarts the TTL', () =>
    withServer(async ({ server, rpc, clock }) => {
      const g = await grant(rpc, 10n);
      const other = await grant(rpc, 1n);
      await put(rpc, 'k/a', g.ID);
      const ka = new KeepAliveCall(server.endpoint);
      try {
        clock.advance(9000);
        assert.equal((await ttlOf(rpc, g.ID)).TTL, 1n);
        const r = await ka.send(g.ID);
        assert.deepEqual(
          { ID: r.ID, TTL: r.TTL, header: r.header },
          {
            ID: g.ID,
            TTL: 10n,
            header: { cluster_id: server.clusterId, member_id: server.memberId, revision: 2n, raft_term: r.header!.raft_term },
          },
        );
        assert.equal((await ttlOf(rpc, g.ID)).TTL, 10n);
        clock.advance(9999);
        assert.deepEqual(await liveKeys(rpc), ['k/a']);
        // several requests on one stream, answered in order
        const [r1, r2, r3] = await Promise.all([ka.send(g.ID), ka.send(424242n), ka.send(g.ID)]);
        assert.deepEqual([r1, r2, r3].map((x) => [x.ID, x.TTL]), [
          [g.ID, 10n],
          [424242n, 0n],
          [g.ID, 10n],
        ]);
        // the other lease expired meanwhile: TTL 0, no error, the stream stays usable
        assert.equal((await ka.send(other.ID)).TTL, 0n);
        clock.advance(10_000);
        assert.equal((await ka.send(g.ID)).TTL, 0n);
        assert.deepEqual(await liveKeys(rpc), []);
        assert.equal(await revision(rpc), 3n);
        assert.deepEqual(await ka.end(), { code: GrpcCode.OK, details: 'OK' });
      } finally {
        ka.close();
      }
    }));

  test('stop() ends open keepalive streams; the lease outlives them', () =>
    withServer(async ({ server, rpc }) => {
      const g = await grant(rpc, 60n);
      const ka = new KeepAliveCall(server.endpoint);
      try {
        assert.equal((await ka.send(g.ID)).TTL, 60n);
        await server.stop();
        const st = await ka.waitStatus();
        assert.notEqual(st.code, GrpcCode.OK);
        await server.start();
        assert.equal((await ttlOf(rpc, g.ID)).grantedTTL, 60n);
      } finally {
        ka.close();
      }
    }));
});

describe('LeaseTimeToLive and LeaseLeases', () => {
  test('remaining whole seconds truncated, grantedTTL, keys only when asked', () =>
    withServer(async ({ rpc, clock }) => {
      const g = await grant(rpc, 60n);
      await put(rpc, 't/b', g.ID);
      await put(rpc, 't/a', g.ID);
      const t0 = await ttlOf(rpc, g.ID);
      assert.deepEqual({ ID: t0.ID, TTL: t0.TTL, grantedTTL: t0.grantedTTL, keys: t0.keys }, { ID: g.ID, TTL: 60n, grantedTTL: 60n, keys: [] });
      clock.advance(1);
      assert.equal((await ttlOf(rpc, g.ID)).TTL, 59n);
      clock.advance(58_998);
      assert.equal((await ttlOf(rpc, g.ID)).TTL, 1n);
      clock.advance(1000);
      const late = await ttlOf(rpc, g.ID, true);
      assert.deepEqual({ TTL: late.TTL, grantedTTL: late.grantedTTL }, { TTL: 0n, grantedTTL: 60n });
      assert.deepEqual(late.keys.map(s).sort(), ['t/a', 't/b']);
      assert.equal(late.header!.revision, 3n);
    }));

  test('LeaseLeases lists every lease until it is revoked', () =>
    withServer(async ({ rpc }) => {
      const list = async () => (await rpc.call('Lease', 'LeaseLeases', {})).leases.map((l) => l.ID).sort((x, y) => (x < y ? -1 : 1));
      assert.deepEqual(await list(), []);
      await grant(rpc, 30n, 7n);
      await grant(rpc, 10n, -3n);
      await grant(rpc, 20n, 5n);
      assert.deepEqual(await list(), [-3n, 5n, 7n]);
      await rpc.call('Lease', 'LeaseRevoke', { ID: 5n });
      assert.deepEqual(await list(), [-3n, 7n]);
      const r = await rpc.call('Lease', 'LeaseLeases', {});
      assert.equal(r.header!.revision, 1n);
    }));
});

describe('attachments by Put, Txn and DeleteRange', () => {
  test('put attaches, put without a lease detaches, put with another lease moves, delete detaches', () =>
    withServer(async ({ rpc }) => {
      const a = (await grant(rpc, 60n)).ID;
      const c = (await grant(rpc, 60n)).ID;
      await put(rpc, 'm/k', a);
      assert.deepEqual(await keysOf(rpc, a), ['m/k']);
      assert.equal((await rpc.call('KV', 'Range', { key: b('m/k') })).kvs[0]!.lease, a);
      await put(rpc, 'm/k', c);
      assert.deepEqual([await keysOf(rpc, a), await keysOf(rpc, c)], [[], ['m/k']]);
      await rpc.call('KV', 'Put', { key: b('m/k'), value: b('w'), ignore_lease: true });
      assert.deepEqual(await keysOf(rpc, c), ['m/k']);
      await put(rpc, 'm/k');
      assert.deepEqual(await keysOf(rpc, c), []);
      assert.equal((await rpc.call('KV', 'Range', { key: b('m/k') })).kvs[0]!.lease, 0n);
      // revoking a lease the key left does not touch it
      await rpc.call('Lease', 'LeaseRevoke', { ID: c });
      assert.deepEqual(await liveKeys(rpc), ['m/k']);
      await put(rpc, 'm/k', a);
      await put(rpc, 'm/j', a);
      await rpc.call('KV', 'DeleteRange', { key: b('m/k') });
      assert.deepEqual(await keysOf(rpc, a), ['m/j']);
      // a txn put attaches too; a txn delete detaches
      await rpc.call('KV', 'Txn', { success: [{ request_put: { key: b('m/t'), value: b('1'), lease: a } }] });
      assert.deepEqual(await keysOf(rpc, a), ['m/j', 'm/t']);
      await rpc.call('KV', 'Txn', { success: [{ request_delete_range: { key: b('m/j') } }] });
      assert.deepEqual(await keysOf(rpc, a), ['m/t']);
    }));

  test('Put or Txn put with an unknown lease: requested lease not found, nothing written', () =>
    withServer(async ({ rpc }) => {
      assertEtcdError(await rpc.fail('KV', 'Put', { key: b('u/k'), value: b('v'), lease: 77n }), 'leaseNotFound');
      assertEtcdError(
        await rpc.fail('KV', 'Txn', { success: [{ request_put: { key: b('u/k'), value: b('v'), lease: 77n } }] }),
        'leaseNotFound',
      );
      const g = await grant(rpc, 60n);
      await rpc.call('Lease', 'LeaseRevoke', { ID: g.ID });
      assertEtcdError(await rpc.fail('KV', 'Put', { key: b('u/k'), value: b('v'), lease: g.ID }), 'leaseNotFound');
      assert.equal(await revision(rpc), 1n);
    }));
});

describe('restart and close', () => {
  test('leases and attachments survive stop()/start(); expiry pauses while stopped and resumes with TTL + 1 s', () =>
    withServer(async ({ server, rpc, clock }) => {
      const g = await grant(rpc, 10n);
      await put(rpc, 'rs/a', g.ID);
      await put(rpc, 'rs/b', g.ID);
      clock.advance(4000);
      await server.stop();
      assert.equal(clock.pendingTimers, 0);
      clock.advance(60_000); // a long outage: nothing expires while the member is down
      await server.start();
      const t = await ttlOf(rpc, g.ID, true);
      // etcd's new leader extends every lease to its full TTL plus an election timeout
      assert.deepEqual({ TTL: t.TTL, grantedTTL: t.grantedTTL }, { TTL: 11n, grantedTTL: 10n });
      assert.deepEqual(t.keys.map(s).sort(), ['rs/a', 'rs/b']);
      const before = await revision(rpc);
      clock.advance(10_999);
      assert.deepEqual(await liveKeys(rpc), ['rs/a', 'rs/b']);
      clock.advance(1);
      assert.deepEqual(await liveKeys(rpc), []);
      assert.equal(await revision(rpc), before + 1n);
    }));

  test('no timer is left after stop() or close(), with leases granted', async () => {
    const clock = new ManualClock();
    const server = await startServer({ clock });
    const rpc = new RpcClient(server.endpoint);
    try {
      await grant(rpc, 30n);
      await grant(rpc, 60n);
      assert.equal(clock.pendingTimers, 1);
      await server.stop();
      assert.equal(clock.pendingTimers, 0);
      await server.start();
      assert.equal(clock.pendingTimers, 1);
    } finally {
      rpc.close();
      await server.close();
    }
    assert.equal(clock.pendingTimers, 0);
    assert.equal(server.serverContext.leases.timerArmed, false);
  });

  test('with the real clock: a granted lease arms a timer that close() releases', async () => {
    const server = await startServer();
    const rpc = new RpcClient(server.endpoint);
    try {
      await grant(rpc, 60n);
      assert.equal(server.serverContext.leases.timerArmed, true);
    } finally {
      rpc.close();
      await server.close();
    }
    assert.equal(server.serverContext.leases.timerArmed, false);
  });
});

describe('compared with real etcd 3.4.23', { skip: etcdAvailable() }, () => {
  let etcd: RealEtcdHandle | undefined;
  let bundled: EtcdServer | undefined;

  before(async () => {
    [etcd, bundled] = await Promise.all([startRealEtcd(), startServer()]);
  });
  after(async () => {
    await Promise.all([etcd?.stop(), bundled?.close()]);
  });

  /** The same lease sequence on one server, as comparable values (no ids, times or member ids). */
  async function replay(endpoint: string): Promise<unknown[]> {
    const rpc = new RpcClient(endpoint);
    const ka = new KeepAliveCall(endpoint);
    const out: unknown[] = [];
    const outcome = async <T>(p: Promise<T>, pick: (v: T) => unknown) => {
      try {
        out.push(pick(await p));
      } catch (err) {
        out.push(err);
      }
    };
    try {
      const g = await grant(rpc, 60n);
      out.push({ TTL: g.TTL, positive: g.ID > 0n, rev: g.header!.revision });
      for (const ttl of [1n, 0n, -5n]) await outcome(grant(rpc, ttl), (r) => r.TTL);
      await outcome(grant(rpc, 5n, -7n), (r) => [r.ID, r.TTL]);
      await outcome(grant(rpc, 5n, -7n), (r) => r);
      await outcome(grant(rpc, 9000000001n), (r) => r);
      await outcome(put(rpc, 'cmp/b', g.ID), (r) => r.header!.revision);
      await outcome(put(rpc, 'cmp/a', g.ID), (r) => r.header!.revision);
      await outcome(put(rpc, 'cmp/x', 12345n), (r) => r);
      await outcome(rpc.call('KV', 'Txn', { success: [{ request_put: { key: b('cmp/y'), lease: 12345n } }] }), (r) => r);
      await outcome(ttlOf(rpc, g.ID, true), (r) => ({ grantedTTL: r.grantedTTL, keys: r.keys.map(s).sort(), rev: r.header!.revision }));
      await outcome(ttlOf(rpc, 999n, true), (r) => ({ ID: r.ID, TTL: r.TTL, grantedTTL: r.grantedTTL, keys: r.keys }));
      for (const id of [g.ID, 999n, -7n]) {
        const r = await ka.send(id);
        out.push({ sameId: r.ID === id, TTL: r.TTL, rev: r.header!.revision });
      }
      await outcome(rpc.call('Lease', 'LeaseLeases', {}), (r) => r.leases.length);
      await outcome(rpc.call('Lease', 'LeaseRevoke', { ID: g.ID }), (r) => r.header!.revision);
      await outcome(rpc.call('Lease', 'LeaseRevoke', { ID: g.ID }), (r) => r);
      await outcome(rpc.call('KV', 'Range', { key: b('cmp/'), range_end: b('cmp0') }), (r) => [r.kvs.length, r.header!.revision]);
      await outcome(ttlOf(rpc, g.ID), (r) => r.TTL);
      out.push((await ka.end()).code);
    } finally {
      ka.close();
      rpc.close();
    }
    return out;
  }

  test('grant/put/timeToLive/keepalive/leases/revoke answer alike', async () => {
    const [real, ours] = await Promise.all([replay(etcd!.endpoint), replay(bundled!.endpoint)]);
    assert.deepEqual(ours, real);
  });
});
