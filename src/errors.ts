/**
 * Public error classes and the one classifier that turns a gRPC status into them.
 *
 * Every error the client raises is an {@link EtcdError}. Errors etcd sends are recognised by
 * their exact message through `src/protocol/error-table.ts` (the only place etcd's strings
 * live); anything else falls back on its gRPC status code. No other module compares strings.
 */
import { etcdErrorByMessage, grpcCodeName, GrpcCode } from './protocol/error-table.js';
import type { EtcdErrorName } from './protocol/error-table.js';

/** Fields every {@link EtcdError} is built from. */
export interface EtcdErrorInit {
  /** gRPC status code (see `GrpcCode`). */
  code: number;
  /** etcd's exact message, or the transport's / client's description. */
  etcdMessage: string;
  /** Whether repeating this same call is safe (see {@link EtcdError.retryable}). */
  retryable: boolean;
  /** For writes whose outcome is unknown (sent, then failed without an answer). */
  mayHaveBeenApplied?: boolean;
  /** The etcd error table entry this error was recognised as, if any. */
  etcdErrorName?: EtcdErrorName;
  /** The endpoint (`host:port`) the call went to, when known. */
  endpoint?: string;
  /** The underlying error (gRPC status error, abort reason, ...). */
  cause?: unknown;
  /** Overrides the `Error.message` (defaults to `etcdMessage`). */
  message?: string;
}

/** Base class of every error raised by etcdkit. */
export class EtcdError extends Error {
  /** gRPC status code number (e.g. 14). */
  readonly code: number;
  /** gRPC status code name (e.g. `'UNAVAILABLE'`). */
  readonly codeName: string;
  /** etcd's exact error message (e.g. `etcdserver: no leader`), or the transport's text. */
  readonly etcdMessage: string;
  /**
   * True when repeating this exact call is safe and may succeed: reads after transient
   * failures, and writes that provably were not applied. False for writes whose outcome
   * is unknown (see {@link mayHaveBeenApplied}) and for errors a retry would only repeat.
   */
  readonly retryable: boolean;
  /** True for a write that was sent and failed without an answer: it may have been applied. */
  readonly mayHaveBeenApplied: boolean;
  /** Name of the etcd error table entry (e.g. `'compacted'`), when etcd sent a known error. */
  readonly etcdErrorName: EtcdErrorName | undefined;
  /** The endpoint (`host:port`) involved, when known. */
  readonly endpoint: string | undefined;

  constructor(init: EtcdErrorInit) {
    super(init.message ?? init.etcdMessage, init.cause === undefined ? undefined : { cause: init.cause });
    this.code = init.code;
    this.codeName = grpcCodeName(init.code);
    this.etcdMessage = init.etcdMessage;
    this.retryable = init.retryable;
    this.mayHaveBeenApplied = init.mayHaveBeenApplied ?? false;
    this.etcdErrorName = init.etcdErrorName;
    this.endpoint = init.endpoint;
    this.name = new.target.name;
  }
}

// ---------------------------------------------------------------------------------------------
// Errors etcd sends (one class per table entry worth telling apart).

/** The requested revision has been compacted away (`etcdserver: mvcc: required revision has been compacted`). */
export class CompactedError extends EtcdError {}
/** The requested revision is newer than the store's current revision. */
export class FutureRevisionError extends EtcdError {}
/** The lease does not exist (expired or revoked). */
export class LeaseNotFoundError extends EtcdError {}
/** A lease with the requested ID already exists. */
export class LeaseExistsError extends EtcdError {}
/** The requested lease TTL exceeds etcd's maximum. */
export class LeaseTtlTooLargeError extends EtcdError {}
/** A transaction writes the same key twice in one branch (or puts inside a deleted range). */
export class DuplicateKeyError extends EtcdError {}
/** A transaction has more operations than the server's `--max-txn-ops`. */
export class TooManyOpsError extends EtcdError {}
/** The request exceeds the server's `--max-request-bytes`. */
export class RequestTooLargeError extends EtcdError {}
/** A put with `ignoreValue`/`ignoreLease` on a key that does not exist. */
export class KeyNotFoundError extends EtcdError {}
/** A put with `ignoreValue` also carried a value. */
export class ValueProvidedError extends EtcdError {}
/** A put with `ignoreLease` also carried a lease. */
export class LeaseProvidedError extends EtcdError {}
/** The request had an empty key. */
export class KeyNotProvidedError extends EtcdError {}
/** The server rejected an unknown sort target or order. */
export class InvalidSortOptionError extends EtcdError {}
/** The authenticated user lacks permission for this request. */
export class PermissionDeniedError extends EtcdError {}
/** The auth token is unknown or expired; re-authenticating and retrying succeeds. */
export class InvalidAuthTokenError extends EtcdError {}
/** The auth store changed while the request was in flight; refresh the token and retry. */
export class AuthOldRevisionError extends EtcdError {}
/** Wrong user name or password. */
export class AuthFailedError extends EtcdError {}
/** Authentication was requested but auth is not enabled on the cluster. */
export class AuthNotEnabledError extends EtcdError {}
/** Auth is enabled and the request carried no user (no token). */
export class UserEmptyError extends EtcdError {}
/** The member has no leader (election in progress or partitioned). */
export class NoLeaderError extends EtcdError {}
/** The leader changed while the request was being processed. */
export class LeaderChangedError extends EtcdError {}
/** The cluster is unhealthy (e.g. not enough started members). */
export class UnhealthyClusterError extends EtcdError {}
/** The server's apply backlog is too long; back off and retry. */
export class TooManyRequestsError extends EtcdError {}
/** The NOSPACE alarm is active: the backend quota is exhausted. */
export class NoSpaceError extends EtcdError {}
/** The CORRUPT alarm is active: the cluster refuses KV requests. */
export class CorruptError extends EtcdError {}
/** The server is shutting down. */
export class ServerStoppedError extends EtcdError {}
/** The server timed out processing the request (any of etcd's `request timed out` variants). */
export class RequestTimedOutError extends EtcdError {}
/** Any other error from etcd's error table; see {@link EtcdError.etcdErrorName}. */
export class EtcdServerError extends EtcdError {}

// ---------------------------------------------------------------------------------------------
// Transport and client-side errors.

/** No connection to etcd, or the connection broke (gRPC UNAVAILABLE without an etcd message). */
export class UnavailableError extends EtcdError {}
/** The call's deadline (`timeoutMs`) passed before an answer arrived. */
export class DeadlineExceededError extends EtcdError {}
/** The call was aborted through its `AbortSignal` (or etcd reports the request canceled). */
export class CancelledError extends EtcdError {}

/** The client was closed before or while the call ran. */
export class ClientClosedError extends EtcdError {
  constructor(message = 'the etcd client is closed') {
    super({ code: GrpcCode.CANCELLED, etcdMessage: message, retryable: false });
  }
}

/** Bad input from the caller, detected before anything was sent. */
export class InvalidArgumentError extends EtcdError {
  /** The argument or option at fault, as a path (`'options.limit'`, `'endpoints[1]'`). */
  readonly argument: string;

  constructor(argument: string, problem: string) {
    const text = argument === '' ? problem : `${argument}: ${problem}`;
    super({ code: GrpcCode.INVALID_ARGUMENT, etcdMessage: text, retryable: false });
    this.argument = argument;
  }
}

/** A stored value could not be decoded as requested (invalid JSON, or failed schema validation). */
export class ValueDecodeError extends EtcdError {
  /** The key whose value failed to decode. */
  readonly key: Uint8Array;

  constructor(key: Uint8Array, keyText: string, problem: string, cause?: unknown) {
    const text = `value of key ${JSON.stringify(keyText)} ${problem}`;
    super({ code: GrpcCode.INVALID_ARGUMENT, etcdMessage: text, retryable: false, cause });
    this.key = key;
  }
}

/** Renders a rejected input for an error message. */
export function describeInput(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value === null || typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return 'an array';
  return 'an object';
}

// ---------------------------------------------------------------------------------------------
// Classification.

type EtcdErrorClass = new (init: EtcdErrorInit) => EtcdError;

/**
 * How an error affects retrying:
 * - `final`: repeating the call gives the same answer.
 * - `unapplied`: the server refused before doing anything; any call may be retried.
 * - `unknown`: transient, but a write may have been applied; only idempotent calls may be retried.
 * - `auth`: the call may be retried once the client has a fresh token.
 */
type RetryKind = 'final' | 'unapplied' | 'unknown' | 'auth';

interface TableRule {
  readonly cls: EtcdErrorClass;
  readonly retry: RetryKind;
}

const rule = (cls: EtcdErrorClass, retry: RetryKind = 'final'): TableRule => ({ cls, retry });
const generic = rule(EtcdServerError);

/** Every etcd error table entry: its class and retry behaviour (exhaustive by type). */
const tableRules: Record<EtcdErrorName, TableRule> = {
  keyNotProvided: rule(KeyNotProvidedError),
  keyNotFound: rule(KeyNotFoundError),
  valueProvided: rule(ValueProvidedError),
  leaseProvided: rule(LeaseProvidedError),
  tooManyOps: rule(TooManyOpsError),
  duplicateKey: rule(DuplicateKeyError),
  invalidClientApiVersion: generic,
  invalidSortOption: rule(InvalidSortOptionError),
  requestTooLarge: rule(RequestTooLargeError),
  tooManyRequests: rule(TooManyRequestsError, 'unapplied'),
  compacted: rule(CompactedError),
  futureRevision: rule(FutureRevisionError),
  noSpace: rule(NoSpaceError),
  leaseNotFound: rule(LeaseNotFoundError),
  leaseExists: rule(LeaseExistsError),
  leaseTtlTooLarge: rule(LeaseTtlTooLargeError),
  watchCanceled: generic,
  memberExists: generic,
  peerUrlExists: generic,
  memberNotEnoughStarted: generic,
  memberBadUrls: generic,
  memberNotFound: generic,
  memberNotLearner: generic,
  learnerNotReady: generic,
  tooManyLearners: generic,
  clusterIdMismatch: generic,
  rootUserNotExist: generic,
  rootRoleNotExist: generic,
  userAlreadyExist: generic,
  userEmpty: rule(UserEmptyError),
  userNotFound: generic,
  roleAlreadyExist: generic,
  roleNotFound: generic,
  roleEmpty: generic,
  authFailed: rule(AuthFailedError),
  permissionNotGiven: generic,
  permissionDenied: rule(PermissionDeniedError),
  roleNotGranted: generic,
  permissionNotGranted: generic,
  authNotEnabled: rule(AuthNotEnabledError),
  invalidAuthToken: rule(InvalidAuthTokenError, 'auth'),
  invalidAuthMgmt: generic,
  authOldRevision: rule(AuthOldRevisionError, 'auth'),
  noLeader: rule(NoLeaderError, 'unapplied'),
  notLeader: generic,
  leaderChanged: rule(LeaderChangedError, 'unknown'),
  notCapable: rule(EtcdServerError, 'unapplied'),
  stopped: rule(ServerStoppedError, 'unknown'),
  timeout: rule(RequestTimedOutError, 'unknown'),
  timeoutDueToLeaderFail: rule(RequestTimedOutError, 'unknown'),
  timeoutDueToConnectionLost: rule(RequestTimedOutError, 'unknown'),
  timeoutWaitAppliedIndex: rule(RequestTimedOutError, 'unknown'),
  unhealthy: rule(UnhealthyClusterError, 'unapplied'),
  corrupt: rule(CorruptError),
  notSupportedForLearner: rule(EtcdServerError, 'unapplied'),
  badLeaderTransferee: generic,
  invalidDowngradeTargetVersionFormat: generic,
  invalidDowngradeTargetVersion: generic,
  clusterVersionUnavailable: rule(EtcdServerError, 'unapplied'),
  downgradeInProgress: generic,
  noInflightDowngrade: generic,
  requestCanceled: rule(CancelledError, 'unknown'),
  deadlineExceeded: rule(DeadlineExceededError, 'unknown'),
};

/** Fallback by gRPC code for statuses whose message is not in etcd's table. */
function ruleForCode(code: number): TableRule {
  switch (code) {
    case GrpcCode.UNAVAILABLE:
      return { cls: UnavailableError, retry: 'unknown' };
    case GrpcCode.DEADLINE_EXCEEDED:
      return { cls: DeadlineExceededError, retry: 'unknown' };
    case GrpcCode.CANCELLED:
      return { cls: CancelledError, retry: 'unknown' };
    case GrpcCode.PERMISSION_DENIED:
      return { cls: PermissionDeniedError, retry: 'final' };
    case GrpcCode.UNAUTHENTICATED:
      return { cls: InvalidAuthTokenError, retry: 'auth' };
    default:
      return { cls: EtcdError, retry: 'final' };
  }
}

/** What the classifier needs to know about the failed call. */
export interface CallFacts {
  /** The call is safe to repeat whatever happened (reads; see the retry policy). */
  readonly idempotent: boolean;
  /** The endpoint (`host:port`) the call went to. */
  readonly endpoint?: string;
}

/** A gRPC status as grpc-js reports it (structurally; no grpc-js type needed). */
export interface StatusLike {
  readonly code: number;
  readonly details: string;
}

/**
 * The one classifier: turns a gRPC status into the matching {@link EtcdError} subclass,
 * first by etcd's exact message, then by status code; `retryable` and `mayHaveBeenApplied`
 * follow from the error kind and whether the call is idempotent.
 */
export function classifyStatus(status: StatusLike, call: CallFacts, cause?: unknown): EtcdError {
  const name = etcdErrorByMessage(status.details);
  const found = name === undefined ? undefined : tableRules[name];
  const { cls, retry } = found ?? ruleForCode(status.code);
  let retryable: boolean;
  let mayHaveBeenApplied = false;
  switch (retry) {
    case 'final':
      retryable = false;
      break;
    case 'unapplied':
    case 'auth':
      retryable = true;
      break;
    case 'unknown':
      retryable = call.idempotent;
      mayHaveBeenApplied = !call.idempotent;
      break;
  }
  const etcdMessage = status.details === '' ? grpcCodeName(status.code) : status.details;
  // etcd's own errors read as etcd wrote them; transport errors also name the endpoint.
  const message =
    name === undefined && call.endpoint !== undefined ? `${etcdMessage} (endpoint ${call.endpoint})` : undefined;
  return new cls({
    code: status.code,
    etcdMessage,
    retryable,
    mayHaveBeenApplied,
    etcdErrorName: name,
    endpoint: call.endpoint,
    cause,
    message,
  });
}

/** The class the classifier picks for an etcd error table entry (for tests and docs). */
export function errorClassFor(name: EtcdErrorName): EtcdErrorClass {
  return tableRules[name].cls;
}

/** Builds the error for a call aborted through its signal. */
export function cancelledError(reason: unknown, call: CallFacts, sent: boolean): CancelledError {
  return new CancelledError({
    code: GrpcCode.CANCELLED,
    etcdMessage: 'the call was aborted',
    retryable: false,
    mayHaveBeenApplied: sent && !call.idempotent,
    endpoint: call.endpoint,
    cause: reason,
  });
}

/** Wraps an unexpected non-status failure (e.g. a decode error) as an internal EtcdError. */
export function internalError(cause: unknown, call: CallFacts): EtcdError {
  if (cause instanceof EtcdError) return cause;
  const text = cause instanceof Error ? cause.message : String(cause);
  return new EtcdError({
    code: GrpcCode.INTERNAL,
    etcdMessage: text,
    retryable: false,
    mayHaveBeenApplied: !call.idempotent,
    endpoint: call.endpoint,
    cause,
  });
}
