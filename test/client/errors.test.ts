import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyStatus, errorClassFor } from '../../src/errors.js';
import * as pub from '../../src/index.js';
import { etcdErrors, GrpcCode } from '../../src/protocol/error-table.js';
import type { EtcdErrorName } from '../../src/protocol/error-table.js';

const read = { idempotent: true, endpoint: '127.0.0.1:2379' };
const write = { idempotent: false, endpoint: '127.0.0.1:2379' };

/** Entries whose failure is transient and leaves the outcome of a write unknown. */
const outcomeUnknown = new Set<EtcdErrorName>([
  'leaderChanged',
  'stopped',
  'timeout',
  'timeoutDueToLeaderFail',
  'timeoutDueToConnectionLost',
  'timeoutWaitAppliedIndex',
  'requestCanceled',
  'deadlineExceeded',
]);
/** Entries where the server refused before doing anything (safe to retry any call). */
const refusedBeforeApply = new Set<EtcdErrorName>([
  'noLeader',
  'notCapable',
  'unhealthy',
  'tooManyRequests',
  'notSupportedForLearner',
  'clusterVersionUnavailable',
  'invalidAuthToken',
  'authOldRevision',
]);

const expectedClass: Partial<Record<EtcdErrorName, unknown>> = {
  compacted: pub.CompactedError,
  futureRevision: pub.FutureRevisionError,
  leaseNotFound: pub.LeaseNotFoundError,
  leaseExists: pub.LeaseExistsError,
  leaseTtlTooLarge: pub.LeaseTtlTooLargeError,
  duplicateKey: pub.DuplicateKeyError,
  tooManyOps: pub.TooManyOpsError,
  requestTooLarge: pub.RequestTooLargeError,
  keyNotFound: pub.KeyNotFoundError,
  valueProvided: pub.ValueProvidedError,
  leaseProvided: pub.LeaseProvidedError,
  keyNotProvided: pub.KeyNotProvidedError,
  permissionDenied: pub.PermissionDeniedError,
  invalidAuthToken: pub.InvalidAuthTokenError,
  authFailed: pub.AuthFailedError,
  authNotEnabled: pub.AuthNotEnabledError,
  userEmpty: pub.UserEmptyError,
  noLeader: pub.NoLeaderError,
  noSpace: pub.NoSpaceError,
  corrupt: pub.CorruptError,
  stopped: pub.ServerStoppedError,
  timeout: pub.RequestTimedOutError,
  timeoutDueToLeaderFail: pub.RequestTimedOutError,
  timeoutDueToConnectionLost: pub.RequestTimedOutError,
  timeoutWaitAppliedIndex: pub.RequestTimedOutError,
  leaderChanged: pub.LeaderChangedError,
  memberNotFound: pub.EtcdServerError,
  roleNotFound: pub.EtcdServerError,
};

describe('classifyStatus: every etcd error table entry', () => {
  for (const [name, spec] of Object.entries(etcdErrors) as [EtcdErrorName, (typeof etcdErrors)[EtcdErrorName]][]) {
    it(`${name} -> ${errorClassFor(name).name}`, () => {
      const asRead = classifyStatus({ code: spec.code, details: spec.message }, read);
      const asWrite = classifyStatus({ code: spec.code, details: spec.message }, write);
      for (const error of [asRead, asWrite]) {
        assert.ok(error instanceof pub.EtcdError);
        assert.ok(error instanceof Error);
        assert.equal(error.code, spec.code);
        assert.equal(error.etcdMessage, spec.message);
        assert.equal(error.message, spec.message);
        assert.equal(error.etcdErrorName, name);
        assert.equal(error.endpoint, '127.0.0.1:2379');
        assert.equal(error.name, error.constructor.name);
      }
      assert.equal(asRead.constructor, asWrite.constructor);
      const cls = expectedClass[name];
      if (cls !== undefined) assert.equal(asRead.constructor, cls);
      if (outcomeUnknown.has(name)) {
        assert.equal(asRead.retryable, true, 'a read may be retried');
        assert.equal(asRead.mayHaveBeenApplied, false);
        assert.equal(asWrite.retryable, false, 'a write with unknown outcome must not be retried');
        assert.equal(asWrite.mayHaveBeenApplied, true);
      } else if (refusedBeforeApply.has(name)) {
        assert.equal(asRead.retryable, true);
        assert.equal(asWrite.retryable, true);
        assert.equal(asWrite.mayHaveBeenApplied, false);
      } else {
        assert.equal(asRead.retryable, false);
        assert.equal(asWrite.retryable, false);
        assert.equal(asWrite.mayHaveBeenApplied, false);
      }
    });
  }
});

describe('classifyStatus: messages outside the table fall back by code', () => {
  const cases: [number, unknown, boolean][] = [
    [GrpcCode.UNAVAILABLE, pub.UnavailableError, true],
    [GrpcCode.DEADLINE_EXCEEDED, pub.DeadlineExceededError, true],
    [GrpcCode.CANCELLED, pub.CancelledError, true],
    [GrpcCode.PERMISSION_DENIED, pub.PermissionDeniedError, false],
    [GrpcCode.UNAUTHENTICATED, pub.InvalidAuthTokenError, true],
    [GrpcCode.RESOURCE_EXHAUSTED, pub.EtcdError, false],
    [GrpcCode.UNKNOWN, pub.EtcdError, false],
    [GrpcCode.INTERNAL, pub.EtcdError, false],
  ];
  for (const [code, cls, readRetryable] of cases) {
    it(`code ${code} -> ${(cls as { name: string }).name}`, () => {
      const details = 'connect ECONNREFUSED 127.0.0.1:2379';
      const error = classifyStatus({ code, details }, read, new Error('grpc'));
      assert.equal(error.constructor, cls);
      assert.equal(error.code, code);
      assert.equal(error.etcdMessage, details);
      assert.equal(error.etcdErrorName, undefined);
      assert.equal(error.retryable, readRetryable);
      assert.match(error.message, /ECONNREFUSED.*\(endpoint 127\.0\.0\.1:2379\)/);
      assert.ok(error.cause instanceof Error);
    });
  }

  it('a transport UNAVAILABLE on a write is not retryable and may have been applied', () => {
    const error = classifyStatus({ code: GrpcCode.UNAVAILABLE, details: 'Connection dropped' }, write);
    assert.ok(error instanceof pub.UnavailableError);
    assert.equal(error.retryable, false);
    assert.equal(error.mayHaveBeenApplied, true);
    assert.equal(error.codeName, 'UNAVAILABLE');
  });

  it('matches messages exactly, not by substring', () => {
    const error = classifyStatus({ code: GrpcCode.OUT_OF_RANGE, details: `${etcdErrors.compacted.message}!` }, read);
    assert.ok(!(error instanceof pub.CompactedError));
    assert.equal(error.constructor, pub.EtcdError);
  });

  it('an empty status message reads as the code name', () => {
    const error = classifyStatus({ code: GrpcCode.UNAVAILABLE, details: '' }, read);
    assert.equal(error.etcdMessage, 'UNAVAILABLE');
  });
});

describe('client-side errors', () => {
  it('InvalidArgumentError names the argument', () => {
    const error = new pub.InvalidArgumentError('options.limit', 'expected a non-negative integer');
    assert.equal(error.argument, 'options.limit');
    assert.equal(error.message, 'options.limit: expected a non-negative integer');
    assert.equal(error.code, GrpcCode.INVALID_ARGUMENT);
    assert.equal(error.retryable, false);
    assert.equal(error.name, 'InvalidArgumentError');
  });

  it('ClientClosedError is not retryable', () => {
    const error = new pub.ClientClosedError();
    assert.equal(error.retryable, false);
    assert.equal(error.codeName, 'CANCELLED');
    assert.ok(error instanceof pub.EtcdError);
  });
});
