/**
 * Progress: `progressNotify` watches get periodic progress items while idle (the servers run
 * with a short notify interval here), others do not; a progress item advances lastRevision.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/index.js';
import type { WatchItem } from '../../src/index.js';
import { startServer } from '../../src/server/index.js';
import type { ServerHandle } from '../harness/handle.js';
import { etcdAvailable, REAL_ETCD_LABEL, startRealEtcd } from '../harness/real-etcd.js';
import { Collector, failOnUnhandled, sleep } from './helpers.js';

type Progress = Extract<WatchItem, { type: 'progress' }>;

interface Target {
  endpoint: string;
  stop(): Promise<void>;
}

function progressSuite(label: string, skip: string | undefined, start: () => Promise<Target>): void {
  describe(label, skip === undefined ? {} : { skip }, () => {
    failOnUnhandled();
    let target: Target;
    let client: Client;
    before(async () => {
      target = await start();
      client = new Client({ endpoints: [target.endpoint], dialTimeoutMs: 5000 });
    });
    after(async () => {
      await client?.close();
      await target?.stop();
    });

    it('an idle progressNotify watch receives progress items at the current revision', { timeout: 20_000 }, async () => {
      const notified = client.watch('progress/watched', { progressNotify: true });
      const silent = client.watch('progress/silent');
      const seen = new Collector(notified);
      const quiet = new Collector(silent);
      await Promise.all([notified.ready, silent.ready]);
      // Writes elsewhere move the store's revision; the watched key stays idle.
      const write = await client.kv.put('progress/elsewhere', 'x');
      const item = (await seen.waitFor(
        (i) => i.type === 'progress' && i.revision >= write.header.revision,
        'progress item at or after the write',
        15_000,
      )) as Progress;
      assert.equal(seen.events.length, 0);
      assert.ok(notified.lastRevision >= item.revision);
      await sleep(300);
      assert.deepEqual(quiet.items, [], 'no progress without progressNotify');
      await Promise.all([notified.cancel(), silent.cancel()]);
    });
  });
}

progressSuite('watch progress: bundled', undefined, async () => {
  const server = await startServer({ host: '127.0.0.1', port: 0, watchProgressNotifyInterval: 100 });
  return { endpoint: server.endpoint, stop: () => server.close() };
});

progressSuite(`watch progress: ${REAL_ETCD_LABEL}`, etcdAvailable(), async () => {
  const handle: ServerHandle = await startRealEtcd({ extraArgs: ['--experimental-watch-progress-notify-interval', '200ms'] });
  return { endpoint: handle.endpoint, stop: () => handle.stop() };
});
