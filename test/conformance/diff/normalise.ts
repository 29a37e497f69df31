/**
 * Turns raw KV responses into plain comparable values: bytes as hex, int64 as decimal strings,
 * headers reduced to their revision (cluster/member ids and raft term differ between servers),
 * and orders etcd leaves unspecified made canonical: kvs that tie on a non-KEY sort target are
 * ordered by key, and when `limit` cut through such a tie, which tied keys made it is hidden.
 */
import type {
  DeleteRangeResponse,
  KeyValue,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  TxnRequest,
  TxnResponse,
} from '../../../src/protocol/messages.generated.js';
import type { RawResult } from '../../harness/raw.js';
import type { KvOp } from './generate.js';
import { compareBytes, hex } from './keyspace.js';

type Plain = string | number | boolean | null | Plain[] | { [key: string]: Plain };

const header = (h: ResponseHeader | undefined): Plain => (h === undefined ? 'none' : String(h.revision));

function kv(k: KeyValue | undefined): Plain {
  if (k === undefined) return null;
  return {
    key: hex(k.key),
    value: hex(k.value),
    create: String(k.create_revision),
    mod: String(k.mod_revision),
    version: String(k.version),
    lease: String(k.lease),
  };
}

/** The value a non-KEY sort target orders by. */
function sortValue(k: KeyValue, target: number): bigint | string {
  switch (target) {
    case 1:
      return k.version;
    case 2:
      return k.create_revision;
    case 3:
      return k.mod_revision;
    default:
      return hex(k.value); // hex keeps bytewise order
  }
}

function rangeKvs(req: RangeRequest, res: RangeResponse): Plain {
  if (req.sort_target === 0) return res.kvs.map(kv);
  const target = req.sort_target;
  // Canonical order inside runs of equal sort values: by key.
  const runs: KeyValue[][] = [];
  for (const k of res.kvs) {
    const last = runs[runs.length - 1];
    if (last && sortValue(last[0]!, target) === sortValue(k, target)) last.push(k);
    else runs.push([k]);
  }
  const out: Plain[] = [];
  runs.forEach((run, i) => {
    const cutThrough = res.more && i === runs.length - 1;
    if (cutThrough) {
      // limit cut inside a tie: which tied keys were kept is unspecified.
      out.push({ tiedAtLimit: String(sortValue(run[0]!, target)), n: run.length });
    } else {
      out.push(...[...run].sort((a, b) => compareBytes(a.key, b.key)).map(kv));
    }
  });
  return out;
}

function range(req: RangeRequest, res: RangeResponse): Plain {
  return { header: header(res.header), kvs: rangeKvs(req, res), more: res.more, count: String(res.count) };
}

function put(res: PutResponse): Plain {
  return { header: header(res.header), prevKv: kv(res.prev_kv) };
}

function del(res: DeleteRangeResponse): Plain {
  return { header: header(res.header), deleted: String(res.deleted), prevKvs: res.prev_kvs.map(kv) };
}

function responseOp(op: RequestOp | undefined, res: ResponseOp): Plain {
  if (res.response_range) {
    return { range: op?.request_range ? range(op.request_range, res.response_range) : 'unexpected range response' };
  }
  if (res.response_put) return { put: put(res.response_put) };
  if (res.response_delete_range) return { delete: del(res.response_delete_range) };
  if (res.response_txn) {
    return { txn: op?.request_txn ? txn(op.request_txn, res.response_txn) : 'unexpected txn response' };
  }
  return 'empty ResponseOp';
}

function txn(req: TxnRequest, res: TxnResponse): Plain {
  const ops = res.succeeded ? req.success : req.failure;
  return {
    header: header(res.header),
    succeeded: res.succeeded,
    responses: res.responses.map((r, i) => responseOp(ops[i], r)),
  };
}

/** The comparable form of one answer to `op`. */
export function normalise(op: KvOp, result: RawResult<unknown>): Plain {
  if (result.err) return { error: { code: result.err.code, details: result.err.details } };
  switch (op.method) {
    case 'Range':
      return range(op.request, result.ok as RangeResponse);
    case 'Put':
      return put(result.ok as PutResponse);
    case 'DeleteRange':
      return del(result.ok as DeleteRangeResponse);
    case 'Txn':
      return txn(op.request, result.ok as TxnResponse);
    case 'Compact':
      return { header: header((result.ok as { header?: ResponseHeader }).header) };
  }
}

/** A short human-readable rendering of a request for failure messages. */
export function describeOp(op: KvOp): string {
  return `${op.method} ${JSON.stringify(op.request, (_k, v: unknown) =>
    v instanceof Uint8Array ? `0x${hex(v)}` : typeof v === 'bigint' ? `${v}n` : v,
  )}`;
}
