import type {
  handleUnaryCall,
  Metadata,
  ServerDuplexStream,
  ServerUnaryCall,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { ServiceName } from '../../protocol/messages.generated.js';
import { serviceDefinitions } from '../../protocol/services.js';
import { etcdError } from '../errors.js';
import { toServiceError } from '../grpc/status.js';
import type { LeaderGate } from './gate.js';
import { leaderNeed } from './policy.js';

/** The metadata key and value of etcd's require-leader option (clientv3 WithRequireLeader). */
const REQUIRE_LEADER_KEY = 'hasleader';
const REQUIRE_LEADER_VALUE = 'true';

function requiresLeader(metadata: Metadata): boolean {
  return metadata.get(REQUIRE_LEADER_KEY)[0] === REQUIRE_LEADER_VALUE;
}

/**
 * Wraps one service's handlers with the member's leader rules (etcd's v3rpc interceptors
 * plus the waits of its raft layer):
 * - a call with `hasleader: true` on a member without a leader fails at once with
 *   `etcdserver: no leader`; such a stream is tracked and cancelled the same way when the
 *   member stays leaderless (see {@link LeaderGate});
 * - a unary call that needs the leader (see policy.ts) waits for one while there is none.
 */
export function guardService(
  service: ServiceName,
  implementation: UntypedServiceImplementation,
  gate: LeaderGate,
): UntypedServiceImplementation {
  const defs = serviceDefinitions[service] as Record<string, { requestStream: boolean; responseStream: boolean }>;
  const out: UntypedServiceImplementation = {};
  for (const [method, handler] of Object.entries(implementation)) {
    const def = defs[method];
    if (def === undefined) {
      out[method] = handler;
    } else if (!def.requestStream && !def.responseStream) {
      out[method] = guardUnary(`${service}.${method}`, handler as handleUnaryCall<unknown, unknown>, gate);
    } else {
      out[method] = guardStream(handler, gate);
    }
  }
  return out;
}

function guardUnary(
  name: string,
  handler: handleUnaryCall<unknown, unknown>,
  gate: LeaderGate,
): handleUnaryCall<unknown, unknown> {
  return (call, callback) => {
    if (gate.hasLeader) {
      handler(call, callback);
      return;
    }
    if (requiresLeader(call.metadata)) {
      callback(toServiceError(etcdError('noLeader')));
      return;
    }
    const need = leaderNeed(name, call.request);
    if (need === 'local') {
      handler(call, callback);
      return;
    }
    gate
      .waitForLeader(need === 'forward' ? 'noLeader' : 'timeout', (drop) => onClientGone(call, drop))
      .then(
        () => handler(call, callback),
        (err: unknown) => callback(toServiceError(err)),
      );
  };
}

function onClientGone(call: ServerUnaryCall<unknown, unknown>, drop: () => void): void {
  call.once('cancelled', drop);
}

/** A streaming call as the guard needs it: metadata, the error path, and its end events. */
type StreamCall = Pick<ServerDuplexStream<unknown, unknown>, 'metadata' | 'emit' | 'once'>;

function guardStream(handler: UntypedHandleCall, gate: LeaderGate): UntypedHandleCall {
  const run = handler as (call: StreamCall) => void;
  return ((call: StreamCall) => {
    if (!requiresLeader(call.metadata)) {
      run(call);
      return;
    }
    if (!gate.hasLeader) {
      call.emit('error', toServiceError(etcdError('noLeader')));
      return;
    }
    let open = true;
    const release = gate.track({
      cancelNoLeader() {
        if (!open) return;
        open = false;
        call.emit('error', toServiceError(etcdError('noLeader')));
      },
    });
    const ended = (): void => {
      open = false;
      release();
    };
    call.once('close', ended);
    call.once('cancelled', ended);
    call.once('finish', ended);
    run(call);
  }) as UntypedHandleCall;
}
