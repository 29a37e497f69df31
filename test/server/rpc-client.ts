/**
 * A minimal unary gRPC caller for the server tests, straight over src/protocol/services.ts
 * (no etcdkit client). Calls resolve to the response or reject with `{code, details}`.
 */
import * as grpc from '@grpc/grpc-js';
import { methodDef, type MethodName, type RequestOf, type ResponseOf } from '../../src/protocol/services.js';
import type { Init, ServiceName } from '../../src/protocol/messages.generated.js';

export interface RpcError {
  code: number;
  details: string;
}

export class RpcClient {
  readonly #client: grpc.Client;

  constructor(endpoint: string) {
    this.#client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestOf<S, M>>,
    timeoutMs = 10_000,
  ): Promise<ResponseOf<S, M>> {
    const def = methodDef(service, method);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest<Init<RequestOf<S, M>>, ResponseOf<S, M>>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (err) reject({ code: err.code, details: err.details } satisfies RpcError);
          else resolve(response!);
        },
      );
    });
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
    this.#client.close();
  }
}

const enc = new TextEncoder();
/** UTF-8 bytes of a string. */
export const b = (s: string): Uint8Array => enc.encode(s);
/** A UTF-8 string of bytes. */
export const s = (u: Uint8Array | undefined): string => Buffer.from(u ?? new Uint8Array()).toString();
