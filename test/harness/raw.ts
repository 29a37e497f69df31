/**
 * A tiny raw gRPC caller over src/protocol/services.ts, for tests that must compare the
 * servers themselves rather than our client: every call resolves to `{ ok: response }` or
 * `{ err: { code, details } }`, never rejects.
 */
import * as grpc from '@grpc/grpc-js';
import { methodDef, type MethodName, type RequestOf, type ResponseOf } from '../../src/protocol/services.js';
import type { Init, ServiceName } from '../../src/protocol/messages.generated.js';

export type RawResult<T> = { ok: T; err?: undefined } | { ok?: undefined; err: { code: number; details: string } };

/** A raw unary caller bound to one endpoint. */
export class RawClient {
  readonly #client: grpc.Client;

  constructor(endpoint: string) {
    this.#client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  /** Calls the unary `service.method` with a wire request (proto field names), bounded by `timeoutMs`. */
  call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestOf<S, M>>,
    timeoutMs = 10_000,
  ): Promise<RawResult<ResponseOf<S, M>>> {
    const def = methodDef(service, method);
    if (def.requestStream || def.responseStream) {
      return Promise.reject(new Error(`raw: ${service}.${method} is a streaming method`));
    }
    return new Promise((resolve) => {
      this.#client.makeUnaryRequest<Init<RequestOf<S, M>>, ResponseOf<S, M>>(
        def.path,
        def.requestSerialize,
        def.responseDeserialize,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, response) => {
          if (err) resolve({ err: { code: err.code, details: err.details } });
          else resolve({ ok: response as ResponseOf<S, M> });
        },
      );
    });
  }

  /** Closes the channel. */
  close(): void {
    this.#client.close();
  }
}
