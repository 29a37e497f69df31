/**
 * A fake LeaseKeepAlive stream opener for unit tests of the keepalive manager: streams answer
 * each keepalive (or stay silent, or fail) as the test decides, and every open is recorded.
 */
import { CancelledError, UnavailableError } from '../../src/index.js';
import type { EtcdError } from '../../src/index.js';
import type { StreamHandlers } from '../../src/balancer/stream.js';
import type { OpenStreamOptions } from '../../src/balancer/stream.js';
import type { KeepAliveStream, OpenKeepAliveStream } from '../../src/lease/keepalive-stream.js';
import type { LeaseKeepAliveRequest, LeaseKeepAliveResponse } from '../../src/protocol/messages.generated.js';
import type { Init } from '../../src/protocol/messages.generated.js';
import { GrpcCode } from '../../src/protocol/error-table.js';

/** How new keepalive requests are answered. */
export type AnswerMode = 'answer' | 'silent';

export function unavailable(text = 'fake stream failed'): UnavailableError {
  return new UnavailableError({ code: GrpcCode.UNAVAILABLE, etcdMessage: text, retryable: true });
}

export class FakeStream implements KeepAliveStream {
  readonly endpoint: string;
  readonly writes: bigint[] = [];
  #ended = false;
  #handlers: StreamHandlers<LeaseKeepAliveResponse> | undefined;
  readonly #owner: FakeKeepAlive;

  constructor(owner: FakeKeepAlive, endpoint: string) {
    this.#owner = owner;
    this.endpoint = endpoint;
  }

  get ended(): boolean {
    return this.#ended;
  }

  listen(handlers: StreamHandlers<LeaseKeepAliveResponse>): void {
    this.#handlers = handlers;
  }

  write(message: Init<LeaseKeepAliveRequest>): boolean {
    if (this.#ended) return false;
    const id = message.ID ?? 0n;
    this.writes.push(id);
    if (this.#owner.mode === 'answer') {
      const ttl = this.#owner.ttlFor(id);
      setImmediate(() => {
        if (!this.#ended) this.#handlers?.data({ ID: id, TTL: ttl, header: undefined });
      });
    }
    return true;
  }

  end(): void {}

  cancel(): void {
    this.fail(new CancelledError({ code: GrpcCode.CANCELLED, etcdMessage: 'cancelled', retryable: false }));
  }

  /** Ends the stream with `error` (reported asynchronously, like grpc). */
  fail(error: EtcdError = unavailable()): void {
    if (this.#ended) return;
    this.#ended = true;
    setImmediate(() => this.#handlers?.end(error));
  }
}

/** The fake opener plus its controls. */
export class FakeKeepAlive {
  mode: AnswerMode = 'answer';
  /** When set, opens are refused with this error. */
  refuse: EtcdError | undefined;
  /** The TTL answered for a lease (default 1 s; 0 means gone). */
  ttlFor: (id: bigint) => bigint = () => 1n;
  readonly streams: FakeStream[] = [];
  readonly avoided: Array<string | undefined> = [];
  opens = 0;
  #endpoint = 0;

  readonly open: OpenKeepAliveStream = (options: OpenStreamOptions) => {
    this.opens += 1;
    this.avoided.push(options.avoid);
    if (this.refuse !== undefined) return Promise.reject(this.refuse);
    // Alternate between two endpoints, honouring `avoid` like the real seam.
    let endpoint = `fake:${this.#endpoint++ % 2}`;
    if (endpoint === options.avoid) endpoint = `fake:${this.#endpoint++ % 2}`;
    const stream = new FakeStream(this, endpoint);
    options.signal?.addEventListener('abort', () => stream.cancel(), { once: true });
    this.streams.push(stream);
    return Promise.resolve(stream);
  };

  /** The most recent stream. */
  get current(): FakeStream {
    const stream = this.streams.at(-1);
    if (stream === undefined) throw new Error('no stream opened yet');
    return stream;
  }

  /** Streams not ended. */
  get live(): FakeStream[] {
    return this.streams.filter((s) => !s.ended);
  }
}

/** Sleeps `ms`. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits until `check()` holds, polling every 10 ms for at most `maxMs`. */
export async function until(check: () => boolean, maxMs: number, what: string): Promise<void> {
  const end = Date.now() + maxMs;
  for (let i = 0; i < 10_000 && Date.now() < end; i++) {
    if (check()) return;
    await sleep(10);
  }
  if (!check()) throw new Error(`${what}: not true within ${maxMs} ms`);
}
