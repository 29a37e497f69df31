/**
 * Watch API behaviour against the bundled server and real etcd 3.4.23: events on every
 * change, ranges, filters, prevKv, replay, ready, cancel, iteration with listeners, errors.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ClientClosedError, EtcdError, InvalidArgumentError } from '../../src/index.js';
import type { WatchEvent, WatchItem } from '../../src/index.js';
import { clientFor, forEachServer } from '../harness/servers.js';
import { Collector, describeEvent, failOnUnhandled, sleep, take, until } from './helpers.js';

const describeAll = (events: readonly WatchEvent[]) => events.map(describeEvent);

forEachServer('watch', (ctx) => {
  failOnUnhandled();

  it('fires on every change, not just once', async () => {
    const key = `${ctx.prefix()}k`;
    const watch = ctx.client.watch(key);
    const seen = new Collector(watch);
    await watch.ready;
    for (let i = 1; i <= 5; i++) await ctx.client.kv.put(key, `v${i}`);
    const events = await seen.waitEvents(5);
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.kv.valueText}`),
      ['put v1', 'put v2', 'put v3', 'put v4', 'put v5'],
    );
    for (let i = 1; i < events.length; i++) assert.equal(events[i]!.revision, events[i - 1]!.revision + 1n);
    assert.equal(watch.lastRevision, events[4]!.revision);
    await watch.cancel();
  });

  it('a prefix watch sees nested keys, puts and deletes, with prevKv', async () => {
    const p = ctx.prefix();
    const watch = ctx.client.watch(`${p}a/`, { prefix: true, prevKv: true });
    const seen = new Collector(watch);
    await watch.ready;
    await ctx.client.kv.put(`${p}a/b/c`, '1');
    await ctx.client.kv.put(`${p}a/b/c`, '2');
    await ctx.client.kv.put(`${p}ab`, 'outside');
    await ctx.client.kv.delete(`${p}a/b/c`);
    const events = await seen.waitEvents(3);
    await sleep(50);
    assert.deepEqual(describeAll(seen.events).map((s) => s.replace(/@\d+$/, '')), [
      `put ${p}a/b/c=1`,
      `put ${p}a/b/c=2`,
      `delete ${p}a/b/c=`,
    ]);
    assert.equal(events[0]!.prevKv, undefined, 'a create has no previous value');
    assert.equal(events[1]!.prevKv?.valueText, '1');
    assert.equal(events[2]!.prevKv?.valueText, '2');
    assert.equal(events[2]!.kv.modRevision, events[2]!.revision);
    await watch.cancel();
  });

  it('filters drop puts or deletes on the server', async () => {
    const p = ctx.prefix();
    const noPut = ctx.client.watch(p, { prefix: true, filters: { noPut: true } });
    const noDelete = ctx.client.watch(p, { prefix: true, filters: { noDelete: true } });
    const deletes = new Collector(noPut);
    const puts = new Collector(noDelete);
    await Promise.all([noPut.ready, noDelete.ready]);
    await ctx.client.kv.put(`${p}x`, '1');
    await ctx.client.kv.delete(`${p}x`);
    await ctx.client.kv.put(`${p}y`, '2');
    await puts.waitEvents(2);
    await deletes.waitEvents(1);
    await sleep(50);
    assert.deepEqual(puts.events.map((e) => e.type), ['put', 'put']);
    assert.deepEqual(deletes.events.map((e) => e.type), ['delete']);
    await Promise.all([noPut.cancel(), noDelete.cancel()]);
  });

  it('replays history from startRevision, then continues live', async () => {
    const key = `${ctx.prefix()}replay`;
    const first = await ctx.client.kv.put(key, 'a');
    await ctx.client.kv.put(key, 'b');
    await ctx.client.kv.delete(key);
    const watch = ctx.client.watch(key, { startRevision: first.header.revision });
    const iterator = watch[Symbol.asyncIterator]();
    const replayed = await take(iterator, 3);
    await ctx.client.kv.put(key, 'c');
    const [live] = await take(iterator, 1);
    const text = [...replayed, live!].map((item) => describeEvent(item as WatchEvent).replace(/@\d+$/, ''));
    assert.deepEqual(text, [`put ${key}=a`, `put ${key}=b`, `delete ${key}=`, `put ${key}=c`]);
    assert.equal((replayed[0] as WatchEvent).revision, first.header.revision);
    await iterator.return!();
    assert.equal(watch.ended, true);
  });

  it('watches [key, rangeEnd) and fromKey ranges', async () => {
    const p = ctx.prefix();
    const ranged = ctx.client.watch(`${p}b`, { rangeEnd: `${p}d` });
    const from = ctx.client.watch(`${p}c`, { fromKey: true });
    const inRange = new Collector(ranged);
    const fromKey = new Collector(from);
    await Promise.all([ranged.ready, from.ready]);
    for (const k of ['a', 'b', 'c', 'd', 'e']) await ctx.client.kv.put(`${p}${k}`, k);
    await inRange.waitEvents(2);
    await fromKey.waitEvents(3);
    await sleep(50);
    assert.deepEqual(inRange.events.map((e) => e.kv.valueText), ['b', 'c']);
    // fromKey covers every later key too (other tests' prefixes sort after this one's keys).
    assert.deepEqual(fromKey.events.filter((e) => e.kv.keyText.startsWith(p)).map((e) => e.kv.valueText), ['c', 'd', 'e']);
    await Promise.all([ranged.cancel(), from.cancel()]);
  });

  it('iterator and listeners see the same items, in the same order', async () => {
    const p = ctx.prefix();
    const watch = ctx.client.watch(p, { prefix: true });
    const seen = new Collector(watch);
    const puts: string[] = [];
    watch.on('put', (e) => puts.push(e.kv.keyText));
    const iterator = watch[Symbol.asyncIterator]();
    await watch.ready;
    await ctx.client.kv.put(`${p}1`, 'x');
    await ctx.client.kv.delete(`${p}1`);
    await ctx.client.kv.put(`${p}2`, 'y');
    const iterated = await take(iterator, 3);
    assert.deepEqual(iterated.map((i) => describeEvent(i as WatchEvent)), describeAll(seen.events));
    assert.deepEqual(puts, [`${p}1`, `${p}2`]);
    await watch.cancel();
    assert.deepEqual(await iterator.next(), { done: true, value: undefined });
  });

  it('cancel ends the watch: iterator completes, end listener runs once, no later events', async () => {
    const key = `${ctx.prefix()}c`;
    const watch = ctx.client.watch(key);
    const seen = new Collector(watch);
    const ends: unknown[] = [];
    watch.on('end', (reason) => ends.push(reason));
    await watch.ready;
    const iterator = watch[Symbol.asyncIterator]();
    const pending = iterator.next();
    await watch.cancel();
    assert.deepEqual(await pending, { done: true, value: undefined });
    await ctx.client.kv.put(key, 'after');
    await sleep(50);
    assert.equal(seen.events.length, 0);
    assert.deepEqual(ends, [undefined]);
    await watch.cancel(); // idempotent
  });

  it('an aborted signal cancels the watch', async () => {
    const controller = new AbortController();
    const watch = ctx.client.watch(`${ctx.prefix()}s`, { signal: controller.signal });
    await watch.ready;
    const iterator = watch[Symbol.asyncIterator]();
    const pending = iterator.next();
    controller.abort();
    assert.deepEqual(await pending, { done: true, value: undefined });
    assert.equal(watch.ended, true);
    const already = ctx.client.watch(`${ctx.prefix()}s`, { signal: controller.signal });
    assert.equal(already.ended, true);
    await assert.rejects(already.ready, EtcdError);
  });

  it('a creation the server refuses rejects ready with a typed error and fails the iterator', async () => {
    const p = ctx.prefix();
    const watch = ctx.client.watch(`${p}z`, { rangeEnd: `${p}a` });
    const errors: EtcdError[] = [];
    watch.on('error', (e) => errors.push(e));
    await assert.rejects(watch.ready, (e: unknown) => e instanceof EtcdError && /watcher range is empty/.test(e.message));
    await assert.rejects(watch[Symbol.asyncIterator]().next(), EtcdError);
    assert.equal(errors.length, 1);
    // Other watches on the same stream are unaffected.
    const key = `${p}ok`;
    const other = ctx.client.watch(key);
    const seen = new Collector(other);
    await other.ready;
    await ctx.client.kv.put(key, '1');
    await seen.waitEvents(1);
    await other.cancel();
  });

  it('rejects bad arguments synchronously, naming them', () => {
    const bad: Array<[() => unknown, string]> = [
      [() => ctx.client.watch(''), 'key'],
      [() => ctx.client.watch('k', { startRevision: -1 }), 'options.startRevision'],
      [() => ctx.client.watch('k', { bufferSize: 0 }), 'options.bufferSize'],
      [() => ctx.client.watch('k', { onCompacted: 'retry' as never }), 'options.onCompacted'],
      [() => ctx.client.watch('k', { prefix: true, fromKey: true }), 'options'],
      [() => ctx.client.watch('k', { filters: { noPut: 1 as never } }), 'options.filters.noPut'],
      [() => ctx.client.watch('k', { signal: {} as never }), 'options.signal'],
    ];
    for (const [call, argument] of bad) {
      assert.throws(call, (e: unknown) => e instanceof InvalidArgumentError && e.argument === argument, argument);
    }
  });

  it('requestProgress delivers a progress item at the current revision', async () => {
    const key = `${ctx.prefix()}progress`;
    const watch = ctx.client.watch(key);
    const seen = new Collector(watch);
    await watch.ready;
    const put = await ctx.client.kv.put(key, '1');
    await seen.waitEvents(1);
    watch.requestProgress();
    const item = (await seen.waitFor((i) => i.type === 'progress', 'progress item')) as Extract<WatchItem, { type: 'progress' }>;
    assert.ok(item.revision >= put.header.revision, `${item.revision} >= ${put.header.revision}`);
    assert.equal(watch.lastRevision, item.revision);
    await watch.cancel();
  });

  it('client.close() completes every watch iterator and ends them with ClientClosedError', async () => {
    const client = clientFor(ctx.server);
    const watches = [client.watch(`${ctx.prefix()}x`), client.watch(`${ctx.prefix()}y`, { prefix: true })];
    await Promise.all(watches.map((w) => w.ready));
    const reasons: unknown[] = [];
    for (const w of watches) w.on('end', (reason) => reasons.push(reason));
    const pending = watches.map((w) => w[Symbol.asyncIterator]().next());
    await client.close();
    for (const result of await Promise.all(pending)) assert.deepEqual(result, { done: true, value: undefined });
    assert.equal(reasons.length, 2);
    assert.ok(reasons.every((r) => r instanceof ClientClosedError));
    const late = client.watch(`${ctx.prefix()}late`);
    await assert.rejects(late.ready, ClientClosedError);
    await until(() => late.ended, () => 'late watch did not end');
  });
});
