/**
 * A minimal unary gRPC caller for the server tests, straight over src/protocol/services.ts
 * (no etcdkit client) through test/harness/raw.ts. Calls resolve to the response or reject
 * with `{code, details}`.
 */
import type { MethodName, RequestOf, ResponseOf } from '../../src/protocol/services.js';
import type { Init, ServiceName } from '../../src/protocol/messages.generated.js';
import { RawClient } from '../harness/raw.js';

export interface RpcError {
  code: number;
  details: string;
}

/** test/harness/raw.ts's RawClient, with failures as rejections. */
export class RpcClient {
  readonly #raw: RawClient;

  constructor(endpoint: string) {
    this.#raw = new RawClient(endpoint);
  }

  async call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestOf<S, M>>,
    timeoutMs = 10_000,
  ): Promise<ResponseOf<S, M>> {
    const r = await this.#raw.call(service, method, request, timeoutMs);
    if (r.err) throw r.err satisfies RpcError;
    return r.ok;
  }

  /** Resolves to the error of a call expected to fail (rejects if it succeeds). */
  async fail<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestOf<S, M>>,
  ): Promise<RpcError> {
    try {
      await this.call(service, method, request);
    } catch (err) {
      return err as RpcError;
    }
    throw new Error(`${service}.${method} unexpectedly succeeded`);
  }

  close(): void {
    this.#raw.close();
  }
}

const enc = new TextEncoder();
/** UTF-8 bytes of a string. */
export const b = (s: string): Uint8Array => enc.encode(s);
/** A UTF-8 string of bytes. */
export const s = (u: Uint8Array | undefined): string => Buffer.from(u ?? new Uint8Array()).toString();
