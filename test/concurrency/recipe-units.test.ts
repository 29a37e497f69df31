/**
 * Unit tests of the recipes' small parts: the key layout and the in-process key slots.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToText, InvalidArgumentError } from '../../src/index.js';
import type { Session } from '../../src/index.js';
import { recipeKeys } from '../../src/concurrency/keys.js';
import { takeSlot, trySlot } from '../../src/concurrency/local-slots.js';

describe('recipe keys', () => {
  it("uses Go's layout: <prefix>/<lease ID in lowercase hex, unpadded>", () => {
    const keys = recipeKeys('locks/job', 0x694d77aa9e38260fn);
    assert.equal(bytesToText(keys.prefix), 'locks/job/');
    assert.equal(keys.keyText, 'locks/job/694d77aa9e38260f');
    assert.equal(recipeKeys('x', 0xabn).keyText, 'x/ab');
    assert.equal(recipeKeys(Uint8Array.of(0xff, 0x00), 1n).key.length, 4, 'byte prefixes are kept as they are');
  });

  it('rejects an empty or non-bytes prefix, naming it', () => {
    assert.throws(() => recipeKeys('', 1n), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'prefix');
    assert.throws(() => recipeKeys(5 as never, 1n), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'prefix');
  });
});

describe('in-process key slots', () => {
  const session = {} as Session; // slots only use the session as a map key

  it('grants a slot to one user at a time, in FIFO order', async () => {
    const order: string[] = [];
    const first = trySlot(session, 'k1');
    assert.ok(first !== undefined);
    assert.equal(trySlot(session, 'k1'), undefined, 'busy');
    assert.ok(trySlot(session, 'other') !== undefined, 'other keys are independent');
    const never = new AbortController().signal;
    const second = takeSlot(session, 'k1', never).then((release) => (order.push('second'), release));
    const third = takeSlot(session, 'k1', never).then((release) => (order.push('third'), release));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, []);
    first();
    first(); // idempotent: does not skip a waiter
    const releaseSecond = await second;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(order, ['second']);
    releaseSecond();
    (await third)();
    assert.deepEqual(order, ['second', 'third']);
    const again = trySlot(session, 'k1');
    assert.ok(again !== undefined, 'free again once everyone released');
    again();
  });

  it('an aborted waiter leaves the queue with the signal reason', async () => {
    const held = trySlot(session, 'k2')!;
    const controller = new AbortController();
    const waiting = takeSlot(session, 'k2', controller.signal);
    const behind = takeSlot(session, 'k2', new AbortController().signal);
    controller.abort(new Error('stop'));
    await assert.rejects(waiting, /stop/);
    held();
    (await behind)();
    await assert.rejects(takeSlot(session, 'k2', AbortSignal.abort(new Error('pre-aborted'))), /pre-aborted/);
    const free = trySlot(session, 'k2');
    assert.ok(free !== undefined, 'a pre-aborted take does not keep the slot');
    free();
  });
});
