/**
 * Decode-only cost of a range response, per client: the exact deserializer chain each client
 * runs on a RangeResponse, applied to bytes captured from the server. This isolates decoding
 * from the HTTP/2 transport, which both clients share (both use grpc-js).
 *
 * - etcdkit: the codec's `KV.Range` response deserializer, then the conversion to public types.
 * - etcd3: `@grpc/proto-loader`'s deserializer for `etcdserverpb.KV.Range`, loaded from etcd3's
 *   own dependency with the options etcd3 passes (lib/connection-pool.js), over etcd3's proto.
 */
import { createRequire } from 'node:module';
import { credentials, Client as GrpcClient } from '@grpc/grpc-js';
import type { ClientId } from './clients.js';

/** Decodes one RangeResponse and touches every pair's key and value; returns the pair count. */
export type RangeDecoder = (bytes: Buffer) => number;

interface WirePair {
  key: Uint8Array;
  value: Uint8Array;
}

function touch(kvs: readonly WirePair[]): number {
  let bytes = 0;
  for (const kv of kvs) bytes += kv.key.length + kv.value.length;
  if (bytes === 0 && kvs.length > 0) throw new Error('decoded pairs are empty');
  return kvs.length;
}

export async function rangeDecoder(client: ClientId): Promise<RangeDecoder> {
  if (client === 'etcdkit') {
    const { methodDef } = await import('../src/protocol/services.js');
    const { toGetResult } = await import('../src/convert.js');
    const deserialize = methodDef('KV', 'Range').responseDeserialize;
    return (bytes) => touch(toGetResult(deserialize(bytes)).kvs);
  }
  const require = createRequire(import.meta.url);
  const etcd3Main = require.resolve('etcd3');
  const protoLoader = createRequire(etcd3Main)('@grpc/proto-loader') as typeof import('@grpc/proto-loader');
  const pkg = protoLoader.loadSync(require.resolve('etcd3/proto/rpc.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const range = (pkg['etcdserverpb.KV'] as Record<string, { responseDeserialize(b: Buffer): unknown }>)['Range'];
  if (!range) throw new Error("etcd3's proto has no etcdserverpb.KV.Range");
  return (bytes) => touch((range.responseDeserialize(bytes) as { kvs: WirePair[] }).kvs);
}

/** Reads every key under `prefix` with a bare grpc-js call and returns the undecoded response bytes. */
export async function fetchRangeBytes(endpoint: string, prefix: string): Promise<Buffer> {
  const { methodDef } = await import('../src/protocol/services.js');
  const { prefixEnd } = await import('../src/bytes.js');
  const def = methodDef('KV', 'Range');
  const key = new TextEncoder().encode(prefix);
  const grpc = new GrpcClient(endpoint, credentials.createInsecure(), {
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
  try {
    return await new Promise<Buffer>((resolve, reject) => {
      grpc.makeUnaryRequest(
        def.path,
        def.requestSerialize,
        (bytes: Buffer) => bytes,
        { key, range_end: prefixEnd(key) },
        (err, bytes) => (err || !bytes ? reject(err ?? new Error('empty Range response')) : resolve(bytes)),
      );
    });
  } finally {
    grpc.close();
  }
}

/**
 * CPU microseconds per decode: `warmup` un-measured decodes, then `rounds` rounds of `count`
 * decodes; the least costly round is kept (other processes' noise only ever adds).
 */
export function measureDecode(
  decode: RangeDecoder,
  bytes: Buffer,
  expectedPairs: number,
  { warmup, rounds, count }: { warmup: number; rounds: number; count: number },
): number {
  const check = (n: number) => {
    if (n !== expectedPairs) throw new Error(`decoded ${n} pairs, expected ${expectedPairs}`);
  };
  for (let i = 0; i < warmup; i++) check(decode(bytes));
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    (globalThis as { gc?: () => void }).gc?.();
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < count; i++) check(decode(bytes));
    const cpu = process.cpuUsage(cpu0);
    best = Math.min(best, (cpu.user + cpu.system) / count);
  }
  return best;
}
