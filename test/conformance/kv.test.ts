/**
 * KV conformance: the same suite runs against the bundled server and real etcd 3.4.23,
 * through our client. Tests use a unique key prefix each (shared server), except the
 * "fresh store" group, which asserts absolute revisions on a server of its own.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Compare,
  CompactedError,
  DuplicateKeyError,
  FutureRevisionError,
  KeyNotFoundError,
  LeaseNotFoundError,
  LeaseProvidedError,
  Op,
  RequestTooLargeError,
  TooManyOpsError,
  ValueProvidedError,
  type Client,
  type CompareOperator,
  type SortOrder,
  type SortTarget,
} from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { bytes, grantLease, hex, keysOf, plainKv, rejectsWithEtcd, type LeaseGrant } from './kv-helpers.js';

const MISSING_LEASE = 424242n;

forEachServer('KV conformance', (ctx) => {
  /** Current store revision, read with a single-key get (never bumps it). */
  const currentRevision = async (): Promise<bigint> => (await ctx.client.kv.get('\u0001probe')).header.revision;

  describe('range forms', () => {
    it('single key: present and absent; header carries the current revision', async () => {
      const p = ctx.prefix();
      const put = await ctx.client.kv.put(`${p}k`, 'v');
      const got = await ctx.client.kv.get(`${p}k`);
      assert.deepEqual(keysOf(got), [`${p}k`]);
      assert.equal(got.kvs[0]!.valueText, 'v');
      assert.equal(got.count, 1n);
      assert.equal(got.more, false);
      assert.equal(got.header.revision, put.header.revision);
      assert.ok(got.header.clusterId !== 0n && got.header.memberId !== 0n && got.header.raftTerm !== 0n);
      const absent = await ctx.client.kv.get(`${p}nope`);
      assert.deepEqual(absent.kvs, []);
      assert.equal(absent.count, 0n);
      assert.equal(absent.header.revision, put.header.revision);
    });

    it('range_end selects [key, range_end); range_end <= key is empty, not an error', async () => {
      const p = ctx.prefix();
      for (const k of ['a', 'b', 'c', 'd']) await ctx.client.kv.put(`${p}${k}`, k);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}a`, { rangeEnd: `${p}c` })), [`${p}a`, `${p}b`]);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}b`, { rangeEnd: `${p}b\u0000` })), [`${p}b`]);
      const empty = await ctx.client.kv.get(`${p}c`, { rangeEnd: `${p}a` });
      assert.deepEqual(empty.kvs, []);
      assert.equal(empty.count, 0n);
      assert.deepEqual((await ctx.client.kv.get(`${p}c`, { rangeEnd: `${p}c` })).kvs, []);
    });

    it('prefix selects the keys starting with it', async () => {
      const p = ctx.prefix();
      for (const k of ['a', 'ab', 'abc', 'b', 'a/x']) await ctx.client.kv.put(`${p}${k}`, k);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}a`, { prefix: true })), [`${p}a`, `${p}a/x`, `${p}ab`, `${p}abc`]);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}ab`, { prefix: true })), [`${p}ab`, `${p}abc`]);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}zz`, { prefix: true })), []);
    });

    it('a prefix ending in 0xff bytes ends after the last non-0xff byte', async () => {
      const p = ctx.prefix();
      const inside = [bytes(p, [0x61, 0xff]), bytes(p, [0x61, 0xff, 0x00]), bytes(p, [0x61, 0xff, 0xff, 0x01])];
      const outside = [bytes(p, [0x61, 0xfe, 0xff]), bytes(p, [0x62]), bytes(p, [0x61])];
      for (const k of [...inside, ...outside]) await ctx.client.kv.put(k, 'v');
      const got = await ctx.client.kv.get(bytes(p, [0x61, 0xff]), { prefix: true });
      assert.deepEqual(got.kvs.map((kv) => hex(kv.key)), inside.map(hex));
      const wider = await ctx.client.kv.get(bytes(p, [0x61]), { prefix: true });
      assert.deepEqual(
        wider.kvs.map((kv) => hex(kv.key)),
        [bytes(p, [0x61]), bytes(p, [0x61, 0xfe, 0xff]), ...inside].map(hex),
      );
    });

    it('an all-0xff prefix reaches to the end of the keyspace', async () => {
      // Only this test writes keys starting with 0xff on the shared server.
      const keys = [bytes([0xff, 0x01]), bytes([0xff, 0xff]), bytes([0xff, 0xff, 0x00])];
      for (const k of keys) await ctx.client.kv.put(k, 'v');
      assert.deepEqual((await ctx.client.kv.get(bytes([0xff]), { prefix: true })).kvs.map((kv) => hex(kv.key)), keys.map(hex));
      assert.deepEqual(
        (await ctx.client.kv.get(bytes([0xff, 0xff]), { prefix: true })).kvs.map((kv) => hex(kv.key)),
        keys.slice(1).map(hex),
      );
      await ctx.client.kv.delete(bytes([0xff]), { prefix: true });
    });
  });

  describe('limit, more and count', () => {
    it('limit truncates and sets more; count ignores limit', async () => {
      const p = ctx.prefix();
      for (const k of ['a', 'b', 'c', 'd', 'e']) await ctx.client.kv.put(`${p}${k}`, k);
      const two = await ctx.client.kv.get(p, { prefix: true, limit: 2 });
      assert.deepEqual(keysOf(two), [`${p}a`, `${p}b`]);
      assert.equal(two.more, true);
      assert.equal(two.count, 5n);
      const exact = await ctx.client.kv.get(p, { prefix: true, limit: 5 });
      assert.equal(exact.kvs.length, 5);
      assert.equal(exact.more, false);
      assert.equal(exact.count, 5n);
      const unlimited = await ctx.client.kv.get(p, { prefix: true, limit: 0 });
      assert.equal(unlimited.kvs.length, 5);
      assert.equal(unlimited.more, false);
      const desc = await ctx.client.kv.get(p, { prefix: true, limit: 2, sort: { target: 'key', order: 'descend' } });
      assert.deepEqual(keysOf(desc), [`${p}e`, `${p}d`]);
      assert.equal(desc.more, true);
      assert.equal(desc.count, 5n);
    });

    it('keysOnly drops values only; countOnly returns the count alone', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}a`, 'va');
      await ctx.client.kv.put(`${p}a`, 'va2');
      await ctx.client.kv.put(`${p}b`, 'vb');
      const full = await ctx.client.kv.get(p, { prefix: true });
      const keysOnly = await ctx.client.kv.get(p, { prefix: true, keysOnly: true });
      assert.deepEqual(keysOf(keysOnly), [`${p}a`, `${p}b`]);
      keysOnly.kvs.forEach((kv, i) => {
        assert.equal(kv.value.length, 0);
        const whole = full.kvs[i]!;
        assert.deepEqual(
          [kv.createRevision, kv.modRevision, kv.version, kv.lease],
          [whole.createRevision, whole.modRevision, whole.version, whole.lease],
        );
      });
      const counted = await ctx.client.kv.get(p, { prefix: true, countOnly: true });
      assert.deepEqual(counted.kvs, []);
      assert.equal(counted.count, 2n);
      assert.equal(counted.more, false);
      const countedLimited = await ctx.client.kv.get(p, { prefix: true, countOnly: true, limit: 1 });
      assert.equal(countedLimited.count, 2n);
      assert.deepEqual(countedLimited.kvs, []);
    });
  });

  describe('sort', () => {
    // Four keys whose key, version, create, mod and value orders all differ:
    //   key a<b<c<d, create a<b<c<d, version a1<c2<b3<d4, mod a<d<b<c, value b<d<a<c.
    const expected: Record<SortTarget, string[]> = {
      key: ['a', 'b', 'c', 'd'],
      create: ['a', 'b', 'c', 'd'],
      version: ['a', 'c', 'b', 'd'],
      mod: ['a', 'd', 'b', 'c'],
      value: ['b', 'd', 'a', 'c'],
    };
    let p = '';
    before(async () => {
      p = ctx.prefix();
      const put = (k: string, v: string) => ctx.client.kv.put(`${p}${k}`, v);
      await put('a', 'v3');
      await put('b', 'v0');
      await put('c', 'v0');
      await put('d', 'v0');
      await put('d', 'v0');
      await put('d', 'v0');
      await put('d', 'v2');
      await put('b', 'v0');
      await put('b', 'v1');
      await put('c', 'v4');
    });

    for (const target of Object.keys(expected) as SortTarget[]) {
      for (const order of ['none', 'ascend', 'descend'] as SortOrder[]) {
        // etcd: a target other than KEY with order NONE sorts ascending.
        const want = order === 'descend' ? [...expected[target]].reverse() : expected[target];
        it(`sort by ${target}, order ${order}`, async () => {
          const got = await ctx.client.kv.get(p, { prefix: true, sort: { target, order } });
          assert.deepEqual(keysOf(got), want.map((k) => `${p}${k}`));
          assert.equal(got.count, 4n);
        });
      }
    }

    it('sort then limit keeps the first keys of the sorted order', async () => {
      const got = await ctx.client.kv.get(p, { prefix: true, sort: { target: 'mod', order: 'descend' }, limit: 2 });
      assert.deepEqual(keysOf(got), [`${p}c`, `${p}b`]);
      assert.equal(got.more, true);
      assert.equal(got.count, 4n);
    });

    it('order none with a non-key target and a limit sorts only the first limit+1 keys (etcd quirk)', async () => {
      // etcd drops the limit before reading only when the order is not NONE, so here it reads
      // a, b, c (limit + 1, key order), sorts them by mod and keeps two: not the global a, d.
      const mod = await ctx.client.kv.get(p, { prefix: true, sort: { target: 'mod', order: 'none' }, limit: 2 });
      assert.deepEqual(keysOf(mod), [`${p}a`, `${p}b`]);
      assert.equal(mod.more, true);
      assert.equal(mod.count, 4n);
      const value = await ctx.client.kv.get(p, { prefix: true, sort: { target: 'value', order: 'none' }, limit: 2 });
      assert.deepEqual(keysOf(value), [`${p}b`, `${p}a`]);
      const ascend = await ctx.client.kv.get(p, { prefix: true, sort: { target: 'mod', order: 'ascend' }, limit: 2 });
      assert.deepEqual(keysOf(ascend), [`${p}a`, `${p}d`], 'with an explicit order the whole range is sorted');
    });

    it('ties on a non-key target: every key returned, target values in order', async () => {
      const q = ctx.prefix();
      const values = { k1: 'y', k2: 'x', k3: 'y', k4: 'x', k5: 'z' };
      for (const [k, v] of Object.entries(values)) await ctx.client.kv.put(`${q}${k}`, v);
      for (const order of ['ascend', 'descend'] as const) {
        const got = await ctx.client.kv.get(q, { prefix: true, sort: { target: 'value', order } });
        const vals = got.kvs.map((kv) => kv.valueText);
        const sorted = [...vals].sort();
        assert.deepEqual(vals, order === 'ascend' ? sorted : sorted.reverse());
        assert.deepEqual(keysOf(got).sort(), Object.keys(values).map((k) => `${q}${k}`));
        // etcd leaves the order among equal values unspecified: compare tied keys as sets.
        const xs = got.kvs.filter((kv) => kv.valueText === 'x').map((kv) => kv.keyText).sort();
        assert.deepEqual(xs, [`${q}k2`, `${q}k4`]);
      }
    });
  });

  describe('revisions and filters', () => {
    it('reads at past revisions see the state of that revision; the header stays current', async () => {
      const p = ctx.prefix();
      const r1 = (await ctx.client.kv.put(`${p}k`, 'one')).header.revision;
      const r2 = (await ctx.client.kv.put(`${p}k`, 'two')).header.revision;
      const r3 = (await ctx.client.kv.delete(`${p}k`)).header.revision;
      const r4 = (await ctx.client.kv.put(`${p}k`, 'three')).header.revision;
      const at = (revision: bigint) => ctx.client.kv.get(`${p}k`, { revision });
      const one = await at(r1);
      assert.equal(one.kvs[0]!.valueText, 'one');
      assert.equal(one.header.revision, r4);
      assert.deepEqual([one.kvs[0]!.version, one.kvs[0]!.createRevision, one.kvs[0]!.modRevision], [1n, r1, r1]);
      const two = await at(r2);
      assert.deepEqual([two.kvs[0]!.valueText, two.kvs[0]!.version, two.kvs[0]!.createRevision], ['two', 2n, r1]);
      assert.deepEqual((await at(r3)).kvs, []);
      assert.equal((await at(r3)).count, 0n);
      const reborn = (await at(r4)).kvs[0]!;
      assert.deepEqual([reborn.valueText, reborn.version, reborn.createRevision], ['three', 1n, r4]);
      assert.deepEqual(keysOf(await at(r1 - 1n)), []);
    });

    it('a future revision fails with FutureRevisionError', async () => {
      const rev = await currentRevision();
      await rejectsWithEtcd(ctx.client.kv.get('any', { revision: rev + 1n }), FutureRevisionError, 'futureRevision');
      await rejectsWithEtcd(ctx.client.kv.get('any', { revision: rev + 100n }), FutureRevisionError, 'futureRevision');
    });

    it('min/max mod and create revision filters are inclusive; count ignores them', async () => {
      const p = ctx.prefix();
      const ra = (await ctx.client.kv.put(`${p}a`, '1')).header.revision;
      const rb = (await ctx.client.kv.put(`${p}b`, '1')).header.revision;
      const rc = (await ctx.client.kv.put(`${p}c`, '1')).header.revision;
      const ra2 = (await ctx.client.kv.put(`${p}a`, '2')).header.revision; // a: create ra, mod ra2
      const get = (o: object) => ctx.client.kv.get(p, { prefix: true, ...o });
      const cases: Array<[object, string[]]> = [
        [{ minModRevision: rb }, ['a', 'b', 'c']],
        [{ minModRevision: rc }, ['a', 'c']],
        [{ maxModRevision: rb }, ['b']],
        [{ minModRevision: rb, maxModRevision: rc }, ['b', 'c']],
        [{ minCreateRevision: rb }, ['b', 'c']],
        [{ maxCreateRevision: rb }, ['a', 'b']],
        [{ minCreateRevision: ra, maxCreateRevision: ra }, ['a']],
        [{ minModRevision: ra2 + 1n }, []],
      ];
      for (const [opts, want] of cases) {
        const got = await get(opts);
        assert.deepEqual(keysOf(got), want.map((k) => `${p}${k}`), JSON.stringify(opts, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)));
        assert.equal(got.count, 3n, 'count is taken before the filters');
      }
      const limited = await get({ minModRevision: rc, limit: 1 });
      assert.deepEqual(keysOf(limited), [`${p}a`]);
      assert.equal(limited.count, 3n);
      assert.equal(limited.more, true);
    });
  });

  describe('put', () => {
    it('prevKv returns the previous key-value, absent for a new key', async () => {
      const p = ctx.prefix();
      const created = await ctx.client.kv.put(`${p}k`, 'v1', { prevKv: true });
      assert.equal(created.prevKv, undefined);
      const updated = await ctx.client.kv.put(`${p}k`, 'v2', { prevKv: true });
      assert.deepEqual(plainKv(updated.prevKv), {
        key: `${p}k`,
        value: 'v1',
        createRevision: created.header.revision,
        modRevision: created.header.revision,
        version: 1n,
        lease: 0n,
      });
      assert.equal(updated.header.revision, created.header.revision + 1n);
      const same = await ctx.client.kv.put(`${p}k`, 'v2');
      assert.equal(same.header.revision, updated.header.revision + 1n, 'an identical put is still a new revision');
      const kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
      assert.deepEqual([kv.version, kv.modRevision, kv.createRevision], [3n, same.header.revision, created.header.revision]);
    });

    it('ignoreValue keeps the value and bumps the version', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'keep');
      const res = await ctx.client.kv.put(`${p}k`, '', { ignoreValue: true, prevKv: true });
      assert.equal(res.prevKv?.valueText, 'keep');
      const kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
      assert.deepEqual([kv.valueText, kv.version, kv.modRevision], ['keep', 2n, res.header.revision]);
    });

    it('ignoreValue/ignoreLease errors: value provided, lease provided, key not found', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'v');
      const rev = await currentRevision();
      await rejectsWithEtcd(ctx.client.kv.put(`${p}k`, 'x', { ignoreValue: true }), ValueProvidedError, 'valueProvided');
      await rejectsWithEtcd(ctx.client.kv.put(`${p}k`, 'x', { ignoreLease: true, lease: 5n }), LeaseProvidedError, 'leaseProvided');
      await rejectsWithEtcd(ctx.client.kv.put(`${p}absent`, '', { ignoreValue: true }), KeyNotFoundError, 'keyNotFound');
      await rejectsWithEtcd(ctx.client.kv.put(`${p}absent`, 'x', { ignoreLease: true }), KeyNotFoundError, 'keyNotFound');
      assert.equal(await currentRevision(), rev, 'failed puts change nothing');
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}absent`)), []);
    });

    it('a put with an unknown lease fails with LeaseNotFoundError (NotFound)', async () => {
      const p = ctx.prefix();
      const rev = await currentRevision();
      await rejectsWithEtcd(ctx.client.kv.put(`${p}k`, 'v', { lease: MISSING_LEASE }), LeaseNotFoundError, 'leaseNotFound');
      assert.equal(await currentRevision(), rev);
    });

    describe('with a lease', () => {
      let lease: LeaseGrant = { id: 0n };
      before(async () => {
        lease = await grantLease(ctx.server, 777_001n);
      });

      it('ignoreLease keeps the lease; lease 0 detaches; ignoreValue keeps the lease too', async () => {
        const p = ctx.prefix();
        await ctx.client.kv.put(`${p}k`, 'v1', { lease: lease.id });
        assert.equal((await ctx.client.kv.get(`${p}k`)).kvs[0]!.lease, lease.id);
        await ctx.client.kv.put(`${p}k`, 'v2', { ignoreLease: true });
        let kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
        assert.deepEqual([kv.valueText, kv.lease], ['v2', lease.id]);
        await ctx.client.kv.put(`${p}k`, 'v3');
        kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
        assert.deepEqual([kv.valueText, kv.lease], ['v3', 0n], 'a put without a lease detaches the key');
        await ctx.client.kv.put(`${p}k`, '', { ignoreValue: true, lease: lease.id });
        kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
        assert.deepEqual([kv.valueText, kv.lease], ['v3', lease.id]);
      });

      it('Compare.lease matches the attached lease', async () => {
        const p = ctx.prefix();
        await ctx.client.kv.put(`${p}k`, 'v', { lease: lease.id });
        const cases: Array<[CompareOperator, bigint, boolean]> = [
          ['==', lease.id, true],
          ['!=', lease.id, false],
          ['>', lease.id - 1n, true],
          ['<', lease.id, false],
          ['==', 0n, false],
        ];
        for (const [op, operand, want] of cases) {
          const res = await ctx.client.kv.txn().if(Compare.lease(`${p}k`, op, operand)).commit();
          assert.equal(res.succeeded, want, `lease ${op} ${operand}`);
        }
      });
    });
  });

  describe('delete', () => {
    it('single, absent (no revision bump), range, prefix, from prevKv', async () => {
      const p = ctx.prefix();
      for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) await ctx.client.kv.put(`${p}${k}`, `v${k}`);
      const single = await ctx.client.kv.delete(`${p}a`, { prevKv: true });
      assert.equal(single.deleted, 1n);
      assert.deepEqual(single.prevKvs.map((kv) => [kv.keyText, kv.valueText]), [[`${p}a`, 'va']]);
      const absent = await ctx.client.kv.delete(`${p}a`);
      assert.equal(absent.deleted, 0n);
      assert.equal(absent.header.revision, single.header.revision, 'deleting nothing does not bump the revision');
      const range = await ctx.client.kv.delete(`${p}b`, { rangeEnd: `${p}d`, prevKv: true });
      assert.equal(range.deleted, 2n);
      assert.equal(range.header.revision, single.header.revision + 1n, 'one revision for many keys');
      assert.deepEqual(range.prevKvs.map((kv) => kv.keyText), [`${p}b`, `${p}c`]);
      const noPrev = await ctx.client.kv.delete(`${p}d`);
      assert.equal(noPrev.deleted, 1n);
      assert.deepEqual(noPrev.prevKvs, []);
      const prefix = await ctx.client.kv.delete(p, { prefix: true, prevKv: true });
      assert.equal(prefix.deleted, 2n);
      assert.deepEqual(prefix.prevKvs.map((kv) => [kv.keyText, kv.valueText]), [[`${p}e`, 've'], [`${p}f`, 'vf']]);
      assert.deepEqual((await ctx.client.kv.get(p, { prefix: true })).kvs, []);
    });

    it('a key put again after a delete starts a new incarnation', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, '1');
      await ctx.client.kv.put(`${p}k`, '2');
      await ctx.client.kv.delete(`${p}k`);
      const again = await ctx.client.kv.put(`${p}k`, '3', { prevKv: true });
      assert.equal(again.prevKv, undefined);
      const kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
      assert.deepEqual([kv.version, kv.createRevision, kv.modRevision], [1n, again.header.revision, again.header.revision]);
    });
  });

  describe('txn compares', () => {
    it('every target and result on a present key', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'm');
      await ctx.client.kv.put(`${p}other`, 'x');
      await ctx.client.kv.put(`${p}k`, 'm');
      const kv = (await ctx.client.kv.get(`${p}k`)).kvs[0]!;
      const cmp = (a: bigint | string, op: CompareOperator, b: bigint | string): boolean =>
        op === '==' ? a === b : op === '!=' ? a !== b : op === '>' ? a > b : a < b;
      const ops: CompareOperator[] = ['==', '!=', '>', '<'];
      let checked = 0;
      for (const op of ops) {
        for (const delta of [-1n, 0n, 1n]) {
          const numeric: Array<[string, (operand: bigint) => Compare, bigint]> = [
            ['version', (x) => Compare.version(`${p}k`, op, x), kv.version],
            ['createRevision', (x) => Compare.createRevision(`${p}k`, op, x), kv.createRevision],
            ['modRevision', (x) => Compare.modRevision(`${p}k`, op, x), kv.modRevision],
            ['lease', (x) => Compare.lease(`${p}k`, op, x), kv.lease],
          ];
          for (const [name, make, actual] of numeric) {
            const operand = actual + delta;
            const res = await ctx.client.kv.txn().if(make(operand)).commit();
            assert.equal(res.succeeded, cmp(actual, op, operand), `${name}(${actual}) ${op} ${operand}`);
            checked++;
          }
          const operand = delta === 0n ? 'm' : delta < 0n ? 'l' : 'n';
          const res = await ctx.client.kv.txn().if(Compare.value(`${p}k`, op, operand)).commit();
          assert.equal(res.succeeded, cmp('m', op, operand), `value("m") ${op} "${operand}"`);
          checked++;
        }
      }
      assert.equal(checked, 60);
    });

    it('value compares bytewise', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, bytes([0x80]));
      assert.equal((await ctx.client.kv.txn().if(Compare.value(`${p}k`, '>', bytes([0x7f, 0xff]))).commit()).succeeded, true);
      assert.equal((await ctx.client.kv.txn().if(Compare.value(`${p}k`, '<', bytes([0x80, 0x00]))).commit()).succeeded, true);
      assert.equal((await ctx.client.kv.txn().if(Compare.value(`${p}k`, '>', '')).commit()).succeeded, true);
    });

    it('an absent key compares as zero, but a value compare on it is always false', async () => {
      const p = ctx.prefix();
      const k = `${p}absent`;
      const cases: Array<[string, Compare, boolean]> = [
        ['version == 0', Compare.version(k, '==', 0n), true],
        ['create == 0', Compare.createRevision(k, '==', 0n), true],
        ['mod == 0', Compare.modRevision(k, '==', 0n), true],
        ['lease == 0', Compare.lease(k, '==', 0n), true],
        ['version > 0', Compare.version(k, '>', 0n), false],
        ['version < 1', Compare.version(k, '<', 1n), true],
        ['value == ""', Compare.value(k, '==', ''), false],
        ['value != "x"', Compare.value(k, '!=', 'x'), false],
        ['value > ""', Compare.value(k, '>', ''), false],
        ['value < "x"', Compare.value(k, '<', 'x'), false],
      ];
      for (const [name, compare, want] of cases) {
        assert.equal((await ctx.client.kv.txn().if(compare).commit()).succeeded, want, name);
      }
    });

    it('range compares must hold for every key in the range', async () => {
      const p = ctx.prefix();
      for (const k of ['a', 'b', 'c']) await ctx.client.kv.put(`${p}r/${k}`, 'same');
      const rangeRev = await currentRevision();
      const check = async (compare: Compare, want: boolean, name: string) =>
        assert.equal((await ctx.client.kv.txn().if(compare).commit()).succeeded, want, name);
      await check(Compare.value(`${p}r/`, '==', 'same', { prefix: true }), true, 'all values equal');
      await check(Compare.version(`${p}r/`, '==', 1n, { prefix: true }), true, 'all versions 1');
      await check(Compare.modRevision(`${p}r/`, '<', rangeRev + 1n, { prefix: true }), true, 'all mods below');
      await check(Compare.modRevision(`${p}r/`, '<', rangeRev, { prefix: true }), false, 'one mod not below');
      await check(Compare.value(`${p}r/a`, '==', 'same', { rangeEnd: `${p}r/c` }), true, 'rangeEnd form');
      await ctx.client.kv.put(`${p}r/b`, 'different');
      await check(Compare.value(`${p}r/`, '==', 'same', { prefix: true }), false, 'one value differs');
      await check(Compare.value(`${p}r/`, '!=', 'zzz', { prefix: true }), true, 'all differ from zzz');
      await check(Compare.value(`${p}r/a`, '==', 'same', { rangeEnd: `${p}r/b` }), true, 'sub-range still equal');
      await check(Compare.version(`${p}none/`, '==', 0n, { prefix: true }), true, 'empty range compares as zero');
      await check(Compare.value(`${p}none/`, '==', '', { prefix: true }), false, 'value on an empty range is false');
      await check(Compare.version(`${p}r/`, '>', 0n, { prefix: true }), true, 'from the prefix');
    });

    it('all compares must hold (AND); no compares means success', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'v');
      const yes = Compare.value(`${p}k`, '==', 'v');
      const no = Compare.version(`${p}k`, '>', 5n);
      assert.equal((await ctx.client.kv.txn().if(yes, yes).commit()).succeeded, true);
      assert.equal((await ctx.client.kv.txn().if(yes, no).commit()).succeeded, false);
      assert.equal((await ctx.client.kv.txn().commit()).succeeded, true);
    });
  });

  describe('txn execution', () => {
    it('runs then or else, with one typed response per op', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'v');
      const before = await currentRevision();
      const ok = await ctx.client.kv
        .txn()
        .if(Compare.value(`${p}k`, '==', 'v'))
        .then(Op.put(`${p}t`, '1', { prevKv: true }), Op.get(`${p}k`), Op.delete(`${p}k`, { prevKv: true }))
        .else(Op.put(`${p}e`, '1'))
        .commit();
      assert.equal(ok.succeeded, true);
      assert.equal(ok.header.revision, before + 1n);
      assert.deepEqual(ok.responses.map((r) => r.type), ['put', 'get', 'delete']);
      const [put, get, del] = ok.responses;
      assert.ok(put?.type === 'put' && get?.type === 'get' && del?.type === 'delete');
      assert.equal(put.prevKv, undefined);
      assert.equal(put.header.revision, before + 1n);
      assert.deepEqual(keysOf(get), [`${p}k`]);
      assert.equal(get.count, 1n);
      assert.equal(del.deleted, 1n);
      assert.equal(del.prevKvs[0]?.valueText, 'v');
      const failed = await ctx.client.kv
        .txn()
        .if(Compare.value(`${p}k`, '==', 'v'))
        .then(Op.put(`${p}t`, '2'))
        .else(Op.put(`${p}e`, 'x'), Op.get(`${p}t`))
        .commit();
      assert.equal(failed.succeeded, false);
      assert.deepEqual(failed.responses.map((r) => r.type), ['put', 'get']);
      const got = failed.responses[1];
      assert.ok(got?.type === 'get');
      assert.equal(got.kvs[0]?.valueText, '1');
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${p}e`)), [`${p}e`]);
    });

    it('later ops see earlier ops of the same txn', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}gone`, 'x');
      const res = await ctx.client.kv
        .txn()
        .then(
          Op.put(`${p}k`, 'new'),
          Op.get(`${p}k`),
          Op.delete(`${p}gone`),
          Op.get(`${p}gone`),
          Op.get(p, { prefix: true, countOnly: true }),
        )
        .commit();
      const [, get, , gone, count] = res.responses;
      assert.ok(get?.type === 'get' && gone?.type === 'get' && count?.type === 'get');
      assert.equal(get.kvs[0]?.valueText, 'new');
      assert.equal(get.kvs[0]?.modRevision, res.header.revision);
      assert.equal(get.header.revision, res.header.revision);
      assert.deepEqual(gone.kvs, []);
      assert.equal(count.count, 1n);
    });

    it('nested txn compares see the state before the txn (etcd picks the whole path first)', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'old');
      const before = await currentRevision();
      const res = await ctx.client.kv
        .txn()
        .then(
          Op.put(`${p}k`, 'new'),
          Op.txn(
            [Compare.value(`${p}k`, '==', 'old')],
            [Op.put(`${p}inner`, 'then'), Op.get(`${p}k`)],
            [Op.put(`${p}inner`, 'else')],
          ),
        )
        .commit();
      assert.equal(res.succeeded, true);
      assert.equal(res.header.revision, before + 1n, 'a nested txn shares the outer revision');
      const nested = res.responses[1];
      assert.ok(nested?.type === 'txn');
      assert.equal(nested.succeeded, true, 'the nested compare saw "old", not the earlier put');
      assert.deepEqual(nested.responses.map((r) => r.type), ['put', 'get']);
      const innerGet = nested.responses[1];
      assert.ok(innerGet?.type === 'get');
      assert.equal(innerGet.kvs[0]?.valueText, 'new', 'nested ops still see earlier writes');
      assert.equal((await ctx.client.kv.get(`${p}inner`)).kvs[0]?.valueText, 'then');

      const fresh = await ctx.client.kv
        .txn()
        .then(
          Op.put(`${p}x`, '1'),
          Op.txn([Compare.version(`${p}x`, '>', 0n)], [Op.put(`${p}y`, 'then')], [Op.put(`${p}y`, 'else')]),
        )
        .commit();
      const inner = fresh.responses[1];
      assert.ok(inner?.type === 'txn');
      assert.equal(inner.succeeded, false, 'x did not exist before the txn');
      assert.equal((await ctx.client.kv.get(`${p}y`)).kvs[0]?.valueText, 'else');
    });

    it('a txn of reads or no-op deletes does not bump the revision', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}k`, 'v');
      const before = await currentRevision();
      const res = await ctx.client.kv.txn().then(Op.get(`${p}k`), Op.delete(`${p}absent`), Op.delete(`${p}absent`)).commit();
      assert.equal(res.header.revision, before);
      assert.equal(await currentRevision(), before);
      const many = await ctx.client.kv.txn().then(Op.put(`${p}a`, '1'), Op.put(`${p}b`, '1'), Op.delete(`${p}k`)).commit();
      assert.equal(many.header.revision, before + 1n, 'three writes, one revision');
    });

    it('duplicate key rules (server-spec §16.3)', async () => {
      const p = ctx.prefix();
      const x = `${p}x`;
      const y = `${p}y`;
      await ctx.client.kv.put(x, 'orig');
      const rev = await currentRevision();
      const dup = async (name: string, build: () => Promise<unknown>) => {
        await assert.doesNotReject(async () => rejectsWithEtcd(build(), DuplicateKeyError, 'duplicateKey'), name);
      };
      await dup('put x, put x', () => ctx.client.kv.txn().then(Op.put(x, '1'), Op.put(x, '2')).commit());
      await dup('put x, delete x', () => ctx.client.kv.txn().then(Op.put(x, '1'), Op.delete(x)).commit());
      await dup('delete x, put x', () => ctx.client.kv.txn().then(Op.delete(x), Op.put(x, '1')).commit());
      await dup('put x, delete prefix', () => ctx.client.kv.txn().then(Op.put(x, '1'), Op.delete(p, { prefix: true })).commit());
      await dup('put x in else twice', () => ctx.client.kv.txn().if(Compare.version(x, '<', 0n)).else(Op.put(x, '1'), Op.put(x, '2')).commit());
      await dup('put x, nested put x', () =>
        ctx.client.kv.txn().then(Op.put(x, '1'), Op.txn([], [Op.put(x, '2')], [])).commit(),
      );
      await dup('nested delete x, put x', () =>
        ctx.client.kv.txn().then(Op.txn([], [Op.delete(x)], []), Op.put(x, '2')).commit(),
      );
      await dup('nested put x, nested else put x in a sibling', () =>
        ctx.client.kv.txn().then(Op.txn([], [Op.put(x, '1')], []), Op.txn([], [], [Op.put(x, '2')])).commit(),
      );
      assert.equal(await currentRevision(), rev, 'rejected txns change nothing');

      const delDel = await ctx.client.kv.txn().then(Op.delete(y), Op.delete(y)).commit();
      assert.equal(delDel.succeeded, true);
      assert.equal(delDel.header.revision, rev, 'deleting an absent key twice: no bump');
      const branches = await ctx.client.kv.txn().if(Compare.value(x, '==', 'orig')).then(Op.put(x, 't')).else(Op.put(x, 'e')).commit();
      assert.equal(branches.succeeded, true);
      const nestedBranches = await ctx.client.kv.txn().then(Op.txn([Compare.version(y, '==', 0n)], [Op.put(y, 't')], [Op.put(y, 'e')])).commit();
      assert.equal(nestedBranches.succeeded, true);
      assert.equal((await ctx.client.kv.get(y)).kvs[0]?.valueText, 't');
      const readsOk = await ctx.client.kv.txn().if(Compare.value(x, '==', 't')).then(Op.get(x), Op.get(x), Op.put(x, 'r')).commit();
      assert.equal(readsOk.succeeded, true, 'ranges never clash with writes');
    });

    it('128 ops are allowed; 129 ops or compares fail with TooManyOpsError', async () => {
      const p = ctx.prefix();
      const before = await currentRevision();
      const puts = Array.from({ length: 128 }, (_, i) => Op.put(`${p}${String(i).padStart(3, '0')}`, `${i}`));
      const ok = await ctx.client.kv.txn().then(...puts).commit();
      assert.equal(ok.responses.length, 128);
      assert.equal(ok.header.revision, before + 1n, '128 puts, one revision');
      assert.equal((await ctx.client.kv.get(p, { prefix: true, countOnly: true })).count, 128n);
      const tooMany = [...puts, Op.put(`${p}extra`, 'x')];
      await rejectsWithEtcd(ctx.client.kv.txn().then(...tooMany).commit(), TooManyOpsError, 'tooManyOps');
      await rejectsWithEtcd(ctx.client.kv.txn().else(...tooMany).commit(), TooManyOpsError, 'tooManyOps');
      const compares = Array.from({ length: 129 }, () => Compare.version(`${p}000`, '>', 0n));
      await rejectsWithEtcd(ctx.client.kv.txn().if(...compares).commit(), TooManyOpsError, 'tooManyOps');
      assert.equal(await currentRevision(), before + 1n);
    });

    it('every op is checked before anything is written', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}a`, 'orig');
      const rev = await currentRevision();
      await rejectsWithEtcd(
        ctx.client.kv.txn().then(Op.put(`${p}a`, 'changed'), Op.put(`${p}b`, 'x', { lease: MISSING_LEASE })).commit(),
        LeaseNotFoundError,
        'leaseNotFound',
      );
      await rejectsWithEtcd(
        ctx.client.kv.txn().then(Op.put(`${p}a`, 'changed'), Op.put(`${p}absent`, '', { ignoreValue: true })).commit(),
        KeyNotFoundError,
        'keyNotFound',
      );
      await rejectsWithEtcd(
        ctx.client.kv.txn().then(Op.put(`${p}a`, 'changed'), Op.get(`${p}a`, { revision: rev + 10n })).commit(),
        FutureRevisionError,
        'futureRevision',
      );
      await rejectsWithEtcd(
        ctx.client.kv
          .txn()
          .then(Op.put(`${p}a`, 'changed'), Op.txn([], [Op.put(`${p}c`, 'x', { lease: MISSING_LEASE })], []))
          .commit(),
        LeaseNotFoundError,
        'leaseNotFound',
      );
      assert.equal(await currentRevision(), rev);
      assert.equal((await ctx.client.kv.get(`${p}a`)).kvs[0]?.valueText, 'orig');
      // Only the branch that runs is checked.
      const other = await ctx.client.kv
        .txn()
        .if(Compare.value(`${p}a`, '==', 'orig'))
        .then(Op.put(`${p}a`, 'ok'))
        .else(Op.put(`${p}b`, 'x', { lease: MISSING_LEASE }))
        .commit();
      assert.equal(other.succeeded, true);
    });

    it('put checks run before range checks (etcd 3.4/3.5 order, whatever the op order)', async () => {
      const p = ctx.prefix();
      await ctx.client.kv.put(`${p}a`, 'orig');
      const rev = await currentRevision();
      // The range comes first, yet etcd reports the put's missing lease / missing key.
      await rejectsWithEtcd(
        ctx.client.kv.txn().then(Op.get(`${p}a`, { revision: rev + 10n }), Op.put(`${p}b`, 'x', { lease: MISSING_LEASE })).commit(),
        LeaseNotFoundError,
        'leaseNotFound',
      );
      await rejectsWithEtcd(
        ctx.client.kv
          .txn()
          .then(Op.get(`${p}a`, { revision: rev + 10n }), Op.txn([], [Op.put(`${p}absent`, '', { ignoreValue: true })], []))
          .commit(),
        KeyNotFoundError,
        'keyNotFound',
      );
      assert.equal(await currentRevision(), rev);
    });

    it('a from-key delete does not clash with a put of a key it covers (etcd interval rule)', async () => {
      // etcd's duplicate check sees [key, "\0") as an empty interval: this txn is accepted.
      const p = ctx.prefix();
      const k = `\u00ff${p}k`; // sorts after every other test's keys
      await ctx.client.kv.put(k, 'old');
      await ctx.client.kv.put(`${k}2`, 'old');
      const res = await ctx.client.kv.txn().then(Op.delete(k, { fromKey: true }), Op.put(k, 'new')).commit();
      assert.equal(res.succeeded, true);
      const del = res.responses[0];
      assert.ok(del?.type === 'delete');
      assert.equal(del.deleted, 2n);
      const kv = (await ctx.client.kv.get(k)).kvs[0]!;
      assert.deepEqual([kv.valueText, kv.version, kv.createRevision], ['new', 1n, res.header.revision]);
      assert.deepEqual(keysOf(await ctx.client.kv.get(`${k}2`)), []);
      await ctx.client.kv.delete(k);
    });
  });

  describe('bytes and sizes', () => {
    it('keys are raw bytes ordered bytewise (0x00, 0x7f, 0x80, non-UTF-8, 0xff)', async () => {
      const p = ctx.prefix();
      const keys = [
        bytes(p, [0x00]),
        bytes(p, [0x00, 0x00]),
        bytes(p, [0x01]),
        bytes(p, 'Z'),
        bytes(p, 'a'),
        bytes(p, [0x7f]),
        bytes(p, [0x80]),
        bytes(p, [0xc3, 0x28]),
        bytes(p, [0xe2, 0x82, 0xac]),
        bytes(p, [0xff]),
        bytes(p, [0xff, 0xff]),
      ];
      for (const k of [...keys].reverse()) await ctx.client.kv.put(k, bytes(k, [0xfe]));
      const got = await ctx.client.kv.get(p, { prefix: true });
      assert.deepEqual(got.kvs.map((kv) => hex(kv.key)), keys.map(hex));
      got.kvs.forEach((kv) => assert.equal(hex(kv.value), hex(bytes(kv.key, [0xfe]))));
      const desc = await ctx.client.kv.get(p, { prefix: true, sort: { target: 'key', order: 'descend' } });
      assert.deepEqual(desc.kvs.map((kv) => hex(kv.key)), [...keys].reverse().map(hex));
      const single = await ctx.client.kv.get(bytes(p, [0xc3, 0x28]));
      assert.equal(hex(single.kvs[0]!.value), hex(bytes(p, [0xc3, 0x28, 0xfe])));
      const range = await ctx.client.kv.get(bytes(p, [0x7f]), { rangeEnd: bytes(p, [0xff]) });
      assert.equal(range.kvs.length, 4);
    });

    it('a 1.6 MiB value fails with RequestTooLargeError; 1.4 MiB is accepted', async () => {
      const p = ctx.prefix();
      const rev = await currentRevision();
      const big = new Uint8Array(Math.floor(1.6 * 1024 * 1024)).fill(0x61);
      await rejectsWithEtcd(ctx.client.kv.put(`${p}big`, big), RequestTooLargeError, 'requestTooLarge');
      await rejectsWithEtcd(ctx.client.kv.txn().then(Op.put(`${p}big`, big)).commit(), RequestTooLargeError, 'requestTooLarge');
      assert.equal(await currentRevision(), rev);
      const ok = new Uint8Array(Math.floor(1.4 * 1024 * 1024)).fill(0x62);
      const put = await ctx.client.kv.put(`${p}ok`, ok);
      assert.equal(put.header.revision, rev + 1n);
      const got = await ctx.client.kv.get(`${p}ok`);
      assert.equal(got.kvs[0]!.value.length, ok.length);
      await ctx.client.kv.delete(`${p}ok`);
    });
  });

  describe('fresh store (absolute revisions, whole keyspace)', () => {
    let client: Client;
    before(async () => {
      ({ client } = await ctx.fresh());
    });

    it('golden: revisions start at 1 and every put is one revision (server-spec §16.1-2)', async () => {
      const empty = await client.kv.get('a');
      assert.equal(empty.header.revision, 1n);
      assert.deepEqual(empty.kvs, []);
      assert.equal(empty.count, 0n);
      assert.equal((await client.kv.put('a', '1')).header.revision, 2n);
      const second = await client.kv.put('a', '2', { prevKv: true });
      assert.equal(second.header.revision, 3n);
      assert.deepEqual(plainKv(second.prevKv), { key: 'a', value: '1', createRevision: 2n, modRevision: 2n, version: 1n, lease: 0n });
    });

    it('whole keyspace: getAll, fromKey, limit, descend, filters (server-spec §16.6)', async () => {
      for (const k of ['b', 'c', 'd', 'e']) await client.kv.put(k, k); // revisions 4..7
      const all = await client.kv.getAll();
      assert.deepEqual(keysOf(all), ['a', 'b', 'c', 'd', 'e']);
      assert.equal(all.header.revision, 7n);
      const limited = await client.kv.getAll({ limit: 2 });
      assert.deepEqual(keysOf(limited), ['a', 'b']);
      assert.equal(limited.more, true);
      assert.equal(limited.count, 5n);
      const desc = await client.kv.getAll({ limit: 2, sort: { target: 'key', order: 'descend' } });
      assert.deepEqual(keysOf(desc), ['e', 'd']);
      const filtered = await client.kv.getAll({ minModRevision: 5n, limit: 1 });
      assert.deepEqual(keysOf(filtered), ['c']);
      assert.equal(filtered.count, 5n);
      assert.equal(filtered.more, true);
      assert.deepEqual(keysOf(await client.kv.get('c', { fromKey: true })), ['c', 'd', 'e']);
      assert.deepEqual(keysOf(await client.kv.get('', { fromKey: true })), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(keysOf(await client.kv.get('', { prefix: true })), ['a', 'b', 'c', 'd', 'e']);
      assert.deepEqual(keysOf(await client.kv.get('bb', { fromKey: true, revision: 5n })), ['c']);
      assert.equal((await client.kv.get('x', { fromKey: true })).count, 0n);
    });

    it('golden: txn compares on absent keys (server-spec §16.5)', async () => {
      const cases: Array<[Compare, boolean]> = [
        [Compare.value('absent', '==', ''), false],
        [Compare.version('absent', '==', 0n), true],
        [Compare.createRevision('absent', '==', 0n), true],
        [Compare.modRevision('absent', '==', 0n), true],
      ];
      for (const [compare, want] of cases) assert.equal((await client.kv.txn().if(compare).commit()).succeeded, want);
      assert.equal(await client.kv.get('a').then((r) => r.header.revision), 7n, 'compares do not bump');
    });

    it('golden: compaction (server-spec §16.7) and reads around it', async () => {
      for (const v of ['1', '2', '3']) await client.kv.put('f', v); // revisions 8, 9, 10
      const compacted = await client.kv.compact(5n);
      assert.equal(compacted.header.revision, 10n, 'compaction does not bump the revision');
      await rejectsWithEtcd(client.kv.compact(5n), CompactedError, 'compacted');
      await rejectsWithEtcd(client.kv.compact(4n), CompactedError, 'compacted');
      await rejectsWithEtcd(client.kv.compact(999n), FutureRevisionError, 'futureRevision');
      await rejectsWithEtcd(client.kv.get('a', { revision: 4n }), CompactedError, 'compacted');
      const atC = await client.kv.getAll({ revision: 5n });
      assert.deepEqual(keysOf(atC), ['a', 'b', 'c']);
      assert.equal(atC.header.revision, 10n);
      await client.kv.compact(6n, { physical: true });
      await rejectsWithEtcd(client.kv.get('a', { revision: 5n }), CompactedError, 'compacted');
      await rejectsWithEtcd(
        client.kv.txn().then(Op.get('a', { revision: 5n })).commit(),
        CompactedError,
        'compacted',
      );
      const at6 = await client.kv.get('a', { revision: 6n });
      assert.equal(at6.kvs[0]?.valueText, '2');
      assert.equal((await client.kv.get('f', { revision: 9n })).kvs[0]?.valueText, '2');
      assert.equal((await client.kv.get('a')).header.revision, 10n);
    });

    it('golden: 128 puts in one txn are one revision; 129 are too many (server-spec §16.4)', async () => {
      const puts = Array.from({ length: 128 }, (_, i) => Op.put(`bulk/${i}`, 'v'));
      const res = await client.kv.txn().then(...puts).commit();
      assert.equal(res.header.revision, 11n);
      await rejectsWithEtcd(client.kv.txn().then(...puts, Op.put('bulk/x', 'v')).commit(), TooManyOpsError, 'tooManyOps');
      const cleared = await client.kv.deleteAll();
      assert.equal(cleared.deleted, 5n + 1n + 128n);
      assert.equal(cleared.header.revision, 12n);
      assert.equal((await client.kv.getAll({ countOnly: true })).count, 0n);
    });
  });
});
