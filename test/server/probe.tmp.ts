import { RpcClient, b, s } from './rpc-client.js';
import { startServer } from '../../src/server/index.js';
const j = (v: unknown) => JSON.stringify(v, (k, x) => typeof x === 'bigint' ? x.toString() : x instanceof Uint8Array ? Buffer.from(x).toString() : x);
async function probe(endpoint: string) {
  const c = new RpcClient(endpoint);
  const pre = 'p' + Date.now() + '/';
  const out: string[] = [];
  // nested compare: sees earlier put?
  const r1 = await c.call('KV', 'Txn', { success: [
    { request_put: { key: b(pre + 'x'), value: b('1') } },
    { request_txn: { compare: [{ key: b(pre + 'x'), target: 3, result: 0, value: b('1') }], success: [{ request_put: { key: b(pre + 'y'), value: b('yes') } }], failure: [{ request_put: { key: b(pre + 'y'), value: b('no') } }] } },
    { request_range: { key: b(pre + 'x') } },
  ] });
  const y = await c.call('KV', 'Range', { key: b(pre + 'y') });
  out.push('nested ' + j(r1.responses.map(r => r.response_txn?.succeeded)) + ' y=' + s(y.kvs[0]?.value));
  out.push('inner headers ' + j(r1.responses.map(r => r.response_put?.header ?? r.response_txn?.header ?? r.response_range?.header)));
  // sort target VERSION with NONE + limit
  await c.call('KV', 'Put', { key: b(pre + 'a'), value: b('1') });
  await c.call('KV', 'Put', { key: b(pre + 'a'), value: b('2') });
  await c.call('KV', 'Put', { key: b(pre + 'a'), value: b('3') });
  await c.call('KV', 'Put', { key: b(pre + 'b'), value: b('1') });
  await c.call('KV', 'Put', { key: b(pre + 'c'), value: b('1') });
  const r2 = await c.call('KV', 'Range', { key: b(pre + 'a'), range_end: b(pre + 'd'), limit: 2n, sort_target: 1 });
  out.push('version NONE limit2 ' + j(r2.kvs.map(k => s(k.key))) + ' more=' + r2.more + ' count=' + r2.count);
  // delete range from-key then put ignore_value -- skip (panics 3.4)
  // txn range with negative revision
  const r3 = await c.call('KV', 'Txn', { success: [{ request_range: { key: b(pre + 'a'), revision: -5n } }] }).catch(e => e);
  out.push('txn rev -5 ' + j(r3.details ?? 'ok'));
  const r4 = await c.call('KV', 'Range', { key: b(pre + 'a'), revision: -5n }).catch(e => e);
  out.push('range rev -5 ' + j(r4.details ?? 'ok'));
  // put then delete same key via sibling nested txns
  const r5 = await c.call('KV', 'Txn', { success: [
    { request_txn: { success: [{ request_put: { key: b(pre + 'z'), value: b('1') } }] } },
    { request_txn: { success: [{ request_delete_range: { key: b(pre + 'z') } }] } },
  ] }).catch(e => e);
  out.push('sibling put/delete ' + j(r5.details ?? r5.header));
  const z = await c.call('KV', 'Range', { key: b(pre + 'z') });
  out.push('z=' + j(z.kvs));
  // Compare with oneof mismatched
  const r6 = await c.call('KV', 'Txn', { compare: [{ key: b(pre + 'a'), target: 0, result: 1, mod_revision: 100n }] });
  out.push('version > (unset) ' + r6.succeeded);
  // count_only + limit
  const r7 = await c.call('KV', 'Range', { key: b(pre), range_end: b(pre.slice(0, -1) + '0'), count_only: true, limit: 1n });
  out.push('count_only ' + j({ kvs: r7.kvs.length, more: r7.more, count: r7.count }));
  // delete range nothing inside txn header
  const r8 = await c.call('KV', 'Txn', { success: [{ request_delete_range: { key: b(pre + 'nothing') } }, { request_put: { key: b(pre + 'q'), value: b('1') } }, { request_delete_range: { key: b(pre + 'nothing') } }] });
  out.push('del headers ' + j(r8.responses.map(r => r.response_delete_range?.header ?? r.response_put?.header)));
  const st = await c.call('KV', 'Compact', { revision: 0n }).catch(e => e);
  out.push('compact 0 ' + j(st.details ?? st.header?.revision));
  c.close();
  return out.join('\n');
}
const ports = (await import('node:fs')).readFileSync('/tmp/etcd-probe/ports', 'utf8').split(' ');
console.log('REAL:\n' + await probe('127.0.0.1:' + ports[0]));
const srv = await startServer();
console.log('OURS:\n' + await probe(srv.endpoint));
await srv.close();
