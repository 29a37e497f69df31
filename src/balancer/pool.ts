/**
 * The endpoint pool: one channel per endpoint, round-robin over the ready ones, and a wait
 * for "some endpoint ready" bounded by the dial timeout. Calls are only dispatched on ready
 * channels, so a call that fails here was provably never sent.
 */
import type { ChannelOptions } from '@grpc/grpc-js';
import { ClientClosedError, DeadlineExceededError, UnavailableError } from '../errors.js';
import type { EtcdError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Endpoint } from '../options.js';
import { EndpointChannel } from './channel.js';

/** Why a wait for a ready endpoint ends without one. */
export type WaitEnd = 'dial-timeout' | 'deadline';

interface Waiter {
  readonly resolve: (channel: EndpointChannel) => void;
  readonly reject: (error: EtcdError) => void;
  readonly timer: NodeJS.Timeout;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Every endpoint's channel, and the round-robin cursor. */
export class EndpointPool {
  readonly channels: readonly EndpointChannel[];
  #next = 0;
  #closed = false;
  readonly #waiters = new Set<Waiter>();

  constructor(endpoints: readonly Endpoint[], options: ChannelOptions) {
    this.channels = endpoints.map((endpoint) => new EndpointChannel(endpoint, options));
    for (const channel of this.channels) channel.onChange((changed) => this.#onChange(changed));
  }

  /** The endpoints' addresses, for messages. */
  get addresses(): string {
    return this.channels.map((c) => c.endpoint.address).join(', ');
  }

  /** The next ready channel in round-robin order, or undefined when none is ready. */
  pickReady(): EndpointChannel | undefined {
    const channels = this.channels;
    const n = channels.length;
    for (let i = 0; i < n; i++) {
      const index = (this.#next + i) % n;
      const channel = channels[index]!;
      if (channel.ready) {
        this.#next = index + 1 === n ? 0 : index + 1;
        return channel;
      }
    }
    return undefined;
  }

  /**
   * Waits until some endpoint is ready (connecting idle ones), for at most `waitMs`.
   * Rejects with UnavailableError naming the endpoints when `end` is `'dial-timeout'`,
   * DeadlineExceededError when it is the call's `'deadline'`, ClientClosedError on close.
   * The caller handles its abort signal's rejection itself via `onAbort`.
   */
  waitForReady(
    waitMs: number,
    end: WaitEnd,
    signal: AbortSignal | undefined,
    abortError: () => EtcdError,
  ): Promise<EndpointChannel> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    for (const channel of this.channels) channel.connect();
    const ready = this.pickReady();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<EndpointChannel>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        signal,
        timer: setTimeout(() => {
          this.#drop(waiter);
          reject(end === 'deadline' ? this.#deadlineError(waitMs) : this.#dialError(waitMs));
        }, waitMs),
        onAbort: () => {
          this.#drop(waiter);
          reject(abortError());
        },
      };
      signal?.addEventListener('abort', waiter.onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Closes every channel and fails pending waits with ClientClosedError. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of [...this.#waiters]) {
      this.#drop(waiter);
      waiter.reject(new ClientClosedError());
    }
    for (const channel of this.channels) channel.close();
  }

  #onChange(channel: EndpointChannel): void {
    if (this.#waiters.size === 0) return;
    // Someone is waiting: a channel that fell back to idle (after a failed attempt) reconnects.
    if (channel.idle) channel.connect();
    this.#wake();
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) {
      const channel = this.pickReady();
      if (channel === undefined) return;
      this.#drop(waiter);
      waiter.resolve(channel);
    }
  }

  #drop(waiter: Waiter): void {
    this.#waiters.delete(waiter);
    clearTimeout(waiter.timer);
    waiter.signal?.removeEventListener('abort', waiter.onAbort);
  }

  #dialError(waitMs: number): UnavailableError {
    const text = `could not connect to any endpoint within ${waitMs} ms (${this.addresses})`;
    return new UnavailableError({ code: GrpcCode.UNAVAILABLE, etcdMessage: text, retryable: true });
  }

  #deadlineError(waitMs: number): DeadlineExceededError {
    const text = `deadline of the call passed after ${waitMs} ms while waiting for a connection (${this.addresses})`;
    return new DeadlineExceededError({ code: GrpcCode.DEADLINE_EXCEEDED, etcdMessage: text, retryable: true });
  }
}
