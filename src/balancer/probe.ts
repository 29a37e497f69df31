/**
 * The health probe: one linearizable read of the key `health` (count only, so the answer is
 * a few bytes whatever the key holds) on one endpoint, with etcd's require-leader metadata and
 * a short deadline - what `etcdctl endpoint health` asks. Unlike a Status call, which a member
 * answers from local state, it goes the way every linearizable call goes: the member must have
 * a leader, get a read index from it, and have applied up to it. So it tells a member that can
 * serve from one that is frozen, leaderless, cut off from its leader, still catching up, or
 * unreachable. Any etcd answer counts (a permission error included: it is given after the
 * read index). It is an ordinary RPC, not an HTTP/2 ping, so etcd's ping policy does not apply.
 */
import * as grpc from '@grpc/grpc-js';
import { classifyStatus, NoLeaderError, RequestTimedOutError, ServerStoppedError } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { RangeResponse } from '../protocol/messages.generated.js';
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

const range = methodDef('KV', 'Range');
const leaderMetadata = new grpc.Metadata();
leaderMetadata.set('hasleader', 'true');

/** The key read by probes (the one etcdctl's health check reads). */
export const PROBE_KEY = 'health';
const probeRequest = { key: new TextEncoder().encode(PROBE_KEY), count_only: true };

/** Probes with a count-only linearizable read of {@link PROBE_KEY} (require-leader, deadline `timeoutMs`). */
export const readProbe: Prober = (channel, timeoutMs) =>
  new Promise<ProbeOutcome>((resolve) => {
    try {
      channel.client.makeUnaryRequest(
        range.path,
        range.requestSerialize as (value: unknown) => Buffer,
        range.responseDeserialize as (bytes: Buffer) => RangeResponse,
        probeRequest,
        leaderMetadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => resolve(error == null ? answered(response) : failed(error, channel, timeoutMs)),
      );
    } catch {
      resolve({ kind: 'unavailable', detail: 'channel closed' });
    }
  });

function answered(response: RangeResponse | undefined): ProbeOutcome {
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
