/**
 * One watch measurement in a fresh process (started by bench/watch.ts with --expose-gc):
 *
 *   watch-worker.ts --mode events --client etcdkit|etcd3 --endpoint HOST:PORT --events N --warmup W --cap S [--start-revision R]
 *     watches the prefix `bench/watch/`, prints `READY` once the watch is created, then counts
 *     put events (written by a separate `--mode write` process). After W warm-up events it
 *     collects garbage and starts measuring; after W+N events it prints the wall time and this
 *     process's CPU for the N measured events. With --start-revision the watch starts at
 *     revision R, in the past: the server replays history in large batches (catch-up).
 *   watch-worker.ts --mode write --endpoint HOST:PORT --count N --concurrency C
 *     writes N puts under `bench/watch/` (100-byte values, C in flight) with etcdkit's client
 *     and reports the smallest revision it wrote.
 *   watch-worker.ts --mode idle --client etcdkit|etcd3 --endpoint HOST:PORT --watchers N --cap S
 *     creates N watchers on distinct keys, in chunks, until all are ready or S seconds have
 *     passed, and reports the creation time and the heap growth per watcher.
 *
 * Each prints one `RESULT {json}` line.
 */
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import type { ClientId } from './clients.js';
import { EventMeter } from './event-meter.js';
import { runOps } from './load.js';
import { WATCH_DATA, idleKey, type WatchEventsMeasurement, type WatchIdleMeasurement, type WatchWriterResult } from './watch.js';

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    client: { type: 'string', default: 'etcdkit' },
    endpoint: { type: 'string' },
    events: { type: 'string', default: '20000' },
    warmup: { type: 'string', default: '2000' },
    count: { type: 'string', default: '0' },
    concurrency: { type: 'string', default: '64' },
    watchers: { type: 'string', default: '10000' },
    cap: { type: 'string', default: '30' },
    'start-revision': { type: 'string' },
  },
  strict: true,
});
const endpoint = values.endpoint ?? '';
if (!endpoint) throw new Error('--endpoint HOST:PORT is required');
const clientId = values.client as ClientId;
if (clientId !== 'etcdkit' && clientId !== 'etcd3') throw new Error('--client must be etcdkit or etcd3');
const int = (name: string, text: string): number => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${text}`);
  return n;
};
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

/** A put or delete as both clients hand it over: key and value bytes. */
type OnEvent = (key: Uint8Array, value: Uint8Array) => void;

/** The watch operations a mode needs, for either client. */
interface WatchHarness {
  /** Watches `prefix` (from `startRevision` when given); resolves once the server created the watch. */
  watchPrefix(prefix: string, startRevision?: bigint): Promise<void>;
  /** Watches one key; resolves once created. */
  watchKey(key: string): Promise<void>;
  put(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens `id`'s client. Every watch created through the harness reports puts to `onPut`, through
 * one listener function shared by all watches (so the bench allocates no closure per watch).
 */
async function openHarness(id: ClientId, onPut: OnEvent): Promise<WatchHarness> {
  // Watches are kept here, as an application would keep them (to cancel them later).
  const watches: unknown[] = [];
  if (id === 'etcdkit') {
    const { Client } = await import('../src/index.js');
    type WatchEvent = import('../src/index.js').WatchEvent;
    const client = new Client({ endpoints: [endpoint] });
    const listener = (e: WatchEvent) => onPut(e.kv.key, e.kv.value);
    return {
      async watchPrefix(prefix, startRevision) {
        const w = client.watch(prefix, { prefix: true, ...(startRevision ? { startRevision } : {}) }).on('put', listener);
        watches.push(w);
        await w.ready;
      },
      async watchKey(key) {
        const w = client.watch(key).on('put', listener);
        watches.push(w);
        await w.ready;
      },
      async put(key, value) {
        await client.kv.put(key, value);
      },
      close: () => client.close(),
    };
  }
  const { Etcd3 } = await import('etcd3');
  type KeyValue = import('etcd3').IKeyValue;
  const client = new Etcd3({ hosts: endpoint });
  const listener = (kv: KeyValue) => onPut(kv.key, kv.value);
  return {
    async watchPrefix(prefix, startRevision) {
      const builder = client.watch().prefix(prefix);
      if (startRevision) builder.startRevision(String(startRevision));
      // watcher() attaches at once; the listener is in place before any event can arrive
      // (create() resolves a turn after 'connected', when a replay may have started).
      const w = builder.watcher().on('put', listener);
      watches.push(w);
      await once(w, 'connected');
    },
    async watchKey(key) {
      const w = await client.watch().key(key).create();
      watches.push(w.on('put', listener));
    },
    async put(key, value) {
      await client.put(key).value(value).exec();
    },
    async close() {
      client.close();
    },
  };
}

async function events(): Promise<WatchEventsMeasurement> {
  const measured = int('events', values.events);
  const warmup = int('warmup', values.warmup);
  const capMs = int('cap', values.cap) * 1000;
  const meter = new EventMeter(warmup, measured);
  let badValue = 0;
  const onPut: OnEvent = (key, value) => {
    // The same work for both clients: look at the key and value bytes of every event.
    if (value.length !== WATCH_DATA.value.length || key.length === 0) badValue++;
    meter.count();
  };
  const harness = await openHarness(clientId, onPut);
  const startRevision = values['start-revision'] === undefined ? undefined : BigInt(values['start-revision']);
  await harness.watchPrefix(WATCH_DATA.prefix, startRevision);
  console.log('READY');
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([meter.done, new Promise<void>((resolve) => (timer = setTimeout(resolve, capMs)))]);
  clearTimeout(timer);
  // Time cap hit: the figures of the events measured so far, if the measured phase started at all.
  const capped = !meter.complete;
  const result = meter.result();
  if (!result) throw new Error(`only ${meter.seen} events arrived within ${capMs / 1000} s (warm-up is ${warmup})`);
  if (badValue > 0) throw new Error(`${badValue} events had an unexpected value`);
  await harness.close();
  return {
    client: clientId,
    catchUp: startRevision !== undefined,
    events: result.events,
    capped,
    seconds: result.seconds,
    eventsPerSec: result.events / result.seconds,
    cpuUsPerEvent: (result.cpu.user + result.cpu.system) / result.events,
  };
}

async function write(): Promise<WatchWriterResult> {
  const count = int('count', values.count);
  const concurrency = int('concurrency', values.concurrency);
  const capMs = int('cap', values.cap) * 1000;
  const { Client } = await import('../src/index.js');
  const client = new Client({ endpoints: [endpoint] });
  let firstRevision: bigint | undefined;
  const t0 = performance.now();
  const puts = await runOps(count, concurrency, t0 + capMs, async (i) => {
    const res = await client.kv.put(WATCH_DATA.prefix + (i % WATCH_DATA.keySpace), WATCH_DATA.value);
    if (firstRevision === undefined || res.header.revision < firstRevision) firstRevision = res.header.revision;
  });
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  return { puts, seconds, firstRevision: String(firstRevision ?? 0n) };
}

function heap(): { used: number; external: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { used: m.heapUsed, external: m.external };
}

async function idle(): Promise<WatchIdleMeasurement> {
  const requested = int('watchers', values.watchers);
  const capMs = int('cap', values.cap) * 1000;
  const hits = new Map<string, number>();
  const onPut: OnEvent = (key) => {
    const k = Buffer.from(key).toString();
    hits.set(k, (hits.get(k) ?? 0) + 1);
  };
  const harness = await openHarness(clientId, onPut);
  // One watcher first, so the connection and the watch stream exist before the baseline.
  await harness.watchKey(WATCH_DATA.idlePrefix + 'warm');
  const before = heap();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + capMs;
  let created = 0;
  // Chunks keep the time cap checkable; within a chunk every create is issued at once.
  while (created < requested && performance.now() < deadline) {
    const n = Math.min(WATCH_DATA.createChunk, requested - created);
    const chunk: Promise<void>[] = [];
    for (let i = 0; i < n; i++) chunk.push(harness.watchKey(idleKey(created + i)));
    await Promise.all(chunk);
    created += n;
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const after = heap();
  if (created === 0) throw new Error('no watcher created');
  // Check that the watchers work: a put on the first and the last key must reach them.
  const probe = [idleKey(0), idleKey(created - 1)];
  for (const key of probe) await harness.put(key, WATCH_DATA.value);
  const probeDeadline = performance.now() + 10_000;
  while (probe.some((k) => !hits.get(k)) && performance.now() < probeDeadline) await new Promise((r) => setTimeout(r, 20));
  const missing = probe.filter((k) => !hits.get(k));
  if (missing.length) throw new Error(`idle watchers did not see puts on ${missing.join(', ')}`);
  await harness.close();
  return {
    client: clientId,
    requested,
    created,
    capped: created < requested,
    createSeconds: seconds,
    createUsPerWatcher: (seconds * 1e6) / created,
    createCpuUsPerWatcher: (cpu.user + cpu.system) / created,
    heapBytesPerWatcher: (after.used - before.used) / created,
    externalBytesPerWatcher: (after.external - before.external) / created,
    heapUsedBefore: before.used,
    heapUsedAfter: after.used,
  };
}

const modes: Record<string, () => Promise<unknown>> = { events, write, idle };
const run = modes[values.mode ?? ''];
if (!run) throw new Error(`--mode must be one of: ${Object.keys(modes).join(', ')}`);
console.log(`RESULT ${JSON.stringify(await run())}`);
// A client left with open handles after close() must not hang the bench.
setTimeout(() => {
  console.error(`warning: watch worker (${values.mode}, ${clientId}) left handles open 1 s after close()`);
  process.exit(0);
}, 1000).unref();
