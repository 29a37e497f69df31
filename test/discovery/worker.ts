/**
 * A service instance in a child process, for the discovery tests (run with `node --import tsx`):
 *
 *   worker.ts '{"endpoint","service","addr","ttl","metadata"?}'
 *
 * registers `<service>/<addr>`, prints one JSON record per step on stdout
 * ({"ev":"registered","leaseId"}, "lost", "reregistered", "error") and stays registered until
 * it is killed, SIGTERM closes it (deregistering), or `maxLifeMs` passes.
 */
import { Client, register } from '../../src/index.js';

const maxLifeMs = 60_000;

interface Args {
  endpoint: string;
  service: string;
  addr: string;
  ttl: number;
  metadata?: unknown;
}

function emit(record: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(record)}\n`);
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const client = new Client({ endpoints: [args.endpoint], dialTimeoutMs: 5000, timeoutMs: 10_000 });
  const registration = await register(client, args.service, { addr: args.addr, metadata: args.metadata }, { ttl: args.ttl });
  registration
    .on('lost', (error) => emit({ ev: 'lost', reason: error.reason }))
    .on('reregistered', (info) => emit({ ev: 'reregistered', leaseId: info.leaseId.toString(16) }))
    .on('error', (error) => emit({ ev: 'error', message: error.message }));
  emit({ ev: 'registered', key: registration.key, leaseId: registration.leaseId.toString(16) });
  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(life);
    await registration.close();
    await client.close();
    emit({ ev: 'closed' });
  };
  const life = setTimeout(() => {
    emit({ ev: 'error', message: `worker alive after ${maxLifeMs} ms` });
    void stop().finally(() => process.exit(3));
  }, maxLifeMs);
  process.once('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  emit({ ev: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
});
