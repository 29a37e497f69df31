/**
 * Queue against the bundled server and real etcd 3.4.23: Go's key layout, FIFO by create
 * revision, waiting on an empty queue, abort without leftovers, and many producers and
 * consumers on separate clients with every item dequeued exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CancelledError, Client, ClientClosedError, InvalidArgumentError, Queue } from '../../src/index.js';
import type { Bytes, KeyValue, Watch, WatchOptions } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';

/** A client that keeps every watch it creates, so a test can check none is left running. */
class RecordingClient extends Client {
  readonly watches: Watch[] = [];

  override watch(key: Bytes, options?: WatchOptions): Watch {
    const watch = super.watch(key, options);
    this.watches.push(watch);
    return watch;
  }
}

/** Polls until `condition` holds (bounded in count and time). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let i = 0; i < 1000 && Date.now() < deadline; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

forEachServer('Queue', (ctx) => {
  const recording = () => new RecordingClient({ endpoints: [ctx.server.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });

  describe('layout and order', () => {
    it('stores items as <prefix>/<unix nanoseconds> and dequeues them oldest first', async () => {
      const { client } = ctx;
      const name = `${ctx.prefix()}jobs`;
      const queue = new Queue(client, name);
      assert.equal(queue.name, name);
      const first = await queue.enqueue('one');
      const second = await queue.enqueue(Uint8Array.from([0x74, 0x77, 0x6f]));
      assert.match(first.keyText, new RegExp(`^${name}/\\d+$`));
      const nanos = BigInt(first.keyText.slice(name.length + 1));
      const skew = nanos - BigInt(Date.now()) * 1_000_000n;
      assert.ok(skew > -60_000_000_000n && skew < 60_000_000_000n, `the name is a Unix time in nanoseconds (${nanos})`);
      const { kvs } = await client.kv.get(first.key);
      assert.equal(kvs[0]?.valueText, 'one');
      assert.equal(kvs[0]?.createRevision, first.revision);
      assert.ok(second.revision > first.revision);

      const a = await queue.dequeue();
      const b = await queue.dequeue();
      assert.deepEqual([a.valueText, b.valueText], ['one', 'two']);
      assert.equal(a.createRevision, first.revision);
      assert.equal((await client.kv.get(`${name}/`, { prefix: true })).kvs.length, 0, 'dequeued items are removed');
    });

    it('orders by create revision, not by key name (items written by other clients too)', async () => {
      const { client } = ctx;
      const name = `${ctx.prefix()}q`;
      // Names in reverse order of creation, as producers with skewed clocks would write them.
      await client.kv.put(`${name}/300`, 'first');
      await client.kv.put(`${name}/200`, 'second');
      await client.kv.put(`${name}/100`, 'third');
      const queue = new Queue(client, name);
      const got = [await queue.dequeue(), await queue.dequeue(), await queue.dequeue()];
      assert.deepEqual(
        got.map((kv) => kv.valueText),
        ['first', 'second', 'third'],
      );
    });

    it('rejects bad arguments with InvalidArgumentError naming them', async () => {
      const named = (argument: string) => (e: unknown) => e instanceof InvalidArgumentError && e.argument === argument;
      assert.throws(() => new Queue(ctx.client, ''), named('prefix'));
      assert.throws(() => new Queue({} as never, 'q'), named('client'));
      const queue = new Queue(ctx.client, `${ctx.prefix()}q`);
      await assert.rejects(queue.enqueue(42 as never), named('value'));
      await assert.rejects(queue.dequeue({ timeout: 5 } as never), named('options.timeout'));
      await assert.rejects(queue.dequeue({ signal: 'x' } as never), named('options.signal'));
    });
  });

  describe('waiting', () => {
    it('a dequeue on an empty queue waits and returns the next item', async () => {
      const consumer = recording();
      try {
        const name = `${ctx.prefix()}q`;
        const waiting = new Queue(consumer, name).dequeue();
        await until(() => consumer.watches.length === 1, 'the dequeue to watch');
        await consumer.watches[0]!.ready;
        await new Queue(ctx.client, name).enqueue('late');
        const item = await waiting;
        assert.equal(item.valueText, 'late');
        assert.ok(consumer.watches.every((watch) => watch.ended), 'the watch is cancelled once the item is taken');
        assert.equal((await ctx.client.kv.get(`${name}/`, { prefix: true })).kvs.length, 0);
      } finally {
        await consumer.close();
      }
    });

    it('aborting a waiting dequeue rejects with CancelledError, takes nothing and leaves no watch', async () => {
      const consumer = recording();
      try {
        const name = `${ctx.prefix()}q`;
        const queue = new Queue(consumer, name);
        await assert.rejects(queue.dequeue({ signal: AbortSignal.abort() }), (e: unknown) => e instanceof CancelledError);

        const controller = new AbortController();
        const waiting = queue.dequeue({ signal: controller.signal });
        await until(() => consumer.watches.length === 1, 'the dequeue to watch');
        await consumer.watches[0]!.ready;
        controller.abort();
        await assert.rejects(waiting, (e: unknown) => e instanceof CancelledError);
        assert.ok(consumer.watches[0]!.ended, 'the watch was cancelled');

        // The next item stays in the queue for the next consumer.
        await new Queue(ctx.client, name).enqueue('kept');
        assert.equal((await ctx.client.kv.get(`${name}/`, { prefix: true })).kvs[0]?.valueText, 'kept');
        assert.equal((await queue.dequeue()).valueText, 'kept');
      } finally {
        await consumer.close();
      }
    });

    it('closing the client ends a waiting dequeue with ClientClosedError', async () => {
      const consumer = clientFor(ctx.server);
      const waiting = assert.rejects(new Queue(consumer, `${ctx.prefix()}q`).dequeue(), (e: unknown) => e instanceof ClientClosedError);
      await consumer.close();
      await waiting;
    });
  });

  describe('many producers and consumers', () => {
    it('dequeues every item exactly once, in each producer\'s order', { timeout: 60_000 }, async () => {
      const name = `${ctx.prefix()}work`;
      const producers = 3;
      const consumers = 3;
      const perProducer = 100;
      const total = producers * perProducer;
      const done = new AbortController();
      const signal = AbortSignal.any([done.signal, AbortSignal.timeout(45_000)]);
      const clients = Array.from({ length: producers + consumers }, () => clientFor(ctx.server));
      const received: KeyValue[][] = Array.from({ length: consumers }, () => []);
      let count = 0;
      try {
        const produce = clients.slice(0, producers).map(async (client, p) => {
          const queue = new Queue(client, name);
          for (let i = 0; i < perProducer; i++) await queue.enqueue(`${p}:${i}`, { signal });
        });
        const consume = clients.slice(producers).map(async (client, c) => {
          const queue = new Queue(client, name);
          for (let n = 0; n < total && count < total; n++) {
            let item: KeyValue;
            try {
              item = await queue.dequeue({ signal });
            } catch (error) {
              if (error instanceof CancelledError && done.signal.aborted) return;
              throw error;
            }
            received[c]!.push(item);
            count += 1;
            if (count === total) done.abort();
            // Work on the item for a moment, as real consumers do: without it, consumers in one
            // process move in lockstep and the one that is served first wins every race.
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 3));
          }
        });
        await Promise.all([...produce, ...consume]);
      } finally {
        done.abort();
        await Promise.all(clients.map((client) => client.close()));
      }

      const all = received.flat().map((kv) => kv.valueText);
      assert.equal(all.length, total, 'every item dequeued once');
      assert.equal(new Set(all).size, total, 'no item dequeued twice');
      for (let p = 0; p < producers; p++) {
        for (let i = 0; i < perProducer; i++) assert.ok(all.includes(`${p}:${i}`), `item ${p}:${i} was dequeued`);
      }
      received.forEach((items, c) => {
        // Each consumer took items oldest first, so each producer's items arrive in its order.
        for (let k = 1; k < items.length; k++) {
          assert.ok(items[k]!.createRevision > items[k - 1]!.createRevision, `consumer ${c} got items out of queue order`);
        }
        const last = new Map<string, number>();
        for (const item of items) {
          const [producer, seq] = item.valueText.split(':');
          assert.ok(Number(seq) > (last.get(producer!) ?? -1), `consumer ${c}: producer ${producer}'s items out of order`);
          last.set(producer!, Number(seq));
        }
      });
      assert.ok(received.filter((items) => items.length > 0).length > 1, `the work was shared by several consumers (${received.map((r) => r.length).join('/')})`);
      assert.equal((await ctx.client.kv.get(`${name}/`, { prefix: true, countOnly: true })).count, 0n);
    });
  });
});

