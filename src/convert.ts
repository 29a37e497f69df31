/**
 * The one place wire messages (src/protocol) become public types: response headers,
 * key-values and KV results. Byte fields are kept as the zero-copy views the codec decoded.
 */
import type { ZodType } from 'zod';
import { bytesToText } from './bytes.js';
import { ValueDecodeError } from './errors.js';
import type * as wire from './protocol/messages.generated.js';
import type { CompactResult, DeleteResult, GetResult, PutResult, TxnOpResult, TxnResult } from './kv/types.js';
import type {
  LeaseGrantResult,
  LeaseKeepAliveResult,
  LeaseLeasesResult,
  LeaseRevokeResult,
  LeaseTimeToLiveResult,
} from './lease/types.js';

/** Who answered a request and at which store revision. */
export interface ResponseHeader {
  /** ID of the cluster that answered. */
  clusterId: bigint;
  /** ID of the member that answered. */
  memberId: bigint;
  /** Store revision when the request was served (after a write: the write's revision). */
  revision: bigint;
  /** Raft term of the member. */
  raftTerm: bigint;
}

/** A stored key with its value and revision bookkeeping. */
export class KeyValue {
  /** The key's bytes. */
  readonly key: Uint8Array;
  /** The value's bytes (empty for keys-only reads). */
  readonly value: Uint8Array;
  /** Revision of the put that created this incarnation of the key. */
  readonly createRevision: bigint;
  /** Revision of the last put to the key. */
  readonly modRevision: bigint;
  /** Number of puts since the key was created (1 after creation). */
  readonly version: bigint;
  /** ID of the lease the key is attached to, 0n for none. */
  readonly lease: bigint;

  constructor(
    key: Uint8Array,
    value: Uint8Array,
    createRevision: bigint,
    modRevision: bigint,
    version: bigint,
    lease: bigint,
  ) {
    this.key = key;
    this.value = value;
    this.createRevision = createRevision;
    this.modRevision = modRevision;
    this.version = version;
    this.lease = lease;
  }

  /** The key decoded as UTF-8. */
  get keyText(): string {
    return bytesToText(this.key);
  }

  /** The value decoded as UTF-8. */
  get valueText(): string {
    return bytesToText(this.value);
  }

  /**
   * The value parsed as JSON, validated by `schema` when given.
   * @throws ValueDecodeError naming the key when the value is not JSON or fails the schema.
   */
  json<T = unknown>(schema?: ZodType<T>): T {
    let data: unknown;
    try {
      data = JSON.parse(this.valueText);
    } catch (error) {
      throw new ValueDecodeError(this.key, this.keyText, `is not valid JSON: ${(error as Error).message}`, error);
    }
    if (schema === undefined) return data as T;
    const result = schema.safeParse(data);
    if (result.success) return result.data;
    const issues = result.error.issues
      .map((issue) => (issue.path.length === 0 ? issue.message : `${issue.path.map(String).join('.')}: ${issue.message}`))
      .join('; ');
    throw new ValueDecodeError(this.key, this.keyText, `does not match the schema: ${issues}`, result.error);
  }
}

// `console.log(kv)` shows the key and value as text (when printable) instead of byte arrays.
// Defined outside the class body so the symbol stays out of the public declarations.
Object.defineProperty(KeyValue.prototype, Symbol.for('nodejs.util.inspect.custom'), {
  value(this: KeyValue, _depth: number, options: { stylize?: unknown }, inspect: (value: unknown, options: unknown) => string) {
    const show = (bytes: Uint8Array) => {
      const text = bytesToText(bytes);
      return /[\u0000-\u001f\ufffd]/.test(text) ? bytes : text;
    };
    const view = {
      key: show(this.key),
      value: show(this.value),
      createRevision: this.createRevision,
      modRevision: this.modRevision,
      version: this.version,
      lease: this.lease,
    };
    return `KeyValue ${inspect(view, options)}`;
  },
});

const zeroHeader: wire.ResponseHeader = { cluster_id: 0n, member_id: 0n, revision: 0n, raft_term: 0n };

/** Converts a wire header (absent: all zero). */
export function toHeader(header: wire.ResponseHeader | undefined): ResponseHeader {
  const h = header ?? zeroHeader;
  return { clusterId: h.cluster_id, memberId: h.member_id, revision: h.revision, raftTerm: h.raft_term };
}

/** Converts a wire key-value. */
export function toKeyValue(kv: wire.KeyValue): KeyValue {
  return new KeyValue(kv.key, kv.value, kv.create_revision, kv.mod_revision, kv.version, kv.lease);
}

function toKeyValues(kvs: readonly wire.KeyValue[]): KeyValue[] {
  const out = new Array<KeyValue>(kvs.length);
  for (let i = 0; i < kvs.length; i++) out[i] = toKeyValue(kvs[i]!);
  return out;
}

/** Converts a RangeResponse. */
export function toGetResult(res: wire.RangeResponse): GetResult {
  return { header: toHeader(res.header), kvs: toKeyValues(res.kvs), more: res.more, count: res.count };
}

/** Converts a PutResponse. */
export function toPutResult(res: wire.PutResponse): PutResult {
  const result: PutResult = { header: toHeader(res.header) };
  if (res.prev_kv !== undefined) result.prevKv = toKeyValue(res.prev_kv);
  return result;
}

/** Converts a DeleteRangeResponse. */
export function toDeleteResult(res: wire.DeleteRangeResponse): DeleteResult {
  return { header: toHeader(res.header), deleted: res.deleted, prevKvs: toKeyValues(res.prev_kvs) };
}

/** Converts a CompactionResponse. */
export function toCompactResult(res: wire.CompactionResponse): CompactResult {
  return { header: toHeader(res.header) };
}

/** Converts a TxnResponse, including nested transactions. */
export function toTxnResult(res: wire.TxnResponse): TxnResult {
  return { header: toHeader(res.header), succeeded: res.succeeded, responses: res.responses.map(toTxnOpResult) };
}

function toTxnOpResult(op: wire.ResponseOp): TxnOpResult {
  if (op.response_range !== undefined) return { type: 'get', ...toGetResult(op.response_range) };
  if (op.response_put !== undefined) return { type: 'put', ...toPutResult(op.response_put) };
  if (op.response_delete_range !== undefined) return { type: 'delete', ...toDeleteResult(op.response_delete_range) };
  if (op.response_txn !== undefined) return { type: 'txn', ...toTxnResult(op.response_txn) };
  // An empty ResponseOp (an op etcd answered with nothing) reads as an empty get.
  return { type: 'get', header: toHeader(undefined), kvs: [], more: false, count: 0n };
}

/** Converts a LeaseGrantResponse. */
export function toLeaseGrantResult(res: wire.LeaseGrantResponse): LeaseGrantResult {
  return { id: res.ID, ttl: res.TTL, header: toHeader(res.header) };
}

/** Converts a LeaseRevokeResponse. */
export function toLeaseRevokeResult(res: wire.LeaseRevokeResponse): LeaseRevokeResult {
  return { header: toHeader(res.header) };
}

/** Converts a LeaseTimeToLiveResponse. */
export function toLeaseTimeToLiveResult(res: wire.LeaseTimeToLiveResponse): LeaseTimeToLiveResult {
  return { id: res.ID, ttl: res.TTL, grantedTtl: res.grantedTTL, keys: res.keys, header: toHeader(res.header) };
}

/** Converts a LeaseLeasesResponse. */
export function toLeaseLeasesResult(res: wire.LeaseLeasesResponse): LeaseLeasesResult {
  return { leases: res.leases.map((lease) => lease.ID), header: toHeader(res.header) };
}

/** Converts a LeaseKeepAliveResponse. */
export function toLeaseKeepAliveResult(res: wire.LeaseKeepAliveResponse): LeaseKeepAliveResult {
  return { id: res.ID, ttl: res.TTL, header: toHeader(res.header) };
}
