/**
 * The health probe: one cheap Maintenance.Status call to one endpoint, with etcd's
 * require-leader metadata and a short deadline. It tells a member that answers and has a
 * leader from one that is frozen (no answer in time), leaderless, or unreachable. It is an
 * ordinary RPC, not an HTTP/2 ping, so etcd's ping policy does not apply to it.
 */
import * as grpc from '@grpc/grpc-js';
import { classifyStatus, NoLeaderError, RequestTimedOutError, ServerStoppedError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { StatusResponse } from '../protocol/messages.generated.js';
import { methodDef } from '../protocol/services.js';
import type { EndpointChannel } from './channel.js';

/** What a probe found out. */
export type ProbeOutcome =
  | {
      readonly kind: 'ok';
      /** The raft term of the answer. */
      readonly term?: bigint;
      /** The member's store revision (what it has applied). */
      readonly revision?: bigint;
    }
  | { readonly kind: 'no-leader'; readonly detail: string }
  | { readonly kind: 'timeout'; readonly detail: string }
  | { readonly kind: 'unavailable'; readonly detail: string };

/** Sends one probe; resolves with its outcome (never rejects). */
export type Prober = (channel: EndpointChannel, timeoutMs: number) => Promise<ProbeOutcome>;

const status = methodDef('Maintenance', 'Status');
const leaderMetadata = new grpc.Metadata();
leaderMetadata.set('hasleader', 'true');

/** Probes with `Maintenance.Status` (require-leader, deadline `timeoutMs`). */
export const statusProbe: Prober = (channel, timeoutMs) =>
  new Promise<ProbeOutcome>((resolve) => {
    try {
      channel.client.makeUnaryRequest(
        status.path,
        status.requestSerialize as (value: unknown) => Buffer,
        status.responseDeserialize as (bytes: Buffer) => StatusResponse,
        {},
        leaderMetadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => resolve(error == null ? answered(response) : failed(error, channel, timeoutMs)),
      );
    } catch {
      resolve({ kind: 'unavailable', detail: 'channel closed' });
    }
  });

function answered(response: StatusResponse | undefined): ProbeOutcome {
  // A member that answers without knowing a leader (leader 0) cannot serve linearizable calls.
  if (response !== undefined && response.leader === 0n) return { kind: 'no-leader', detail: 'no leader' };
  return { kind: 'ok', term: response?.header?.raft_term, revision: response?.header?.revision };
}

function failed(error: grpc.ServiceError, channel: EndpointChannel, timeoutMs: number): ProbeOutcome {
  const classified = classifyStatus(error, { idempotent: true, endpoint: channel.endpoint.address });
  if (classified instanceof NoLeaderError || classified instanceof RequestTimedOutError) {
    return { kind: 'no-leader', detail: classified.etcdMessage };
  }
  if (classified instanceof ServerStoppedError) return { kind: 'unavailable', detail: classified.etcdMessage };
  if (classified.etcdErrorName !== undefined) return { kind: 'ok' };
  switch (error.code) {
    case GrpcCode.DEADLINE_EXCEEDED:
      return { kind: 'timeout', detail: `no answer within ${timeoutMs} ms` };
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.CANCELLED:
      return { kind: 'unavailable', detail: channel.lastError ?? 'connection failed' };
    default:
      // Any other answer (UNIMPLEMENTED from a non-etcd server, PERMISSION_DENIED ...) means
      // the endpoint is alive and talking.
      return { kind: 'ok' };
  }
}
