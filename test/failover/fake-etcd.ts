/**
 * Test helper: a scripted etcd-like gRPC server (grpc-js) on 127.0.0.1, for balancer
 * behaviour a real server cannot produce on demand: a member whose process is alive and
 * whose HTTP/2 connection answers pings, but whose calls and streams get no answer
 * (`freeze()`), scripted etcd errors per call, and a scripted member list. Every call and
 * stream is recorded with its metadata.
 */
import * as grpc from '@grpc/grpc-js';
import { etcdErrors } from '../../src/protocol/error-table.js';
import type { EtcdErrorName } from '../../src/protocol/error-table.js';
import { grpcServiceDefinition } from '../../src/protocol/services.js';
import type { Member } from '../../src/protocol/messages.generated.js';

/** What a handler does with one unary call. */
export type FakeReply =
  | { ok: Record<string, unknown> }
  | { fail: EtcdErrorName }
  | { after: number; reply: FakeReply }
  | 'hang'
  | 'default';

export interface FakeCall {
  readonly method: string;
  readonly request: Record<string, unknown>;
  readonly hasLeader: boolean;
  readonly at: number;
}

export interface FakeEtcd {
  readonly endpoint: string;
  readonly memberId: bigint;
  /** Every unary call, in arrival order (the client's health probes as method `Probe`). */
  readonly calls: FakeCall[];
  /** Every stream opened: its method and whether it carried `hasleader: true`. */
  readonly streams: { method: string; hasLeader: boolean }[];
  /** Decides the reply to each unary call (`'default'`: the built-in answer). */
  script: (call: FakeCall) => FakeReply;
  /** The raft term in response headers. */
  term: bigint;
  /** The store revision in response headers. */
  revision: bigint;
  /** The member list MemberList answers. */
  members: Member[];
  /** While true, keepalive requests get no answer (like a follower waiting on a frozen leader). */
  holdKeepAlives: boolean;
  /** Unary calls of `method` received so far. */
  count(method: string): number;
  /** From now on nothing is answered: calls hang, stream messages are swallowed. */
  freeze(): void;
  /** Answers again (held calls stay unanswered). */
  thaw(): void;
  close(): Promise<void>;
}

let nextMemberId = 100n;

const unaryMethods: Record<string, string[]> = {
  KV: ['Range', 'Put', 'DeleteRange', 'Txn', 'Compact'],
  Maintenance: ['Status'],
  Cluster: ['MemberList'],
  Lease: ['LeaseGrant', 'LeaseRevoke', 'LeaseTimeToLive', 'LeaseLeases'],
};

/** The client's health probe (a count-only read of `health`) is recorded as method `Probe`. */
function isProbe(method: string, request: Record<string, unknown>): boolean {
  return method === 'Range' && request.count_only === true && Buffer.from(request.key as Uint8Array).toString() === 'health';
}

/** Starts a fake member on `port` (0: a free one). */
export async function startFakeEtcd(port = 0): Promise<FakeEtcd> {
  const server = new grpc.Server();
  const memberId = nextMemberId++;
  let frozen = false;
  const held = new Set<unknown>();
  const timers = new Set<NodeJS.Timeout>();
  const liveStreams = new Set<grpc.ServerDuplexStream<unknown, unknown>>();
  const header = () => ({ cluster_id: 1n, member_id: memberId, revision: fake.revision, raft_term: fake.term });
  const builtIn = (method: string, request: Record<string, unknown>): Record<string, unknown> => {
    switch (method) {
      case 'Status':
        return { version: '3.4.23', leader: memberId };
      case 'Probe':
        return { count: 0n };
      case 'MemberList':
        return { members: fake.members };
      case 'LeaseGrant':
        return { ID: (request.ID as bigint | undefined) || 7n, TTL: request.TTL ?? 5n };
      case 'LeaseTimeToLive':
        return { ID: request.ID, TTL: 5n, grantedTTL: 5n };
      default:
        return {};
    }
  };
  const unary =
    (method: string) =>
    (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
      const record: FakeCall = {
        method: isProbe(method, call.request) ? 'Probe' : method,
        request: call.request,
        hasLeader: call.metadata.get('hasleader')[0] === 'true',
        at: Date.now(),
      };
      fake.calls.push(record);
      answer(frozen ? 'hang' : fake.script(record), record.method, call.request, callback);
    };
  const answer = (reply: FakeReply, method: string, request: Record<string, unknown>, callback: grpc.sendUnaryData<unknown>): void => {
    if (reply === 'hang') {
      held.add(callback);
      return;
    }
    if (reply === 'default') callback(null, { header: header(), ...builtIn(method, request) });
    else if ('after' in reply) {
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(reply.reply, method, request, callback);
      }, reply.after);
      timers.add(timer);
    } else if ('ok' in reply) callback(null, { header: header(), ...reply.ok });
    else {
      const spec = etcdErrors[reply.fail];
      callback({ code: spec.code, details: spec.message });
    }
  };
  const bidi = (method: string) => (call: grpc.ServerDuplexStream<Record<string, unknown>, unknown>) => {
    fake.streams.push({ method, hasLeader: call.metadata.get('hasleader')[0] === 'true' });
    liveStreams.add(call);
    call.on('data', (request: Record<string, unknown>) => {
      if (frozen) return;
      if (method === 'Watch') {
        const create = request.create_request as { watch_id?: bigint } | undefined;
        if (create !== undefined) call.write({ header: header(), watch_id: create.watch_id ?? 0n, created: true });
        if (request.progress_request !== undefined) call.write({ header: header(), watch_id: -1n });
      } else if (!fake.holdKeepAlives) {
        call.write({ header: header(), ID: request.ID, TTL: 5n });
      }
    });
    call.on('error', () => {});
    call.on('end', () => call.end());
    call.on('close', () => liveStreams.delete(call));
  };
  for (const [service, methods] of Object.entries(unaryMethods)) {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of methods) handlers[method] = unary(method);
    if (service === 'Lease') handlers.LeaseKeepAlive = bidi('LeaseKeepAlive');
    server.addService(grpcServiceDefinition(service as 'KV'), handlers);
  }
  server.addService(grpcServiceDefinition('Watch'), { Watch: bidi('Watch') });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  const fake: FakeEtcd = {
    endpoint: `127.0.0.1:${bound}`,
    memberId,
    calls: [],
    streams: [],
    script: () => 'default',
    term: 2n,
    revision: 1n,
    members: [],
    holdKeepAlives: false,
    count: (method) => fake.calls.filter((c) => c.method === method).length,
    freeze: () => {
      frozen = true;
    },
    thaw: () => {
      frozen = false;
    },
    close: async () => {
      held.clear();
      for (const timer of timers) clearTimeout(timer);
      for (const stream of liveStreams) stream.destroy();
      server.forceShutdown();
    },
  };
  return fake;
}

/** A member list entry whose client URL is `endpoint`. */
export function memberFor(endpoint: string, id: bigint, name = `fake-${id}`): Member {
  return { ID: id, name, peerURLs: [`http://${endpoint}-peer.invalid:2380`], clientURLs: [`http://${endpoint}`], isLearner: false };
}
