/**
 * The wire message types the server uses (from the shared protocol layer). Requests arrive
 * decoded (every scalar present); responses are written as `Init<...>` (every field optional).
 */
import type * as M from '../protocol/messages.generated.js';

export type { Init } from '../protocol/messages.generated.js';
export {
  AlarmRequest_AlarmAction,
  AlarmType,
  Compare_CompareResult,
  Compare_CompareTarget,
  RangeRequest_SortOrder,
  RangeRequest_SortTarget,
} from '../protocol/messages.generated.js';

export type KeyValue = M.KeyValue;
export type ResponseHeader = M.ResponseHeader;
export type RangeRequest = M.RangeRequest;
export type PutRequest = M.PutRequest;
export type DeleteRangeRequest = M.DeleteRangeRequest;
export type RequestOp = M.RequestOp;
export type Compare = M.Compare;
export type TxnRequest = M.TxnRequest;
export type CompactionRequest = M.CompactionRequest;

export type RangeResponse = M.Init<M.RangeResponse>;
export type PutResponse = M.Init<M.PutResponse>;
export type DeleteRangeResponse = M.Init<M.DeleteRangeResponse>;
export type ResponseOp = M.Init<M.ResponseOp>;
export type TxnResponse = M.Init<M.TxnResponse>;
export type CompactionResponse = M.Init<M.CompactionResponse>;
