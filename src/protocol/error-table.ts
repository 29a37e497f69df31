/**
 * The etcd error table: every error etcd's v3 API returns by name, with its exact message
 * and gRPC status code. It is the single source of truth shared by the bundled server (which
 * raises these) and the client (which classifies a status into a typed error by exact message).
 *
 * Messages and codes are protocol facts taken from etcd's public error list; clients match
 * them byte for byte, so they must never be edited for style.
 */

/** gRPC status codes, by number (the subset etcd uses plus the transport ones). */
export const GrpcCode = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcCodeNumber = (typeof GrpcCode)[keyof typeof GrpcCode];

/** The name of a gRPC status code, for messages (`14` -> `UNAVAILABLE`). */
export function grpcCodeName(code: number): string {
  for (const [name, value] of Object.entries(GrpcCode)) if (value === code) return name;
  return `CODE_${code}`;
}

export interface EtcdErrorSpec {
  /** etcd's exact status message. */
  readonly message: string;
  /** The gRPC status code etcd sends it with. */
  readonly code: GrpcCodeNumber;
}

const C = GrpcCode;

/** Every etcd v3 server error, keyed by a stable name. */
export const etcdErrors = {
  // request validation
  keyNotProvided: { message: 'etcdserver: key is not provided', code: C.INVALID_ARGUMENT },
  keyNotFound: { message: 'etcdserver: key not found', code: C.INVALID_ARGUMENT },
  valueProvided: { message: 'etcdserver: value is provided', code: C.INVALID_ARGUMENT },
  leaseProvided: { message: 'etcdserver: lease is provided', code: C.INVALID_ARGUMENT },
  tooManyOps: { message: 'etcdserver: too many operations in txn request', code: C.INVALID_ARGUMENT },
  duplicateKey: { message: 'etcdserver: duplicate key given in txn request', code: C.INVALID_ARGUMENT },
  invalidClientApiVersion: { message: 'etcdserver: invalid client api version', code: C.INVALID_ARGUMENT },
  invalidSortOption: { message: 'etcdserver: invalid sort option', code: C.INVALID_ARGUMENT },
  requestTooLarge: { message: 'etcdserver: request is too large', code: C.INVALID_ARGUMENT },
  tooManyRequests: { message: 'etcdserver: too many requests', code: C.RESOURCE_EXHAUSTED },
  // mvcc
  compacted: { message: 'etcdserver: mvcc: required revision has been compacted', code: C.OUT_OF_RANGE },
  futureRevision: { message: 'etcdserver: mvcc: required revision is a future revision', code: C.OUT_OF_RANGE },
  noSpace: { message: 'etcdserver: mvcc: database space exceeded', code: C.RESOURCE_EXHAUSTED },
  // lease
  leaseNotFound: { message: 'etcdserver: requested lease not found', code: C.NOT_FOUND },
  leaseExists: { message: 'etcdserver: lease already exists', code: C.FAILED_PRECONDITION },
  leaseTtlTooLarge: { message: 'etcdserver: too large lease TTL', code: C.OUT_OF_RANGE },
  // watch
  watchCanceled: { message: 'etcdserver: watch canceled', code: C.CANCELLED },
  // cluster membership
  memberExists: { message: 'etcdserver: member ID already exist', code: C.FAILED_PRECONDITION },
  peerUrlExists: { message: 'etcdserver: Peer URLs already exists', code: C.FAILED_PRECONDITION },
  memberNotEnoughStarted: {
    message: 'etcdserver: re-configuration failed due to not enough started members',
    code: C.FAILED_PRECONDITION,
  },
  memberBadUrls: { message: 'etcdserver: given member URLs are invalid', code: C.INVALID_ARGUMENT },
  memberNotFound: { message: 'etcdserver: member not found', code: C.NOT_FOUND },
  memberNotLearner: { message: 'etcdserver: can only promote a learner member', code: C.FAILED_PRECONDITION },
  learnerNotReady: {
    message: 'etcdserver: can only promote a learner member which is in sync with leader',
    code: C.FAILED_PRECONDITION,
  },
  tooManyLearners: { message: 'etcdserver: too many learner members in cluster', code: C.FAILED_PRECONDITION },
  clusterIdMismatch: { message: 'etcdserver: cluster ID mismatch', code: C.FAILED_PRECONDITION },
  // auth
  rootUserNotExist: { message: 'etcdserver: root user does not exist', code: C.FAILED_PRECONDITION },
  rootRoleNotExist: { message: 'etcdserver: root user does not have root role', code: C.FAILED_PRECONDITION },
  userAlreadyExist: { message: 'etcdserver: user name already exists', code: C.FAILED_PRECONDITION },
  userEmpty: { message: 'etcdserver: user name is empty', code: C.INVALID_ARGUMENT },
  userNotFound: { message: 'etcdserver: user name not found', code: C.FAILED_PRECONDITION },
  roleAlreadyExist: { message: 'etcdserver: role name already exists', code: C.FAILED_PRECONDITION },
  roleNotFound: { message: 'etcdserver: role name not found', code: C.FAILED_PRECONDITION },
  roleEmpty: { message: 'etcdserver: role name is empty', code: C.INVALID_ARGUMENT },
  authFailed: {
    message: 'etcdserver: authentication failed, invalid user ID or password',
    code: C.INVALID_ARGUMENT,
  },
  permissionNotGiven: { message: 'etcdserver: permission not given', code: C.INVALID_ARGUMENT },
  permissionDenied: { message: 'etcdserver: permission denied', code: C.PERMISSION_DENIED },
  roleNotGranted: { message: 'etcdserver: role is not granted to the user', code: C.FAILED_PRECONDITION },
  permissionNotGranted: {
    message: 'etcdserver: permission is not granted to the role',
    code: C.FAILED_PRECONDITION,
  },
  authNotEnabled: { message: 'etcdserver: authentication is not enabled', code: C.FAILED_PRECONDITION },
  invalidAuthToken: { message: 'etcdserver: invalid auth token', code: C.UNAUTHENTICATED },
  invalidAuthMgmt: { message: 'etcdserver: invalid auth management', code: C.INVALID_ARGUMENT },
  authOldRevision: { message: 'etcdserver: revision of auth store is old', code: C.INVALID_ARGUMENT },
  // server state (retryable for calls that are safe to repeat)
  noLeader: { message: 'etcdserver: no leader', code: C.UNAVAILABLE },
  notLeader: { message: 'etcdserver: not leader', code: C.FAILED_PRECONDITION },
  leaderChanged: { message: 'etcdserver: leader changed', code: C.UNAVAILABLE },
  notCapable: { message: 'etcdserver: not capable', code: C.UNAVAILABLE },
  stopped: { message: 'etcdserver: server stopped', code: C.UNAVAILABLE },
  timeout: { message: 'etcdserver: request timed out', code: C.UNAVAILABLE },
  timeoutDueToLeaderFail: {
    message: 'etcdserver: request timed out, possibly due to previous leader failure',
    code: C.UNAVAILABLE,
  },
  timeoutDueToConnectionLost: {
    message: 'etcdserver: request timed out, possibly due to connection lost',
    code: C.UNAVAILABLE,
  },
  timeoutWaitAppliedIndex: {
    message: 'etcdserver: request timed out, waiting for the applied index took too long',
    code: C.UNAVAILABLE,
  },
  unhealthy: { message: 'etcdserver: unhealthy cluster', code: C.UNAVAILABLE },
  corrupt: { message: 'etcdserver: corrupt cluster', code: C.DATA_LOSS },
  notSupportedForLearner: { message: 'etcdserver: rpc not supported for learner', code: C.UNAVAILABLE },
  badLeaderTransferee: { message: 'etcdserver: bad leader transferee', code: C.FAILED_PRECONDITION },
  // downgrade (3.5+)
  invalidDowngradeTargetVersionFormat: {
    message: 'etcdserver: wrong downgrade target version format',
    code: C.INVALID_ARGUMENT,
  },
  invalidDowngradeTargetVersion: { message: 'etcdserver: invalid downgrade target version', code: C.INVALID_ARGUMENT },
  clusterVersionUnavailable: {
    message: 'etcdserver: cluster version not found during downgrade',
    code: C.UNAVAILABLE,
  },
  downgradeInProgress: { message: 'etcdserver: cluster has a downgrade job in progress', code: C.FAILED_PRECONDITION },
  noInflightDowngrade: { message: 'etcdserver: no inflight downgrade job', code: C.FAILED_PRECONDITION },
  // client context (3.5+ servers send these too)
  requestCanceled: { message: 'etcdserver: request canceled', code: C.CANCELLED },
  deadlineExceeded: { message: 'etcdserver: context deadline exceeded', code: C.DEADLINE_EXCEEDED },
} as const satisfies Record<string, EtcdErrorSpec>;

export type EtcdErrorName = keyof typeof etcdErrors;

const byMessage = new Map<string, EtcdErrorName>(
  Object.entries(etcdErrors).map(([name, spec]) => [spec.message, name as EtcdErrorName]),
);

/** Finds an etcd error by its exact message (as a status's details carry it). */
export function etcdErrorByMessage(message: string): EtcdErrorName | undefined {
  return byMessage.get(message);
}

/** Watch cancel reasons etcd sends in WatchResponse.cancel_reason (not gRPC statuses). */
export const watchCancelReasons = {
  duplicateId: 'mvcc: duplicate watch ID provided on the WatchStream',
  emptyRange: 'mvcc: watcher range is empty',
} as const;
