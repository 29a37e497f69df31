/**
 * The KV service over gRPC (raw protocol layer, no etcdkit client): headers, exact error
 * codes and messages, and the golden observations of server-spec §16 items 1-7 and 15.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { etcdErrors, GrpcCode, type EtcdErrorName } from '../../src/protocol/error-table.js';
import { startServer, type EtcdServer } from '../../src/server/index.js';
import { RpcClient, b, s, type RpcError } from './rpc-client.js';

let server: EtcdServer;
let rpc: RpcClient;

before(async () => {
  server = await startServer();
  rpc = new RpcClient(server.endpoint);
});

after(async () => {
  rpc.close();
  await server.close();
});

/** Every test works under its own prefix on the shared server. */
let n = 0;
const scope = () => `t${++n}/`;
const prefixEnd = (p: string) => b(p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1));

function assertEtcdError(err: RpcError, name: EtcdErrorName) {
  assert.deepEqual(err, { code: etcdErrors[name].code, details: etcdErrors[name].message });
}

async function revision(): Promise<bigint> {
  return (await rpc.call('KV', 'Range', { key: b('any') })).header!.revision;
}

test('§16.1 a fresh server: revision 1, no kvs, no count; Status leader is the member id', async () => {
  const fresh = await startServer();
  const c = new RpcClient(fresh.endpoint);
  try {
    const r = await c.call('KV', 'Range', { key: new Uint8Array([0]), range_end: new Uint8Array([0]) });
    assert.equal(r.header!.revision, 1n);
    assert.deepEqual(r.kvs, []);
    assert.equal(r.count, 0n);
    const st = await c.call('Maintenance', 'Status', {});
    assert.equal(st.leader, r.header!.member_id);
    assert.equal(st.leader, fresh.memberId);
    assert.notEqual(r.header!.cluster_id, 0n);
    assert.notEqual(r.header!.raft_term, 0n);
  } finally {
    c.close();
    await fresh.close();
  }
});

test('§16.2 put a=1 then a=2 with prev_kv', async () => {
  const fresh = await startServer();
  const c = new RpcClient(fresh.endpoint);
  try {
    const p1 = await c.call('KV', 'Put', { key: b('a'), value: b('1') });
    assert.equal(p1.header!.revision, 2n);
    assert.equal(p1.prev_kv, undefined);
    const p2 = await c.call('KV', 'Put', { key: b('a'), value: b('2'), prev_kv: true });
    assert.equal(p2.header!.revision, 3n);
    const prev = p2.prev_kv!;
    assert.deepEqual(
      { create: prev.create_revision, mod: prev.mod_revision, version: prev.version, value: s(prev.value) },
      { create: 2n, mod: 2n, version: 1n, value: '1' },
    );
  } finally {
    c.close();
    await fresh.close();
  }
});

test('headers: stable ids and term on every KV response; the revision rules of §1.4', async () => {
  const p = scope();
  const put = await rpc.call('KV', 'Put', { key: b(`${p}k`), value: b('v') });
  const get = await rpc.call('KV', 'Range', { key: b(`${p}k`) });
  const del = await rpc.call('KV', 'DeleteRange', { key: b(`${p}none`) });
  const txn = await rpc.call('KV', 'Txn', {});
  for (const h of [put.header!, get.header!, del.header!, txn.header!]) {
    assert.equal(h.cluster_id, server.clusterId);
    assert.equal(h.member_id, server.memberId);
    assert.equal(h.raft_term, put.header!.raft_term);
    assert.notEqual(h.raft_term, 0n);
  }
  assert.equal(get.header!.revision, put.header!.revision);
  assert.equal(del.header!.revision, put.header!.revision, 'nothing deleted: current revision');
  assert.equal(txn.header!.revision, put.header!.revision);
  // a historical read still reports the current revision
  const hist = await rpc.call('KV', 'Range', { key: b(`${p}k`), revision: put.header!.revision - 1n });
  assert.equal(hist.header!.revision, put.header!.revision);
  assert.deepEqual(hist.kvs, []);
});

test('§16.3 the txn duplicate-key rule', async () => {
  const p = scope();
  const x = b(`${p}x`);
  const y = b(`${p}y`);
  const putX = { request_put: { key: x, value: b('1') } };
  const delX = { request_delete_range: { key: x } };
  const putY = { request_put: { key: y, value: b('1') } };
  assertEtcdError(await rpc.fail('KV', 'Txn', { success: [putX, putX] }), 'duplicateKey');
  assertEtcdError(await rpc.fail('KV', 'Txn', { success: [putX, delX] }), 'duplicateKey');
  const rev = await revision();
  const dd = await rpc.call('KV', 'Txn', { success: [delX, delX] });
  assert.equal(dd.header!.revision, rev, 'delete + delete of an absent key: no bump');
  const sf = await rpc.call('KV', 'Txn', { success: [putX], failure: [putX] });
  assert.equal(sf.succeeded, true);
  assertEtcdError(await rpc.fail('KV', 'Txn', { success: [putX, { request_txn: { success: [putX] } }] }), 'duplicateKey');
  const ok = await rpc.call('KV', 'Txn', { success: [{ request_txn: { success: [putY], failure: [putY] } }] });
  assert.equal(ok.responses[0]!.response_txn!.succeeded, true);
});

test('§16.4 128 puts in one txn make one revision with 128 events; 129 ops fail', async () => {
  const p = scope();
  const ops = (count: number) => Array.from({ length: count }, (_, i) => ({ request_put: { key: b(`${p}${i}`), value: b('v') } }));
  const rev = await revision();
  const r = await rpc.call('KV', 'Txn', { success: ops(128) });
  assert.equal(r.header!.revision, rev + 1n);
  assert.equal(r.responses.length, 128);
  const record = server.serverContext.store.recordsFrom(rev + 1n, 1)[0]!;
  assert.equal(record.revision, rev + 1n);
  assert.equal(record.events.length, 128);
  assertEtcdError(await rpc.fail('KV', 'Txn', { success: ops(129) }), 'tooManyOps');
  const compares = Array.from({ length: 129 }, () => ({ key: b(`${p}0`) }));
  assertEtcdError(await rpc.fail('KV', 'Txn', { compare: compares }), 'tooManyOps');
});

test('§16.5 compares on an absent key', async () => {
  const key = b(`${scope()}absent`);
  const holds = async (c: object) => (await rpc.call('KV', 'Txn', { compare: [{ key, ...c }] })).succeeded;
  assert.equal(await holds({ target: 3, result: 0, value: new Uint8Array(0) }), false);
  assert.equal(await holds({ target: 0, result: 0, version: 0n }), true);
  assert.equal(await holds({ target: 1, result: 0, create_revision: 0n }), true);
  assert.equal(await holds({ target: 2, result: 0, mod_revision: 0n }), true);
});

test('§16.6 limit, DESCEND and filters', async () => {
  const p = scope();
  for (const k of ['a', 'b', 'c', 'd', 'e']) await rpc.call('KV', 'Put', { key: b(p + k), value: b(k) });
  const range = { key: b(p), range_end: prefixEnd(p) };
  const lim = await rpc.call('KV', 'Range', { ...range, limit: 2n });
  assert.deepEqual(lim.kvs.map((kv) => s(kv.key)), [`${p}a`, `${p}b`]);
  assert.equal(lim.more, true);
  assert.equal(lim.count, 5n);
  const desc = await rpc.call('KV', 'Range', { ...range, limit: 2n, sort_order: 2 });
  assert.deepEqual(desc.kvs.map((kv) => s(kv.key)), [`${p}e`, `${p}d`]);
  const minMod = lim.kvs[1]!.mod_revision + 1n;
  const filtered = await rpc.call('KV', 'Range', { ...range, min_mod_revision: minMod, limit: 1n });
  assert.deepEqual(filtered.kvs.map((kv) => s(kv.key)), [`${p}c`]);
  assert.equal(filtered.count, 5n, 'count ignores the filters');
  assert.equal(filtered.more, true);
  const keysOnly = await rpc.call('KV', 'Range', { key: b(`${p}a`), keys_only: true });
  assert.equal(keysOnly.kvs[0]!.value.length, 0);
  assert.equal(keysOnly.kvs[0]!.version, 1n);
  const countOnly = await rpc.call('KV', 'Range', { ...range, count_only: true });
  assert.deepEqual(countOnly.kvs, []);
  assert.equal(countOnly.count, 5n);
});

test('§16.7 compaction errors and reads around the compacted revision', async () => {
  const fresh = await startServer();
  const c = new RpcClient(fresh.endpoint);
  try {
    for (let i = 0; i < 8; i++) await c.call('KV', 'Put', { key: b('k'), value: b(String(i)) }); // revisions 2..9
    const cr = await c.call('KV', 'Compact', { revision: 5n });
    assert.equal(cr.header!.revision, 9n, 'compaction reports the current revision and does not bump it');
    assertEtcdError(await c.fail('KV', 'Compact', { revision: 5n }), 'compacted');
    assertEtcdError(await c.fail('KV', 'Compact', { revision: 4n }), 'compacted');
    assertEtcdError(await c.fail('KV', 'Compact', { revision: 999n }), 'futureRevision');
    await c.call('KV', 'Compact', { revision: 6n, physical: true });
    assertEtcdError(await c.fail('KV', 'Range', { key: b('k'), revision: 5n }), 'compacted');
    const at6 = await c.call('KV', 'Range', { key: b('k'), revision: 6n });
    assert.equal(s(at6.kvs[0]!.value), '4');
    assertEtcdError(await c.fail('KV', 'Range', { key: b('k'), revision: 10n }), 'futureRevision');
    assertEtcdError(await c.fail('KV', 'Txn', { success: [{ request_range: { key: b('k'), revision: 5n } }] }), 'compacted');
    assertEtcdError(await c.fail('Maintenance', 'HashKV', { revision: 6n }), 'compacted');
    const hk = await c.call('Maintenance', 'HashKV', { revision: 0n });
    assert.equal(hk.compact_revision, 6n);
    assert.equal(hk.header!.revision, 9n);
  } finally {
    c.close();
    await fresh.close();
  }
});

test('§16.15 request size: 1.5 MiB - 100 B is fine, 1.6 MiB is too large, 2.1 MiB hits the transport limit', async () => {
  const p = scope();
  const ok = await rpc.call('KV', 'Put', { key: b(`${p}big`), value: new Uint8Array(1572864 - 100) });
  assert.ok(ok.header!.revision > 1n);
  const rev = await revision();
  assertEtcdError(await rpc.fail('KV', 'Put', { key: b(`${p}big`), value: new Uint8Array(1.6 * 1024 * 1024) }), 'requestTooLarge');
  assertEtcdError(
    await rpc.fail('KV', 'Txn', { success: [{ request_put: { key: b(`${p}big`), value: new Uint8Array(1.6 * 1024 * 1024) } }] }),
    'requestTooLarge',
  );
  const huge = await rpc.fail('KV', 'Put', { key: b(`${p}big`), value: new Uint8Array(2.1 * 1024 * 1024) });
  assert.equal(huge.code, GrpcCode.RESOURCE_EXHAUSTED);
  assert.match(huge.details, /larger than max/);
  assert.equal(await revision(), rev, 'nothing was written');
});

test('every request error KV can produce, with exact code and message', async () => {
  const p = scope();
  const empty = new Uint8Array(0);
  await rpc.call('KV', 'Put', { key: b(`${p}k`), value: b('v') });
  const cases: [EtcdErrorName, Promise<RpcError>][] = [
    ['keyNotProvided', rpc.fail('KV', 'Range', { key: empty })],
    ['keyNotProvided', rpc.fail('KV', 'Put', { key: empty, value: b('v') })],
    ['keyNotProvided', rpc.fail('KV', 'DeleteRange', { key: empty })],
    ['keyNotProvided', rpc.fail('KV', 'Txn', { compare: [{ key: empty }] })],
    ['keyNotProvided', rpc.fail('KV', 'Txn', { success: [{ request_delete_range: { key: empty } }] })],
    ['valueProvided', rpc.fail('KV', 'Put', { key: b(`${p}k`), value: b('v'), ignore_value: true })],
    ['leaseProvided', rpc.fail('KV', 'Put', { key: b(`${p}k`), lease: 1n, ignore_lease: true })],
    ['leaseNotFound', rpc.fail('KV', 'Put', { key: b(`${p}k`), value: b('v'), lease: 12345n })],
    ['leaseNotFound', rpc.fail('KV', 'Txn', { success: [{ request_put: { key: b(`${p}k`), lease: 12345n } }] })],
    ['keyNotFound', rpc.fail('KV', 'Put', { key: b(`${p}absent`), ignore_value: true })],
    ['keyNotFound', rpc.fail('KV', 'Txn', { success: [{}] })],
    ['duplicateKey', rpc.fail('KV', 'Txn', { failure: [{ request_put: { key: b('d') } }, { request_put: { key: b('d') } }] })],
    ['invalidSortOption', rpc.fail('KV', 'Range', { key: b(`${p}k`), sort_target: 17 as never })],
    ['futureRevision', rpc.fail('KV', 'Range', { key: b(`${p}k`), revision: 1n << 40n })],
    ['futureRevision', rpc.fail('KV', 'Txn', { success: [{ request_range: { key: b(`${p}k`), revision: 1n << 40n } }] })],
  ];
  for (const [name, pending] of cases) assertEtcdError(await pending, name);
});

test('alarms over gRPC: NOSPACE blocks puts and shows in Status until disarmed', async () => {
  const fresh = await startServer();
  const c = new RpcClient(fresh.endpoint);
  try {
    assert.deepEqual((await c.call('Maintenance', 'Alarm', { action: 0 })).alarms, []);
    await c.call('Maintenance', 'Alarm', { action: 1, memberID: fresh.memberId, alarm: 1 });
    assertEtcdError(await c.fail('KV', 'Put', { key: b('a'), value: b('v') }), 'noSpace');
    const listed = await c.call('Maintenance', 'Alarm', { action: 0 });
    assert.deepEqual(listed.alarms, [{ memberID: fresh.memberId, alarm: 1 }]);
    const st = await c.call('Maintenance', 'Status', {});
    assert.deepEqual(st.errors, [`memberID:${fresh.memberId} alarm:NOSPACE `]);
    await c.call('KV', 'DeleteRange', { key: b('a') });
    await c.call('Maintenance', 'Alarm', { action: 2, memberID: fresh.memberId, alarm: 1 });
    await c.call('KV', 'Put', { key: b('a'), value: b('v') });
  } finally {
    c.close();
    await fresh.close();
  }
});

test('Maintenance and Cluster: Status, Hash, HashKV, Defragment, MemberList', async () => {
  const st1 = await rpc.call('Maintenance', 'Status', {});
  assert.match(st1.version, /^3\.5\.\d+$/);
  assert.ok(st1.dbSize >= st1.dbSizeInUse && st1.dbSizeInUse > 0n);
  assert.equal(st1.raftTerm, st1.header!.raft_term);
  await rpc.call('KV', 'Put', { key: b(`${scope()}k`), value: b('v') });
  const st2 = await rpc.call('Maintenance', 'Status', {});
  assert.ok(st2.raftIndex > st1.raftIndex, 'the raft index grows with writes');
  assert.equal(st2.raftAppliedIndex, st2.raftIndex);
  const h1 = await rpc.call('Maintenance', 'Hash', {});
  const h2 = await rpc.call('Maintenance', 'Hash', {});
  assert.equal(h1.hash, h2.hash);
  const hk = await rpc.call('Maintenance', 'HashKV', { revision: 0n });
  assert.equal(hk.header!.revision, st2.header!.revision);
  assert.equal(hk.compact_revision, -1n);
  assertEtcdError(await rpc.fail('Maintenance', 'HashKV', { revision: 1n << 40n }), 'futureRevision');
  const defrag = await rpc.call('Maintenance', 'Defragment', {});
  assert.equal(defrag.header, undefined, 'Defragment answers without a header, like etcd 3.4-3.6');
  assert.equal((await rpc.call('Maintenance', 'MoveLeader', { targetID: server.memberId })).header, undefined);
  assertEtcdError(await rpc.fail('Maintenance', 'MoveLeader', { targetID: server.memberId + 1n }), 'badLeaderTransferee');
  const ml = await rpc.call('Cluster', 'MemberList', {});
  assert.equal(ml.header!.revision, 0n, 'membership responses carry no revision');
  assert.equal(ml.header!.member_id, server.memberId);
  assert.deepEqual(ml.members.map((m) => ({ id: m.ID, name: m.name, client: m.clientURLs })), [
    { id: server.memberId, name: 'default', client: [server.url] },
  ]);
});

test('methods left out answer UNIMPLEMENTED', async () => {
  const err = await rpc.fail('Maintenance', 'Downgrade', { action: 0, version: '3.4' });
  assert.equal(err.code, GrpcCode.UNIMPLEMENTED);
});
