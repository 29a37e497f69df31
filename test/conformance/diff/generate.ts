/**
 * Seeded random KV requests for the differential test. The generator tracks the store's
 * revision and compacted revision (fed back from real etcd's answers) so that it can aim
 * reads at valid, compacted and future revisions.
 *
 * Shapes that crash etcd 3.4 (server-spec §7.2: an ignore_value/ignore_lease put on a key an
 * earlier op of the same txn deleted) are never produced, and sort enums stay valid (3.4
 * panics on an unknown sort target).
 */
import type {
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from '../../../src/protocol/messages.generated.js';
import type { Rng } from './rng.js';
import { KEYS, PREFIXES, VALUES, ZERO, inRange, prefixEnd } from './keyspace.js';

export type KvOp =
  | { method: 'Put'; request: PutRequest }
  | { method: 'DeleteRange'; request: DeleteRangeRequest }
  | { method: 'Range'; request: RangeRequest }
  | { method: 'Txn'; request: TxnRequest }
  | { method: 'Compact'; request: CompactionRequest };

/** Leases granted (same IDs) on both servers before the run, and one that never exists. */
export const LIVE_LEASES = [1000n, 1001n] as const;
export const MISSING_LEASE = 999n;

const EMPTY = new Uint8Array(0);

export interface StoreState {
  revision: bigint;
  compacted: bigint;
  /** Whether the live leases could be granted on both servers. */
  leases: boolean;
}

export class OpGenerator {
  constructor(
    private readonly rng: Rng,
    private readonly state: StoreState,
  ) {}

  next(): KvOp {
    const rng = this.rng;
    return rng.weighted<() => KvOp>([
      [30, () => ({ method: 'Put', request: this.put() })],
      [14, () => ({ method: 'DeleteRange', request: this.deleteRange() })],
      [26, () => ({ method: 'Range', request: this.range(false) })],
      [27, () => ({ method: 'Txn', request: this.txn() })],
      [3, () => ({ method: 'Compact', request: this.compact() })],
    ])();
  }

  private key(): Uint8Array {
    return this.rng.chance(0.004) ? EMPTY : this.rng.pick(KEYS);
  }

  /** A key/range_end pair in one of etcd's range forms. */
  private span(singleWeight = 45): { key: Uint8Array; range_end: Uint8Array } {
    const rng = this.rng;
    return rng.weighted<() => { key: Uint8Array; range_end: Uint8Array }>([
      [singleWeight, () => ({ key: this.key(), range_end: EMPTY })],
      [20, () => ({ key: rng.pick(KEYS), range_end: rng.pick(KEYS) })],
      [
        20,
        () => {
          const prefix = rng.pick(PREFIXES);
          return { key: prefix, range_end: prefixEnd(prefix) };
        },
      ],
      [8, () => ({ key: rng.pick(KEYS), range_end: ZERO })],
      [7, () => ({ key: ZERO, range_end: ZERO })],
    ])();
  }

  private lease(): bigint {
    const rng = this.rng;
    if (rng.chance(0.75)) return 0n;
    if (rng.chance(0.25) || !this.state.leases) return MISSING_LEASE;
    return rng.pick(LIVE_LEASES);
  }

  /** A revision for a read: mostly valid, sometimes compacted, future or negative. */
  private readRevision(inTxn: boolean): bigint {
    const rng = this.rng;
    const { revision, compacted } = this.state;
    const low = compacted > 1n ? compacted : 1n;
    return rng.weighted<() => bigint>([
      [55, () => 0n],
      [10, () => revision],
      [18, () => low + BigInt(rng.int(0, Number(revision - low)))],
      [5, () => (compacted > 1n ? compacted - BigInt(rng.int(1, 2)) : 0n)],
      [6, () => revision + BigInt(rng.int(1, 3))],
      [inTxn ? 2 : 6, () => BigInt(-rng.int(1, 3))],
    ])();
  }

  private revisionBound(): bigint {
    return this.rng.chance(0.5) ? 0n : BigInt(this.rng.int(1, Number(this.state.revision) + 1));
  }

  put(): PutRequest {
    const rng = this.rng;
    const ignoreValue = rng.chance(0.1);
    const ignoreLease = rng.chance(0.1);
    return {
      key: this.key(),
      // ignore_value with a value is an error; mostly send the empty value then.
      value: ignoreValue && rng.chance(0.85) ? EMPTY : rng.pick(VALUES),
      lease: ignoreLease && rng.chance(0.85) ? 0n : this.lease(),
      prev_kv: rng.chance(0.5),
      ignore_value: ignoreValue,
      ignore_lease: ignoreLease,
    };
  }

  deleteRange(): DeleteRangeRequest {
    return { ...this.span(50), prev_kv: this.rng.chance(0.5) };
  }

  range(inTxn: boolean): RangeRequest {
    const rng = this.rng;
    const filters = rng.chance(0.25);
    return {
      ...this.span(35),
      limit: BigInt(rng.pick([0, 0, 0, 0, 1, 2, 3, 5, -1])),
      revision: this.readRevision(inTxn),
      sort_order: rng.chance(0.5) ? 0 : rng.pick([0, 1, 2] as const),
      sort_target: rng.chance(0.5) ? 0 : rng.pick([0, 1, 2, 3, 4] as const),
      serializable: rng.chance(0.1),
      keys_only: rng.chance(0.2),
      count_only: rng.chance(0.1),
      min_mod_revision: filters ? this.revisionBound() : 0n,
      max_mod_revision: filters ? this.revisionBound() : 0n,
      min_create_revision: filters ? this.revisionBound() : 0n,
      max_create_revision: filters ? this.revisionBound() : 0n,
    };
  }

  compact(): CompactionRequest {
    const rng = this.rng;
    const { revision, compacted } = this.state;
    const target = rng.weighted<() => bigint>([
      [70, () => (revision > compacted ? compacted + 1n + BigInt(rng.int(0, Number(revision - compacted - 1n))) : revision)],
      [15, () => (compacted > 0n ? compacted - BigInt(rng.int(0, 1)) : revision + 1n)],
      [15, () => revision + BigInt(rng.int(1, 3))],
    ])();
    return { revision: target, physical: rng.chance(0.5) };
  }

  compare(): Compare {
    const rng = this.rng;
    const target = rng.pick([0, 1, 2, 3, 4] as const);
    const span = this.span(70);
    const cmp: Compare = { result: rng.pick([0, 1, 2, 3] as const), target, ...span };
    if (rng.chance(0.08)) return cmp; // operand unset: compares with 0 / empty bytes
    const rev = () => BigInt(rng.int(0, Number(this.state.revision) + 1));
    switch (target) {
      case 0:
        cmp.version = BigInt(rng.int(0, 4));
        break;
      case 1:
        cmp.create_revision = rev();
        break;
      case 2:
        cmp.mod_revision = rev();
        break;
      case 3:
        cmp.value = rng.pick(VALUES);
        break;
      case 4:
        cmp.lease = rng.pick([0n, ...LIVE_LEASES, MISSING_LEASE]);
        break;
    }
    return cmp;
  }

  requestOp(depth: number): RequestOp {
    const rng = this.rng;
    if (rng.chance(0.004)) return {}; // no request set: "key not found"
    return rng.weighted<() => RequestOp>([
      [40, () => ({ request_put: this.put() })],
      [20, () => ({ request_delete_range: this.deleteRange() })],
      [30, () => ({ request_range: this.range(true) })],
      [depth < 2 ? 10 : 0, () => ({ request_txn: this.txnBody(depth + 1) })],
    ])();
  }

  private ops(depth: number, max: number): RequestOp[] {
    return Array.from({ length: this.rng.int(0, max) }, () => this.requestOp(depth));
  }

  private txnBody(depth: number): TxnRequest {
    return {
      compare: Array.from({ length: this.rng.int(0, depth === 0 ? 3 : 2) }, () => this.compare()),
      success: this.ops(depth, depth === 0 ? 4 : 3),
      failure: this.ops(depth, depth === 0 ? 3 : 2),
    };
  }

  txn(): TxnRequest {
    const rng = this.rng;
    const txn = rng.weighted<() => TxnRequest>([
      [94, () => this.txnBody(0)],
      [2, () => this.bulkTxn(128)],
      [2, () => this.bulkTxn(129)],
      [1, () => ({ compare: Array.from({ length: 129 }, () => this.compare()), success: [], failure: [] })],
      [1, () => ({ compare: [], success: [], failure: this.ops(0, 2).concat(this.bulkTxn(128).success) })],
    ])();
    avoidEtcd34TxnPanic(txn);
    return txn;
  }

  /** `count` ops in the success branch: puts on distinct bulk keys, or ranges. */
  private bulkTxn(count: number): TxnRequest {
    const writes = this.rng.chance(0.5);
    // Distinct keys, except sometimes one repeat (a duplicate-key error).
    const repeat = this.rng.chance(0.15);
    const bulkKey = (i: number) => new TextEncoder().encode(`bulk/${repeat && i === count - 1 ? 0 : i}`);
    const success: RequestOp[] = Array.from({ length: count }, (_, i) =>
      writes
        ? { request_put: { ...this.put(), key: bulkKey(i), ignore_value: false, ignore_lease: false } }
        : { request_range: { ...this.range(true), key: this.rng.pick(KEYS), range_end: EMPTY } },
    );
    return { compare: [], success, failure: [] };
  }
}

/** Collects every delete range anywhere in a txn (both branches, all levels). */
function deleteSpans(txn: TxnRequest, out: DeleteRangeRequest[] = []): DeleteRangeRequest[] {
  for (const op of [...txn.success, ...txn.failure]) {
    if (op.request_delete_range) out.push(op.request_delete_range);
    if (op.request_txn) deleteSpans(op.request_txn, out);
  }
  return out;
}

/**
 * Clears ignore_value/ignore_lease on any put whose key some delete of the same txn may
 * remove: etcd 3.4.23 panics on that shape (server-spec §7.2).
 */
function avoidEtcd34TxnPanic(txn: TxnRequest): void {
  const dels = deleteSpans(txn);
  if (dels.length === 0) return;
  const visit = (t: TxnRequest): void => {
    for (const op of [...t.success, ...t.failure]) {
      const put = op.request_put;
      if (put && (put.ignore_value || put.ignore_lease) && dels.some((d) => inRange(put.key, d.key, d.range_end))) {
        put.ignore_value = false;
        put.ignore_lease = false;
      }
      if (op.request_txn) visit(op.request_txn);
    }
  };
  visit(txn);
}
