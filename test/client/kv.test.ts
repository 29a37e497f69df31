/**
 * The KV API end to end, against the bundled server and against real etcd 3.4.23
 * (skipped with the reason when /usr/bin/etcd is missing).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import {
  CompactedError,
  Compare,
  DuplicateKeyError,
  EtcdError,
  FutureRevisionError,
  KeyNotFoundError,
  KeyValue,
  LeaseNotFoundError,
  Op,
  ValueDecodeError,
  ValueProvidedError,
} from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';

const text = (kvs: KeyValue[]) => kvs.map((kv) => `${kv.keyText}=${kv.valueText}`);

forEachServer('kv client', (ctx) => {
  it('put then get returns the value and its bookkeeping', async () => {
    const p = ctx.prefix();
    const first = await ctx.client.kv.put(`${p}a`, '1');
    const second = await ctx.client.kv.put(`${p}a`, '2', { prevKv: true });
    assert.equal(second.header.revision, first.header.revision + 1n);
    assert.equal(second.prevKv?.valueText, '1');
    assert.equal(second.prevKv?.version, 1n);
    const got = await ctx.client.kv.get(`${p}a`);
    assert.equal(got.count, 1n);
    assert.equal(got.more, false);
    const kv = got.kvs[0]!;
    assert.ok(kv instanceof KeyValue);
    assert.equal(kv.keyText, `${p}a`);
    assert.equal(kv.valueText, '2');
    assert.equal(kv.createRevision, first.header.revision);
    assert.equal(kv.modRevision, second.header.revision);
    assert.equal(kv.version, 2n);
    assert.equal(kv.lease, 0n);
    assert.ok(got.header.clusterId !== 0n && got.header.memberId !== 0n && got.header.raftTerm !== 0n);
    assert.equal((await ctx.client.kv.get(`${p}missing`)).kvs.length, 0);
  });

  it('keys and values are bytes', async () => {
    const p = ctx.prefix();
    const key = Uint8Array.from([...Buffer.from(p), 0xff, 0x00, 0x01]);
    const value = Uint8Array.from([0, 1, 2, 255]);
    await ctx.client.kv.put(key, value);
    const [kv] = (await ctx.client.kv.get(key)).kvs;
    assert.deepEqual([...kv!.key], [...key]);
    assert.deepEqual([...kv!.value], [...value]);
    assert.equal((await ctx.client.kv.get(p, { prefix: true })).count, 1n);
  });

  it('prefix, fromKey and rangeEnd ranges with limit, sort and filters', async () => {
    const p = ctx.prefix();
    for (const k of ['a', 'b', 'c', 'd']) await ctx.client.kv.put(`${p}${k}`, k.toUpperCase());
    const all = await ctx.client.kv.get(p, { prefix: true });
    assert.deepEqual(text(all.kvs), [`${p}a=A`, `${p}b=B`, `${p}c=C`, `${p}d=D`]);
    const limited = await ctx.client.kv.get(p, { prefix: true, limit: 2, sort: { target: 'key', order: 'descend' } });
    assert.deepEqual(text(limited.kvs), [`${p}d=D`, `${p}c=C`]);
    assert.equal(limited.more, true);
    assert.equal(limited.count, 4n);
    assert.deepEqual(text((await ctx.client.kv.get(`${p}b`, { rangeEnd: `${p}d` })).kvs), [`${p}b=B`, `${p}c=C`]);
    const from = await ctx.client.kv.get(`${p}c`, { fromKey: true, keysOnly: true });
    assert.deepEqual(from.kvs.slice(0, 2).map((kv) => kv.keyText), [`${p}c`, `${p}d`]);
    assert.equal(from.kvs[0]!.value.length, 0);
    const counted = await ctx.client.kv.get(p, { prefix: true, countOnly: true });
    assert.equal(counted.count, 4n);
    assert.equal(counted.kvs.length, 0);
    const newest = all.kvs[3]!.modRevision;
    const filtered = await ctx.client.kv.get(p, { prefix: true, minModRevision: newest, serializable: true });
    assert.deepEqual(text(filtered.kvs), [`${p}d=D`]);
  });

  it('reads at an older revision', async () => {
    const p = ctx.prefix();
    const v1 = await ctx.client.kv.put(`${p}k`, 'old');
    await ctx.client.kv.put(`${p}k`, 'new');
    const old = await ctx.client.kv.get(`${p}k`, { revision: v1.header.revision });
    assert.equal(old.kvs[0]!.valueText, 'old');
  });

  it('delete a key and a prefix, with prevKv', async () => {
    const p = ctx.prefix();
    await ctx.client.kv.put(`${p}x/1`, '1');
    await ctx.client.kv.put(`${p}x/2`, '2');
    await ctx.client.kv.put(`${p}y`, 'y');
    const one = await ctx.client.kv.delete(`${p}y`);
    assert.equal(one.deleted, 1n);
    assert.deepEqual(one.prevKvs, []);
    const many = await ctx.client.kv.delete(`${p}x/`, { prefix: true, prevKv: true });
    assert.equal(many.deleted, 2n);
    assert.deepEqual(text(many.prevKvs), [`${p}x/1=1`, `${p}x/2=2`]);
    assert.equal((await ctx.client.kv.delete(`${p}nothing`)).deleted, 0n);
    assert.equal((await ctx.client.kv.get(p, { prefix: true })).count, 0n);
  });

  it('transactions: compares, both branches, typed responses, nesting', async () => {
    const p = ctx.prefix();
    await ctx.client.kv.put(`${p}k`, 'v');
    const ok = await ctx.client.kv
      .txn()
      .if(Compare.value(`${p}k`, '==', 'v'), Compare.version(`${p}new`, '==', 0))
      .then(
        Op.put(`${p}new`, 'n'),
        Op.get(`${p}k`),
        Op.delete(`${p}k`, { prevKv: true }),
        // Nested compares see the state before the whole transaction: `new` does not exist yet.
        Op.txn([Compare.createRevision(`${p}new`, '>', 0)], [], [Op.get(`${p}new`)]),
      )
      .else(Op.get(`${p}k`))
      .commit();
    assert.equal(ok.succeeded, true);
    assert.deepEqual(
      ok.responses.map((r) => r.type),
      ['put', 'get', 'delete', 'txn'],
    );
    const [put, get, del, nested] = ok.responses;
    assert.equal(put!.type, 'put');
    assert.equal(get!.type === 'get' && get.kvs[0]!.valueText, 'v');
    assert.equal(del!.type === 'delete' && del.prevKvs[0]!.valueText, 'v');
    assert.ok(nested!.type === 'txn' && !nested.succeeded);
    assert.equal(nested!.type === 'txn' && nested.responses[0]!.type === 'get' && nested.responses[0].kvs[0]!.valueText, 'n');
    const failed = await ctx.client.kv
      .txn()
      .if(Compare.value(`${p}k`, '==', 'v'))
      .then(Op.put(`${p}k`, 'again'))
      .else(Op.get(`${p}new`))
      .commit();
    assert.equal(failed.succeeded, false, 'a value compare on a missing key is false');
    assert.equal(failed.responses[0]!.type, 'get');
    const ranged = await ctx.client.kv.txn().if(Compare.version(p, '>', 0, { prefix: true })).commit();
    assert.equal(ranged.succeeded, true);
  });

  it('compaction: reads below it fail with CompactedError, ahead with FutureRevisionError', async () => {
    const { client } = await ctx.fresh();
    await client.kv.put('c', '1');
    const second = await client.kv.put('c', '2');
    await client.kv.put('c', '3');
    const compacted = await client.kv.compact(second.header.revision, { physical: true });
    assert.ok(compacted.header.revision > second.header.revision);
    await assert.rejects(client.kv.get('c', { revision: second.header.revision - 1n }), CompactedError);
    assert.equal((await client.kv.get('c', { revision: second.header.revision })).kvs[0]!.valueText, '2');
    await assert.rejects(client.kv.compact(second.header.revision), CompactedError);
    await assert.rejects(client.kv.get('c', { revision: 1_000_000 }), (e: unknown) => {
      assert.ok(e instanceof FutureRevisionError);
      assert.equal(e.etcdMessage, 'etcdserver: mvcc: required revision is a future revision');
      assert.equal(e.codeName, 'OUT_OF_RANGE');
      assert.equal(e.retryable, false);
      return true;
    });
  });

  it('getAll and deleteAll cover the whole keyspace', async () => {
    const { client } = await ctx.fresh();
    await client.kv.put('a', '1');
    await client.kv.put('\u00ff', '2');
    assert.deepEqual(text((await client.kv.getAll()).kvs), ['a=1', '\u00ff=2']);
    assert.equal((await client.kv.getAll({ countOnly: true })).count, 2n);
    assert.equal((await client.kv.deleteAll()).deleted, 2n);
    assert.equal((await client.kv.getAll()).count, 0n);
  });

  it('etcd errors arrive as typed errors', async () => {
    const p = ctx.prefix();
    await assert.rejects(ctx.client.kv.txn().then(Op.put(`${p}d`, '1'), Op.put(`${p}d`, '2')).commit(), DuplicateKeyError);
    await assert.rejects(ctx.client.kv.put(`${p}l`, 'v', { lease: 0x7e57n }), LeaseNotFoundError);
    await assert.rejects(ctx.client.kv.put(`${p}absent`, '', { ignoreValue: true }), KeyNotFoundError);
    await ctx.client.kv.put(`${p}present`, 'v');
    await assert.rejects(ctx.client.kv.put(`${p}present`, 'x', { ignoreValue: true }), ValueProvidedError);
    const kept = await ctx.client.kv.put(`${p}present`, '', { ignoreValue: true, prevKv: true });
    assert.equal(kept.prevKv?.valueText, 'v');
    assert.equal((await ctx.client.kv.get(`${p}present`)).kvs[0]!.valueText, 'v');
  });

  it('json() parses values, validates with a schema, and names the key on failure', async () => {
    const p = ctx.prefix();
    await ctx.client.kv.put(`${p}cfg`, JSON.stringify({ port: 80, host: 'h' }));
    await ctx.client.kv.put(`${p}bad`, '{not json');
    const [cfg] = (await ctx.client.kv.get(`${p}cfg`)).kvs;
    assert.deepEqual(cfg!.json(), { port: 80, host: 'h' });
    const schema = z.object({ port: z.number(), host: z.string() });
    assert.equal(cfg!.json(schema).port, 80);
    assert.throws(
      () => cfg!.json(z.object({ port: z.string() })),
      (e: unknown) => e instanceof ValueDecodeError && e.message.includes(`"${p}cfg"`) && /port/.test(e.message),
    );
    const [bad] = (await ctx.client.kv.get(`${p}bad`)).kvs;
    assert.throws(() => bad!.json(), (e: unknown) => e instanceof ValueDecodeError && e instanceof EtcdError && /not valid JSON/.test(e.message));
  });
});
