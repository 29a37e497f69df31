/**
 * Many watchers on one client share one stream: 1,000 watches on distinct keys are created
 * quickly (pipelined creates with client-chosen ids) and each receives exactly its own events
 * while other code writes.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Watch, WatchEvent } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { failOnUnhandled, until } from './helpers.js';

const watchers = 1000;
const lanes = 8;

forEachServer('watch: many watchers on one client', (ctx) => {
  failOnUnhandled();

  it(`${watchers} watchers on distinct keys each get exactly their own events`, { timeout: 60_000 }, async () => {
    const p = ctx.prefix();
    const client = clientFor(ctx.server);
    try {
      const received: WatchEvent[][] = Array.from({ length: watchers }, () => []);
      const watches: Watch[] = [];
      for (let i = 0; i < watchers; i++) {
        const watch = client.watch(`${p}key/${i}`);
        watch.on('event', (event) => received[i]!.push(event));
        watches.push(watch);
      }
      await Promise.all(watches.map((w) => w.ready));

      // Two writes per watched key, interleaved with writes to keys nobody watches.
      const writes: Array<[string, string]> = [];
      for (let round = 1; round <= 2; round++) {
        for (let i = 0; i < watchers; i++) writes.push([`${p}key/${i}`, `r${round}`], [`${p}other/${i}`, 'noise']);
      }
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let n = lane; n < writes.length; n += lanes) await ctx.client.kv.put(writes[n]![0], writes[n]![1]);
        }),
      );

      const total = () => received.reduce((sum, list) => sum + list.length, 0);
      await until(() => total() >= 2 * watchers, () => `${total()} of ${2 * watchers} events`, 30_000);
      for (let i = 0; i < watchers; i++) {
        const events = received[i]!;
        assert.deepEqual(
          events.map((e) => `${e.kv.keyText}=${e.kv.valueText}`),
          [`${p}key/${i}=r1`, `${p}key/${i}=r2`],
          `watcher ${i}`,
        );
        assert.ok(events[0]!.revision < events[1]!.revision);
      }
      await Promise.all(watches.map((w) => w.cancel()));
      assert.ok(watches.every((w) => w.ended));
    } finally {
      await client.close();
    }
  });
});
