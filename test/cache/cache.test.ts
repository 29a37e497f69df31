/**
 * The watch-backed prefix cache against the bundled server and etcd 3.4: snapshot then
 * changes, invalid values, lifecycle, and a chaos run (connection cuts while writing, then a
 * compaction while cut off) after which the cache equals a fresh read and its change log
 * replays to it.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { CancelledError, Client, ClientClosedError, createCache, InvalidArgumentError, Op } from '../../src/index.js';
import type { CacheChange, EtcdError, InvalidEntry } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { failOnUnhandled, sleep, until } from '../watch/helpers.js';
import { TcpProxy } from '../watch/tcp-proxy.js';

const item = z.object({ n: z.number().int() });

/** Applies a change log to a map of key -> JSON text of the value. */
function replay<T>(changes: readonly CacheChange<T>[]): Map<string, string> {
  const state = new Map<string, string>();
  for (const change of changes) {
    if (change.type === 'removed') state.delete(change.key);
    else state.set(change.key, JSON.stringify(change.entry.value));
  }
  return state;
}

forEachServer('prefix cache', (ctx) => {
  failOnUnhandled();

  it('starts from a snapshot, then follows puts, deletes and transactions', async () => {
    const prefix = ctx.prefix();
    const { client } = ctx;
    await client.kv.put(`${prefix}a`, '1');
    await client.kv.put(`${prefix}b`, '2');
    await client.kv.put(`${prefix.slice(0, -1)}-outside`, 'x');
    const cache = createCache(client, prefix);
    const changes: CacheChange<string>[] = [];
    cache.on('change', (change) => changes.push(change));
    try {
      assert.equal(cache.state, 'loading');
      await cache.ready;
      assert.equal(cache.state, 'live');
      const snapshotRevision = cache.revision;
      assert.ok(snapshotRevision > 0n);
      assert.deepEqual(
        changes.map((c) => `${c.type} ${c.key}@${c.revision}`),
        [`added ${prefix}a@${snapshotRevision}`, `added ${prefix}b@${snapshotRevision}`],
      );
      assert.equal(cache.get(`${prefix}a`), '1');
      assert.equal(cache.get(Buffer.from(`${prefix}b`)), '2');
      assert.equal(cache.size, 2);

      await client.kv.put(`${prefix}a`, '10');
      await client.kv.delete(`${prefix}b`);
      // A transaction's changes are all applied before the first of them is reported.
      let sawWholeTxn = false;
      cache.on('change', (change) => {
        if (change.key === `${prefix}c`) sawWholeTxn = cache.get(`${prefix}d`) === '4' && cache.revision === change.revision;
      });
      const txn = await client.kv.txn().then(Op.put(`${prefix}c`, '3'), Op.put(`${prefix}d`, '4')).commit();
      await until(() => cache.revision === txn.header.revision, () => `cache at ${cache.revision}`);
      assert.deepEqual(
        changes.slice(2).map((c) => `${c.type} ${c.key}`),
        [`updated ${prefix}a`, `removed ${prefix}b`, `added ${prefix}c`, `added ${prefix}d`],
      );
      assert.ok(sawWholeTxn, 'the whole transaction was applied when its first change was reported');
      const updated = changes[2]!;
      assert.ok(updated.type === 'updated' && updated.previous.value === '1' && updated.entry.value === '10');
      assert.deepEqual(
        cache.entries().map((e) => [e.key, e.value]),
        [
          [`${prefix}a`, '10'],
          [`${prefix}c`, '3'],
          [`${prefix}d`, '4'],
        ],
      );
    } finally {
      await cache.close();
    }
  });

  it('reports values that fail the schema and leaves them out', async () => {
    const prefix = ctx.prefix();
    const { client } = ctx;
    await client.kv.put(`${prefix}good`, '{"n":1}');
    await client.kv.put(`${prefix}bad`, '{"n":"one"}');
    const cache = createCache(client, prefix, { schema: item });
    const invalid: InvalidEntry[] = [];
    const changes: CacheChange<{ n: number }>[] = [];
    cache.on('invalid', (entry) => invalid.push(entry)).on('change', (change) => changes.push(change));
    try {
      await cache.ready;
      assert.deepEqual(cache.get(`${prefix}good`), { n: 1 });
      assert.equal(cache.get(`${prefix}bad`), undefined);
      assert.deepEqual(invalid.map((e) => e.key), [`${prefix}bad`]);
      assert.match(invalid[0]!.error.message, /does not match the schema: n:/);

      // A valid key turning invalid leaves the entries (removed), and comes back when fixed.
      await client.kv.put(`${prefix}good`, 'not json');
      await until(() => invalid.length === 2, () => `invalid: ${invalid.length}`);
      assert.equal(cache.has(`${prefix}good`), false);
      assert.deepEqual(cache.invalidEntries().map((e) => e.key), [`${prefix}bad`, `${prefix}good`]);
      assert.equal(changes.at(-1)?.type, 'removed');
      await client.kv.put(`${prefix}bad`, '{"n":2}');
      await until(() => cache.has(`${prefix}bad`), () => 'bad fixed');
      assert.equal(changes.at(-1)?.type, 'added');
      await client.kv.delete(`${prefix}good`);
      await until(() => cache.invalidEntries().length === 0, () => 'invalid key deleted');
      assert.deepEqual(cache.entries().map((e) => e.value), [{ n: 2 }]);
    } finally {
      await cache.close();
    }
  });

  it('closes cleanly: before ready, through its signal, and when the client closes', async () => {
    const prefix = ctx.prefix();
    const early = createCache(ctx.client, prefix);
    const closing = early.close();
    await assert.rejects(early.ready, CancelledError);
    await closing;
    assert.equal(early.state, 'closed');

    const controller = new AbortController();
    const bySignal = createCache(ctx.client, prefix, { signal: controller.signal });
    await bySignal.ready;
    controller.abort();
    assert.equal(bySignal.state, 'closed');

    const own = new Client({ endpoints: [ctx.server.endpoint] });
    const errors: EtcdError[] = [];
    const cache = createCache(own, prefix).on('error', (error) => errors.push(error));
    await cache.ready;
    await own.close();
    await until(() => cache.state === 'failed', () => `state ${cache.state}`);
    assert.ok(errors[0] instanceof ClientClosedError);
    assert.ok(cache.error instanceof ClientClosedError);
    await cache.close();

    assert.throws(() => createCache(ctx.client, prefix, { schema: item, decode: () => ({ n: 1 }) }), InvalidArgumentError);
    assert.throws(() => createCache({} as Client, prefix), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'client');
    const other = createCache(ctx.client, prefix);
    assert.throws(() => other.on('nope' as 'change', () => {}), InvalidArgumentError);
    await other.close();
  });

  it('equals a fresh read after connection cuts and a compaction while cut off', { timeout: 60_000 }, async () => {
    const prefix = ctx.prefix();
    const writer = ctx.client;
    const proxy = await TcpProxy.start(ctx.server.endpoint);
    const watching = new Client({ endpoints: [proxy.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
    const keys = Array.from({ length: 40 }, (_, i) => `${prefix}k${String(i).padStart(2, '0')}`);
    let seed = 7;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    /** One random write: a valid put, an invalid put or a delete. */
    const write = async (round: number) => {
      const key = keys[random(keys.length)]!;
      const dice = random(10);
      try {
        if (dice < 6) await writer.kv.put(key, JSON.stringify({ n: round }));
        else if (dice < 7) await writer.kv.put(key, `broken ${round}`);
        else await writer.kv.delete(key);
      } catch (error) {
        assert.fail(`write ${round} failed: ${String(error)}`);
      }
    };
    for (let i = 0; i < 20; i++) await write(i);

    const cache = createCache(watching, prefix, { schema: item });
    const changes: CacheChange<{ n: number }>[] = [];
    let disconnects = 0;
    let resyncs = 0;
    cache
      .on('change', (change) => changes.push(change))
      .on('disconnected', () => (disconnects += 1))
      .on('resync', () => (resyncs += 1));
    try {
      await cache.ready;

      // Writes while the cache's connection is cut now and then.
      for (let round = 20; round < 320; round++) {
        await write(round);
        if (round % 60 === 0) proxy.cut();
      }
      // Cut off while more is written and the history is compacted away.
      proxy.block();
      proxy.cut();
      for (let round = 320; round < 420; round++) await write(round);
      const marker = await writer.kv.put(`${prefix}zz-marker`, '{"n":-1}');
      await writer.kv.compact(marker.header.revision);
      await sleep(50);
      proxy.unblock();

      await until(() => cache.revision >= marker.header.revision, () => `cache at ${cache.revision}, marker at ${marker.header.revision}`, 20_000);
      assert.ok(disconnects >= 1, 'the cache was disconnected');
      assert.ok(resyncs >= 1, 'the cache re-read the prefix after the compaction');
      assert.equal(cache.state, 'live');

      const fresh = await writer.kv.get(prefix, { prefix: true });
      assert.equal(fresh.header.revision, marker.header.revision, 'nothing was written after the marker');
      const expectValid: Array<[string, string, bigint]> = [];
      const expectInvalid: string[] = [];
      for (const kv of fresh.kvs) {
        const parsed = item.safeParse((() => { try { return JSON.parse(kv.valueText) as unknown; } catch { return undefined; } })());
        if (parsed.success) expectValid.push([kv.keyText, JSON.stringify(parsed.data), kv.modRevision]);
        else expectInvalid.push(kv.keyText);
      }
      assert.deepEqual(
        cache.entries().map((e) => [e.key, JSON.stringify(e.value), e.kv.modRevision]),
        expectValid,
      );
      assert.deepEqual(cache.invalidEntries().map((e) => e.key), expectInvalid);
      assert.equal(cache.revision, fresh.header.revision);
      // The change log alone rebuilds the same state.
      assert.deepEqual(
        [...replay(changes)].sort(([a], [b]) => (a < b ? -1 : 1)),
        expectValid.map(([key, value]) => [key, value]),
      );
    } finally {
      await cache.close();
      await watching.close();
      await proxy.close();
    }
  });
});
