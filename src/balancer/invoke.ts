/**
 * The seam every client namespace (kv, lease, ...) uses to run unary RPCs. Types only, and
 * free of grpc-js types so they can appear in public declarations.
 */
import type { Init, ServiceMethods, ServiceName } from '../protocol/messages.generated.js';
import type { CallOptions } from '../options.js';

/** Method names of a service. */
export type MethodNameOf<S extends ServiceName> = keyof ServiceMethods[S] & string;

/** Names of the unary (non-streaming) methods of a service. */
export type UnaryMethodName<S extends ServiceName> = {
  [M in MethodNameOf<S>]: ServiceMethods[S][M] extends { requestStream: false; responseStream: false } ? M : never;
}[MethodNameOf<S>];

/** Decoded request type of a method. */
export type RequestType<S extends ServiceName, M extends MethodNameOf<S>> = ServiceMethods[S][M] extends {
  request: infer R;
}
  ? R
  : never;

/** Decoded response type of a method. */
export type ResponseType<S extends ServiceName, M extends MethodNameOf<S>> = ServiceMethods[S][M] extends {
  response: infer R;
}
  ? R
  : never;

/** Runs unary RPCs: deadline, abort, endpoint choice, error classification, safe retries. */
export interface Invoke {
  invoke<S extends ServiceName, M extends UnaryMethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestType<S, M>>,
    options?: CallOptions,
  ): Promise<ResponseType<S, M>>;
}
