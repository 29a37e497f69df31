import type { ServerContext } from '../context.js';
import { unary } from '../grpc/unary.js';
import { KvApplier } from '../kv/kv-applier.js';
import { requestTooLarge } from '../kv/request-size.js';
import type {
  CompactionRequest,
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
} from '../wire.js';
import type { ServiceModule } from './service-module.js';

/** The KV service: Range, Put, DeleteRange, Txn, Compact (RangeStream stays unimplemented). */
export function kvService(ctx: ServerContext): ServiceModule {
  const kv = new KvApplier(ctx.store, { requestTooLarge, alarms: ctx.alarms });
  const { headers, raft } = ctx;
  return {
    service: 'KV',
    implementation: {
      Range: unary((r: RangeRequest) => headers.fill(kv.range(r))),
      Put: unary((r: PutRequest) => {
        const resp = kv.put(r);
        raft.propose();
        return headers.fill(resp);
      }),
      DeleteRange: unary((r: DeleteRangeRequest) => {
        const resp = kv.deleteRange(r);
        raft.propose();
        return headers.fill(resp);
      }),
      Txn: unary((r: TxnRequest) => {
        const resp = kv.txn(r);
        raft.propose();
        return headers.fill(resp);
      }),
      Compact: unary((r: CompactionRequest) => {
        const resp = kv.compact(r);
        raft.propose();
        return headers.fill(resp);
      }),
    },
  };
}
