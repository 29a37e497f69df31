/**
 * The TimerQueue: many deadlines on one node timer, in order, cancellable and movable.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TimerNode, TimerQueue } from '../../src/lease/timer-queue.js';
import { sleep, until } from './fake-keepalive.js';

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('TimerQueue', { timeout: 10_000 }, () => {
  it('fires nodes in deadline order, each once', async () => {
    const queue = new TimerQueue();
    const fired: number[] = [];
    const now = Date.now();
    const order = [30, 10, 50, 20, 40];
    for (const ms of order) queue.schedule(new TimerNode(() => fired.push(ms)), now + ms);
    await until(() => fired.length === order.length, 2000, 'all fired');
    assert.deepEqual(fired, [10, 20, 30, 40, 50]);
    assert.equal(queue.size, 0);
  });

  it('cancels and moves nodes', async () => {
    const queue = new TimerQueue();
    const fired: string[] = [];
    const now = Date.now();
    const a = new TimerNode(() => fired.push('a'));
    const b = new TimerNode(() => fired.push('b'));
    const c = new TimerNode(() => fired.push('c'));
    queue.schedule(a, now + 20);
    queue.schedule(b, now + 40);
    queue.schedule(c, now + 60);
    queue.cancel(a);
    queue.schedule(c, now + 10); // moved earlier
    queue.schedule(b, now + 80); // moved later
    assert.equal(a.scheduled, false);
    await until(() => fired.length === 2, 2000, 'b and c fired');
    await sleep(30);
    assert.deepEqual(fired, ['c', 'b']);
  });

  it('runs a thousand nodes on a single timer and releases it when empty', async () => {
    const before = timeouts();
    const queue = new TimerQueue();
    let fired = 0;
    const nodes = Array.from({ length: 1000 }, () => new TimerNode(() => fired++));
    const now = Date.now();
    nodes.forEach((node, i) => queue.schedule(node, now + 50 + (i % 10) * 5));
    assert.equal(timeouts(), before + 1, 'exactly one node timer for 1000 nodes');
    await until(() => fired === 1000, 3000, 'all fired');
    assert.equal(timeouts(), before, 'no timer left once empty');
    queue.schedule(nodes[0]!, Date.now() + 60_000);
    assert.equal(timeouts(), before + 1);
    queue.clear();
    assert.equal(timeouts(), before, 'clear() releases the timer');
  });

  it('keeps running after a callback throws', async () => {
    const queue = new TimerQueue();
    let ran = false;
    const now = Date.now();
    queue.schedule(new TimerNode(() => { throw new Error('boom'); }), now + 5);
    queue.schedule(new TimerNode(() => (ran = true)), now + 10);
    await until(() => ran, 2000, 'second node ran');
  });
});
