/**
 * Many timers on one: a binary min-heap of deadlines served by a single node timer that is
 * armed for the earliest one. Thousands of leases then cost one `setTimeout`, not thousands.
 */

/** Node timers cannot wait longer than this; longer waits re-arm when it fires. */
const maxDelayMs = 2_147_483_647;

/** One scheduled callback. Reusable: schedule it again to move it. */
export class TimerNode {
  /** When it is due (ms timestamp); meaningful while scheduled. */
  at = 0;
  /** Position in the heap, -1 when not scheduled. */
  index = -1;
  readonly fire: () => void;

  constructor(fire: () => void) {
    this.fire = fire;
  }

  /** True while scheduled. */
  get scheduled(): boolean {
    return this.index >= 0;
  }
}

/** A heap of {@link TimerNode}s run by one timer. */
export class TimerQueue {
  readonly #heap: TimerNode[] = [];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (Infinity when none is armed). */
  #armedAt = Infinity;
  #running = false;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** How many nodes are scheduled. */
  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `node` at `at` (ms timestamp), moving it if it was scheduled already. */
  schedule(node: TimerNode, at: number): void {
    const heap = this.#heap;
    if (node.index < 0) {
      node.at = at;
      node.index = heap.length;
      heap.push(node);
      this.#up(node.index);
    } else {
      const earlier = at < node.at;
      node.at = at;
      if (earlier) this.#up(node.index);
      else this.#down(node.index);
    }
    this.#arm();
  }

  /** Unschedules `node` (no-op if it is not scheduled). */
  cancel(node: TimerNode): void {
    const i = node.index;
    if (i < 0) return;
    const heap = this.#heap;
    const last = heap.pop()!;
    node.index = -1;
    if (last !== node) {
      heap[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    if (heap.length === 0) this.#disarm();
  }

  /** Unschedules everything and releases the timer. */
  clear(): void {
    for (const node of this.#heap) node.index = -1;
    this.#heap.length = 0;
    this.#disarm();
  }

  #arm(): void {
    if (this.#running) return; // re-armed once the due nodes have run
    const first = this.#heap[0];
    if (first === undefined) {
      this.#disarm();
      return;
    }
    if (this.#timer !== undefined && this.#armedAt <= first.at) return;
    this.#disarm();
    const delay = Math.min(maxDelayMs, Math.max(0, first.at - this.#now()));
    this.#armedAt = first.at;
    this.#timer = setTimeout(this.#onTimer, delay);
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Infinity;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#armedAt = Infinity;
    this.#running = true;
    try {
      // Node may fire a timer up to a millisecond early by the wall clock.
      const now = this.#now() + 1;
      const heap = this.#heap;
      // Bounded: each node runs at most once per pass (a node re-scheduled for now waits for the next pass).
      const due: TimerNode[] = [];
      while (heap.length > 0 && heap[0]!.at <= now) {
        const node = heap[0]!;
        this.cancel(node);
        due.push(node);
      }
      for (const node of due) {
        try {
          node.fire();
        } catch {
          // A callback failure must not stop the others or the queue.
        }
      }
    } finally {
      this.#running = false;
      this.#arm();
    }
  };

  #up(i: number): void {
    const heap = this.#heap;
    const node = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (p.at <= node.at) break;
      heap[i] = p;
      p.index = i;
      i = parent;
    }
    heap[i] = node;
    node.index = i;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const node = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && heap[right]!.at < heap[left]!.at ? right : left;
      const c = heap[child]!;
      if (c.at >= node.at) break;
      heap[i] = c;
      c.index = i;
      i = child;
    }
    heap[i] = node;
    node.index = i;
  }
}
