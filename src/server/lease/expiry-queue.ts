import { OrderedMap } from '@js-sdsl/ordered-map';

/** A queue position: when to look at a lease next, and which one. */
interface Slot {
  readonly at: number;
  readonly id: bigint;
}

const bySlot = (a: Slot, b: Slot): number => (a.at !== b.at ? (a.at < b.at ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Lease ids ordered by the time they are due for an expiry check (usually their expiry).
 * Each id is queued at most once.
 */
export class ExpiryQueue {
  private readonly slots = new OrderedMap<Slot, bigint>([], bySlot);
  private readonly slotOf = new Map<bigint, Slot>();

  get size(): number {
    return this.slotOf.size;
  }

  /** Queues `id` at time `at` (replacing its previous position). Infinite times are not queued. */
  set(id: bigint, at: number): void {
    this.delete(id);
    if (!Number.isFinite(at)) return;
    const slot = { at, id };
    this.slots.setElement(slot, id);
    this.slotOf.set(id, slot);
  }

  delete(id: bigint): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slots.eraseElementByKey(slot);
    this.slotOf.delete(id);
  }

  /** The earliest queued entry. */
  peek(): Slot | undefined {
    if (this.slots.size() === 0) return undefined;
    return this.slots.front()?.[0];
  }

  clear(): void {
    this.slots.clear();
    this.slotOf.clear();
  }
}
