/**
 * Compaction while a watch is disconnected: the default policy delivers a typed `compacted`
 * item and ends the watch; the `resync` policy re-reads the range and continues, so a cache
 * built from the watch equals a fresh read.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, CompactedError } from '../../src/index.js';
import type { Watch, WatchItem } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { failOnUnhandled, take, until } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

/** A client whose connection the test can cut, through a proxy to the suite's server. */
async function cuttableClient(endpoint: string): Promise<{ client: Client; proxy: TcpProxy; close(): Promise<void> }> {
  const proxy = await TcpProxy.start(endpoint);
  const client = new Client({ endpoints: [proxy.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
  return {
    client,
    proxy,
    async close() {
      await client.close();
      await proxy.close();
    },
  };
}

forEachServer('watch: compaction', (ctx) => {
  failOnUnhandled();

  it('compaction while disconnected: a compacted item, then the watch ends (default policy)', { timeout: 30_000 }, async () => {
    const key = `${ctx.prefix()}k`;
    const cut = await cuttableClient(ctx.server.endpoint);
    try {
      const watch = cut.client.watch(key);
      const ends: unknown[] = [];
      const errors: unknown[] = [];
      watch.on('end', (reason) => ends.push(reason)).on('error', (error) => errors.push(error));
      const iterator = watch[Symbol.asyncIterator]();
      await watch.ready;
      await ctx.client.kv.put(key, 'v1');
      await take(iterator, 1);

      cut.proxy.block();
      cut.proxy.cut();
      await ctx.client.kv.put(key, 'v2');
      const last = await ctx.client.kv.put(key, 'v3');
      await ctx.client.kv.compact(last.header.revision);
      cut.proxy.unblock();

      const [item] = await take(iterator, 1);
      assert.deepEqual(item, { type: 'compacted', compactRevision: last.header.revision });
      assert.deepEqual(await iterator.next(), { done: true, value: undefined });
      assert.equal(watch.ended, true);
      assert.equal(ends.length, 1);
      assert.ok(ends[0] instanceof CompactedError);
      assert.deepEqual(errors, [], 'compaction is an item, not an error event');
    } finally {
      await cut.close();
    }
  });

  it('resync policy: compacted, the current state, then events continue; a cache equals a fresh read', { timeout: 30_000 }, async () => {
    const p = ctx.prefix();
    const cut = await cuttableClient(ctx.server.endpoint);
    try {
      await ctx.client.kv.put(`${p}a`, '1');
      await ctx.client.kv.put(`${p}b`, '1');
      // The usual cache: read, then watch from the read's revision + 1.
      const initial = await ctx.client.kv.get(p, { prefix: true });
      const cache = new Map(initial.kvs.map((kv) => [kv.keyText, kv.valueText]));
      const items: WatchItem[] = [];
      const watch: Watch = cut.client.watch(p, {
        prefix: true,
        startRevision: initial.header.revision + 1n,
        onCompacted: 'resync',
      });
      watch.on('event', (e) => {
        items.push(e);
        if (e.type === 'put') cache.set(e.kv.keyText, e.kv.valueText);
        else cache.delete(e.kv.keyText);
      });
      watch.on('compacted', (c) => items.push(c));
      watch.on('resync', (r) => {
        items.push(r);
        cache.clear();
        for (const kv of r.kvs) cache.set(kv.keyText, kv.valueText);
      });
      await watch.ready;
      await ctx.client.kv.put(`${p}c`, '1');
      await until(() => items.length >= 1, () => 'first event');

      cut.proxy.block();
      cut.proxy.cut();
      await ctx.client.kv.delete(`${p}a`);
      await ctx.client.kv.put(`${p}b`, '2');
      const beforeCompact = await ctx.client.kv.put(`${p}d`, '1');
      await ctx.client.kv.compact(beforeCompact.header.revision);
      cut.proxy.unblock();

      await until(() => items.some((i) => i.type === 'resync'), () => `no resync among ${items.map((i) => i.type)}`);
      const after = await ctx.client.kv.put(`${p}e`, '1');
      await ctx.client.kv.delete(`${p}c`);
      const final = await ctx.client.kv.get(p, { prefix: true });
      await until(() => watch.lastRevision >= final.header.revision, () => `watch at ${watch.lastRevision}`);

      const kinds = items.map((i) => i.type);
      assert.deepEqual(kinds, ['put', 'compacted', 'resync', 'put', 'delete']);
      const resync = items[2] as Extract<WatchItem, { type: 'resync' }>;
      assert.ok(resync.revision >= beforeCompact.header.revision && resync.revision < after.header.revision);
      assert.deepEqual(resync.kvs.map((kv) => `${kv.keyText}=${kv.valueText}`), [`${p}b=2`, `${p}c=1`, `${p}d=1`]);
      assert.deepEqual(
        [...cache.entries()].sort(),
        final.kvs.map((kv) => [kv.keyText, kv.valueText]),
      );
      assert.equal(watch.ended, false);
      await watch.cancel();
    } finally {
      await cut.close();
    }
  });
});
