/** Runs etcdctl (v3 API) against an endpoint with a time bound. */
import { spawn } from 'node:child_process';
import { ETCDCTL_BIN } from './real-etcd.js';
import { trackChild } from './children.js';

export interface EtcdctlResult {
  /** Exit code (`null` when killed by a signal, e.g. the time bound). */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface EtcdctlOptions {
  /** Text written to etcdctl's stdin (then closed). */
  stdin?: string;
  /** Kill etcdctl after this many ms (default 15 000). */
  timeoutMs?: number;
  /** `--dial-timeout` (default `3s`). */
  dialTimeout?: string;
}

/** Runs `etcdctl --endpoints <endpoint> --dial-timeout <t> ...args` with ETCDCTL_API=3. */
export function etcdctl(endpoint: string, args: string[], opts: EtcdctlOptions = {}): Promise<EtcdctlResult> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const fullArgs = [`--endpoints=${endpoint}`, `--dial-timeout=${opts.dialTimeout ?? '3s'}`, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(ETCDCTL_BIN, fullArgs, {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    trackChild(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      stderr += `\n[harness] etcdctl killed after ${timeoutMs} ms\n`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`could not run ${ETCDCTL_BIN}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {
      // etcdctl may exit before reading all input; its exit status reports the problem.
    });
    child.stdin.end(opts.stdin ?? '');
  });
}
