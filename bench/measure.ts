/** Measuring one client on one scenario: warm-up, then wall time and process CPU of the measured ops. */
import type { BenchClient, ClientId } from './clients.js';
import { fetchRangeBytes, measureDecode, rangeDecoder } from './decode.js';
import { runOps } from './load.js';
import { DATA, rangeKey, type Scenario } from './scenarios.js';

/** Decode-only phase of the range scenario (cheap, so never scaled down by --quick). */
const DECODE_RUN = { warmup: 10, rounds: 3, count: 20 };

/** What one client × scenario run reports. */
export interface Measurement {
  client: ClientId;
  scenario: string;
  /** Measured ops actually completed (fewer than planned only if the time cap was hit). */
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Client process CPU (user + system, all threads) per op, in microseconds. */
  cpuUsPerOp: number;
  /** range only: pairs returned by each read. */
  pairsPerRange?: number;
  /** range only: size of the encoded RangeResponse. */
  rangeResponseBytes?: number;
  /** range only: CPU microseconds to decode one RangeResponse (no transport; see decode.ts). */
  decodeUsPerRange?: number;
}

/** Writes the get key and the 10,000 range keys (64 writes in flight), then checks them. */
export async function setup(c: BenchClient): Promise<void> {
  await c.put(DATA.getKey, DATA.value);
  await runOps(DATA.rangeKeys, 64, Number.POSITIVE_INFINITY, (i) => c.put(rangeKey(i), DATA.value));
  const n = await c.range(DATA.rangePrefix);
  if (n !== DATA.rangeKeys) throw new Error(`setup wrote ${DATA.rangeKeys} range keys but reads back ${n}`);
}

/** The operation a scenario repeats; each checks its answer so a broken client cannot look fast. */
function operation(c: BenchClient, s: Scenario): (i: number) => Promise<unknown> {
  switch (s.kind) {
    case 'get':
      return async () => {
        const v = await c.get(DATA.getKey);
        if (v.length !== DATA.value.length) throw new Error(`get returned ${v.length} bytes, expected ${DATA.value.length}`);
      };
    case 'put':
      return (i) => c.put(DATA.putPrefix + (i % DATA.putKeySpace), DATA.value);
    case 'range':
      return async () => {
        const n = await c.range(DATA.rangePrefix);
        if (n !== DATA.rangeKeys) throw new Error(`range returned ${n} pairs, expected ${DATA.rangeKeys}`);
      };
  }
}

export async function measure(c: BenchClient, id: ClientId, s: Scenario, endpoint: string): Promise<Measurement> {
  const op = operation(c, s);
  await runOps(s.warmup, s.concurrency, performance.now() + s.maxSeconds * 1000, op);
  // Start the measured phase with a clean heap (when run with --expose-gc) so warm-up garbage
  // is not billed to it; collections during the measured phase are part of the client's cost.
  (globalThis as { gc?: () => void }).gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ops = await runOps(s.ops, s.concurrency, t0 + s.maxSeconds * 1000, op);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  if (ops === 0) throw new Error('no operation completed within the time cap');
  const result: Measurement = {
    client: id,
    scenario: s.id,
    ops,
    seconds,
    opsPerSec: ops / seconds,
    cpuUsPerOp: (cpu.user + cpu.system) / ops,
  };
  if (s.kind === 'range') {
    const bytes = await fetchRangeBytes(endpoint, DATA.rangePrefix);
    result.pairsPerRange = DATA.rangeKeys;
    result.rangeResponseBytes = bytes.length;
    result.decodeUsPerRange = measureDecode(await rangeDecoder(id), bytes, DATA.rangeKeys, DECODE_RUN);
  }
  return result;
}
