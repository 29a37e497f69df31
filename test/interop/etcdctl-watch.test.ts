/**
 * `etcdctl watch` (3.4) as a long-running child against the bundled server and real etcd
 * 3.4.23: the same writes (puts, a 2-put txn, deletes, a prefix delete) go to both, and
 * etcdctl's printed output must be identical on both servers, and equal to what etcd prints.
 *
 * Watches that replay history (`--rev`) start after the writes, so their output is fixed.
 * Watches from "now" are synchronised before the writes: a sentinel key inside the watched
 * prefix is put until every watcher printed it, then a mark key is put and everything up to
 * the mark is cut. An end mark after the writes bounds the output, so extra events would show.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdAvailable, startRealEtcd } from '../harness/real-etcd.js';
import { startBundled } from '../harness/bundled.js';
import { etcdctl } from '../harness/etcdctl.js';
import { RawClient } from '../harness/raw.js';
import type { ServerHandle } from '../harness/handle.js';
import { LongEtcdctl } from './long-etcdctl.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The end of the range holding every key that starts with `prefix` (prefix has no 0xff byte). */
function prefixEnd(prefix: string): Uint8Array {
  const end = text(prefix);
  end[end.length - 1] += 1;
  return end;
}

async function must<T>(what: string, call: Promise<{ ok?: T; err?: { code: number; details: string } }>): Promise<T> {
  const res = await call;
  if (res.ok === undefined) throw new Error(`${what} failed: ${JSON.stringify(res.err)}`);
  return res.ok;
}

async function put(raw: RawClient, key: string, value: string): Promise<void> {
  await must(`put ${key}`, raw.call('KV', 'Put', { key: text(key), value: text(value) }));
}

/**
 * The write script, on keys under `p` (plus one key outside it):
 * put a=1; put b=2; txn{put a=3, put c=4}; put other; del b; put b=5; del --prefix p; put a=6.
 */
async function writeScript(endpoint: string, p: string): Promise<void> {
  const raw = new RawClient(endpoint);
  try {
    await put(raw, `${p}a`, '1');
    await put(raw, `${p}b`, '2');
    const txn = await must(
      'txn',
      raw.call('KV', 'Txn', {
        success: [
          { request_put: { key: text(`${p}a`), value: text('3') } },
          { request_put: { key: text(`${p}c`), value: text('4') } },
        ],
      }),
    );
    assert.equal(txn.succeeded, true);
    await put(raw, `other-${p}x`, 'x');
    await must('del b', raw.call('KV', 'DeleteRange', { key: text(`${p}b`) }));
    await put(raw, `${p}b`, '5');
    await must('del prefix', raw.call('KV', 'DeleteRange', { key: text(p), range_end: prefixEnd(p) }));
    await put(raw, `${p}a`, '6');
  } finally {
    raw.close();
  }
}

/** What `etcdctl watch` prints (simple format) for the script; `alsoDeleted` are extra keys the prefix delete removes. */
function expectedScript(p: string, opts: { prevKv: boolean; alsoDeleted?: Array<[string, string]> }): string[] {
  const prev = (key: string, value: string): string[] => (opts.prevKv ? [key, value] : []);
  const lines = [
    ...['PUT', `${p}a`, '1'],
    ...['PUT', `${p}b`, '2'],
    ...['PUT', ...prev(`${p}a`, '1'), `${p}a`, '3'],
    ...['PUT', `${p}c`, '4'],
    ...['DELETE', ...prev(`${p}b`, '2'), `${p}b`, ''],
    ...['PUT', `${p}b`, '5'],
    ...['DELETE', ...prev(`${p}a`, '3'), `${p}a`, ''],
    ...['DELETE', ...prev(`${p}b`, '5'), `${p}b`, ''],
    ...['DELETE', ...prev(`${p}c`, '4'), `${p}c`, ''],
  ];
  for (const [key, value] of opts.alsoDeleted ?? []) lines.push('DELETE', ...prev(key, value), key, '');
  lines.push('PUT', `${p}a`, '6');
  return lines;
}

/** Hides what legitimately differs between two servers in etcdctl's JSON output. */
const normaliseJson = (line: string): string =>
  line.replace(/"(cluster_id|member_id)":\d+/g, '"$1":0').replace(/"raft_term":\d+/g, '"raft_term":0');

interface Pair {
  bundled: ServerHandle;
  etcd: ServerHandle;
}

/** Runs `body` against both servers at once. */
function onBoth<T>(pair: Pair, body: (server: ServerHandle) => Promise<T>): Promise<{ bundled: T; etcd: T }> {
  return Promise.all([body(pair.bundled), body(pair.etcd)]).then(([bundled, etcd]) => ({ bundled, etcd }));
}

describe('etcdctl watch: bundled server vs etcd 3.4.23', { skip: etcdAvailable() }, () => {
  let pair: Pair | undefined;
  const watchers = new Set<LongEtcdctl>();
  const both = (): Pair => {
    assert.ok(pair, 'servers not started');
    return pair;
  };
  const watch = (server: ServerHandle, args: string[]): LongEtcdctl => {
    const w = new LongEtcdctl(server.endpoint, args);
    watchers.add(w);
    return w;
  };
  const stopAll = async (list: Iterable<LongEtcdctl>): Promise<void> => {
    await Promise.all([...list].map(async (w) => {
      await w.stop();
      watchers.delete(w);
    }));
  };

  before(
    async () => {
      const [bundled, etcd] = await Promise.all([startBundled(), startRealEtcd()]);
      pair = { bundled, etcd };
      // Fresh servers: the history of p/ is revisions 2..9 on both.
      await onBoth(pair, (s) => writeScript(s.endpoint, 'p/'));
    },
    { timeout: 30_000 },
  );

  after(
    async () => {
      await stopAll([...watchers]);
      if (pair) await Promise.all([pair.bundled.stop(), pair.etcd.stop()]);
      pair = undefined;
    },
    { timeout: 30_000 },
  );

  it('replays history with --rev (--prefix, --prev-kv, key, range, -w json), then follows new writes', { timeout: 30_000 }, async () => {
    const variants: Array<{ args: string[]; replay: string[]; live: string[] }> = [
      {
        args: ['watch', '--prefix', 'p/', '--rev', '2'],
        replay: expectedScript('p/', { prevKv: false }),
        live: ['PUT', 'p/a', '7', 'PUT', 'p/b', '8'],
      },
      {
        args: ['watch', '--prefix', 'p/', '--rev', '2', '--prev-kv'],
        replay: expectedScript('p/', { prevKv: true }),
        live: ['PUT', 'p/a', '6', 'p/a', '7', 'PUT', 'p/b', '8'],
      },
      {
        // Revision 6 is the delete of p/b: the txn and the earlier puts are not replayed.
        args: ['watch', '--prefix', 'p/', '--rev', '6', '--prev-kv'],
        replay: expectedScript('p/', { prevKv: true }).slice(14),
        live: ['PUT', 'p/a', '6', 'p/a', '7', 'PUT', 'p/b', '8'],
      },
      {
        args: ['watch', 'p/a', '--rev', '2', '--prev-kv'],
        replay: [
          ...['PUT', 'p/a', '1'],
          ...['PUT', 'p/a', '1', 'p/a', '3'],
          ...['DELETE', 'p/a', '3', 'p/a', ''],
          ...['PUT', 'p/a', '6'],
        ],
        live: ['PUT', 'p/a', '6', 'p/a', '7'],
      },
      {
        // [p/b, p/c): only p/b.
        args: ['watch', 'p/b', 'p/c', '--rev', '2'],
        replay: [...['PUT', 'p/b', '2'], ...['DELETE', 'p/b', ''], ...['PUT', 'p/b', '5'], ...['DELETE', 'p/b', '']],
        live: ['PUT', 'p/b', '8'],
      },
    ];
    const pairNow = both();
    const started = variants.map((v) => ({ v, on: { bundled: watch(pairNow.bundled, v.args), etcd: watch(pairNow.etcd, v.args) } }));
    const json = { bundled: watch(pairNow.bundled, ['watch', '--prefix', 'p/', '--rev', '2', '-w', 'json']), etcd: watch(pairNow.etcd, ['watch', '--prefix', 'p/', '--rev', '2', '-w', 'json']) };

    // The replay, then a write each watcher sees live (it bounds the output: nothing extra may come first).
    for (const { v, on } of started) {
      for (const w of [on.bundled, on.etcd]) await w.waitForLines(v.replay.length);
    }
    for (const w of [json.bundled, json.etcd]) await w.waitForLines(1);
    await onBoth(pairNow, async (s) => {
      const raw = new RawClient(s.endpoint);
      try {
        await put(raw, 'p/a', '7'); // revision 10
        await put(raw, 'p/b', '8'); // revision 11
      } finally {
        raw.close();
      }
    });
    for (const { v, on } of started) {
      const total = v.replay.length + v.live.length;
      for (const w of [on.bundled, on.etcd]) await w.waitForLines(total);
    }
    for (const w of [json.bundled, json.etcd]) await w.waitForLines(3);
    const all = [...started.flatMap(({ on }) => [on.bundled, on.etcd]), json.bundled, json.etcd];
    await stopAll(all);

    for (const { v, on } of started) {
      const label = `etcdctl ${v.args.join(' ')}`;
      assert.deepEqual(on.etcd.lines, [...v.replay, ...v.live], `${label}: etcd printed something else than expected`);
      assert.deepEqual(on.bundled.lines, on.etcd.lines, `${label}: bundled differs from etcd`);
    }

    // -w json: one response for the whole replay (header = current revision 9), then one per revision.
    const etcdJson = json.etcd.lines.map(normaliseJson);
    const bundledJson = json.bundled.lines.map(normaliseJson);
    assert.equal(etcdJson.length, 3, json.etcd.describe());
    const replay = JSON.parse(json.etcd.lines[0]!) as { Header: { revision: number }; Events: unknown[] };
    assert.equal(replay.Header.revision, 9);
    assert.equal(replay.Events.length, 10);
    assert.deepEqual(bundledJson, etcdJson, 'etcdctl watch -w json: bundled differs from etcd');
  });

  it('follows live writes with --prefix, --prefix --prev-kv and interactive mode (-i)', { timeout: 30_000 }, async () => {
    const p = 'l/';
    const sync = `${p}zz-sync`;
    const mark = `${p}zz-mark`;
    const end = `${p}zz-end`;
    const pairNow = both();
    const results = await onBoth(pairNow, async (server) => {
      const plain = watch(server, ['watch', '--prefix', p]);
      const prevKv = watch(server, ['watch', '--prefix', p, '--prev-kv']);
      // One watch per interactive child: etcdctl prints each watch from its own goroutine a
      // line at a time, so two watches in one child interleave their lines arbitrarily.
      const interactive = watch(server, ['watch', '-i']);
      interactive.writeLine(`watch --prev-kv --prefix ${p}`);
      const all = [plain, prevKv, interactive];
      const raw = new RawClient(server.endpoint);
      try {
        let synced = false;
        for (let attempt = 0; attempt < 20 && !synced; attempt++) {
          await put(raw, sync, 'sync');
          try {
            for (const w of all) await w.waitUntil('the sync key', (lines) => lines.includes(sync), 1000);
            synced = true;
          } catch {
            // not every watch is established yet: put the sync key again
          }
        }
        assert.ok(synced, `watches not established: ${all.map((w) => w.describe()).join('\n')}`);
        // Late copies of the sync puts come before the mark (a watch's events are in revision
        // order): cut every output after the mark event (a create: three lines).
        await put(raw, mark, 'mark');
        const cut: number[] = [];
        for (const w of all) {
          await w.waitUntil('the mark', (lines) => {
            const at = lines.indexOf(mark);
            return at >= 0 && lines.length > at + 1;
          });
          cut.push(w.lines.indexOf(mark) + 2);
        }
        await writeScript(server.endpoint, p);
        await put(raw, end, 'end');
        for (const w of all) await w.waitUntil('the end mark', (lines) => lines.includes(end) && lines.at(-1) === 'end');
        await stopAll(all);
        return all.map((w, i) => w.lines.slice(cut[i]));
      } finally {
        raw.close();
      }
    });

    // The prefix delete also removes the mark and sync keys (sorted after a, b, c).
    const alsoDeleted: Array<[string, string]> = [
      [mark, 'mark'],
      [sync, 'sync'],
    ];
    const endLines = ['PUT', end, 'end'];
    const plain = [...expectedScript(p, { prevKv: false, alsoDeleted }), ...endLines];
    const prevKv = [...expectedScript(p, { prevKv: true, alsoDeleted }), ...endLines];
    const [ePlain, ePrev, eInteractive] = results.etcd;
    const [bPlain, bPrev, bInteractive] = results.bundled;
    assert.deepEqual(ePlain, plain, 'etcd: watch --prefix');
    assert.deepEqual(ePrev, prevKv, 'etcd: watch --prefix --prev-kv');
    assert.deepEqual(eInteractive, prevKv, 'etcd: watch -i, "watch --prev-kv --prefix"');
    assert.deepEqual(bPlain, ePlain, 'watch --prefix: bundled differs from etcd');
    assert.deepEqual(bPrev, ePrev, 'watch --prefix --prev-kv: bundled differs from etcd');
    assert.deepEqual(bInteractive, eInteractive, 'watch -i: bundled differs from etcd');
  });

  it('a watch from a compacted revision is cancelled, and etcdctl says so and exits', { timeout: 30_000 }, async () => {
    const pairNow = both();
    const results = await onBoth(pairNow, async (server) => {
      const compacted = await etcdctl(server.endpoint, ['compaction', '5']);
      assert.equal(compacted.code, 0, compacted.stderr);
      // etcdctl exits by itself once the server cancels the watch; the bound only guards a hang.
      return etcdctl(server.endpoint, ['watch', '--prefix', 'p/', '--rev', '3'], { timeoutMs: 10_000 });
    });
    assert.deepEqual(results.etcd, {
      code: 5,
      stdout: '',
      stderr: 'watch was canceled (etcdserver: mvcc: required revision has been compacted)\nError: watch is canceled by the server\n',
    });
    assert.deepEqual(results.bundled, results.etcd);
  });
});

