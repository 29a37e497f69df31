/**
 * The queue behind a Discovery iteration: a consumer that falls behind gets the net change
 * per instance, in the order of each instance's latest change.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EtcdError } from '../../src/index.js';
import { ChangeQueue } from '../../src/discovery/change-queue.js';
import type { DiscoveryChange, ServiceInstance } from '../../src/index.js';

const at = (key: string, addr: string): ServiceInstance => ({ key, addr, metadata: null, leaseId: 0n, revision: 1n });
const added = (i: ServiceInstance): DiscoveryChange => ({ type: 'added', instance: i, revision: 1n });
const removed = (i: ServiceInstance): DiscoveryChange => ({ type: 'removed', instance: i, revision: 2n });
const updated = (i: ServiceInstance, previous: ServiceInstance): DiscoveryChange => ({ type: 'updated', instance: i, previous, revision: 3n });

async function drain(queue: ChangeQueue<unknown>): Promise<string[]> {
  const out: string[] = [];
  while (queue.length > 0) {
    const { value } = await queue.next();
    const change = value as DiscoveryChange;
    out.push(`${change.type} ${change.instance.addr}${change.type === 'updated' ? ` (was ${change.previous.addr})` : ''}`);
  }
  return out;
}

describe('discovery change queue', () => {
  it('merges the changes of one instance into its net change', async () => {
    const a1 = at('s/a', 'a1');
    const a2 = at('s/a', 'a2');
    const a3 = at('s/a', 'a3');
    const cases: Array<[DiscoveryChange[], string[]]> = [
      [[added(a1), removed(a1)], []],
      [[added(a1), updated(a2, a1)], ['added a2']],
      [[updated(a2, a1), updated(a3, a2)], ['updated a3 (was a1)']],
      [[updated(a2, a1), removed(a2)], ['removed a1']],
      [[removed(a1), added(a2)], ['updated a2 (was a1)']],
    ];
    for (const [changes, expected] of cases) {
      const queue = new ChangeQueue<unknown>();
      for (const change of changes) queue.push(change);
      assert.deepEqual(await drain(queue), expected, changes.map((c) => c.type).join(' + '));
    }
  });

  it('keeps one change per instance, ordered by latest change, and ends as told', async () => {
    const queue = new ChangeQueue<unknown>();
    queue.push(added(at('s/a', 'a')));
    queue.push(added(at('s/b', 'b')));
    queue.push(updated(at('s/a', 'a2'), at('s/a', 'a')));
    assert.equal(queue.length, 2);
    assert.deepEqual(await drain(queue), ['added b', 'added a2']);

    const waiting = queue.next();
    queue.push(removed(at('s/b', 'b')));
    assert.equal((await waiting).value?.type, 'removed');

    const failure = new EtcdError({ code: 14, etcdMessage: 'gone', retryable: false });
    queue.push(added(at('s/c', 'c')));
    queue.end(failure);
    assert.equal((await queue.next()).value?.instance.addr, 'c', 'pending changes come before the failure');
    await assert.rejects(queue.next(), (e: unknown) => e === failure);
    assert.deepEqual(await queue.next(), { done: true, value: undefined });
  });
});
