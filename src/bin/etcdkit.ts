#!/usr/bin/env node
/**
 * The etcdkit command line: `etcdkit serve` runs the bundled etcd-compatible server until
 * SIGINT/SIGTERM. Flags follow etcd's own names.
 */
import { parseArgs } from 'node:util';
import { startServer } from '../server/index.js';

const USAGE = `Usage: etcdkit serve [options]

Runs an in-memory etcd v3 compatible server (data is lost when it stops).

Options:
  --listen-client-urls URL   where to serve clients, http://HOST:PORT
                             (default http://127.0.0.1:2379; port 0 picks a free port)
  --name NAME                member name (default "default")
  -h, --help                 show this help
`;

/** A command-line mistake: reported with the usage, exit code 2. */
class UsageError extends Error {}

interface ServeConfig {
  host: string;
  port: number;
  name: string;
}

function parseListenUrl(text: string): { host: string; port: number } {
  const urls = text.split(',').filter((u) => u.trim() !== '');
  if (urls.length !== 1) throw new UsageError(`--listen-client-urls: expected exactly one URL, got ${JSON.stringify(text)}`);
  let url: URL;
  try {
    url = new URL(urls[0]!.trim());
  } catch {
    throw new UsageError(`--listen-client-urls: not a URL: ${JSON.stringify(text)}`);
  }
  if (url.protocol !== 'http:') {
    throw new UsageError(`--listen-client-urls: only http:// URLs are supported, got ${JSON.stringify(text)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
    throw new UsageError(`--listen-client-urls: expected http://HOST:PORT, got ${JSON.stringify(text)}`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}

function parseServe(args: string[]): ServeConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'listen-client-urls': { type: 'string' },
        name: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const { host, port } = parseListenUrl(v['listen-client-urls'] ?? 'http://127.0.0.1:2379');
  return { host, port, name: v.name ?? 'default' };
}

async function serve(config: ServeConfig): Promise<void> {
  const server = await startServer(config);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`etcdkit: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  process.stdout.write(`etcdkit server ready at ${server.url}\n`);
}

async function main(argv: string[]): Promise<number | undefined> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'serve') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  const config = parseServe(rest);
  if (config === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  await serve(config);
  return undefined;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`etcdkit: ${err.message}\n\n${USAGE}`);
      process.exit(2);
    }
    process.stderr.write(`etcdkit: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
