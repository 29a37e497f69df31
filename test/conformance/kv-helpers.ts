/** Small helpers shared by the KV conformance suites. */
import assert from 'node:assert/strict';
import { EtcdError } from '../../src/index.js';
import type { KeyValue } from '../../src/index.js';
import { etcdErrors, type EtcdErrorName } from '../../src/protocol/error-table.js';
import { RawClient } from '../harness/raw.js';
import type { ServerHandle } from '../harness/handle.js';

const encoder = new TextEncoder();

/** Concatenates text (UTF-8) and byte parts into one key. */
export function bytes(...parts: Array<string | number[] | Uint8Array>): Uint8Array {
  const chunks = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Keys of a result as text, in the order returned. */
export const keysOf = (res: { kvs: KeyValue[] }): string[] => res.kvs.map((kv) => kv.keyText);

/** Asserts that `promise` rejects with class `cls` carrying etcd's exact message and code. */
export async function rejectsWithEtcd(
  promise: Promise<unknown>,
  cls: new (...args: never[]) => EtcdError,
  name: EtcdErrorName,
): Promise<void> {
  const spec = etcdErrors[name];
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof EtcdError, `expected an EtcdError, got ${String(err)}`);
    assert.ok(err instanceof cls, `expected ${cls.name}, got ${err.constructor.name}: ${err.message}`);
    assert.equal(err.etcdMessage, spec.message);
    assert.equal(err.code, spec.code);
    return true;
  });
}

/** A whole KeyValue in a comparable plain form. */
export function plainKv(kv: KeyValue | undefined): unknown {
  if (kv === undefined) return undefined;
  return {
    key: kv.keyText,
    value: kv.valueText,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

/** A lease granted for a KV test. */
export type LeaseGrant = { id: bigint };

/**
 * Grants a lease with an explicit ID (1 h TTL) through raw gRPC, so the KV suite does not
 * depend on the client's lease API. Both servers must have the Lease service.
 */
export async function grantLease(server: ServerHandle, id: bigint): Promise<LeaseGrant> {
  const raw = new RawClient(server.endpoint);
  try {
    const res = await raw.call('Lease', 'LeaseGrant', { ID: id, TTL: 3600n });
    assert.ok(res.ok, `LeaseGrant failed: ${JSON.stringify(res.err)}`);
    assert.equal(res.ok.ID, id);
    return { id };
  } finally {
    raw.close();
  }
}
