/**
 * KV semantics without transport: KvApplier over an MvccStore, with requests shaped exactly
 * as the codec decodes them (every scalar present).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/protocol/codec.js';
import type { Init, MessageName, MessageTypes, RequestOp } from '../../src/protocol/messages.generated.js';
import { KvApplier } from '../../src/server/kv/kv-applier.js';
import { MvccStore } from '../../src/server/mvcc/store.js';
import { EtcdServerError } from '../../src/server/errors.js';
import { Alarms } from '../../src/server/alarms.js';
import { AlarmType } from '../../src/server/wire.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const txt = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString());
const wire = <N extends MessageName>(name: N, init: Init<MessageTypes[N]>): MessageTypes[N] => decode(name, encode(name, init));
const rangeReq = (init: Init<MessageTypes['etcdserverpb.RangeRequest']>) => wire('etcdserverpb.RangeRequest', init);
const putReq = (init: Init<MessageTypes['etcdserverpb.PutRequest']>) => wire('etcdserverpb.PutRequest', init);
const delReq = (init: Init<MessageTypes['etcdserverpb.DeleteRangeRequest']>) => wire('etcdserverpb.DeleteRangeRequest', init);
const txnReq = (init: Init<MessageTypes['etcdserverpb.TxnRequest']>) => wire('etcdserverpb.TxnRequest', init);

const put = (key: string, value = 'v'): Init<RequestOp> => ({ request_put: { key: b(key), value: b(value) } });
const del = (key: string, rangeEnd?: Uint8Array): Init<RequestOp> => ({ request_delete_range: { key: b(key), range_end: rangeEnd } });
const get = (key: string): Init<RequestOp> => ({ request_range: { key: b(key) } });
const nested = (success: Init<RequestOp>[], failure: Init<RequestOp>[] = []): Init<RequestOp> => ({
  request_txn: { success, failure },
});

function setup() {
  const store = new MvccStore();
  const alarms = new Alarms();
  const kv = new KvApplier(store, { alarms });
  return { store, kv, alarms };
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EtcdServerError, `expected an etcd error, got ${String(err)}`);
    return err.errorName;
  }
  assert.fail('expected an error');
}

function fill(kv: KvApplier, keys: string[]) {
  for (const k of keys) kv.put(putReq({ key: b(k), value: b(`${k}-value`) }));
}

const ALL = { key: new Uint8Array([0]), range_end: new Uint8Array([0]) };

test('range: single key, range, prefix, from-key and all keys', () => {
  const { kv } = setup();
  fill(kv, ['a', 'ab', 'abc', 'b', 'c']);
  const keys = (init: Init<MessageTypes['etcdserverpb.RangeRequest']>) => (kv.range(rangeReq(init)).kvs ?? []).map((x) => txt(x.key));
  assert.deepEqual(keys({ key: b('ab') }), ['ab']);
  assert.deepEqual(keys({ key: b('a'), range_end: b('b') }), ['a', 'ab', 'abc']);
  assert.deepEqual(keys({ key: b('ab'), range_end: b('ac') }), ['ab', 'abc']);
  assert.deepEqual(keys({ key: b('b'), range_end: new Uint8Array([0]) }), ['b', 'c']);
  assert.deepEqual(keys(ALL), ['a', 'ab', 'abc', 'b', 'c']);
  assert.deepEqual(keys({ key: b('c'), range_end: b('a') }), []);
});

test('range: count is taken before limit and before the revision filters', () => {
  const { kv } = setup();
  fill(kv, ['a', 'b', 'c', 'd']); // revisions 2..5
  const r = kv.range(rangeReq({ ...ALL, limit: 2n }));
  assert.deepEqual(r.kvs?.map((x) => txt(x.key)), ['a', 'b']);
  assert.equal(r.more, true);
  assert.equal(r.count, 4n);
  const f = kv.range(rangeReq({ ...ALL, min_mod_revision: 4n, limit: 1n }));
  assert.deepEqual(f.kvs?.map((x) => txt(x.key)), ['c']);
  assert.equal(f.more, true);
  assert.equal(f.count, 4n);
  const exact = kv.range(rangeReq({ ...ALL, limit: 4n }));
  assert.equal(exact.more, false);
  const unlimited = kv.range(rangeReq({ ...ALL, limit: -1n }));
  assert.equal(unlimited.kvs?.length, 4);
  assert.equal(unlimited.more, false);
});

test('range: min/max mod/create filters are inclusive bounds', () => {
  const { kv } = setup();
  fill(kv, ['a', 'b', 'c']); // a@2 b@3 c@4
  kv.put(putReq({ key: b('a'), value: b('again') })); // a mod 5, create 2
  const keys = (init: Init<MessageTypes['etcdserverpb.RangeRequest']>) => (kv.range(rangeReq({ ...ALL, ...init })).kvs ?? []).map((x) => txt(x.key));
  assert.deepEqual(keys({ min_mod_revision: 4n }), ['a', 'c']);
  assert.deepEqual(keys({ max_mod_revision: 3n }), ['b']);
  assert.deepEqual(keys({ min_create_revision: 3n }), ['b', 'c']);
  assert.deepEqual(keys({ max_create_revision: 3n }), ['a', 'b']);
  assert.deepEqual(keys({ min_mod_revision: 3n, max_mod_revision: 4n }), ['b', 'c']);
});

test('range: sort orders and targets, including a target with order NONE', () => {
  const { kv } = setup();
  kv.put(putReq({ key: b('a'), value: b('3') }));
  kv.put(putReq({ key: b('b'), value: b('1') }));
  kv.put(putReq({ key: b('c'), value: b('2') }));
  kv.put(putReq({ key: b('a'), value: b('4') })); // a: version 2, mod 5
  const keys = (init: Init<MessageTypes['etcdserverpb.RangeRequest']>) => (kv.range(rangeReq({ ...ALL, ...init })).kvs ?? []).map((x) => txt(x.key));
  assert.deepEqual(keys({ sort_order: 2 }), ['c', 'b', 'a'], 'KEY DESCEND');
  assert.deepEqual(keys({ sort_order: 1 }), ['a', 'b', 'c'], 'KEY ASCEND');
  assert.deepEqual(keys({ sort_order: 1, sort_target: 4 }), ['b', 'c', 'a'], 'VALUE ASCEND');
  assert.deepEqual(keys({ sort_order: 2, sort_target: 3 }), ['a', 'c', 'b'], 'MOD DESCEND');
  assert.deepEqual(keys({ sort_order: 1, sort_target: 2 }), ['a', 'b', 'c'], 'CREATE ASCEND');
  assert.deepEqual(keys({ sort_target: 3 }), ['b', 'c', 'a'], 'MOD with NONE sorts ascending');
  assert.deepEqual(keys({ sort_order: 2, limit: 2n }), ['c', 'b'], 'DESCEND + limit: the last keys, reversed');
  // as etcd: with order NONE the page (limit + 1 keys in key order) is sorted, then cut
  assert.deepEqual(keys({ sort_target: 1, limit: 1n }), ['b']);
  assert.equal(errorOf(() => kv.range(rangeReq({ ...ALL, sort_order: 7 as never }))), 'invalidSortOption');
  assert.equal(errorOf(() => kv.range(rangeReq({ ...ALL, sort_target: 9 as never }))), 'invalidSortOption');
});

test('range: keys_only drops values only; count_only returns the count only', () => {
  const { kv } = setup();
  fill(kv, ['a', 'b']);
  const k = kv.range(rangeReq({ key: b('a'), keys_only: true })).kvs![0]!;
  assert.equal(k.value?.length, 0);
  assert.equal(k.version, 1n);
  assert.equal(k.create_revision, 2n);
  const c = kv.range(rangeReq({ ...ALL, count_only: true, limit: 1n }));
  assert.equal(c.kvs?.length, 0);
  assert.equal(c.count, 2n);
  assert.equal(c.more, false);
});

test('range: revision 0 or negative reads the current state; compacted and future revisions fail', () => {
  const { kv, store } = setup();
  fill(kv, ['a', 'b', 'c']);
  assert.equal(kv.range(rangeReq({ ...ALL, revision: -1n })).count, 3n);
  assert.equal(kv.range(rangeReq({ ...ALL, revision: 2n })).count, 1n);
  assert.equal(kv.range(rangeReq({ ...ALL, revision: 2n })).header?.revision, 4n, 'header has the current revision');
  assert.equal(errorOf(() => kv.range(rangeReq({ ...ALL, revision: 5n }))), 'futureRevision');
  store.compact(3n);
  assert.equal(errorOf(() => kv.range(rangeReq({ ...ALL, revision: 2n }))), 'compacted');
  assert.equal(kv.range(rangeReq({ ...ALL, revision: 3n })).count, 2n);
  assert.equal(errorOf(() => kv.range(rangeReq({ key: new Uint8Array(0) }))), 'keyNotProvided');
});

test('put: prev_kv, ignore_value, ignore_lease and the check order of etcd', () => {
  const { kv, store } = setup();
  const r1 = kv.put(putReq({ key: b('k'), value: b('1'), prev_kv: true }));
  assert.equal(r1.prev_kv, undefined);
  assert.equal(r1.header?.revision, 2n);
  const r2 = kv.put(putReq({ key: b('k'), value: b('2'), prev_kv: true }));
  assert.equal(txt(r2.prev_kv?.value), '1');
  kv.put(putReq({ key: b('k'), ignore_value: true }));
  const cur = store.get(b('k'))!;
  assert.equal(txt(cur.value), '2');
  assert.equal(cur.version, 3n);
  kv.put(putReq({ key: b('k'), value: b('3'), ignore_lease: true }));
  assert.equal(txt(store.get(b('k'))!.value), '3');
  kv.put(putReq({ key: b('e'), value: new Uint8Array(0) }));
  assert.equal(store.get(b('e'))!.value.length, 0, 'an empty value is legal');

  assert.equal(errorOf(() => kv.put(putReq({ key: new Uint8Array(0), value: b('x') }))), 'keyNotProvided');
  assert.equal(errorOf(() => kv.put(putReq({ key: b('k'), value: b('x'), ignore_value: true }))), 'valueProvided');
  assert.equal(errorOf(() => kv.put(putReq({ key: b('k'), lease: 5n, ignore_lease: true }))), 'leaseProvided');
  assert.equal(errorOf(() => kv.put(putReq({ key: b('absent'), lease: 5n, ignore_value: true }))), 'leaseNotFound');
  assert.equal(errorOf(() => kv.put(putReq({ key: b('absent'), ignore_value: true }))), 'keyNotFound');
  assert.equal(errorOf(() => kv.put(putReq({ key: b('absent'), ignore_lease: true }))), 'keyNotFound');
  assert.equal(store.revision, 6n, 'failed puts write nothing');
});

test('delete: single, range, prefix; prev_kvs in key order; no bump when nothing is deleted', () => {
  const { kv, store } = setup();
  fill(kv, ['a', 'b1', 'b2', 'b3', 'c']);
  const r = kv.deleteRange(delReq({ key: b('b'), range_end: b('c'), prev_kv: true }));
  assert.equal(r.deleted, 3n);
  assert.deepEqual(r.prev_kvs?.map((x) => txt(x.key)), ['b1', 'b2', 'b3']);
  assert.equal(r.header?.revision, 7n);
  const none = kv.deleteRange(delReq({ key: b('zzz') }));
  assert.equal(none.deleted, 0n);
  assert.equal(none.header?.revision, 7n);
  assert.equal(store.revision, 7n);
  const one = kv.deleteRange(delReq({ key: b('a') }));
  assert.equal(one.deleted, 1n);
  assert.equal(one.prev_kvs, undefined);
  const rest = kv.deleteRange(delReq({ ...ALL }));
  assert.equal(rest.deleted, 1n);
  assert.equal(store.revision, 9n);
  assert.equal(errorOf(() => kv.deleteRange(delReq({ key: new Uint8Array(0) }))), 'keyNotProvided');
});

test('txn: duplicate-key rule (golden observations and nesting)', () => {
  const { kv, store } = setup();
  const dup = (success: Init<RequestOp>[], failure: Init<RequestOp>[] = []) => {
    try {
      kv.txn(txnReq({ success, failure }));
      return 'ok';
    } catch (err) {
      return (err as EtcdServerError).errorName;
    }
  };
  assert.equal(dup([put('x'), put('x')]), 'duplicateKey');
  assert.equal(dup([put('x'), del('x')]), 'duplicateKey');
  assert.equal(dup([del('x'), put('x')]), 'duplicateKey');
  assert.equal(dup([del('a', b('z')), put('m')]), 'duplicateKey', 'a put inside a deleted range');
  assert.equal(dup([del('x'), del('x')]), 'ok');
  assert.equal(dup([put('x')], [put('x')]), 'ok', 'success and failure are checked separately');
  assert.equal(dup([put('x'), nested([put('x')])]), 'duplicateKey');
  assert.equal(dup([nested([put('y')], [put('y')])]), 'ok', 'a nested txn may put a key in both branches');
  assert.equal(dup([nested([put('y')]), nested([put('y')])]), 'duplicateKey');
  assert.equal(dup([del('y'), nested([put('y')])]), 'duplicateKey');
  assert.equal(dup([nested([del('y')]), nested([put('y')])]), 'duplicateKey', 'an earlier nested delete clashes');
  assert.equal(dup([nested([put('w')]), nested([del('w')])]), 'ok', 'a later nested delete does not (etcd)');
  assert.equal(dup([put('q'), get('q'), get('q')]), 'ok', 'ranges never clash');
  assert.equal(dup([del('f', new Uint8Array([0])), put('g')]), 'ok', 'from-key deletes never clash (etcd)');
  assert.equal(dup([nested([put('p')], [put('q')]), put('q')]), 'duplicateKey');
  const rev = store.revision;
  assert.ok(rev > 1n);
});

test('txn: too many operations, with the nested budget', () => {
  const { kv, store } = setup();
  const puts = (n: number) => Array.from({ length: n }, (_, i) => put(`k${String(i).padStart(3, '0')}`));
  const r = kv.txn(txnReq({ success: puts(128) }));
  assert.equal(r.responses?.length, 128);
  assert.equal(store.revision, 2n, '128 puts make one revision');
  assert.equal(store.recordsFrom(2n)[0]!.events.length, 128);
  assert.equal(errorOf(() => kv.txn(txnReq({ success: puts(129) }))), 'tooManyOps');
  assert.equal(errorOf(() => kv.txn(txnReq({ failure: puts(129) }))), 'tooManyOps');
  const compares = Array.from({ length: 129 }, () => ({ key: b('a') }));
  assert.equal(errorOf(() => kv.txn(txnReq({ compare: compares }))), 'tooManyOps');
  // top level uses 100, so a nested txn may hold at most 28
  const top = puts(99);
  assert.equal(errorOf(() => kv.txn(txnReq({ success: [...top, { request_txn: { success: puts(29).map((p, i) => put(`n${i}`)) } }] }))), 'tooManyOps');
  kv.txn(txnReq({ success: [...top, { request_txn: { success: puts(28).map((p, i) => put(`n${i}`)) } }] }));
  assert.equal(store.revision, 3n);
});

test('txn: shape errors (empty keys, empty ops) come before anything else', () => {
  const { kv } = setup();
  assert.equal(errorOf(() => kv.txn(txnReq({ compare: [{ key: new Uint8Array(0) }] }))), 'keyNotProvided');
  assert.equal(errorOf(() => kv.txn(txnReq({ success: [{ request_range: { key: new Uint8Array(0) } }] }))), 'keyNotProvided');
  assert.equal(errorOf(() => kv.txn(txnReq({ failure: [{ request_put: { key: new Uint8Array(0) } }] }))), 'keyNotProvided');
  assert.equal(errorOf(() => kv.txn(txnReq({ success: [{}] }))), 'keyNotFound', 'an empty RequestOp');
  assert.equal(errorOf(() => kv.txn(txnReq({ success: [nested([{}])] }))), 'keyNotFound');
  assert.equal(errorOf(() => kv.txn(txnReq({ success: [{ request_put: { key: b('x'), value: b('v'), ignore_value: true } }] }))), 'valueProvided');
});

test('txn: compares, including absent keys and ranges', () => {
  const { kv } = setup();
  fill(kv, ['a', 'b']); // a@2 b@3
  const holds = (c: Init<MessageTypes['etcdserverpb.Compare']>) => kv.txn(txnReq({ compare: [c] })).succeeded;
  // absent key: VALUE never holds, VERSION/CREATE/MOD == 0 do
  assert.equal(holds({ key: b('zz'), target: 3, result: 0, value: new Uint8Array(0) }), false);
  assert.equal(holds({ key: b('zz'), target: 3, result: 3, value: b('x') }), false);
  assert.equal(holds({ key: b('zz'), target: 0, result: 0, version: 0n }), true);
  assert.equal(holds({ key: b('zz'), target: 1, result: 0, create_revision: 0n }), true);
  assert.equal(holds({ key: b('zz'), target: 2, result: 0, mod_revision: 0n }), true);
  assert.equal(holds({ key: b('zz'), target: 4, result: 0, lease: 0n }), true);
  // present key, every target and result
  assert.equal(holds({ key: b('a'), target: 3, result: 0, value: b('a-value') }), true);
  assert.equal(holds({ key: b('a'), target: 3, result: 1, value: b('a-valud') }), true);
  assert.equal(holds({ key: b('a'), target: 3, result: 2, value: b('a-valuf') }), true);
  assert.equal(holds({ key: b('a'), target: 3, result: 3, value: b('other') }), true);
  assert.equal(holds({ key: b('a'), target: 0, result: 0, version: 1n }), true);
  assert.equal(holds({ key: b('a'), target: 1, result: 2, create_revision: 3n }), true);
  assert.equal(holds({ key: b('a'), target: 2, result: 1, mod_revision: 1n }), true);
  assert.equal(holds({ key: b('a'), target: 2, result: 3, mod_revision: 2n }), false);
  assert.equal(holds({ key: b('a'), target: 0, result: 1 }), true, 'an unset operand is 0');
  // ranges: every key must hold
  assert.equal(holds({ key: b('a'), range_end: b('c'), target: 0, result: 0, version: 1n }), true);
  assert.equal(holds({ key: b('a'), range_end: b('c'), target: 2, result: 2, mod_revision: 3n }), false);
  assert.equal(holds({ key: b('x'), range_end: b('z'), target: 1, result: 0, create_revision: 0n }), true, 'empty range = zero kv');
  assert.equal(holds({ key: b('x'), range_end: b('z'), target: 3, result: 0, value: new Uint8Array(0) }), false);
  // all compares must hold; none is true
  assert.equal(kv.txn(txnReq({})).succeeded, true);
  const two = kv.txn(txnReq({ compare: [{ key: b('a'), target: 0, version: 1n }, { key: b('b'), target: 0, version: 2n }] }));
  assert.equal(two.succeeded, false);
});

test('txn: ops see earlier writes; one revision; inner headers carry only revisions', () => {
  const { kv, store } = setup();
  fill(kv, ['gone']); // rev 2
  const r = kv.txn(
    txnReq({
      success: [put('x', '1'), get('x'), del('gone'), del('nothing'), nested([put('y', '2'), get('y')]), get('gone')],
    }),
  );
  assert.equal(r.header?.revision, 3n);
  assert.equal(store.revision, 3n);
  const resp = r.responses!;
  assert.equal(txt(resp[1]!.response_range?.kvs?.[0]?.value), '1');
  assert.equal(resp[1]!.response_range?.header?.revision, 3n);
  assert.equal(resp[2]!.response_delete_range?.deleted, 1n);
  assert.equal(resp[3]!.response_delete_range?.deleted, 0n);
  assert.deepEqual(resp[4]!.response_txn?.header, {}, 'a nested response has an empty header');
  assert.equal(txt(resp[4]!.response_txn?.responses?.[1]?.response_range?.kvs?.[0]?.value), '2');
  assert.equal(resp[5]!.response_range?.count, 0n);
  assert.equal(resp[0]!.response_put?.header?.revision, 3n);
});

test('txn: a txn that changes nothing keeps the revision', () => {
  const { kv, store } = setup();
  fill(kv, ['a']);
  const r = kv.txn(txnReq({ success: [del('missing'), del('missing')] }));
  assert.equal(r.header?.revision, 2n);
  assert.equal(r.responses?.[0]?.response_delete_range?.header?.revision, 2n);
  const ro = kv.txn(txnReq({ success: [get('a')] }));
  assert.equal(ro.header?.revision, 2n);
  assert.equal(store.revision, 2n);
});

test('txn: nested compares see the state before the txn (as etcd)', () => {
  const { kv, store } = setup();
  const r = kv.txn(
    txnReq({
      success: [
        put('x', '1'),
        { request_txn: { compare: [{ key: b('x'), target: 3, value: b('1') }], success: [put('y', 'yes')], failure: [put('y', 'no')] } },
      ],
    }),
  );
  assert.equal(r.responses?.[1]?.response_txn?.succeeded, false);
  assert.equal(txt(store.get(b('y'))?.value), 'no');
});

test('txn: every check on the chosen path happens before anything is written', () => {
  const { kv, store } = setup();
  fill(kv, ['a', 'b', 'c']); // rev 4
  const before = store.revision;
  const attempt = (ops: Init<RequestOp>[], failure: Init<RequestOp>[] = []) => errorOf(() => kv.txn(txnReq({ success: ops, failure })));
  assert.equal(attempt([put('n1'), { request_range: { key: b('a'), revision: 99n } }]), 'futureRevision');
  assert.equal(attempt([put('n1'), { request_put: { key: b('n2'), value: b('v'), lease: 42n } }]), 'leaseNotFound');
  assert.equal(attempt([put('n1'), { request_put: { key: b('absent'), ignore_value: true } }]), 'keyNotFound');
  assert.equal(attempt([put('n1'), nested([{ request_put: { key: b('absent'), ignore_lease: true } }])]), 'keyNotFound');
  // etcd 3.4/3.5 order: put checks on the whole path run before range checks
  assert.equal(
    attempt([{ request_range: { key: b('a'), revision: 99n } }, nested([{ request_put: { key: b('n2'), lease: 42n } }])]),
    'leaseNotFound',
  );
  // the etcd 3.4 panic shape: ignore_value on a key deleted earlier in the same txn
  assert.equal(attempt([del('a', new Uint8Array([0])), { request_put: { key: b('b'), ignore_value: true } }]), 'keyNotFound');
  assert.equal(store.revision, before);
  assert.deepEqual(
    kv.range(rangeReq(ALL)).kvs?.map((x) => txt(x.key)),
    ['a', 'b', 'c'],
  );
  // the path not taken is not checked
  kv.txn(txnReq({ success: [put('ok')], failure: [{ request_range: { key: b('a'), revision: 99n } }] }));
  assert.equal(store.revision, before + 1n);
  store.compact(3n);
  assert.equal(attempt([{ request_range: { key: b('a'), revision: 2n } }]), 'compacted');
  assert.equal(attempt([{ request_range: { key: b('a'), revision: -5n } }]), 'compacted', 'as etcd: negative is below the compacted revision');
});

test('compact: errors, and the header revision', () => {
  const { kv, store } = setup();
  fill(kv, ['a', 'b', 'c', 'd', 'e', 'f']); // rev 7
  const r = kv.compact(wire('etcdserverpb.CompactionRequest', { revision: 5n, physical: true }));
  assert.equal(r.header?.revision, 7n);
  assert.equal(store.revision, 7n);
  assert.equal(errorOf(() => kv.compact(wire('etcdserverpb.CompactionRequest', { revision: 5n }))), 'compacted');
  assert.equal(errorOf(() => kv.compact(wire('etcdserverpb.CompactionRequest', { revision: 4n }))), 'compacted');
  assert.equal(errorOf(() => kv.compact(wire('etcdserverpb.CompactionRequest', { revision: 999n }))), 'futureRevision');
});

test('alarms: NOSPACE stops puts but not deletes or reads; CORRUPT stops everything', () => {
  const { kv, alarms } = setup();
  fill(kv, ['a']);
  alarms.activate(1n, AlarmType.NOSPACE);
  assert.equal(errorOf(() => kv.put(putReq({ key: b('b'), value: b('v') }))), 'noSpace');
  assert.equal(errorOf(() => kv.txn(txnReq({ failure: [put('b')] }))), 'noSpace');
  kv.txn(txnReq({ success: [get('a')] }));
  assert.equal(kv.deleteRange(delReq({ key: b('a') })).deleted, 1n);
  alarms.deactivate(1n, AlarmType.NOSPACE);
  kv.put(putReq({ key: b('b'), value: b('v') }));
  alarms.activate(1n, AlarmType.CORRUPT);
  assert.equal(errorOf(() => kv.range(rangeReq({ key: b('b') }))), 'corrupt');
  assert.equal(errorOf(() => kv.deleteRange(delReq({ key: b('b') }))), 'corrupt');
});
