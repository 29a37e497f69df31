/**
 * Test helper: a scripted KV gRPC server (grpc-js) on 127.0.0.1:0, for client behaviour that
 * a real server cannot produce on demand (transient errors, hanging calls).
 */
import * as grpc from '@grpc/grpc-js';
import { grpcServiceDefinition } from '../../src/protocol/services.js';
import { etcdErrors } from '../../src/protocol/error-table.js';
import type { EtcdErrorName } from '../../src/protocol/error-table.js';
import type { Init, RangeResponse } from '../../src/protocol/messages.generated.js';

/** What a handler does with one call: answer, fail with an etcd error, or never answer. */
export type Reply = { ok: Init<RangeResponse> } | { fail: EtcdErrorName } | { status: number; details: string } | 'hang';

export interface FakeKv {
  readonly endpoint: string;
  /** Calls received per method (the client's health probes as `Probe`). */
  readonly calls: Record<string, number>;
  close(): Promise<void>;
}

const header = { cluster_id: 1n, member_id: 2n, revision: 5n, raft_term: 3n };

/** The client's health probe is a count-only read of `health`. */
function isProbe(method: string, request: unknown): boolean {
  const r = request as { key?: Uint8Array; count_only?: boolean };
  return method === 'Range' && r.count_only === true && r.key !== undefined && Buffer.from(r.key).toString() === 'health';
}

/**
 * Starts the fake on `port` (0: any free port); `script(method, n)` decides the reply to the
 * n-th call (1-based) of a method.
 */
export async function startFakeKv(script: (method: string, n: number) => Reply, port = 0): Promise<FakeKv> {
  const server = new grpc.Server();
  const calls: Record<string, number> = {};
  const hanging = new Set<grpc.sendUnaryData<unknown>>();
  const handler =
    (method: string) =>
    (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      if (isProbe(method, call.request)) {
        // The client's health probe: counted apart, and always answered (the member is alive).
        calls.Probe = (calls.Probe ?? 0) + 1;
        callback(null, { header, count: 0n });
        return;
      }
      calls[method] = (calls[method] ?? 0) + 1;
      const reply = script(method, calls[method]!);
      if (reply === 'hang') {
        hanging.add(callback);
        return;
      }
      if ('ok' in reply) callback(null, { header, ...reply.ok });
      else if ('fail' in reply) {
        const spec = etcdErrors[reply.fail];
        callback({ code: spec.code, details: spec.message });
      } else callback({ code: reply.status, details: reply.details });
    };
  server.addService(grpcServiceDefinition('KV'), {
    Range: handler('Range'),
    Put: handler('Put'),
    DeleteRange: handler('DeleteRange'),
    Txn: handler('Txn'),
    Compact: handler('Compact'),
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    endpoint: `127.0.0.1:${bound}`,
    calls,
    close: () =>
      new Promise<void>((resolve) => {
        hanging.clear();
        server.forceShutdown();
        resolve();
      }),
  };
}
