/**
 * The measured phase of the live-events watchers (bench/watch-worker.ts and
 * bench/transport-floor-worker.ts): after `warmup` events it collects garbage and starts the
 * clock and the process CPU count; after `measured` more it stops them and resolves `done`.
 */
export interface MeteredEvents {
  seconds: number;
  cpu: NodeJS.CpuUsage;
  events: number;
}

export class EventMeter {
  /** Events counted so far, warm-up included. */
  seen = 0;
  #cpu0: NodeJS.CpuUsage | undefined;
  #t0 = 0;
  #result: MeteredEvents | undefined;
  #finish!: (result: MeteredEvents) => void;
  /** Resolves with the figures once the measured events have all arrived. */
  readonly done = new Promise<MeteredEvents>((resolve) => (this.#finish = resolve));

  constructor(
    private readonly warmup: number,
    private readonly measured: number,
  ) {
    if (warmup < 1) throw new Error('--warmup must be at least 1');
    if (typeof (globalThis as { gc?: () => void }).gc !== 'function') throw new Error('run with --expose-gc');
  }

  /** Counts one event. */
  count(): void {
    const seen = ++this.seen;
    if (seen === this.warmup) {
      (globalThis as unknown as { gc: () => void }).gc();
      this.#cpu0 = process.cpuUsage();
      this.#t0 = performance.now();
    } else if (seen === this.warmup + this.measured) {
      this.#result = this.#figures(this.measured);
      this.#finish(this.#result);
    }
  }

  /** The complete figures, or (after a time cap) those of the events measured so far; undefined if the measured phase never started. */
  result(): MeteredEvents | undefined {
    if (this.#result !== undefined || this.#cpu0 === undefined) return this.#result;
    return this.#figures(this.seen - this.warmup);
  }

  /** Whether all measured events arrived. */
  get complete(): boolean {
    return this.#result !== undefined;
  }

  #figures(events: number): MeteredEvents {
    return { seconds: (performance.now() - this.#t0) / 1000, cpu: process.cpuUsage(this.#cpu0), events };
  }
}
