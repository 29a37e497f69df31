/**
 * Helpers for watch tests: bounded waits, collecting items, and a guard that fails the test
 * on any unhandled rejection or uncaught exception.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { Watch, WatchEvent, WatchItem } from '../../src/index.js';

/** Sleeps `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` every `intervalMs` until it holds, at most `timeoutMs`; fails with
 * `message()` otherwise.
 */
export async function until(condition: () => boolean, message: () => string, timeoutMs = 10_000, intervalMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms: ${message()}`);
    await sleep(intervalMs);
  }
}

/** Collects every item a watch delivers through its listeners. */
export class Collector {
  readonly items: WatchItem[] = [];

  constructor(watch: Watch) {
    const push = (item: WatchItem) => this.items.push(item);
    watch.on('event', push).on('progress', push).on('compacted', push).on('resync', push);
  }

  get events(): WatchEvent[] {
    return this.items.filter((item): item is WatchEvent => item.type === 'put' || item.type === 'delete');
  }

  /** Waits until at least `count` events arrived. */
  async waitEvents(count: number, timeoutMs = 10_000): Promise<WatchEvent[]> {
    await until(
      () => this.events.length >= count,
      () => `expected ${count} events, got ${this.events.length}`,
      timeoutMs,
    );
    return this.events;
  }

  /** Waits until an item matches. */
  async waitFor(predicate: (item: WatchItem) => boolean, what: string, timeoutMs = 10_000): Promise<WatchItem> {
    await until(() => this.items.some(predicate), () => `no ${what} among ${this.items.length} items`, timeoutMs);
    return this.items.find(predicate)!;
  }
}

/** Reads the next `count` items from an iterator, bounded in time. */
export async function take(iterator: AsyncIterator<WatchItem>, count: number, timeoutMs = 10_000): Promise<WatchItem[]> {
  const out: WatchItem[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) assert.fail(`timed out waiting for ${count} items, got ${out.length}`);
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      iterator.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out waiting for ${count} items, got ${out.length}`)), left);
      }),
    ]).finally(() => clearTimeout(timer));
    if (result.done === true) assert.fail(`iterator completed after ${out.length} of ${count} items`);
    out.push(result.value);
  }
  return out;
}

/** Text of an event as `type key=value@revision`, for readable assertions. */
export function describeEvent(event: WatchEvent): string {
  return `${event.type} ${event.kv.keyText}=${event.kv.valueText}@${event.revision}`;
}

/**
 * Registers, for the enclosing suite, process listeners that record unhandled rejections and
 * uncaught exceptions; the suite's `after` hook fails if any was seen.
 */
export function failOnUnhandled(): void {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown) => seen.push(reason);
  const onException = (error: unknown) => seen.push(error);
  before(() => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
  });
  after(async () => {
    // Give late rejections a chance to surface.
    await sleep(20);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    assert.deepEqual(seen, [], 'unhandled rejections or uncaught exceptions');
  });
}
