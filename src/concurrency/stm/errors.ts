/**
 * The error of a software transaction that kept conflicting with concurrent writers.
 */
import { EtcdError } from '../../errors.js';
import { GrpcCode } from '../../protocol/error-table.js';
import type { StmIsolation } from './types.js';

/**
 * Every attempt of `runStm` conflicted with a concurrent write and the retry budget
 * (`maxRetries`) ran out. Nothing was written: running the transaction again is safe.
 */
export class StmConflictError extends EtcdError {
  /** How many attempts ran (`maxRetries + 1`). */
  readonly attempts: number;
  /** The isolation level the transaction ran at. */
  readonly isolation: StmIsolation;

  constructor(attempts: number, isolation: StmIsolation) {
    super({
      code: GrpcCode.ABORTED,
      etcdMessage: `stm: gave up after ${attempts} attempt${attempts === 1 ? '' : 's'}: every attempt conflicted with concurrent writes (isolation ${isolation})`,
      retryable: true,
    });
    this.attempts = attempts;
    this.isolation = isolation;
  }
}
