/**
 * etcdctl 3.4 as a client of the bundled server versus real etcd 3.4.23: the same script of
 * commands runs against a fresh instance of each, and every step's exit code, stdout and
 * error line must be equal (cluster_id/member_id/raft_term normalised in JSON output).
 */
import { before, after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { etcdAvailable, startRealEtcd } from '../harness/real-etcd.js';
import { startBundled } from '../harness/bundled.js';
import { etcdctl, type EtcdctlResult } from '../harness/etcdctl.js';
import type { ServerHandle } from '../harness/handle.js';

interface Step {
  /** etcdctl arguments (after the global endpoint flags). */
  args: string[];
  /** stdin text (txn). */
  stdin?: string;
  /** Exit code real etcd must give (guards against a script that tests nothing). */
  code: 0 | 1;
  /** Text the real etcd's stdout (or, on failure, its error line) must contain. */
  expect?: string;
}

const txnSuccess = ['value("goo") = "g"', 'mod("foo") > "0"', '', 'put goo g2', 'get goo', '', 'put goo failed', '', ''].join(
  '\n',
);
const txnFailure = ['version("goo") = "99"', '', 'put goo never', '', 'get goo', 'del nothing-here', '', ''].join('\n');
const txnEmptyBranches = ['create("absent") = "0"', '', '', '', ''].join('\n');

/** The script; revisions in it assume a fresh server (store revision 1). */
const script: Step[] = [
  { args: ['get', 'foo'], code: 0, expect: '' },
  { args: ['get', 'foo', '-w', 'json'], code: 0, expect: '"revision":1' },
  { args: ['put', 'foo', 'bar'], code: 0, expect: 'OK' }, // rev 2
  { args: ['put', 'foo', 'baz', '--prev-kv'], code: 0, expect: 'bar' }, // rev 3
  { args: ['put', 'foo1', 'v1'], code: 0 }, // rev 4
  { args: ['put', 'foo2', 'v2'], code: 0 }, // rev 5
  { args: ['put', 'foo2', 'v2b'], code: 0 }, // rev 6
  { args: ['put', 'foo2', 'v2c', '-w', 'json', '--prev-kv'], code: 0, expect: '"prev_kv"' }, // rev 7
  { args: ['put', 'goo', 'g'], code: 0 }, // rev 8
  { args: ['put', 'zed', 'z'], code: 0 }, // rev 9
  { args: ['get', 'foo', '--prefix'], code: 0, expect: 'foo2' },
  { args: ['get', 'foo', '--prefix', '-w', 'json'], code: 0, expect: '"count":3' },
  { args: ['get', 'foo1', '--from-key'], code: 0, expect: 'zed' },
  { args: ['get', 'foo1', '--from-key', '--keys-only'], code: 0, expect: 'goo' },
  { args: ['get', '', '--prefix', '--print-value-only'], code: 0, expect: 'v2c' },
  { args: ['get', 'foo', '--rev', '2'], code: 0, expect: 'bar' },
  { args: ['get', 'foo', '--rev', '2', '-w', 'json'], code: 0, expect: '"mod_revision":2' },
  { args: ['get', 'foo', '--prefix', '--limit', '2', '-w', 'json'], code: 0, expect: '"more":true' },
  { args: ['get', '', '--prefix', '--limit', '2', '--order', 'DESCEND'], code: 0, expect: 'zed' },
  ...['CREATE', 'KEY', 'MODIFY', 'VALUE', 'VERSION'].flatMap((target) =>
    ['ASCEND', 'DESCEND'].map(
      (order): Step => ({ args: ['get', 'foo', '--prefix', '--sort-by', target, '--order', order], code: 0, expect: 'foo1' }),
    ),
  ),
  { args: ['get', 'foo', '--prefix', '--sort-by', 'VERSION', '-w', 'json'], code: 0, expect: '"version":3' },
  { args: ['get', 'foo', '--rev', '99'], code: 1, expect: 'required revision is a future revision' },
  { args: ['put', 'absent', '--ignore-value'], code: 1, expect: 'etcdserver: key not found' },
  { args: ['put', 'foo', '--ignore-value'], code: 0, expect: 'OK' }, // rev 10
  { args: ['put', 'foo', '--ignore-lease', 'qux'], code: 0, expect: 'OK' }, // rev 11
  { args: ['put', 'foo', 'x', '--lease', '1234'], code: 1, expect: 'requested lease not found' },
  { args: ['txn'], stdin: txnSuccess, code: 0, expect: 'SUCCESS' }, // rev 12
  { args: ['txn', '-w', 'json'], stdin: txnFailure, code: 0, expect: '"responses"' },
  { args: ['txn'], stdin: txnFailure, code: 0, expect: 'FAILURE' },
  { args: ['txn', '-w', 'json'], stdin: txnEmptyBranches, code: 0, expect: '"succeeded":true' },
  { args: ['get', 'goo'], code: 0, expect: 'g2' },
  { args: ['del', 'nothing'], code: 0, expect: '0' },
  { args: ['del', 'foo1', '--prev-kv'], code: 0, expect: 'v1' }, // rev 13
  { args: ['del', 'foo', '--prefix', '-w', 'json'], code: 0, expect: '"deleted":2' }, // rev 14
  { args: ['get', '', '--prefix', '-w', 'json'], code: 0, expect: '"revision":14' },
  { args: ['put', 'foo', 'reborn', '-w', 'json'], code: 0 }, // rev 15
  { args: ['get', 'foo', '-w', 'json'], code: 0, expect: '"create_revision":15' },
  { args: ['compaction', '5'], code: 0, expect: 'compacted revision 5' },
  { args: ['compaction', '5'], code: 1, expect: 'required revision has been compacted' },
  { args: ['compaction', '4'], code: 1, expect: 'required revision has been compacted' },
  { args: ['compaction', '999'], code: 1, expect: 'required revision is a future revision' },
  { args: ['get', 'foo', '--rev', '4'], code: 1, expect: 'required revision has been compacted' },
  { args: ['get', 'foo2', '--rev', '5', '-w', 'json'], code: 0, expect: '"value":"djI="' },
  { args: ['compaction', '--physical', '7'], code: 0, expect: 'compacted revision 7' },
  { args: ['get', 'foo2', '--rev', '6'], code: 1, expect: 'required revision has been compacted' },
  { args: ['get', '', '--from-key', '--rev', '7', '-w', 'json'], code: 0, expect: '"count":3' },
  { args: ['del', '', '--from-key', '--prev-kv'], code: 0, expect: 'reborn' },
  { args: ['get', '', '--prefix', '-w', 'json'], code: 0, expect: '"revision":16' },
  { args: ['put', 'foo', 'x'], code: 0 }, // rev 17
  { args: ['put', 'foo', 'y', '--prev-kv', '-w', 'fields'], code: 0, expect: '"PrevValue" : "x"' }, // rev 18
  { args: ['get', 'foo', '--hex'], code: 0, expect: '\\x66\\x6f\\x6f' },
  { args: ['get', '', '--prefix', '-w', 'fields'], code: 0, expect: '"Count" : 1' },
  { args: ['txn', '-w', 'fields'], stdin: txnEmptyBranches, code: 0, expect: '"Succeeded" : true' },
  { args: ['del', 'foo', '--prev-kv', '-w', 'fields'], code: 0, expect: '"Deleted" : 1' }, // rev 19
  { args: ['get', 'foo', '--rev', '18', '-w', 'fields'], code: 0, expect: '"Revision" : 19' },
];

/** Makes two servers' outputs comparable: ids and terms out of json/fields output, etcdctl's log lines out of stderr. */
function normalise(result: EtcdctlResult): { code: number | null; stdout: string; error: string } {
  const stdout = result.stdout
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":0')
    .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : 0');
  const error = result.stderr
    .split('\n')
    .filter((line) => line.startsWith('Error:'))
    .join('\n');
  return { code: result.code, stdout, error };
}

async function runScript(server: ServerHandle): Promise<EtcdctlResult[]> {
  const results: EtcdctlResult[] = [];
  for (const step of script) {
    results.push(await etcdctl(server.endpoint, step.args, { stdin: step.stdin, timeoutMs: 15_000 }));
  }
  return results;
}

function describeStep(i: number, step: Step): string {
  const stdin = step.stdin === undefined ? '' : ` <<< ${JSON.stringify(step.stdin)}`;
  return `#${i} etcdctl ${step.args.map((a) => (a === '' ? "''" : a)).join(' ')}${stdin}`;
}

describe('etcdctl 3.4: bundled server vs etcd 3.4.23', { skip: etcdAvailable() }, () => {
  const servers: ServerHandle[] = [];
  let real: EtcdctlResult[] = [];
  let bundled: EtcdctlResult[] = [];

  before(
    async () => {
      const etcd = await startRealEtcd();
      servers.push(etcd);
      real = await runScript(etcd);
      const ours = await startBundled();
      servers.push(ours);
      bundled = await runScript(ours);
    },
    { timeout: 120_000 },
  );

  after(
    async () => {
      for (const server of servers.splice(0)) await server.stop();
    },
    { timeout: 30_000 },
  );

  script.forEach((step, i) => {
    it(describeStep(i, step), () => {
      const want = normalise(real[i]!);
      assert.equal(want.code, step.code, `real etcd exit code (stderr: ${real[i]!.stderr})`);
      if (step.expect !== undefined) {
        const shown = step.code === 0 ? want.stdout : want.error;
        assert.ok(shown.includes(step.expect), `real etcd output ${JSON.stringify(shown)} lacks ${JSON.stringify(step.expect)}`);
      }
      assert.deepEqual(normalise(bundled[i]!), want, `bundled server differs from etcd (raw stderr: ${bundled[i]!.stderr})`);
    });
  });
});

/**
 * etcdctl dials a member directly for Maintenance calls and then sends the endpoint as given,
 * scheme included, as the HTTP/2 `:authority` (with `--cluster`, always: it takes the members'
 * client URLs). etcd answers; so must the bundled server on its own, not only as a cluster.
 */
describe('etcdctl 3.4 maintenance calls on an http:// endpoint', { skip: etcdAvailable() }, () => {
  const servers: { name: string; handle: ServerHandle }[] = [];

  before(
    async () => {
      servers.push({ name: 'etcd', handle: await startRealEtcd() });
      servers.push({ name: 'bundled', handle: await startBundled() });
    },
    { timeout: 60_000 },
  );

  after(
    async () => {
      for (const { handle } of servers.splice(0)) await handle.stop();
    },
    { timeout: 30_000 },
  );

  for (const args of [['endpoint', 'status'], ['endpoint', 'status', '--cluster'], ['endpoint', 'health']]) {
    it(`etcdctl --endpoints=http://... ${args.join(' ')} succeeds on both servers`, async () => {
      for (const { name, handle } of servers) {
        const url = `http://${handle.endpoint}`;
        const result = await etcdctl(url, args, { timeoutMs: 15_000 });
        assert.equal(result.code, 0, `${name}: exit code (stderr: ${result.stderr})`);
        assert.ok(result.stdout.includes(url) || result.stderr.includes(url), `${name}: output names ${url}: ${result.stdout}${result.stderr}`);
        assert.doesNotMatch(result.stdout + result.stderr, /PROTOCOL_ERROR|Failed/, `${name}: no failure`);
      }
    });
  }
});
