/**
 * Chaos: while a writer puts thousands of keys, the server restarts several times and the
 * watching client's connection is cut again in the middle of a catch-up longer than one
 * batch. The watch must deliver exactly the server's history: every acknowledged write once,
 * in revision order, nothing else.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Client, EtcdError } from '../../src/index.js';
import type { WatchEvent } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { failOnUnhandled, until } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

const lanes = 4;

interface WriteLog {
  /** Acknowledged writes: key -> revision. */
  readonly acked: Map<string, bigint>;
  /** Writes that failed (they may or may not have been applied). */
  failed: number;
}

/** Puts `count` unique keys under `prefix` from `lanes` concurrent writers; never retries a failed put. */
async function writeKeys(client: Client, prefix: string, count: number, log: WriteLog, deadline: number): Promise<void> {
  await Promise.all(
    Array.from({ length: lanes }, async (_, lane) => {
      for (let i = lane; i < count; i += lanes) {
        if (Date.now() > deadline) throw new Error(`writer passed its deadline at ${log.acked.size} acknowledged writes`);
        const key = `${prefix}${String(i).padStart(5, '0')}`;
        try {
          const result = await client.kv.put(key, `v${i}`);
          log.acked.set(key, result.header.revision);
        } catch (error) {
          if (!(error instanceof EtcdError)) throw error;
          log.failed += 1;
        }
      }
    }),
  );
}

forEachServer('watch chaos', (ctx) => {
  failOnUnhandled();

  it('sees every acknowledged write exactly once, in order, through restarts and a cut catch-up', { timeout: 90_000 }, async () => {
    const deadline = Date.now() + 80_000;
    const { server, client: writer } = await ctx.fresh();
    const proxy = await TcpProxy.start(server.endpoint);
    const watching = new Client({ endpoints: [proxy.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
    try {
      const prefix = 'chaos/';
      const start = (await writer.kv.put('before-chaos', 'x')).header.revision + 1n;
      const watch = watching.watch(prefix, { prefix: true, startRevision: start });
      const seen: WatchEvent[] = [];
      let disconnects = 0;
      watch.on('event', (event) => seen.push(event));
      watch.on('disconnected', () => (disconnects += 1));
      await watch.ready;
      const log: WriteLog = { acked: new Map(), failed: 0 };

      // Phase A: 3000 writes while the server restarts three times.
      const writing = writeKeys(writer, `${prefix}a/`, 3000, log, deadline);
      let writesDone = false;
      void writing.finally(() => (writesDone = true)).catch(() => {});
      for (const threshold of [600, 1400, 2200]) {
        await until(() => log.acked.size >= threshold || writesDone, () => `only ${log.acked.size} writes acknowledged`, 30_000);
        if (writesDone) break;
        await server.restart();
      }
      await writing;
      assert.ok(disconnects >= 1, 'the watch saw the restarts');

      // Phase B: the watcher is cut off while 2500 revisions are written, then cut again as
      // soon as the catch-up (more than two batches of 1000) starts arriving.
      proxy.block();
      proxy.cut();
      const beforeCatchUp = seen.length;
      await writeKeys(writer, `${prefix}b/`, 2500, log, deadline);
      let seenAtCut = -1;
      watch.on('event', () => {
        if (seenAtCut < 0) {
          seenAtCut = seen.length;
          proxy.cut();
        }
      });
      const disconnectsBefore = disconnects;
      proxy.unblock();

      // The server's history of the prefix: every key is written once and never deleted.
      const history = (await writer.kv.get(prefix, { prefix: true })).kvs
        .map((kv) => ({ key: kv.keyText, revision: kv.modRevision }))
        .sort((a, b) => (a.revision < b.revision ? -1 : 1));
      const last = history[history.length - 1]!.revision;
      await until(
        () => watch.lastRevision >= last,
        () => `watch at ${watch.lastRevision}, history ends at ${last} (${seen.length} events)`,
        Math.max(1000, deadline - Date.now()),
      );
      assert.ok(seenAtCut > beforeCatchUp && seenAtCut - beforeCatchUp < 2500, `cut during the catch-up (${seenAtCut - beforeCatchUp} of 2500 seen)`);
      assert.ok(disconnects > disconnectsBefore, 'the cut during catch-up disconnected the watch');

      // Exactly the server's history, in revision order.
      for (let i = 1; i < seen.length; i++) {
        assert.ok(seen[i]!.revision > seen[i - 1]!.revision, `revision order at ${i}: ${seen[i - 1]!.revision} then ${seen[i]!.revision}`);
      }
      assert.deepEqual(
        seen.map((e) => `${e.type} ${e.kv.keyText}@${e.revision}`),
        history.map((h) => `put ${h.key}@${h.revision}`),
      );
      // Every acknowledged write exactly once, at its acknowledged revision.
      const byKey = new Map(seen.map((e) => [e.kv.keyText, e.revision]));
      assert.equal(byKey.size, seen.length, 'no key delivered twice');
      for (const [key, revision] of log.acked) assert.equal(byKey.get(key), revision, `acknowledged write ${key}@${revision}`);
      assert.ok(log.acked.size >= 5500 - log.failed);
      await watch.cancel();
    } finally {
      await watching.close();
      await proxy.close();
    }
  });
});
