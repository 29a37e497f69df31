import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { etcdErrors } from '../../protocol/error-table.js';
import { EtcdServerError } from '../errors.js';

/**
 * The one place where errors become gRPC statuses: an etcd table error becomes
 * `{code, details: exact etcd message}`; anything else (a bug) becomes UNKNOWN with its text,
 * as etcd does for unmapped errors.
 */
export function toServiceError(err: unknown): ServiceError {
  if (err instanceof EtcdServerError) {
    const spec = etcdErrors[err.errorName];
    return statusError(spec.code, spec.message);
  }
  const text = err instanceof Error ? err.message : String(err);
  return statusError(grpcStatus.UNKNOWN, text);
}

function statusError(code: number, details: string): ServiceError {
  const e = new Error(details) as ServiceError;
  e.code = code;
  e.details = details;
  e.metadata = new Metadata();
  return e;
}
