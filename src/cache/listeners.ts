/**
 * A small typed listener table for the cache, configuration and discovery objects. Unlike
 * node's EventEmitter, an `error` without listeners is not thrown, and a listener that throws
 * becomes a process warning: nothing escapes into the client or crashes the process.
 */
import { describeInput, InvalidArgumentError } from '../errors.js';

/** Listener signatures by event name (each takes at most one argument). */
export type EventMap<E> = { [K in keyof E]: (arg: never) => void };

/** Listeners of one object, by event name. */
export class Listeners<E extends EventMap<E>> {
  readonly #table = new Map<keyof E, Array<E[keyof E]>>();
  readonly #names: ReadonlySet<keyof E>;
  readonly #owner: string;

  /** `names` are the accepted event names; `owner` names the object in warnings. */
  constructor(names: ReadonlyArray<keyof E>, owner: string) {
    this.#names = new Set(names);
    this.#owner = owner;
  }

  /**
   * Adds a listener.
   * @throws InvalidArgumentError for an unknown event name or a listener that is not a function.
   */
  on<K extends keyof E>(event: K, listener: E[K]): void {
    if (!this.#names.has(event)) {
      const known = [...this.#names].map((name) => JSON.stringify(name)).join(', ');
      throw new InvalidArgumentError('event', `expected one of ${known}, got ${describeInput(event)}`);
    }
    if (typeof listener !== 'function') {
      throw new InvalidArgumentError('listener', `expected a function, got ${describeInput(listener)}`);
    }
    const list = this.#table.get(event) ?? [];
    this.#table.set(event, [...list, listener]);
  }

  /** Removes a listener (no-op when absent). */
  off<K extends keyof E>(event: K, listener: E[K]): void {
    const list = this.#table.get(event);
    if (list === undefined) return;
    const index = list.indexOf(listener);
    if (index < 0) return;
    const next = list.slice(0, index).concat(list.slice(index + 1));
    if (next.length === 0) this.#table.delete(event);
    else this.#table.set(event, next);
  }

  /** Whether `event` has listeners. */
  has(event: keyof E): boolean {
    return this.#table.has(event);
  }

  /** Calls the listeners of `event` in order; a throwing listener becomes a process warning. */
  emit<K extends keyof E>(event: K, arg: Parameters<E[K]>[0]): void {
    const list = this.#table.get(event);
    if (list === undefined) return;
    for (const listener of list) {
      try {
        (listener as (value: typeof arg) => void)(arg);
      } catch (error) {
        const text = error instanceof Error ? error.message : String(error);
        process.emitWarning(`a ${this.#owner} '${String(event)}' listener threw: ${text}`, { code: 'ETCDKIT_LISTENER' });
      }
    }
  }

  /** Drops every listener. */
  clear(): void {
    this.#table.clear();
  }
}
