import type { Alarms } from '../alarms.js';
import { etcdError } from '../errors.js';
import type { MvccStore } from '../mvcc/store.js';
import {
  AlarmType,
  type CompactionRequest,
  type CompactionResponse,
  type DeleteRangeRequest,
  type DeleteRangeResponse,
  type PutRequest,
  type PutResponse,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
} from '../wire.js';
import { executeRange } from './range.js';
import { applyTxn, isTxnReadOnly } from './txn.js';
import { checkDeleteRequest, checkPutRequest, checkRangeRequest, checkTxnRequest, MAX_TXN_OPS } from './validate.js';
import { applyDeleteRange, applyPut, checkPutLease } from './write-ops.js';

/** etcd's default --max-request-bytes. */
export const MAX_REQUEST_BYTES = 1572864;

/** A write request, tagged with its kind. */
export type WriteRequest =
  | { readonly kind: 'put'; readonly request: PutRequest }
  | { readonly kind: 'deleteRange'; readonly request: DeleteRangeRequest }
  | { readonly kind: 'txn'; readonly request: TxnRequest };

export interface KvApplierOptions {
  /** Max ops per compare/success/failure list (etcd --max-txn-ops, default 128). */
  readonly maxTxnOps?: number;
  /** Max size of a write request (etcd --max-request-bytes, default 1572864). */
  readonly maxRequestBytes?: number;
  /**
   * Whether a write request, encoded, plus etcd's internal envelope exceeds `maxBytes`
   * (see request-size.ts); without it the check is skipped.
   */
  readonly requestTooLarge?: (request: WriteRequest, maxBytes: number) => boolean;
  /** Raised alarms: CORRUPT fails every request, NOSPACE fails writes that add data. */
  readonly alarms?: Alarms;
}

/**
 * The KV service's semantics without transport: validation, then one atomic apply on the
 * store. Every response carries `header.revision` only; the transport fills the rest.
 */
export class KvApplier {
  private readonly maxTxnOps: number;
  private readonly maxRequestBytes: number;

  constructor(
    private readonly store: MvccStore,
    private readonly options: KvApplierOptions = {},
  ) {
    this.maxTxnOps = options.maxTxnOps ?? MAX_TXN_OPS;
    this.maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
  }

  range(r: RangeRequest): RangeResponse {
    checkRangeRequest(r);
    this.checkCorrupt();
    return executeRange(this.store.read(), r);
  }

  put(r: PutRequest): PutResponse {
    checkPutRequest(r);
    this.checkSize({ kind: 'put', request: r });
    this.checkCorrupt();
    this.checkSpace();
    checkPutLease(this.store.leases, r);
    return this.store.write((txn) => applyPut(txn, r));
  }

  deleteRange(r: DeleteRangeRequest): DeleteRangeResponse {
    checkDeleteRequest(r);
    this.checkSize({ kind: 'deleteRange', request: r });
    this.checkCorrupt();
    return this.store.write((txn) => applyDeleteRange(txn, r));
  }

  txn(r: TxnRequest): TxnResponse {
    checkTxnRequest(r, this.maxTxnOps);
    if (!isTxnReadOnly(r)) this.checkSize({ kind: 'txn', request: r });
    this.checkCorrupt();
    if (hasTopLevelPut(r)) this.checkSpace();
    return applyTxn(this.store, r);
  }

  compact(r: CompactionRequest): CompactionResponse {
    this.checkCorrupt();
    this.store.compact(r.revision);
    return { header: { revision: this.store.revision } };
  }

  private checkCorrupt(): void {
    if (this.options.alarms?.has(AlarmType.CORRUPT)) throw etcdError('corrupt');
  }

  private checkSpace(): void {
    if (this.options.alarms?.has(AlarmType.NOSPACE)) throw etcdError('noSpace');
  }

  private checkSize(w: WriteRequest): void {
    if (this.options.requestTooLarge?.(w, this.maxRequestBytes)) throw etcdError('requestTooLarge');
  }
}

/** etcd's quota cost of a txn counts only the puts of its own two branches. */
function hasTopLevelPut(r: TxnRequest): boolean {
  const isPut = (op: { request_put?: unknown }) => op.request_put !== undefined;
  return r.success.some(isPut) || r.failure.some(isPut);
}
