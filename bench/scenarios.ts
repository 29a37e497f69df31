/** The bench scenarios: what each one does and how much of it, shared by the runner and the worker. */

export type ScenarioId = 'get-seq' | 'get-64' | 'put-64' | 'range-10k';

export interface Scenario {
  readonly id: ScenarioId;
  /** Row title in the printed table. */
  readonly title: string;
  readonly kind: 'get' | 'put' | 'range';
  /** Measured operations (for `range`, whole-prefix reads). */
  readonly ops: number;
  /** Un-measured operations first, to warm the JIT and the connection. */
  readonly warmup: number;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** A hard cap on the measured phase; fewer ops are reported if it is hit. */
  readonly maxSeconds: number;
}

export const SCENARIOS: readonly Scenario[] = [
  { id: 'get-seq', title: 'get, sequential', kind: 'get', ops: 5000, warmup: 1000, concurrency: 1, maxSeconds: 15 },
  { id: 'get-64', title: 'get, 64 in flight', kind: 'get', ops: 20_000, warmup: 4000, concurrency: 64, maxSeconds: 15 },
  { id: 'put-64', title: 'put, 64 in flight', kind: 'put', ops: 20_000, warmup: 4000, concurrency: 64, maxSeconds: 15 },
  { id: 'range-10k', title: 'range of 10,000 keys', kind: 'range', ops: 20, warmup: 5, concurrency: 1, maxSeconds: 15 },
];

/** Scales a scenario down for `--quick` runs (same shape, a tenth of the work). */
export function quick(s: Scenario): Scenario {
  return { ...s, ops: Math.max(5, Math.ceil(s.ops / 10)), warmup: Math.max(2, Math.ceil(s.warmup / 10)) };
}

export function scenarioById(id: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.id === id);
}

/** Data layout shared by setup and the scenarios. */
export const DATA = {
  /** The key read by the get scenarios. */
  getKey: 'bench/get/key',
  /** Keys written by the put scenario: `bench/put/<i mod putKeySpace>`. */
  putPrefix: 'bench/put/',
  putKeySpace: 1000,
  /** Range keys are `bench/range/` + 8 digits = 20 bytes. */
  rangePrefix: 'bench/range/',
  rangeKeys: 10_000,
  /** Every value is 100 bytes. */
  value: 'v'.repeat(100),
} as const;

export function rangeKey(i: number): string {
  return DATA.rangePrefix + String(i).padStart(8, '0');
}
