/**
 * A raw Watch stream for the watch tests, straight over src/protocol/services.ts (no etcdkit
 * client): send requests, await responses one by one with a bound, pause/resume reading.
 */
import * as grpc from '@grpc/grpc-js';
import { methodDef } from '../../src/protocol/services.js';
import type { Init, WatchRequest, WatchResponse } from '../../src/protocol/messages.generated.js';

const def = methodDef('Watch', 'Watch');

/** A gRPC client over its own connection (no shared subchannel). */
export function rawClient(endpoint: string): grpc.Client {
  return new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
}

export class WatchCall {
  readonly #call: grpc.ClientDuplexStream<Init<WatchRequest>, WatchResponse>;
  readonly #received: WatchResponse[] = [];
  #waiter: (() => void) | undefined;
  #status: grpc.StatusObject | undefined;
  #error: grpc.ServiceError | undefined;
  #paused = false;

  constructor(client: grpc.Client) {
    this.#call = client.makeBidiStreamRequest(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      new grpc.Metadata(),
      {},
    );
    this.#call.on('data', (r: WatchResponse) => {
      this.#received.push(r);
      this.#wake();
    });
    this.#call.on('status', (st: grpc.StatusObject) => {
      this.#status = st;
      this.#wake();
    });
    this.#call.on('error', (err: grpc.ServiceError) => {
      this.#error = err;
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  send(request: Init<WatchRequest>): void {
    this.#call.write(request);
  }

  /** Sends a create request. */
  create(create: Init<NonNullable<WatchRequest['create_request']>>): void {
    this.send({ create_request: create });
  }

  /** The call's final status, once it ended. */
  get status(): grpc.StatusObject | undefined {
    return this.#status;
  }

  get error(): grpc.ServiceError | undefined {
    return this.#error;
  }

  /** Responses received and not yet taken. */
  get buffered(): number {
    return this.#received.length;
  }

  /** The next response; rejects after `timeoutMs` or when the call ends first. */
  async next(timeoutMs = 5000): Promise<WatchResponse> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = this.#received.shift();
      if (r !== undefined) return r;
      if (this.#status !== undefined) throw new Error(`watch call ended: ${this.#status.code} ${this.#status.details}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no watch response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  /** Takes `n` responses. */
  async take(n: number, timeoutMs = 5000): Promise<WatchResponse[]> {
    const out: WatchResponse[] = [];
    for (let i = 0; i < n; i++) out.push(await this.next(timeoutMs));
    return out;
  }

  /** Asserts that nothing arrives for `ms` (used only to check that something is NOT sent). */
  async none(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    if (this.#received.length > 0) {
      throw new Error(`unexpected watch response: ${JSON.stringify(this.#received[0], jsonSafe)}`);
    }
  }

  /** Stops reading from the network (HTTP/2 flow control then pushes back on the server). */
  pause(): void {
    this.#paused = true;
    this.#call.pause();
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#call.resume();
  }

  /** Half-closes the request side. */
  halfClose(): void {
    this.#call.end();
  }

  /** Cancels the call. */
  cancel(): void {
    this.#call.cancel();
  }

  /** Waits until the call has ended (bounded). */
  async ended(timeoutMs = 5000): Promise<grpc.StatusObject> {
    const deadline = Date.now() + timeoutMs;
    while (this.#status === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`watch call did not end within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.#waiter = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
    return this.#status;
  }
}

/** JSON.stringify replacer for messages holding bigints and bytes. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString();
  return value;
}
