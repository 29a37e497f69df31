/**
 * The lease building blocks without gRPC: ManualClock and the system clock, the expiry queue,
 * lease ids, the expiry timer, and the Lessor over a real MvccStore.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock, systemClock } from '../../src/server/clock.js';
import { EtcdServerError } from '../../src/server/errors.js';
import { ExpiryQueue } from '../../src/server/lease/expiry-queue.js';
import { ExpiryTimer } from '../../src/server/lease/expiry-timer.js';
import { LeaseIdGenerator } from '../../src/server/lease/lease-id.js';
import { Lessor } from '../../src/server/lease/lessor.js';
import { keySpan } from '../../src/server/mvcc/key-span.js';
import { MvccStore } from '../../src/server/mvcc/store.js';

const enc = (t: string) => new TextEncoder().encode(t);
const isEtcdError = (name: string) => (err: unknown) => err instanceof EtcdServerError && err.errorName === name;

describe('ManualClock', () => {
  test('advance fires due timers in due order (ties in set order), reading each due time', () => {
    const clock = new ManualClock(1000);
    const fired: string[] = [];
    clock.setTimer(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimer(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimer(() => fired.push(`a2@${clock.now()}`), 10);
    const late = clock.setTimer(() => fired.push('late'), 100);
    assert.equal(clock.pendingTimers, 4);
    clock.advance(50);
    assert.deepEqual(fired, ['a@1010', 'a2@1010', 'b@1020']);
    assert.equal(clock.now(), 1050);
    clock.clearTimer(late);
    clock.clearTimer(late);
    clock.advance(1000);
    assert.deepEqual(fired, ['a@1010', 'a2@1010', 'b@1020']);
    assert.equal(clock.pendingTimers, 0);
  });

  test('timers set by a firing timer fire within the same advance when due', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const tick = () => {
      at.push(clock.now());
      if (at.length < 5) clock.setTimer(tick, 100);
    };
    clock.setTimer(tick, 100);
    clock.advance(350);
    assert.deepEqual(at, [100, 200, 300]);
    clock.advance(1000);
    assert.deepEqual(at, [100, 200, 300, 400, 500]);
  });

  test('a throwing timer does not stop the others; its error is rethrown after; bad input is refused', () => {
    const clock = new ManualClock();
    let ran = false;
    clock.setTimer(() => {
      throw new Error('boom');
    }, 1);
    clock.setTimer(() => (ran = true), 2);
    assert.throws(() => clock.advance(5), /boom/);
    assert.equal(ran, true);
    assert.equal(clock.now(), 5);
    assert.throws(() => clock.advance(-1), RangeError);
    assert.throws(() => clock.advance(Number.NaN), RangeError);
    assert.throws(() => new ManualClock(Number.POSITIVE_INFINITY), TypeError);
  });
});

describe('systemClock', () => {
  test('a timer fires; a cleared one does not; now() never goes backwards', async () => {
    const a = systemClock.now();
    let cleared = false;
    const t = systemClock.setTimer(() => (cleared = true), 1);
    systemClock.clearTimer(t);
    await new Promise<void>((resolve) => systemClock.setTimer(resolve, 5));
    assert.equal(cleared, false);
    assert.ok(systemClock.now() >= a);
  });
});

describe('ExpiryQueue', () => {
  test('orders by time then id; re-setting moves an id; infinite times are not queued', () => {
    const q = new ExpiryQueue();
    q.set(5n, 300);
    q.set(-2n, 100);
    q.set(3n, 100);
    q.set(9n, Number.POSITIVE_INFINITY);
    assert.equal(q.size, 3);
    assert.deepEqual(q.peek(), { at: 100, id: -2n });
    q.set(-2n, 500);
    assert.deepEqual(q.peek(), { at: 100, id: 3n });
    q.delete(3n);
    q.delete(3n);
    assert.deepEqual(q.peek(), { at: 300, id: 5n });
    q.clear();
    assert.equal(q.peek(), undefined);
    assert.equal(q.size, 0);
  });
});

describe('LeaseIdGenerator', () => {
  test('positive int63 ids carrying member bits, all distinct', () => {
    const gen = new LeaseIdGenerator(0xffff_ffff_ffff_abcdn, 1_700_000_000_000);
    const seen = new Set<bigint>();
    for (let i = 0; i < 1000; i++) {
      const id = gen.next();
      assert.ok(id > 0n && id < 2n ** 63n);
      assert.equal(id >> 48n, 0xabcdn & 0x7fffn);
      seen.add(id);
    }
    assert.equal(seen.size, 1000);
  });
});

describe('ExpiryTimer', () => {
  test('arms one timer for the earliest due time, re-arms after a pass, backs off on a backlog or failure', () => {
    const clock = new ManualClock();
    const due: number[] = [];
    const passes: number[] = [];
    let backlog = false;
    let fail = false;
    const timer = new ExpiryTimer(
      clock,
      {
        nextDue: () => due[0],
        runPass: () => {
          passes.push(clock.now());
          if (fail) throw new Error('pass failed');
          while (due.length > 0 && due[0]! <= clock.now()) due.shift();
          return backlog;
        },
      },
      500,
    );
    timer.reschedule();
    assert.equal(timer.armed, false);
    due.push(1000, 3000);
    timer.reschedule();
    assert.equal(clock.pendingTimers, 1);
    timer.reschedule();
    assert.equal(clock.pendingTimers, 1);
    clock.advance(1000);
    assert.deepEqual(passes, [1000]);
    assert.equal(timer.armed, true);
    clock.advance(2000);
    assert.deepEqual(passes, [1000, 3000]);
    assert.equal(timer.armed, false);
    backlog = true;
    due.push(3100);
    timer.reschedule();
    clock.advance(100);
    assert.deepEqual(passes, [1000, 3000, 3100]);
    clock.advance(500);
    assert.deepEqual(passes, [1000, 3000, 3100, 3600]);
    backlog = false;
    fail = true;
    due.push(3700);
    clock.advance(500);
    assert.deepEqual(passes, [1000, 3000, 3100, 3600, 4100]);
    assert.equal(timer.armed, true, 'a failed pass is retried later');
    timer.close();
    assert.equal(clock.pendingTimers, 0);
    timer.reschedule();
    assert.equal(clock.pendingTimers, 0);
  });
});

describe('Lessor', () => {
  function setup(minTtl?: number) {
    const clock = new ManualClock();
    const store = new MvccStore();
    const lessor = new Lessor({ store, clock, memberId: 42n, minTtl });
    store.setLeaseAttachments(lessor);
    const put = (key: string, lease: bigint) => store.write((txn) => txn.put(enc(key), enc('v'), lease));
    const del = (key: string) => store.write((txn) => txn.deleteRange(keySpan(enc(key), new Uint8Array())));
    return { clock, store, lessor, put, del };
  }

  test('grant: minimum and maximum TTL, taken ids, generated ids', () => {
    const { lessor } = setup(3);
    assert.equal(lessor.grant(0n, 1n).ttl, 3n);
    assert.equal(lessor.grant(7n, 10n).id, 7n);
    assert.throws(() => lessor.grant(7n, 10n), isEtcdError('leaseExists'));
    assert.throws(() => lessor.grant(8n, 9000000001n), isEtcdError('leaseTtlTooLarge'));
    assert.equal(lessor.size, 2);
  });

  test('follower until promoted: no expiry, no timer; promote gives TTL + extension; demote freezes', () => {
    const { clock, lessor } = setup();
    const l = lessor.grant(1n, 5n);
    assert.equal(lessor.timerArmed, false);
    clock.advance(60_000);
    assert.equal(lessor.has(1n), true);
    lessor.promote(1000);
    assert.equal(lessor.remainingSeconds(l), 6n);
    clock.advance(5999);
    assert.equal(lessor.has(1n), true);
    lessor.demote();
    assert.equal(clock.pendingTimers, 0);
    clock.advance(60_000);
    assert.equal(lessor.has(1n), true);
    lessor.promote(0);
    clock.advance(5000);
    assert.equal(lessor.has(1n), false);
    lessor.close();
    lessor.promote();
    lessor.grant(2n, 5n);
    assert.equal(clock.pendingTimers, 0);
  });

  test('attachments follow puts and deletes; revoke deletes in one revision; renew extends', () => {
    const { clock, store, lessor, put, del } = setup();
    lessor.promote(0);
    const a = lessor.grant(1n, 10n);
    const c = lessor.grant(2n, 10n);
    put('k2', 1n);
    put('k1', 1n);
    put('k3', 2n);
    put('k3', 1n);
    assert.deepEqual(a.sortedKeys(), ['k1', 'k2', 'k3']);
    assert.deepEqual(c.sortedKeys(), []);
    del('k2');
    put('k1', 0n);
    assert.deepEqual(a.sortedKeys(), ['k3']);
    clock.advance(9000);
    assert.equal(lessor.renew(1n), 10n);
    assert.equal(lessor.renew(99n), undefined);
    clock.advance(9999);
    assert.equal(lessor.has(1n), true);
    assert.equal(lessor.has(2n), false, 'lease 2 expired at 10 s');
    const rev = store.revision;
    lessor.revoke(1n);
    assert.equal(store.revision, rev + 1n);
    assert.equal(store.get(enc('k3')), undefined);
    assert.ok(store.get(enc('k1')) !== undefined);
    assert.throws(() => lessor.revoke(1n), isEtcdError('leaseNotFound'));
    lessor.close();
  });
});
