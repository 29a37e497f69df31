/**
 * A tiny raw gRPC caller over src/protocol/services.ts, for tests that must compare the
 * servers themselves rather than our client: every call resolves to `{ ok: response }` or
 * `{ err: { code, details } }`, never rejects.
 */
import * as grpc from '@grpc/grpc-js';
import { methodDef, type MethodName, type RequestOf, type ResponseOf } from '../../src/protocol/services.js';
import type { Init, ServiceName } from '../../src/protocol/messages.generated.js';

export type RawResult<T> = { ok: T; err?: undefined } | { ok?: undefined; err: { code: number; details: string } };

/**
 * One unary call of `service.method` on `client` with a wire request (proto field names),
 * bounded by `timeoutMs` (the call's deadline) and sent with `metadata`; never rejects. The
 * one implementation behind RawClient, test/server/rpc-client.ts and
 * test/server/cluster-harness.ts.
 */
export function unaryCall<S extends ServiceName, M extends MethodName<S>>(
  client: grpc.Client,
  service: S,
  method: M,
  request: Init<RequestOf<S, M>>,
  timeoutMs: number,
  metadata: grpc.Metadata = new grpc.Metadata(),
): Promise<RawResult<ResponseOf<S, M>>> {
  const def = methodDef(service, method);
  return new Promise((resolve) => {
    client.makeUnaryRequest<Init<RequestOf<S, M>>, ResponseOf<S, M>>(
      def.path,
      def.requestSerialize,
      def.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + timeoutMs },
      (err, response) => {
        if (err) resolve({ err: { code: err.code, details: err.details } });
        else resolve({ ok: response as ResponseOf<S, M> });
      },
    );
  });
}

/** A raw unary caller bound to one endpoint. */
export class RawClient {
  readonly #client: grpc.Client;

  constructor(endpoint: string) {
    this.#client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
  }

  /**
   * Calls the unary `service.method` with a wire request (proto field names), bounded by
   * `timeoutMs` and sent with `metadata` (none by default).
   */
  call<S extends ServiceName, M extends MethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestOf<S, M>>,
    timeoutMs = 10_000,
    metadata?: grpc.Metadata,
  ): Promise<RawResult<ResponseOf<S, M>>> {
    const def = methodDef(service, method);
    if (def.requestStream || def.responseStream) {
      return Promise.reject(new Error(`raw: ${service}.${method} is a streaming method`));
    }
    return unaryCall(this.#client, service, method, request, timeoutMs, metadata);
  }

  /** Closes the channel. */
  close(): void {
    this.#client.close();
  }
}
