import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MvccStore } from '../../src/server/mvcc/store.js';
import { keySpan, keyString } from '../../src/server/mvcc/key-span.js';
import type { RevisionRecord } from '../../src/server/mvcc/event-log.js';
import type { LeaseMove } from '../../src/server/mvcc/lease-hook.js';
import { EtcdServerError } from '../../src/server/errors.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const txt = (u: Uint8Array | undefined): string | undefined => (u === undefined ? undefined : Buffer.from(u).toString());
const single = (k: string) => keySpan(b(k), new Uint8Array(0));
const prefix = (p: string) => keySpan(b(p), b(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1)));
const all = keySpan(new Uint8Array([0]), new Uint8Array([0]));

function put(store: MvccStore, key: string, value: string, lease = 0n) {
  store.write((t) => t.put(b(key), b(value), lease));
}
function del(store: MvccStore, key: string) {
  return store.write((t) => t.deleteRange(single(key)));
}
function read(store: MvccStore, key: string, rev = 0n) {
  return store.read().rangeKeys(single(key), rev).kvs[0];
}
function keysAt(store: MvccStore, rev = 0n): string[] {
  return store.read().rangeKeys(all, rev).kvs.map((kv) => txt(kv.key)!);
}
function errorName(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof EtcdServerError, `expected an EtcdServerError, got ${String(err)}`);
    return err.errorName;
  }
  assert.fail('expected an error');
}

test('an empty store is at revision 1 and a read sees nothing', () => {
  const store = new MvccStore();
  assert.equal(store.revision, 1n);
  const r = store.read().rangeKeys(all, 0n);
  assert.deepEqual(r.kvs, []);
  assert.equal(r.count, 0);
  assert.equal(r.rev, 1n);
});

test('each committing write makes one revision, however many keys it touches', () => {
  const store = new MvccStore();
  put(store, 'a', '1');
  assert.equal(store.revision, 2n);
  store.write((t) => {
    t.put(b('b'), b('1'), 0n);
    t.put(b('c'), b('1'), 0n);
    t.put(b('d'), b('1'), 0n);
  });
  assert.equal(store.revision, 3n);
  assert.equal(store.write((t) => t.deleteRange(prefix('b'))).length, 1);
  assert.equal(store.revision, 4n);
  const n = store.write((t) => t.deleteRange(keySpan(b('a'), b('z')))).length;
  assert.equal(n, 3);
  assert.equal(store.revision, 5n);
});

test('writes that change nothing do not bump the revision', () => {
  const store = new MvccStore();
  put(store, 'a', '1');
  assert.equal(del(store, 'missing').length, 0);
  store.write(() => undefined);
  assert.equal(store.revision, 2n);
});

test('create_revision, mod_revision and version follow puts; an identical value is still a write', () => {
  const store = new MvccStore();
  put(store, 'k', 'v');
  put(store, 'k', 'v');
  put(store, 'k', 'w');
  const kv = read(store, 'k')!;
  assert.equal(kv.create_revision, 2n);
  assert.equal(kv.mod_revision, 4n);
  assert.equal(kv.version, 3n);
  assert.equal(txt(kv.value), 'w');
});

test('a delete writes a tombstone; a later put starts a new incarnation at version 1', () => {
  const store = new MvccStore();
  put(store, 'k', '1'); // 2
  put(store, 'k', '2'); // 3
  del(store, 'k'); // 4
  assert.equal(read(store, 'k'), undefined);
  put(store, 'k', '3'); // 5
  const kv = read(store, 'k')!;
  assert.equal(kv.create_revision, 5n);
  assert.equal(kv.version, 1n);
  const records = store.recordsFrom(4n);
  assert.equal(records[0]!.revision, 4n);
  const ev = records[0]!.events[0]!;
  assert.equal(ev.type, 'delete');
  assert.deepEqual(
    { key: txt(ev.kv.key), mod: ev.kv.mod_revision, create: ev.kv.create_revision, version: ev.kv.version, value: ev.kv.value.length },
    { key: 'k', mod: 4n, create: 0n, version: 0n, value: 0 },
  );
  assert.equal(txt(ev.prevKv?.value), '2');
});

test('reads at past revisions see the state of that revision', () => {
  const store = new MvccStore();
  put(store, 'a', '1'); // 2
  put(store, 'b', '1'); // 3
  put(store, 'a', '2'); // 4
  del(store, 'b'); // 5
  put(store, 'c', '1'); // 6
  assert.deepEqual(keysAt(store, 1n), []);
  assert.deepEqual(keysAt(store, 2n), ['a']);
  assert.deepEqual(keysAt(store, 3n), ['a', 'b']);
  assert.equal(txt(read(store, 'a', 3n)!.value), '1');
  assert.equal(txt(read(store, 'a', 4n)!.value), '2');
  assert.deepEqual(keysAt(store, 5n), ['a']);
  assert.deepEqual(keysAt(store, 6n), ['a', 'c']);
  assert.deepEqual(keysAt(store, -3n), ['a', 'c'], 'a negative revision reads the current state');
  assert.equal(store.read().rangeKeys(all, 3n).rev, 6n, 'the result revision is the current one');
  assert.equal(errorName(() => store.read().rangeKeys(all, 7n)), 'futureRevision');
});

test('keys order as unsigned bytes, not as JS strings', () => {
  const store = new MvccStore();
  const keys = [[0xff], [0x7f], [0xc3, 0xa9], [0x01], [0x61, 0x00], [0x61]];
  store.write((t) => {
    for (const k of keys) t.put(new Uint8Array(k), b('x'), 0n);
  });
  const got = store.read().rangeKeys(all, 0n).kvs.map((kv) => [...kv.key]);
  assert.deepEqual(got, [[0x01], [0x61], [0x61, 0x00], [0x7f], [0xc3, 0xa9], [0xff]]);
  // from-key range (range_end "\0") and a range ending at 0xff
  const from = store.read().rangeKeys(keySpan(new Uint8Array([0x7f]), new Uint8Array([0])), 0n).kvs.map((kv) => [...kv.key]);
  assert.deepEqual(from, [[0x7f], [0xc3, 0xa9], [0xff]]);
  const upTo = store.read().rangeKeys(keySpan(new Uint8Array([0x61]), new Uint8Array([0xff])), 0n).count;
  assert.equal(upTo, 4);
});

test('range_end <= key is an empty range', () => {
  const store = new MvccStore();
  put(store, 'a', '1');
  put(store, 'b', '1');
  assert.equal(store.read().rangeKeys(keySpan(b('b'), b('a')), 0n).count, 0);
  assert.equal(store.read().rangeKeys(keySpan(b('b'), b('b')), 0n).count, 0);
});

test('limit collects a page while count covers the whole range', () => {
  const store = new MvccStore();
  store.write((t) => {
    for (let i = 0; i < 10; i++) t.put(b(`k${i}`), b('v'), 0n);
  });
  const r = store.read().rangeKeys(all, 0n, { limit: 3 });
  assert.equal(r.kvs.length, 3);
  assert.equal(r.count, 10);
  const c = store.read().rangeKeys(all, 0n, { countOnly: true });
  assert.equal(c.kvs.length, 0);
  assert.equal(c.count, 10);
});

test('a write transaction sees its own writes; reading at the begin revision does not', () => {
  const store = new MvccStore();
  put(store, 'a', '1'); // 2
  store.write((t) => {
    t.put(b('a'), b('2'), 0n);
    assert.equal(t.rev, 3n);
    assert.equal(txt(t.rangeKeys(single('a'), 0n).kvs[0]!.value), '2');
    assert.equal(txt(t.rangeKeys(single('a'), 2n).kvs[0]!.value), '1');
    const deleted = t.deleteRange(single('a'));
    assert.equal(deleted.length, 1);
    assert.equal(t.rangeKeys(single('a'), 0n).count, 0);
  });
  assert.equal(store.revision, 3n);
  // put then delete of one key in one revision: both events, in order
  const ev = store.recordsFrom(3n)[0]!.events;
  assert.deepEqual(
    ev.map((e) => e.type),
    ['put', 'delete'],
  );
  assert.equal(txt(ev[1]!.prevKv?.value), '1', 'prevKv is the state before the revision');
  assert.equal(read(store, 'a'), undefined);
});

test('a throwing write transaction changes nothing', () => {
  const store = new MvccStore();
  put(store, 'a', '1');
  const records: RevisionRecord[] = [];
  store.onCommit((r) => records.push(r));
  assert.throws(
    () =>
      store.write((t) => {
        t.put(b('a'), b('2'), 0n);
        t.put(b('new'), b('x'), 0n);
        t.deleteRange(all);
        throw new Error('boom');
      }),
    /boom/,
  );
  assert.equal(store.revision, 2n);
  assert.deepEqual(keysAt(store), ['a']);
  assert.equal(read(store, 'a')!.version, 1n);
  assert.equal(store.indexedKeys, 1, 'no history left for the rolled-back key');
  assert.equal(records.length, 0);
  put(store, 'a', '3');
  assert.equal(read(store, 'a')!.version, 2n);
});

test('commit listeners get each revision with its events in sub-revision order', () => {
  const store = new MvccStore();
  const seen: RevisionRecord[] = [];
  const off = store.onCommit((r) => seen.push(r));
  store.onCommit(() => {
    throw new Error('a broken listener does not break commits');
  });
  put(store, 'x', '1');
  store.write((t) => {
    t.put(b('z'), b('1'), 0n);
    t.put(b('y'), b('1'), 0n);
    t.deleteRange(single('x'));
  });
  off();
  put(store, 'w', '1');
  assert.deepEqual(
    seen.map((r) => [r.revision, r.events.map((e) => `${e.type}:${txt(e.kv.key)}`)]),
    [
      [2n, ['put:x']],
      [3n, ['put:z', 'put:y', 'delete:x']],
    ],
  );
  assert.equal(seen[1]!.events[0]!.prevKv, undefined, 'a create has no prevKv');
  assert.deepEqual(
    store.recordsFrom(3n, 1).map((r) => r.revision),
    [3n],
  );
  assert.deepEqual(
    store.recordsFrom(0n).map((r) => r.revision),
    [2n, 3n, 4n],
  );
});

test('compaction: reads below C fail, at C succeed; compacting again at or below C fails', () => {
  const store = new MvccStore();
  for (let i = 0; i < 6; i++) put(store, 'k', String(i)); // revisions 2..7
  store.compact(5n);
  assert.equal(store.compactRevision, 5n);
  assert.equal(store.revision, 7n, 'compaction does not bump the revision');
  assert.equal(errorName(() => store.read().rangeKeys(all, 4n)), 'compacted');
  assert.equal(txt(read(store, 'k', 5n)!.value), '3');
  assert.equal(txt(read(store, 'k', 6n)!.value), '4');
  assert.equal(errorName(() => store.compact(5n)), 'compacted');
  assert.equal(errorName(() => store.compact(4n)), 'compacted');
  assert.equal(errorName(() => store.compact(8n)), 'futureRevision');
  store.compact(7n);
  assert.equal(errorName(() => store.read().rangeKeys(all, 6n)), 'compacted');
});

test('compaction keeps each key newest version <= C, unless it is a tombstone', () => {
  const store = new MvccStore();
  put(store, 'a', '1'); // 2
  put(store, 'b', '1'); // 3
  put(store, 'a', '2'); // 4
  del(store, 'b'); // 5
  put(store, 'c', '1'); // 6
  del(store, 'c'); // 7
  put(store, 'd', '1'); // 8
  store.compact(5n);
  // b's tombstone at exactly 5 and all its history are gone
  assert.equal(store.indexedKeys, 3, 'a, c, d keep history; b is forgotten');
  assert.deepEqual(keysAt(store, 5n), ['a']);
  assert.deepEqual(keysAt(store, 6n), ['a', 'c']);
  const log = store.recordsFrom(0n);
  assert.equal(log[0]!.revision, 6n, 'the record at 5 held only the dropped tombstone');
  store.compact(7n);
  assert.equal(store.indexedKeys, 2);
  assert.deepEqual(
    store.recordsFrom(0n).map((r) => r.revision),
    [8n],
  );
});

test('compaction at C keeps the PUT events at C for watchers starting at C', () => {
  const store = new MvccStore();
  put(store, 'x', '1'); // 2
  store.write((t) => {
    t.put(b('a'), b('1'), 0n);
    t.deleteRange(single('x'));
  }); // 3
  store.compact(3n);
  const first = store.recordsFrom(3n)[0]!;
  assert.equal(first.revision, 3n);
  assert.deepEqual(
    first.events.map((e) => `${e.type}:${txt(e.kv.key)}`),
    ['put:a'],
  );
});

test('compact(0) on a fresh store is allowed once, as in etcd', () => {
  const store = new MvccStore();
  assert.equal(store.compactRevision, -1n);
  store.compact(0n);
  assert.equal(store.compactRevision, 0n);
  assert.equal(errorName(() => store.compact(0n)), 'compacted');
  store.compact(1n);
});

test('hashKV is a function of the stored state, with etcd errors', () => {
  const s1 = new MvccStore();
  const s2 = new MvccStore();
  for (const s of [s1, s2]) {
    put(s, 'a', '1');
    put(s, 'b', '2');
  }
  assert.equal(s1.hashKV().hash, s2.hashKV().hash);
  const at2 = s1.hashKV(2n);
  put(s1, 'a', '3');
  assert.notEqual(s1.hashKV().hash, s2.hashKV().hash);
  assert.equal(s1.hashKV(2n).hash, at2.hash, 'hashing a past revision ignores later changes');
  assert.equal(s1.hashKV(3n).revision, 3n);
  assert.equal(errorName(() => s1.hashKV(9n)), 'futureRevision');
  s1.compact(3n);
  assert.equal(errorName(() => s1.hashKV(3n)), 'compacted');
  assert.equal(s1.hashKV(4n).compactRevision, 3n);
});

test('lease moves are reported after commit, and only then', () => {
  const store = new MvccStore();
  const moves: LeaseMove[][] = [];
  store.setLeaseAttachments({ has: (id) => id === 7n || id === 8n, apply: (m) => moves.push([...m]) });
  put(store, 'a', '1', 7n); // attach
  put(store, 'a', '2', 7n); // same lease: no move
  put(store, 'a', '3', 8n); // move
  put(store, 'a', '4'); // detach
  put(store, 'a', '5', 7n);
  del(store, 'a'); // detach by delete
  assert.throws(() =>
    store.write((t) => {
      t.put(b('b'), b('1'), 8n);
      throw new Error('rolled back');
    }),
  );
  const fmt = moves.map((m) => m.map((x) => `${keyString(x.key)}:${x.from}->${x.to}`).join(','));
  assert.deepEqual(fmt, ['a:0->7', 'a:7->8', 'a:8->0', 'a:0->7', 'a:7->0']);
});
