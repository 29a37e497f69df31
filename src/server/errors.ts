import { etcdErrors, type EtcdErrorName } from '../protocol/error-table.js';

/**
 * An etcd error raised inside the server, by its name in the shared error table. Services
 * throw it; src/server/grpc/status.ts is the one place that turns it into a gRPC status.
 */
export class EtcdServerError extends Error {
  readonly errorName: EtcdErrorName;

  constructor(errorName: EtcdErrorName) {
    super(etcdErrors[errorName].message);
    this.name = 'EtcdServerError';
    this.errorName = errorName;
  }
}

/** Shorthand for `new EtcdServerError(name)`. */
export function etcdError(name: EtcdErrorName): EtcdServerError {
  return new EtcdServerError(name);
}
