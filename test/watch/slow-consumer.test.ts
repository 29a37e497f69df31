/**
 * A slow consumer: its watch holds at most `bufferSize` items, pauses on the server when
 * more arrive, and resumes where it stopped once drained; nothing is lost or repeated, and
 * other watchers on the same stream keep receiving meanwhile.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { WatchEvent } from '../../src/index.js';
import { watchInternals } from '../../src/watch/watch.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { describeEvent, failOnUnhandled, take, until } from './helpers.js';

const bufferSize = 100;
const writes = 2000;
const lanes = 4;

forEachServer('watch: slow consumer', (ctx) => {
  failOnUnhandled();

  it('holds at most bufferSize items, pauses, resumes, and loses nothing', { timeout: 60_000 }, async () => {
    const p = ctx.prefix();
    const client = clientFor(ctx.server);
    try {
      const slow = client.watch(p, { prefix: true, bufferSize });
      const fast = client.watch(p, { prefix: true });
      const fastEvents: WatchEvent[] = [];
      fast.on('event', (e) => fastEvents.push(e));
      const iterator = slow[Symbol.asyncIterator]();
      await Promise.all([slow.ready, fast.ready]);

      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let i = lane; i < writes; i += lanes) await ctx.client.kv.put(`${p}${i}`, String(i));
        }),
      );
      // The other watcher on the same stream got everything while the slow one holds a bounded backlog.
      await until(() => fastEvents.length >= writes, () => `fast watcher has ${fastEvents.length} of ${writes}`, 30_000);
      const paused = watchInternals(slow);
      assert.ok(paused.queued <= bufferSize, `queued ${paused.queued}`);
      assert.equal(paused.state, 'paused');
      assert.ok(paused.pauses >= 1);

      const drained = (await take(iterator, writes, 45_000)) as WatchEvent[];
      assert.deepEqual(drained.map(describeEvent), fastEvents.map(describeEvent));
      for (let i = 1; i < drained.length; i++) assert.ok(drained[i]!.revision > drained[i - 1]!.revision);
      const after = watchInternals(slow);
      assert.ok(after.maxQueued <= bufferSize, `maxQueued ${after.maxQueued} > ${bufferSize}`);
      assert.ok(after.pauses >= 2, `paused ${after.pauses} times`);

      // Live again: a new write arrives through the iterator.
      await ctx.client.kv.put(`${p}after`, 'x');
      const [next] = (await take(iterator, 1)) as WatchEvent[];
      assert.equal(next!.kv.keyText, `${p}after`);
      await Promise.all([slow.cancel(), fast.cancel()]);
    } finally {
      await client.close();
    }
  });

  it('a watch nobody consumes stays bounded and hands its backlog to the first listener', { timeout: 30_000 }, async () => {
    const p = ctx.prefix();
    const client = clientFor(ctx.server);
    try {
      const watch = client.watch(p, { prefix: true, bufferSize: 10 });
      await watch.ready;
      for (let i = 0; i < 50; i++) await ctx.client.kv.put(`${p}${String(i).padStart(2, '0')}`, 'v');
      await until(() => watchInternals(watch).state === 'paused', () => `state ${watchInternals(watch).state}`);
      assert.ok(watchInternals(watch).queued <= 10);
      const seen: string[] = [];
      watch.on('put', (e) => seen.push(e.kv.keyText));
      await until(() => seen.length >= 50, () => `${seen.length} of 50`, 20_000);
      assert.deepEqual(seen, Array.from({ length: 50 }, (_, i) => `${p}${String(i).padStart(2, '0')}`));
      assert.ok(watchInternals(watch).maxQueued <= 10);
      await watch.cancel();
    } finally {
      await client.close();
    }
  });
});
