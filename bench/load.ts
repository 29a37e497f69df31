/** A bounded closed-loop load generator: N operations, C in flight, stopping early at a deadline. */

/**
 * Runs `op(i)` for i = 0..count-1 with at most `concurrency` calls in flight, and stops starting
 * new ones once `deadline` (a `performance.now()` value) has passed. Returns how many completed.
 * The first rejection stops the run and is re-thrown.
 */
export async function runOps(
  count: number,
  concurrency: number,
  deadline: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  let done = 0;
  let failure: unknown;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < count && performance.now() < deadline) {
      const i = next++;
      try {
        await op(i);
        done++;
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  if (failure !== undefined) throw failure;
  return done;
}
