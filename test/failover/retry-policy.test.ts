/**
 * Unit tests of the retry policy (src/balancer/retry.ts): which methods are repeated, on
 * which errors, which carry require-leader metadata; what a write's failure says about its
 * fate; and the small pure pieces around it (endpoint health transitions, connection failure
 * reasons, client options).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointHealth, probeBackoff } from '../../src/balancer/health.js';
import { isDialFailure, isRepeatable, markDialFailure, requiresLeader, retryAfter, shouldRetry } from '../../src/balancer/retry.js';
import { connectFailureReason } from '../../src/balancer/unreachable.js';
import { classifyStatus, EtcdError, InvalidArgumentError, UnavailableError } from '../../src/errors.js';
import { parseClientOptions } from '../../src/options.js';
import { etcdErrors, GrpcCode } from '../../src/protocol/error-table.js';
import type { EtcdErrorName } from '../../src/protocol/error-table.js';

const path = (service: string, method: string) => `/etcdserverpb.${service}/${method}`;

function etcd(name: EtcdErrorName, idempotent: boolean): EtcdError {
  const spec = etcdErrors[name];
  return classifyStatus({ code: spec.code, details: spec.message }, { idempotent, endpoint: '127.0.0.1:2379' });
}

function transport(code: number, details: string, idempotent: boolean): EtcdError {
  return classifyStatus({ code, details }, { idempotent, endpoint: '127.0.0.1:2379' });
}

describe('which methods are repeated', () => {
  it("follows clientv3's table", () => {
    const repeated = [
      ['KV', 'Range'],
      ['Lease', 'LeaseGrant'],
      ['Lease', 'LeaseRevoke'],
      ['Lease', 'LeaseTimeToLive'],
      ['Lease', 'LeaseLeases'],
      ['Cluster', 'MemberList'],
      ['Maintenance', 'Status'],
      ['Maintenance', 'Alarm'],
      ['Maintenance', 'Hash'],
      ['Maintenance', 'HashKV'],
      ['Maintenance', 'MoveLeader'],
      ['Auth', 'UserList'],
      ['Auth', 'UserGet'],
      ['Auth', 'RoleGet'],
      ['Auth', 'RoleList'],
    ];
    const once = [
      ['KV', 'Put'],
      ['KV', 'DeleteRange'],
      ['KV', 'Txn'],
      ['KV', 'Compact'],
      ['Cluster', 'MemberAdd'],
      ['Cluster', 'MemberRemove'],
      ['Cluster', 'MemberUpdate'],
      ['Cluster', 'MemberPromote'],
      ['Maintenance', 'Defragment'],
      ['Maintenance', 'Downgrade'],
      ['Auth', 'Authenticate'],
      ['Auth', 'UserAdd'],
      ['Auth', 'RoleGrantPermission'],
      ['Auth', 'AuthEnable'],
    ];
    for (const [service, method] of repeated) assert.equal(isRepeatable(path(service!, method!)), true, `${service}.${method}`);
    for (const [service, method] of once) assert.equal(isRepeatable(path(service!, method!)), false, `${service}.${method}`);
  });

  it('require-leader metadata on writes, linearizable reads and lease calls only', () => {
    assert.equal(requiresLeader(path('KV', 'Put'), {}), true);
    assert.equal(requiresLeader(path('KV', 'Txn'), {}), true);
    assert.equal(requiresLeader(path('KV', 'DeleteRange'), {}), true);
    assert.equal(requiresLeader(path('KV', 'Compact'), {}), true);
    assert.equal(requiresLeader(path('KV', 'Range'), {}), true);
    assert.equal(requiresLeader(path('KV', 'Range'), { serializable: false }), true);
    assert.equal(requiresLeader(path('KV', 'Range'), { serializable: true }), false);
    assert.equal(requiresLeader(path('Lease', 'LeaseGrant'), {}), true);
    assert.equal(requiresLeader(path('Maintenance', 'Status'), {}), false);
    assert.equal(requiresLeader(path('Cluster', 'MemberList'), {}), false);
  });
});

describe('which failures are retried', () => {
  const unavailableClass: EtcdErrorName[] = [
    'noLeader',
    'leaderChanged',
    'timeout',
    'timeoutDueToLeaderFail',
    'timeoutDueToConnectionLost',
    'timeoutWaitAppliedIndex',
    'stopped',
    'unhealthy',
  ];
  const final: EtcdErrorName[] = [
    'compacted',
    'futureRevision',
    'permissionDenied',
    'keyNotProvided',
    'duplicateKey',
    'tooManyOps',
    'requestTooLarge',
    'leaseNotFound',
    'noSpace',
    'corrupt',
    'authFailed',
  ];

  it('reads: every UNAVAILABLE-class etcd error and transport failure, nothing else', () => {
    for (const name of unavailableClass) {
      const error = etcd(name, true);
      assert.equal(shouldRetry(error), true, name);
      assert.equal(error.mayHaveBeenApplied, false, name);
    }
    for (const name of final) assert.equal(shouldRetry(etcd(name, true)), false, name);
    assert.equal(shouldRetry(transport(GrpcCode.UNAVAILABLE, 'Connection dropped', true)), true);
    assert.equal(shouldRetry(transport(GrpcCode.UNAVAILABLE, 'no answer within 1000 ms', true)), true);
    assert.equal(shouldRetry(transport(GrpcCode.INVALID_ARGUMENT, 'bad', true)), false);
    assert.equal(shouldRetry(transport(GrpcCode.UNIMPLEMENTED, 'nope', true)), false);
  });

  it("the caller's deadline and the dial timeout end the call", () => {
    assert.equal(shouldRetry(transport(GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded', true)), false);
    const dial = markDialFailure(
      new UnavailableError({ code: GrpcCode.UNAVAILABLE, etcdMessage: 'could not connect to any endpoint within 10 ms', retryable: true }),
    );
    assert.equal(isDialFailure(dial), true);
    assert.equal(shouldRetry(dial), false);
    assert.equal(dial.retryable, true, 'the caller may still try again later: nothing was sent');
  });

  it('writes: an answer that may follow an apply is never retryable and says mayHaveBeenApplied', () => {
    for (const name of ['leaderChanged', 'timeout', 'timeoutDueToLeaderFail', 'stopped'] as const) {
      const error = etcd(name, false);
      assert.equal(error.retryable, false, name);
      assert.equal(error.mayHaveBeenApplied, true, name);
      assert.equal(shouldRetry(error), false, name);
    }
    for (const [code, details] of [
      [GrpcCode.UNAVAILABLE, 'Connection dropped'],
      [GrpcCode.UNAVAILABLE, 'no answer within 1000 ms'],
      [GrpcCode.DEADLINE_EXCEEDED, 'Deadline exceeded'],
      [GrpcCode.CANCELLED, 'Call cancelled'],
    ] as const) {
      const error = transport(code, details, false);
      assert.equal(error.retryable, false, details);
      assert.equal(error.mayHaveBeenApplied, true, details);
    }
  });

  it('writes: refusals before anything happened are retryable by the caller and not applied', () => {
    for (const name of ['noLeader', 'unhealthy', 'tooManyRequests'] as const) {
      const error = etcd(name, false);
      assert.equal(error.retryable, true, name);
      assert.equal(error.mayHaveBeenApplied, false, name);
    }
  });
});

describe('retryAfter', () => {
  const unavailable = () => new UnavailableError({ code: GrpcCode.UNAVAILABLE, etcdMessage: 'down', retryable: true });

  it('repeats until an attempt succeeds', async () => {
    let attempts = 0;
    const result = await retryAfter(
      unavailable(),
      async () => {
        attempts += 1;
        if (attempts < 3) throw unavailable();
        return 'ok';
      },
      Date.now() + 5000,
      new AbortController().signal,
    );
    assert.equal(result, 'ok');
    assert.equal(attempts, 3);
  });

  it('stops at the first error that is not worth repeating', async () => {
    let attempts = 0;
    const compacted = etcd('compacted', true);
    await assert.rejects(
      retryAfter(
        unavailable(),
        async () => {
          attempts += 1;
          throw compacted;
        },
        Date.now() + 5000,
        new AbortController().signal,
      ),
      (error: unknown) => error === compacted,
    );
    assert.equal(attempts, 1);
  });

  it('is bounded by the deadline', async () => {
    const started = Date.now();
    await assert.rejects(
      retryAfter(
        unavailable(),
        async () => {
          throw unavailable();
        },
        Date.now() + 300,
        new AbortController().signal,
      ),
      UnavailableError,
    );
    assert.ok(Date.now() - started < 1500);
  });
});

describe('endpoint health', () => {
  it('healthy -> suspect -> probing -> suspect (backing off) -> healthy', () => {
    const health = new EndpointHealth();
    assert.equal(health.setAside, false);
    health.suspect('unresponsive', 'no answer within 1000 ms', 1000);
    assert.equal(health.state, 'suspect');
    assert.equal(health.setAside, true);
    assert.equal(health.nextProbeAt, 1000, 'probed at once');
    health.suspect('no-leader', 'no leader', 1500);
    assert.equal(health.nextProbeAt, 1000, 'a repeated failure does not postpone the probe');
    health.probing();
    assert.equal(health.state, 'probing');
    const delays: number[] = [];
    let now = 2000;
    for (let i = 0; i < 6; i++) {
      health.probeFailed('unresponsive', 'x', now, () => 0.5);
      delays.push(health.nextProbeAt - now);
      now = health.nextProbeAt;
      health.probing();
    }
    assert.deepEqual(delays, [200, 400, 800, 1600, 2000, 2000]);
    assert.equal(Math.max(...delays), probeBackoff.maxMs);
    health.recovered(now);
    assert.equal(health.state, 'healthy');
    assert.equal(health.setAside, false);
    assert.equal(health.lastHeard, now);
  });

  it('tracks attempts oldest first', () => {
    const health = new EndpointHealth();
    const make = (startedAt: number) => ({ startedAt, repeatable: true, abandon: () => true });
    const [a, b] = [make(1), make(2)];
    health.attempts.add(a);
    health.attempts.add(b);
    assert.equal(health.oldestAttempt(), a);
    health.attempts.delete(a);
    assert.equal(health.oldestAttempt(), b);
  });
});

describe('connection failure reasons', () => {
  it('names socket errors and strips grpc-js decorations', () => {
    assert.equal(
      connectFailureReason('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: '),
      'connection refused',
    );
    assert.equal(connectFailureReason('No connection established. Last error: Error: getaddrinfo ENOTFOUND nope'), 'host not found');
    assert.equal(connectFailureReason('No connection established. Last error: Something odd (2024-01-01T00:00:00.000Z)'), 'Something odd');
    assert.equal(connectFailureReason(''), 'connection failed');
  });
});

describe('client options for failover', () => {
  it('defaults', () => {
    const options = parseClientOptions({ endpoints: ['a:1'] });
    assert.equal(options.unresponsiveMs, 1000);
    assert.equal(options.autoSyncIntervalMs, 0);
    assert.equal(options.keepaliveTimeMs, 10_000);
    assert.equal(options.keepaliveTimeoutMs, 5000);
  });

  it('rejects bad values naming the option', () => {
    const rejects = (input: Record<string, unknown>, argument: string, message: RegExp) =>
      assert.throws(
        () => parseClientOptions({ endpoints: ['a:1'], ...input }),
        (error: unknown) => error instanceof InvalidArgumentError && error.argument === argument && message.test(error.message),
      );
    rejects({ unresponsiveMs: 50 }, 'unresponsiveMs', /from 100 to/);
    rejects({ unresponsiveMs: '1s' }, 'unresponsiveMs', /got "1s"/);
    rejects({ autoSyncIntervalMs: 50 }, 'autoSyncIntervalMs', /0 \(off\) or an integer number of milliseconds from 100/);
    rejects({ autoSyncIntervalMs: -1 }, 'autoSyncIntervalMs', /got -1/);
    rejects({ keepaliveTimeMs: 5000 }, 'keepaliveTimeMs', /from 10000/);
    assert.equal(parseClientOptions({ endpoints: ['a:1'], autoSyncIntervalMs: 0 }).autoSyncIntervalMs, 0);
    assert.equal(parseClientOptions({ endpoints: ['a:1'], autoSyncIntervalMs: 30_000 }).autoSyncIntervalMs, 30_000);
  });
});
