/**
 * The unary lease API (grant, revoke, timeToLive, leases, keepAliveOnce) and what leases do
 * to keys, against the bundled server and real etcd 3.4.23.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  bytesToText,
  InvalidArgumentError,
  LeaseExistsError,
  LeaseNotFoundError,
  LeaseTtlTooLargeError,
} from '../../src/index.js';
import type { Client } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';

/** Waits (bounded: at most `maxMs`, polling every 100 ms) until `check` holds. */
async function eventually(check: () => Promise<boolean>, maxMs: number, what: string): Promise<void> {
  const until = Date.now() + maxMs;
  for (let i = 0; i < 1000 && Date.now() < until; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what}: still not true after ${maxMs} ms`);
}

/** Asserts the keys under `prefix` all existed at `revision - 1` and none at `revision`. */
async function assertDeletedAt(client: Client, prefix: string, revision: bigint, count: number): Promise<void> {
  const before = await client.kv.get(prefix, { prefix: true, revision: revision - 1n });
  assert.equal(before.kvs.length, count, `all ${count} keys exist just before revision ${revision}`);
  const at = await client.kv.get(prefix, { prefix: true, revision });
  assert.equal(at.kvs.length, 0, `no key is left at revision ${revision}`);
}

forEachServer('lease API', (ctx) => {
  it('grants, lists, inspects (with keys) and revokes', async () => {
    const { client } = ctx;
    const p = ctx.prefix();
    const granted = await client.lease.grant(30);
    assert.equal(typeof granted.id, 'bigint');
    assert.ok(granted.id > 0n);
    assert.equal(granted.ttl, 30n);
    assert.equal(typeof granted.header.revision, 'bigint');

    await client.kv.put(`${p}a`, '1', { lease: granted.id });
    await client.kv.put(`${p}b`, '2', { lease: granted.id });
    const ttl = await client.lease.timeToLive(granted.id, { keys: true });
    assert.equal(ttl.id, granted.id);
    assert.equal(ttl.grantedTtl, 30n);
    assert.ok(ttl.ttl > 0n && ttl.ttl <= 30n, `remaining ${ttl.ttl}`);
    assert.deepEqual(ttl.keys.map(bytesToText).sort(), [`${p}a`, `${p}b`]);
    const withoutKeys = await client.lease.timeToLive(granted.id);
    assert.deepEqual(withoutKeys.keys, []);

    const { leases } = await client.lease.leases();
    assert.ok(leases.includes(granted.id));

    const revoked = await client.lease.revoke(granted.id);
    assert.equal(typeof revoked.header.revision, 'bigint');
    await assertDeletedAt(client, p, revoked.header.revision, 2);
    const gone = await client.lease.timeToLive(granted.id);
    assert.equal(gone.ttl, -1n);
    assert.ok(!(await client.lease.leases()).leases.includes(granted.id));
    await assert.rejects(client.lease.revoke(granted.id), LeaseNotFoundError);
  });

  it('grants under a chosen ID, and refuses it twice', async () => {
    const { client } = ctx;
    const id = BigInt(Date.now()) * 1000n + BigInt(ctx.kind === 'etcd' ? 1 : 2);
    const granted = await client.lease.grant(10, { id });
    assert.equal(granted.id, id);
    await assert.rejects(client.lease.grant(10, { id }), LeaseExistsError);
    await client.lease.revoke(id);
  });

  it('raises a short TTL to the minimum and rejects a huge one', async () => {
    const { client } = ctx;
    const granted = await client.lease.grant(1);
    assert.equal(granted.ttl, 2n);
    await client.lease.revoke(granted.id);
    await assert.rejects(client.lease.grant(9_000_000_001n), LeaseTtlTooLargeError);
  });

  it('keepAliveOnce renews, and rejects an unknown lease with LeaseNotFoundError', async () => {
    const { client } = ctx;
    const granted = await client.lease.grant(20);
    const renewed = await client.lease.keepAliveOnce(granted.id);
    assert.equal(renewed.id, granted.id);
    assert.equal(renewed.ttl, 20n);
    await client.lease.revoke(granted.id);
    await assert.rejects(client.lease.keepAliveOnce(granted.id), LeaseNotFoundError);
  });

  it('rejects bad input before sending, naming the argument', async () => {
    const { client } = ctx;
    const bad: Array<[Promise<unknown>, string]> = [
      [client.lease.grant(0), 'ttl'],
      [client.lease.grant(-3), 'ttl'],
      [client.lease.grant(1.5), 'ttl'],
      [client.lease.grant('5' as never), 'ttl'],
      [client.lease.grant(5, { id: 1n << 64n }), 'options.id'],
      [client.lease.revoke(Number.MAX_VALUE), 'id'],
      [client.lease.timeToLive(1n, { keys: 'yes' as never }), 'options.keys'],
      [client.lease.keepAliveOnce(1n, { timeoutMs: -1 }), 'options.timeoutMs'],
      [client.lease.create(0), 'ttl'],
      [client.lease.adopt('x' as never), 'id'],
      [client.lease.leases(5 as never), 'options'],
    ];
    for (const [call, argument] of bad) {
      await assert.rejects(call, (error: unknown) => {
        assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
        assert.equal(error.argument, argument);
        return true;
      });
    }
  });

  it('deletes every attached key in one revision when the lease expires', { timeout: 20_000 }, async () => {
    const { client } = ctx;
    const p = ctx.prefix();
    const granted = await client.lease.grant(2);
    await client.kv.put(`${p}a`, '1', { lease: granted.id });
    const last = await client.kv.put(`${p}b`, '2', { lease: granted.id });
    const putRevision = last.header.revision;
    // etcd checks expiry every 500 ms: allow the TTL plus generous slack.
    await eventually(async () => (await client.lease.timeToLive(granted.id)).ttl === -1n, 8000, 'lease expired');
    await eventually(async () => (await client.kv.get(p, { prefix: true })).kvs.length === 0, 3000, 'keys deleted');
    // Find the deleting revision: the first after the put at which the keys are gone.
    let deletedAt: bigint | undefined;
    const current = (await client.kv.get(p, { prefix: true })).header.revision;
    for (let rev = putRevision + 1n; rev <= current && rev <= putRevision + 200n; rev++) {
      const at = await client.kv.get(p, { prefix: true, revision: rev });
      if (at.kvs.length < 2) {
        deletedAt = rev;
        break;
      }
    }
    assert.ok(deletedAt !== undefined, 'found the revision that deleted the keys');
    await assertDeletedAt(client, p, deletedAt, 2);
  });
});
