/**
 * Leases that keep themselves alive (create/adopt), the shared keepalive stream at scale,
 * and Sessions, against the bundled server and real etcd 3.4.23.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, createSession, LeaseLostError } from '../../src/index.js';
import type { Lease } from '../../src/index.js';
import { keepAliveStats } from '../../src/lease/lease-client.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { sleep, until } from './fake-keepalive.js';

/** Waits (bounded) until `check` resolves true, polling every 100 ms. */
async function eventually(check: () => Promise<boolean>, maxMs: number, what: string): Promise<void> {
  const end = Date.now() + maxMs;
  for (let i = 0; i < 1000 && Date.now() < end; i++) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`${what}: not true within ${maxMs} ms`);
}

forEachServer('kept-alive leases', (ctx) => {
  /** A client of the suite's server of its own (closed by the test). */
  const ownClient = (): Client => clientFor(ctx.server);

  describe('keepalive', { concurrency: true }, () => {
    it('keeps a 2 s lease alive for three times its TTL', { timeout: 30_000 }, async () => {
      const { client } = ctx;
      const key = `${ctx.prefix()}held`;
      const lease = await client.lease.create(2);
      assert.equal(lease.ttl, 2n);
      let renewals = 0;
      lease.on('renewed', () => renewals++);
      await client.kv.put(key, 'v', { lease: lease.id });
      await sleep(6500);
      assert.equal(lease.alive, true, `lost: ${lease.lostError?.message}`);
      assert.ok(renewals >= 6, `renewed ${renewals} times in 6.5 s`);
      assert.ok(lease.deadline > Date.now(), 'the deadline is ahead');
      const { kvs } = await client.kv.get(key);
      assert.equal(kvs.length, 1, 'the key still exists');
      assert.equal(kvs[0]!.lease, lease.id);
      const ttl = await client.lease.timeToLive(lease.id);
      assert.ok(ttl.ttl > 0n, `timeToLive ${ttl.ttl}`);
      await lease.revoke();
      const lost = await lease.lost;
      assert.equal(lost.reason, 'revoked');
      assert.equal((await client.kv.get(key)).kvs.length, 0);
    });

    it('renews a thousand leases over exactly one stream', { timeout: 60_000 }, async () => {
      const client = ownClient();
      try {
        const leases: Lease[] = [];
        for (let batch = 0; batch < 10; batch++) {
          leases.push(...(await Promise.all(Array.from({ length: 100 }, () => client.lease.create(3)))));
        }
        const renewals = new Map<bigint, number>();
        for (const lease of leases) lease.on('renewed', () => renewals.set(lease.id, (renewals.get(lease.id) ?? 0) + 1));
        // Renewed every second: two renewals each is proof the cadence runs for all of them.
        await until(
          () => leases.every((lease) => (renewals.get(lease.id) ?? 0) >= 2),
          20_000,
          'every lease renewed twice',
        );
        assert.ok(leases.every((lease) => lease.alive));
        const stats = keepAliveStats(client.lease);
        assert.equal(stats.streamsOpened, 1, 'one LeaseKeepAlive stream for all');
        assert.equal(stats.kept, 1000);
        assert.equal(stats.streamOpen, true);
        for (const lease of leases) lease.close();
        assert.equal(keepAliveStats(client.lease).kept, 0);
        await until(() => !keepAliveStats(client.lease).streamOpen, 2000, 'stream closed with no lease left');
        assert.ok(leases.every((lease) => lease.lostError?.reason === 'closed'));
      } finally {
        await client.close();
      }
    });

    it('adopts an existing lease, and an unknown one is lost at once', { timeout: 30_000 }, async () => {
      const { client } = ctx;
      const other = ownClient();
      try {
        const granted = await client.lease.grant(2);
        const adopted = await other.lease.adopt(granted.id);
        assert.equal(adopted.id, granted.id);
        assert.equal(adopted.ttl, 2n, 'the first keepalive told the TTL');
        assert.ok(adopted.alive);
        await sleep(3000);
        assert.ok(adopted.alive);
        assert.ok((await client.lease.timeToLive(granted.id)).ttl > 0n, 'kept alive past its TTL');
        adopted.close();
        await client.lease.revoke(granted.id);
        const unknown = await other.lease.adopt(granted.id);
        assert.equal(unknown.alive, false);
        assert.equal(unknown.lostError?.reason, 'expired');
        assert.equal((await unknown.lost).reason, 'expired');
      } finally {
        await other.close();
      }
    });

    it('reports `expired` when someone else revokes the lease', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const other = ownClient();
      try {
        const lease = await client.lease.create(3);
        await other.lease.revoke(lease.id);
        const lost = await lease.lost; // the next renewal (within TTL/3) answers TTL 0
        assert.ok(lost instanceof LeaseLostError);
        assert.equal(lost.reason, 'expired');
        assert.equal(lease.signal.aborted, true);
      } finally {
        await other.close();
      }
    });

    it('close() stops renewing without revoking; the lease then expires', { timeout: 20_000 }, async () => {
      const client = ownClient();
      try {
        const lease = await client.lease.create(2);
        await until(() => keepAliveStats(client.lease).streamOpen, 5000, 'stream open');
        lease.close();
        assert.equal((await lease.lost).reason, 'closed');
        assert.ok((await client.lease.timeToLive(lease.id)).ttl >= 0n, 'not revoked');
        await until(() => !keepAliveStats(client.lease).streamOpen, 2000, 'stream closed');
        await eventually(async () => (await client.lease.timeToLive(lease.id)).ttl === -1n, 8000, 'expired on the server');
      } finally {
        await client.close();
      }
    });

    it('client.close() loses every lease with `client-closed`', { timeout: 20_000 }, async () => {
      const client = ownClient();
      const leases = await Promise.all([client.lease.create(5), client.lease.create(5)]);
      const closing = client.close();
      assert.ok(leases.every((lease) => lease.lostError?.reason === 'client-closed'));
      await closing;
      await assert.rejects(client.lease.create(5), (error: unknown) => error instanceof Error && error.name === 'ClientClosedError');
      for (const lease of leases) await ctx.client.lease.revoke(lease.id);
    });

    it('an aborted signal closes a created lease', { timeout: 20_000 }, async () => {
      const abort = new AbortController();
      const lease = await ctx.client.lease.create(5, { signal: abort.signal });
      abort.abort();
      assert.equal((await lease.lost).reason, 'closed');
      await ctx.client.lease.revoke(lease.id);
    });
  });

  describe('session', { concurrency: true }, () => {
    it('close() revokes the lease and its keys', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const key = `${ctx.prefix()}member`;
      const session = await createSession(client, { ttl: 5 });
      assert.equal(session.lease.ttl, 5n);
      assert.equal(session.client, client);
      await client.kv.put(key, 'here', { lease: session.leaseId });
      await session.close();
      await session.close();
      assert.equal(await session.done, 'revoked');
      assert.equal(session.signal.aborted, true);
      assert.equal((await client.kv.get(key)).kvs.length, 0);
      assert.equal((await client.lease.timeToLive(session.leaseId)).ttl, -1n);
    });

    it('signal fires when the session is lost', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const session = await createSession(client, { ttl: 2 });
      const aborted = new Promise<unknown>((resolve) =>
        session.signal.addEventListener('abort', () => resolve(session.signal.reason), { once: true }),
      );
      await client.lease.revoke(session.leaseId); // through this client: reason `revoked`
      const reason = await aborted;
      assert.ok(reason instanceof LeaseLostError);
      assert.equal(reason.reason, 'revoked');
      assert.equal(await session.done, 'revoked');
      await session.close(); // nothing left to do
    });

    it('orphan() stops renewing and leaves the lease; leaseId resumes a session', { timeout: 20_000 }, async () => {
      const { client } = ctx;
      const first = await createSession(client, { ttl: 10 });
      first.orphan();
      assert.equal(await first.done, 'closed');
      assert.ok((await client.lease.timeToLive(first.leaseId)).ttl > 0n, 'not revoked');
      const resumed = await createSession(client, { leaseId: first.leaseId });
      assert.equal(resumed.leaseId, first.leaseId);
      assert.equal(resumed.lease.ttl, 10n);
      assert.equal(resumed.alive, true);
      await resumed.close();
      assert.equal((await client.lease.timeToLive(first.leaseId)).ttl, -1n);
    });

    it('rejects bad options', async () => {
      await assert.rejects(createSession(ctx.client, { ttl: 0 }), /options\.ttl/);
      await assert.rejects(createSession(ctx.client, { ttl: 1.5 }), /options\.ttl/);
      await assert.rejects(createSession(ctx.client, { leaseId: 'x' as never }), /options\.leaseId/);
      await assert.rejects(createSession(ctx.client, { signal: {} as never }), /options\.signal/);
    });
  });
});
