/**
 * Software transactional memory over etcd transactions (Go's `concurrency.NewSTM`): run a
 * function that reads and writes keys through an {@link Stm}; its writes are committed in one
 * transaction guarded by what it read, and the function is run again when a concurrent write
 * conflicts. See `docs/stm.md`.
 */
import type { Client } from '../client.js';
import { describeInput, InvalidArgumentError } from '../errors.js';
import { StmAttempt, stmAborted } from './stm/attempt.js';
import type { Carried } from './stm/attempt.js';
import { StmConflictError } from './stm/errors.js';
import { checkClient, parseStmOptions } from './stm/options.js';
import type { StmApply, StmOptions } from './stm/types.js';

export { StmConflictError } from './stm/errors.js';
export { defaultMaxRetries } from './stm/options.js';
export type { Stm, StmApply, StmIsolation, StmOptions, StmPutOptions } from './stm/types.js';

/**
 * Runs `apply` as a serializable transaction (by default) and resolves with its result once
 * its writes are committed.
 *
 * ```ts
 * await runStm(client, async (stm) => {
 *   const from = Number(await stm.getText('accounts/a'));
 *   const to = Number(await stm.getText('accounts/b'));
 *   stm.put('accounts/a', String(from - 10));
 *   stm.put('accounts/b', String(to + 10));
 * });
 * ```
 *
 * `apply` may run several times (once per attempt) and must not have side effects outside the
 * `stm`. An error it throws aborts the transaction with that error (nothing is written, no
 * retry); so does a failed read or commit (with the typed `EtcdError`).
 * @throws InvalidArgumentError for bad arguments; StmConflictError once `maxRetries` retries conflicted too;
 *   CancelledError when `signal` aborts.
 */
export async function runStm<T>(client: Client, apply: StmApply<T>, options?: StmOptions): Promise<T> {
  const etcd = checkClient(client);
  if (typeof apply !== 'function') {
    throw new InvalidArgumentError('apply', `expected a function (stm) => result, got ${describeInput(apply)}`);
  }
  const { isolation, maxRetries, signal, prefetch } = parseStmOptions(options);
  const shown = signal ?? new AbortController().signal;
  let carried: Carried | undefined;
  for (let attempt = 1; attempt <= maxRetries + 1; attempt++) {
    if (signal?.aborted === true) throw stmAborted(signal);
    const stm = new StmAttempt({ client: etcd, isolation, attempt, callSignal: signal, signal: shown, carried });
    const outcome = await stm.run(apply, prefetch);
    if (outcome.kind === 'committed') return outcome.value;
    carried = outcome.carried;
  }
  throw new StmConflictError(maxRetries + 1, isolation);
}
