import type { Init, WatchResponse } from '../../protocol/messages.generated.js';
import type { WatchCounters } from './metrics.js';

interface Item {
  readonly msg: Init<WatchResponse>;
  /** The watcher the response belongs to (to drop it on cancel); undefined for stream-level ones. */
  readonly owner: object | undefined;
  dropped: boolean;
}

/**
 * The responses of one Watch call on their way to gRPC, in order. It hands responses to
 * `write` until gRPC pushes back (`write` returns false), then holds the rest until
 * {@link drained} is called (on the call's 'drain' event). Never drops or reorders, except
 * that a cancelled watcher's held-back responses can be withdrawn.
 */
export class Outbox {
  private items: (Item | undefined)[] = [];
  private head = 0;
  private held = 0;
  private waiting = false;
  private closed = false;

  constructor(
    private readonly write: (msg: Init<WatchResponse>) => boolean,
    private readonly counters: WatchCounters,
  ) {}

  /** Responses held back (not yet given to gRPC). */
  get backlog(): number {
    return this.held;
  }

  /** Whether gRPC asked to wait for 'drain'. */
  get blocked(): boolean {
    return this.waiting;
  }

  push(msg: Init<WatchResponse>, owner?: object): void {
    if (this.closed) return;
    this.items.push({ msg, owner, dropped: false });
    this.held++;
    this.counters.pending(1);
    this.flush();
  }

  /** Withdraws every held-back response of `owner`. */
  withdraw(owner: object): void {
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i]!;
      if (item.owner === owner && !item.dropped) {
        item.dropped = true;
        this.held--;
        this.counters.pending(-1);
      }
    }
  }

  /** gRPC can take more: writes what is held back, until it pushes back again. */
  drained(): void {
    this.waiting = false;
    this.flush();
  }

  /** Forgets everything held back; later pushes are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.counters.pending(-this.held);
    this.held = 0;
    this.items = [];
    this.head = 0;
  }

  private flush(): void {
    while (!this.waiting && !this.closed && this.head < this.items.length) {
      const item = this.items[this.head]!;
      this.items[this.head++] = undefined;
      if (item.dropped) continue;
      this.held--;
      this.counters.pending(-1);
      if (!this.write(item.msg)) this.waiting = true;
    }
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
