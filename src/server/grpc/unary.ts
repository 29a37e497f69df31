import type { handleUnaryCall, ServerUnaryCall } from '@grpc/grpc-js';
import { toServiceError } from './status.js';

/**
 * Adapts a synchronous (or async) request -> response function to a grpc-js unary handler;
 * any throw becomes a status (see status.ts), never an unhandled error.
 */
export function unary<Req, Res>(
  handler: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>,
): handleUnaryCall<Req, Res> {
  return (call, callback) => {
    let result: Res | Promise<Res>;
    try {
      result = handler(call.request, call);
    } catch (err) {
      callback(toServiceError(err));
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
    } else {
      callback(null, result);
    }
  };
}
