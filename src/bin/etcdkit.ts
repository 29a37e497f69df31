#!/usr/bin/env node
/**
 * The etcdkit command line: `etcdkit serve` runs the bundled etcd-compatible server (or, with
 * `--members N`, a simulated N-member cluster) until SIGINT/SIGTERM. Flags follow etcd's own
 * names where etcd has one.
 */
import { parseArgs } from 'node:util';
import { startCluster, startServer } from '../server/index.js';

const USAGE = `Usage: etcdkit serve [options]

Runs an in-memory etcd v3 compatible server (data is lost when it stops).

Options:
  --listen-client-urls URL   where to serve clients, http://HOST:PORT
                             (default http://127.0.0.1:2379; port 0 picks a free port)
  --name NAME                member name (default "default"); with --members, the
                             prefix of the names NAME-0, NAME-1, ... (default "member")
  --members N                run a simulated cluster of N members (1 to 15) sharing one
                             store; member i listens on PORT+i (free ports for port 0),
                             or give N comma-separated URLs to --listen-client-urls.
                             Prints each member's URL on its own line, then a ready line
  -h, --help                 show this help
`;

/** A command-line mistake: reported with the usage, exit code 2. */
class UsageError extends Error {}

interface ServeConfig {
  host: string;
  port: number;
  name: string;
}

interface ClusterConfig {
  members: number;
  host: string;
  ports: number[];
  name: string;
}

interface HostPort {
  host: string;
  port: number;
}

function parseOneUrl(text: string, whole: string): HostPort {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    throw new UsageError(`--listen-client-urls: not a URL: ${JSON.stringify(whole)}`);
  }
  if (url.protocol !== 'http:') {
    throw new UsageError(`--listen-client-urls: only http:// URLs are supported, got ${JSON.stringify(whole)}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.username !== '') {
    throw new UsageError(`--listen-client-urls: expected http://HOST:PORT, got ${JSON.stringify(whole)}`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? 80 : Number(url.port) };
}

function parseListenUrls(text: string): HostPort[] {
  return text
    .split(',')
    .filter((u) => u.trim() !== '')
    .map((u) => parseOneUrl(u, text));
}

function parseListenUrl(text: string): HostPort {
  const urls = parseListenUrls(text);
  if (urls.length !== 1) throw new UsageError(`--listen-client-urls: expected exactly one URL, got ${JSON.stringify(text)}`);
  return urls[0]!;
}

function parseMembers(text: string): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(n >= 1 && n <= 15)) throw new UsageError(`--members: expected a number from 1 to 15, got ${JSON.stringify(text)}`);
  return n;
}

/** One URL gives the first member's address (the others take the next ports); N URLs give each. */
function clusterConfig(members: number, listen: string, name: string | undefined): ClusterConfig {
  const urls = parseListenUrls(listen);
  if (urls.length !== 1 && urls.length !== members) {
    throw new UsageError(`--listen-client-urls: expected 1 or ${members} URLs for ${members} members, got ${JSON.stringify(listen)}`);
  }
  const host = urls[0]!.host;
  if (urls.some((u) => u.host !== host)) {
    throw new UsageError(`--listen-client-urls: every member must use the same host, got ${JSON.stringify(listen)}`);
  }
  const base = urls[0]!.port;
  const ports =
    urls.length === members ? urls.map((u) => u.port) : Array.from({ length: members }, (_, i) => (base === 0 ? 0 : base + i));
  if (ports.some((p) => p > 65535)) throw new UsageError(`--listen-client-urls: ports above 65535 for ${members} members from ${base}`);
  return { members, host, ports, name: name ?? 'member' };
}

function parseServe(args: string[]): ServeConfig | ClusterConfig | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      strict: true,
      allowPositionals: false,
      options: {
        'listen-client-urls': { type: 'string' },
        name: { type: 'string' },
        members: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) return 'help';
  const listen = v['listen-client-urls'] ?? 'http://127.0.0.1:2379';
  if (v.members !== undefined) return clusterConfig(parseMembers(v.members), listen, v.name);
  const { host, port } = parseListenUrl(listen);
  return { host, port, name: v.name ?? 'default' };
}

/** Closes `closable` on SIGINT/SIGTERM, then exits 0 (1 if closing failed). */
function exitOnSignal(closable: { close(): Promise<void> }): void {
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    closable.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`etcdkit: error while stopping: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

async function serve(config: ServeConfig): Promise<void> {
  const server = await startServer(config);
  exitOnSignal(server);
  process.stdout.write(`etcdkit server ready at ${server.url}\n`);
}

async function serveCluster(config: ClusterConfig): Promise<void> {
  const cluster = await startCluster(config);
  exitOnSignal(cluster);
  process.stdout.write(cluster.urls.map((u) => `${u}\n`).join(''));
  process.stdout.write(`etcdkit cluster ready at ${cluster.urls.join(',')}\n`);
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
  if ('members' in config) await serveCluster(config);
  else await serve(config);
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
