/**
 * Watch lifecycle on the bundled server: one shared stream opened with the first watch and
 * closed with the last, creation deadline when etcd is unreachable, failover to another
 * endpoint, disconnect/reconnect notifications, and listener exceptions contained.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Invoker } from '../../src/balancer/invoker.js';
import { Client, UnavailableError } from '../../src/index.js';
import type { WatchEvent } from '../../src/index.js';
import { parseClientOptions } from '../../src/options.js';
import { startServer } from '../../src/server/index.js';
import type { EtcdServer } from '../../src/server/index.js';
import { WatchManager } from '../../src/watch/manager.js';
import { parseWatchSpec } from '../../src/watch/spec.js';
import { Watch } from '../../src/watch/watch.js';
import { Watcher } from '../../src/watch/watcher.js';
import { freePort } from '../harness/ports.js';
import { Collector, describeEvent, failOnUnhandled, sleep, until } from './helpers.js';
import { TcpProxy } from './tcp-proxy.js';

describe('watch lifecycle', { timeout: 30_000 }, () => {
  failOnUnhandled();
  let server: EtcdServer;
  let writer: Client;
  before(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0 });
    writer = new Client({ endpoints: [server.endpoint] });
  });
  after(async () => {
    await writer.close();
    await server.close();
  });

  it('opens one stream for all watches and closes it with the last one', async () => {
    const invoker = new Invoker(parseClientOptions({ endpoints: [server.endpoint] }));
    const manager = new WatchManager(invoker, { dialTimeoutMs: 5000 });
    const watch = (key: string) => {
      const watcher = new Watcher(manager, parseWatchSpec(key, undefined));
      const created = new Watch(watcher);
      watcher.start();
      return created;
    };
    try {
      const first = [watch('s/1'), watch('s/2'), watch('s/3')];
      await Promise.all(first.map((w) => w.ready));
      assert.deepEqual(manager.stats, { watchers: 3, registered: 3, streamsOpened: 1, open: true });
      await first[0]!.cancel();
      await first[1]!.cancel();
      assert.deepEqual(manager.stats, { watchers: 1, registered: 1, streamsOpened: 1, open: true });
      await first[2]!.cancel();
      assert.deepEqual(manager.stats, { watchers: 0, registered: 0, streamsOpened: 1, open: false });
      const again = watch('s/4');
      await again.ready;
      assert.deepEqual(manager.stats, { watchers: 1, registered: 1, streamsOpened: 2, open: true });
      manager.close();
      assert.equal(again.ended, true);
    } finally {
      manager.close();
      await invoker.close();
    }
  });

  it('a watch that cannot be created within the dial timeout fails with UnavailableError', async () => {
    const client = new Client({ endpoints: [`127.0.0.1:${await freePort()}`], dialTimeoutMs: 200 });
    try {
      const watch = client.watch('unreachable');
      const errors: unknown[] = [];
      watch.on('error', (e) => errors.push(e));
      await assert.rejects(watch.ready, UnavailableError);
      await assert.rejects(watch[Symbol.asyncIterator]().next(), UnavailableError);
      assert.equal(errors.length, 1);
      assert.equal(watch.ended, true);
    } finally {
      await client.close();
    }
  });

  it('fails over to another endpoint and resumes without loss or repetition', async () => {
    const proxies = [await TcpProxy.start(server.endpoint), await TcpProxy.start(server.endpoint)];
    const client = new Client({ endpoints: proxies.map((p) => p.endpoint), dialTimeoutMs: 5000 });
    try {
      const watch = client.watch('failover/', { prefix: true });
      const seen = new Collector(watch);
      let disconnects = 0;
      let reconnects = 0;
      watch.on('disconnected', () => (disconnects += 1)).on('reconnected', () => (reconnects += 1));
      await watch.ready;
      const expected: string[] = [];
      const write = async (key: string) => {
        const result = await writer.kv.put(key, 'v');
        expected.push(`put ${key}=v@${result.header.revision}`);
      };
      await write('failover/0');
      for (const [round, proxy] of proxies.entries()) {
        proxy.block();
        proxy.cut();
        for (let i = 1; i <= 20; i++) await write(`failover/${round}/${i}`);
        await seen.waitEvents(expected.length);
        proxy.unblock();
      }
      await sleep(50);
      assert.deepEqual(seen.events.map(describeEvent), expected);
      assert.ok(disconnects >= 1, 'the endpoint in use was cut at least once');
      await until(() => reconnects === disconnects, () => `${reconnects} reconnects for ${disconnects} disconnects`);
      await watch.cancel();
    } finally {
      await client.close();
      for (const proxy of proxies) await proxy.close();
    }
  });

  it('a throwing listener is reported as a warning; other listeners and the iterator continue', async () => {
    const client = new Client({ endpoints: [server.endpoint] });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const watch = client.watch('throwing');
      const good: WatchEvent[] = [];
      watch.on('put', () => {
        throw new Error('listener bug');
      });
      watch.on('put', (e) => good.push(e));
      const iterator = watch[Symbol.asyncIterator]();
      await watch.ready;
      await writer.kv.put('throwing', '1');
      await writer.kv.put('throwing', '2');
      const first = await iterator.next();
      const second = await iterator.next();
      assert.deepEqual([first.value, second.value].map((e) => (e as WatchEvent).kv.valueText), ['1', '2']);
      assert.deepEqual(good.map((e) => e.kv.valueText), ['1', '2']);
      await until(() => warnings.length >= 2, () => `${warnings.length} warnings`);
      assert.ok(warnings.every((w) => w.message === 'listener bug'));
      await watch.cancel();
    } finally {
      process.off('warning', onWarning);
      await client.close();
    }
  });
});
