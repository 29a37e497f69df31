/**
 * Helpers for the cluster tests, at the gRPC level (no etcdkit client): unary calls with or
 * without etcd's require-leader metadata, a raw LeaseKeepAlive stream, and leak checks.
 */
import * as grpc from '@grpc/grpc-js';
import { methodDef, type MethodName, type RequestOf, type ResponseOf } from '../../src/protocol/services.js';
import type { Init, ServiceName } from '../../src/protocol/messages.generated.js';
import { unaryCall, type RawResult } from '../harness/raw.js';

export type Result<T> = RawResult<T>;

/** Adds `hasleader: true` to every call (clientv3's WithRequireLeader). */
const requireLeader: grpc.Interceptor = (options, nextCall) =>
  new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('hasleader', 'true');
      next(metadata, listener);
    },
  });

/** A client on its own connection; with `hasLeader`, every call requires a leader. */
export function client(endpoint: string, opts: { requireLeader?: boolean } = {}): grpc.Client {
  return new grpc.Client(endpoint, grpc.credentials.createInsecure(), {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
    ...(opts.requireLeader ? { interceptors: [requireLeader] } : {}),
  });
}

/** A unary call bounded by `timeoutMs` (the client's deadline); never rejects. */
export function call<S extends ServiceName, M extends MethodName<S>>(
  c: grpc.Client,
  service: S,
  method: M,
  request: Init<RequestOf<S, M>>,
  timeoutMs = 5000,
): Promise<Result<ResponseOf<S, M>>> {
  return unaryCall(c, service, method, request, timeoutMs);
}

/** The response of a call expected to succeed. */
export async function ok<S extends ServiceName, M extends MethodName<S>>(
  c: grpc.Client,
  service: S,
  method: M,
  request: Init<RequestOf<S, M>>,
  timeoutMs = 5000,
): Promise<ResponseOf<S, M>> {
  const r = await call(c, service, method, request, timeoutMs);
  if (r.err) throw new Error(`${service}.${method} failed: ${r.err.code} ${r.err.details}`);
  return r.ok;
}

const keepAliveDef = methodDef('Lease', 'LeaseKeepAlive');

/** A LeaseKeepAlive stream; `ended` resolves to its final status. */
export function keepAlive(c: grpc.Client): {
  send(id: bigint): void;
  next(timeoutMs?: number): Promise<{ ID: bigint; TTL: bigint }>;
  ended: Promise<grpc.StatusObject>;
  cancel(): void;
} {
  const stream = c.makeBidiStreamRequest(
    keepAliveDef.path,
    keepAliveDef.requestSerialize,
    keepAliveDef.responseDeserialize,
    new grpc.Metadata(),
    {},
  );
  const received: { ID: bigint; TTL: bigint }[] = [];
  let wake: (() => void) | undefined;
  let status: grpc.StatusObject | undefined;
  stream.on('data', (r: { ID: bigint; TTL: bigint }) => {
    received.push(r);
    wake?.();
  });
  stream.on('error', () => undefined);
  const ended = new Promise<grpc.StatusObject>((resolve) =>
    stream.on('status', (s: grpc.StatusObject) => {
      status = s;
      wake?.();
      resolve(s);
    }),
  );
  return {
    send: (id) => stream.write({ ID: id }),
    async next(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const r = received.shift();
        if (r !== undefined) return r;
        if (status !== undefined) throw new Error(`keepalive ended: ${status.code} ${status.details}`);
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no keepalive response within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
    },
    ended,
    cancel: () => stream.cancel(),
  };
}

/** Resolves when `p` settles or after `ms`, whichever is first (to bound a wait). */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
    }),
  ]);
}

/** Active handles and requests by type (timers, sockets, ...), as counts. */
export function activeResources(): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) counts.set(r, (counts.get(r) ?? 0) + 1);
  return counts;
}

/**
 * Waits (bounded) until no resource type is above its count in `baseline`; returns what is
 * still above it (empty = no leak).
 */
export async function leftOver(baseline: Map<string, number>, timeoutMs = 3000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < 300; i++) {
    const extra: string[] = [];
    for (const [type, n] of activeResources()) {
      const before = baseline.get(type) ?? 0;
      if (n > before) extra.push(`${type} x${n - before}`);
    }
    if (extra.length === 0 || Date.now() > deadline) return extra;
    await new Promise((r) => setTimeout(r, 10));
  }
  return ['leftOver: gave up'];
}
