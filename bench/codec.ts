/**
 * `npx tsx bench/codec.ts`: etcdkit's message codec against the deserializers/serializers the
 * `etcd3` npm client uses (@grpc/proto-loader over etcd3's own rpc.proto, with etcd3's loader
 * options). Measures decode of a 10,000-key RangeResponse and encode of small requests, plus
 * encode of the big response (the server's side). Prints ops/s and the ratio.
 */
import { createRequire } from 'node:module';
import { loadSync } from '@grpc/proto-loader';
import type { MethodDefinition } from '@grpc/proto-loader';
import { decode, encode } from '../src/protocol/codec.js';
import type { Init, RangeResponse } from '../src/protocol/messages.generated.js';

const require = createRequire(import.meta.url);
const etcd3Proto = require.resolve('etcd3/proto/rpc.proto');
/** The options etcd3 passes to proto-loader (lib/connection-pool.js). */
const pkg = loadSync(etcd3Proto, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const kv = pkg['etcdserverpb.KV'] as Record<string, MethodDefinition<unknown, unknown>>;
const etcd3Range = kv['Range']!;
const etcd3Put = kv['Put']!;

const KEYS = 10_000;
const value = Buffer.alloc(100, 'v');
const bigResponse: Init<RangeResponse> = {
  header: { cluster_id: 14841639068965178418n, member_id: 10276657743932975437n, revision: 20_123n, raft_term: 2n },
  kvs: Array.from({ length: KEYS }, (_, i) => ({
    key: Buffer.from(`/bench/range/k${String(i).padStart(6, '0')}`),
    create_revision: BigInt(10_000 + i),
    mod_revision: BigInt(10_000 + i),
    version: 1n,
    value,
  })),
  count: BigInt(KEYS),
};
const bigBytes = encode('etcdserverpb.RangeResponse', bigResponse);

// Sanity: both decoders agree on the payload before anything is timed.
{
  const ours = decode('etcdserverpb.RangeResponse', bigBytes);
  const theirs = etcd3Range.responseDeserialize(bigBytes) as { kvs: { key: Buffer; mod_revision: string }[]; count: string };
  if (ours.kvs.length !== KEYS || theirs.kvs.length !== KEYS) throw new Error('decoders disagree on kvs length');
  if (String(ours.count) !== theirs.count || String(ours.kvs[9_999]!.mod_revision) !== theirs.kvs[9_999]!.mod_revision) {
    throw new Error('decoders disagree on values');
  }
}

/** Runs `fn` repeatedly for about `seconds` (at most `maxIters` times) and returns ops/s. */
function opsPerSec(fn: () => unknown, seconds: number, maxIters: number): number {
  for (let i = 0; i < Math.min(20, maxIters); i++) fn(); // warm-up (and JIT)
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (n < maxIters && performance.now() < deadline) {
    for (let i = 0; i < 16 && n < maxIters; i++, n++) fn();
  }
  return n / ((performance.now() - t0) / 1000);
}

interface Row {
  name: string;
  ours: number;
  etcd3: number;
}

const rows: Row[] = [];
function compare(name: string, ours: () => unknown, etcd3: () => unknown, seconds: number, maxIters: number): void {
  // Alternate to spread any machine noise over both sides.
  let o = 0;
  let e = 0;
  for (let round = 0; round < 2; round++) {
    o += opsPerSec(ours, seconds / 2, maxIters);
    e += opsPerSec(etcd3, seconds / 2, maxIters);
  }
  rows.push({ name, ours: o / 2, etcd3: e / 2 });
}

const putReq = { key: Buffer.from('/bench/put/key-000123'), value, lease: 7587862352637451008n };
const putReqEtcd3 = { key: putReq.key, value, lease: '7587862352637451008' };
const rangeReq = { key: Buffer.from('/bench/range/'), range_end: Buffer.from('/bench/range0'), limit: 100n, revision: 0n };
const rangeReqEtcd3 = { key: rangeReq.key, range_end: rangeReq.range_end, limit: '100' };

compare(
  `decode RangeResponse (${KEYS} kvs, ${(bigBytes.length / 1024).toFixed(0)} KiB)`,
  () => decode('etcdserverpb.RangeResponse', bigBytes),
  () => etcd3Range.responseDeserialize(bigBytes),
  4,
  2_000,
);
compare(
  'encode PutRequest',
  () => encode('etcdserverpb.PutRequest', putReq),
  () => etcd3Put.requestSerialize(putReqEtcd3),
  2,
  5_000_000,
);
compare(
  'encode RangeRequest',
  () => encode('etcdserverpb.RangeRequest', rangeReq),
  () => etcd3Range.requestSerialize(rangeReqEtcd3),
  2,
  5_000_000,
);
const etcd3Big = etcd3Range.responseDeserialize(bigBytes);
compare(
  `encode RangeResponse (${KEYS} kvs)`,
  () => encode('etcdserverpb.RangeResponse', bigResponse),
  () => etcd3Range.responseSerialize(etcd3Big),
  3,
  2_000,
);

const fmt = (n: number): string => (n >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));
const w = Math.max(...rows.map((r) => r.name.length));
console.log(`${'benchmark'.padEnd(w)}  ${'etcdkit ops/s'.padStart(14)}  ${'etcd3 ops/s'.padStart(14)}  ratio`);
for (const r of rows) {
  console.log(`${r.name.padEnd(w)}  ${fmt(r.ours).padStart(14)}  ${fmt(r.etcd3).padStart(14)}  ${(r.ours / r.etcd3).toFixed(2)}x`);
}
const decodeRatio = rows[0]!.ours / rows[0]!.etcd3;
console.log(`\ntarget: decode of a ${KEYS}-key RangeResponse >= 3x etcd3: ${decodeRatio >= 3 ? 'met' : 'NOT met'} (${decodeRatio.toFixed(2)}x)`);
