/**
 * watchConfig against the bundled server and etcd 3.4: one validated setting per key; an
 * invalid value is reported and the last good one kept; valid updates and deletions apply.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { z } from 'zod';
import { InvalidArgumentError, watchConfig } from '../../src/index.js';
import type { Client, ConfigChange, ConfigInvalid } from '../../src/index.js';
import { forEachServer } from '../harness/servers.js';
import { failOnUnhandled, until } from '../watch/helpers.js';

const settings = z.object({ poolSize: z.number().int().positive(), host: z.string() });
type Settings = z.infer<typeof settings>;

forEachServer('typed configuration', (ctx) => {
  failOnUnhandled();

  it('keeps the last good value when an invalid one is stored, and applies valid updates', async () => {
    const prefix = `${ctx.prefix()}config/`;
    const { client } = ctx;
    await client.kv.put(`${prefix}db`, JSON.stringify({ poolSize: 5, host: 'db1' }));
    await client.kv.put(`${prefix}cache`, '{"poolSize":0,"host":"c1"}');
    const config = watchConfig(client, prefix, settings);
    const changes: ConfigChange<Settings>[] = [];
    const invalid: ConfigInvalid<Settings>[] = [];
    config.on('change', (change) => changes.push(change)).on('invalid', (entry) => invalid.push(entry));
    try {
      await config.ready;
      assert.deepEqual(config.get('db'), { poolSize: 5, host: 'db1' });
      assert.equal(config.get('cache'), undefined, 'an invalid value with no last good one gives nothing');
      assert.deepEqual([...config.errors().keys()], ['cache']);
      assert.match(config.errors().get('cache')!.message, /poolSize/);
      assert.deepEqual(changes.map((c) => c.name), ['db']);

      // Invalid update: reported, last good kept.
      await client.kv.put(`${prefix}db`, '{"poolSize":"many","host":"db2"}');
      await until(() => invalid.length === 2, () => `invalid: ${invalid.length}`);
      const report = invalid[1]!;
      assert.equal(report.name, 'db');
      assert.equal(report.key, `${prefix}db`);
      assert.deepEqual(report.kept, { poolSize: 5, host: 'db1' });
      assert.match(report.error.message, /poolSize/);
      assert.deepEqual(config.get('db'), { poolSize: 5, host: 'db1' });
      await client.kv.put(`${prefix}db`, 'not json at all');
      await until(() => invalid.length === 3, () => `invalid: ${invalid.length}`);
      assert.deepEqual(config.get('db'), { poolSize: 5, host: 'db1' });

      // Valid update: applied, error cleared.
      const fixed = await client.kv.put(`${prefix}db`, JSON.stringify({ poolSize: 8, host: 'db3' }));
      await until(() => config.revision >= fixed.header.revision, () => `config at ${config.revision}`);
      assert.deepEqual(config.get('db'), { poolSize: 8, host: 'db3' });
      assert.equal(config.errors().has('db'), false);
      const applied = changes.at(-1)!;
      assert.deepEqual(applied.previous, { poolSize: 5, host: 'db1' });
      assert.deepEqual(applied.value, { poolSize: 8, host: 'db3' });

      // Deleting a key removes the setting (and any error about it).
      await client.kv.put(`${prefix}cache`, '{"poolSize":1,"host":"c2"}');
      const removed = await client.kv.delete(`${prefix}db`);
      await until(() => config.revision >= removed.header.revision, () => `config at ${config.revision}`);
      assert.equal(config.get('db'), undefined);
      assert.equal(changes.at(-1)!.value, undefined);
      assert.deepEqual([...config.values()], [['cache', { poolSize: 1, host: 'c2' }]]);
      assert.equal(config.errors().size, 0);
    } finally {
      await config.close();
    }
    assert.equal(config.state, 'closed');
  });

  it('rejects bad arguments', () => {
    assert.throws(() => watchConfig(ctx.client, 'x/', {} as z.ZodType), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'schema');
    assert.throws(() => watchConfig(null as unknown as Client, 'x/', settings), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'client');
    assert.throws(() => watchConfig(ctx.client, 5 as unknown as string, settings), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'prefix');
  });
});
