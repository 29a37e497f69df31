/**
 * The public declarations of `etcdkit` must not expose grpc-js or p-retry types: emit the
 * declarations and walk everything `index.d.ts` reaches.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';

test('no grpc-js or p-retry type is reachable from the public declarations', { timeout: 120_000 }, () => {
  const out = mkdtempSync(join(tmpdir(), 'etcdkit-dts-'));
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const run = spawnSync(
      process.execPath,
      [tsc, '-p', 'tsconfig.build.json', '--outDir', out, '--declaration', '--emitDeclarationOnly', '--sourceMap', 'false'],
      { encoding: 'utf8', timeout: 110_000 },
    );
    assert.equal(run.status, 0, `tsc failed:\n${run.stdout}\n${run.stderr}`);
    const seen = new Set<string>();
    const leaks: string[] = [];
    const visit = (file: string): void => {
      if (seen.has(file) || !existsSync(file)) return;
      seen.add(file);
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/from ['"]([^'"]+)['"]|import\(['"]([^'"]+)['"]\)/g)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('.')) visit(resolve(dirname(file), spec.replace(/\.js$/, '.d.ts')));
        else if (/@grpc\/|p-retry/.test(spec)) leaks.push(`${file.slice(out.length + 1)} imports ${spec}`);
      }
    };
    visit(join(out, 'index.d.ts'));
    assert.ok(seen.size > 10, `expected to walk the public declarations, reached ${seen.size} files`);
    assert.deepEqual(leaks, []);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
