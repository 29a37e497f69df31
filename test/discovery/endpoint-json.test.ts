/**
 * Go's naming/endpoints value format, without a server: what we write is byte for byte what
 * Go's encoding/json writes for the same data, and we read what Go's decoder reads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { KeyValue, InvalidArgumentError, ValueDecodeError } from '../../src/index.js';
import { decodeEndpoint, encodeEndpoint } from '../../src/discovery/endpoint-json.js';

function kv(value: string, key = 'svc/a'): KeyValue {
  return new KeyValue(Buffer.from(key), Buffer.from(value), 1n, 1n, 1n, 0n);
}

describe('endpoint JSON (Go naming/endpoints)', () => {
  it('writes Go field names and order, null metadata, sorted object keys and HTML-safe strings', () => {
    assert.equal(encodeEndpoint('10.0.0.1:80', undefined), '{"Op":0,"Addr":"10.0.0.1:80","Metadata":null}');
    assert.equal(encodeEndpoint('h:1', null), '{"Op":0,"Addr":"h:1","Metadata":null}');
    assert.equal(
      encodeEndpoint('h:1', { z: 1, a: [1, 'x', null, undefined], m: { b: true, a: 1.5 }, skip: undefined }),
      '{"Op":0,"Addr":"h:1","Metadata":{"a":[1,"x",null,null],"m":{"a":1.5,"b":true},"z":1}}',
    );
    assert.equal(encodeEndpoint('<&>', 'a\u2028b\n"'), '{"Op":0,"Addr":"\\u003c\\u0026\\u003e","Metadata":"a\\u2028b\\n\\""}');
    assert.equal(encodeEndpoint('h:1', new Date(0)), '{"Op":0,"Addr":"h:1","Metadata":"1970-01-01T00:00:00.000Z"}');
    assert.equal(encodeEndpoint('h:1', 1e21), '{"Op":0,"Addr":"h:1","Metadata":1e+21}');
  });

  it('refuses metadata JSON cannot represent, naming where', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    for (const [metadata, argument] of [
      [{ a: { b: 1n } }, 'metadata.a.b'],
      [[Number.NaN], 'metadata[0]'],
      [loop, 'metadata.self'],
      [() => 1, 'metadata'],
    ] as const) {
      assert.throws(() => encodeEndpoint('h:1', metadata), (e: unknown) => e instanceof InvalidArgumentError && e.argument === argument);
    }
  });

  it('reads what Go reads: exact or case-insensitive names, unknown fields ignored', () => {
    assert.deepEqual(decodeEndpoint(kv('{"Op":0,"Addr":"a:1","Metadata":{"w":1}}'), undefined), { addr: 'a:1', metadata: { w: 1 } });
    assert.deepEqual(decodeEndpoint(kv('{"addr":"a:1","OP":1,"extra":[1]}'), undefined), { addr: 'a:1', metadata: null });
    assert.deepEqual(decodeEndpoint(kv('{"Addr":"a:1","Op":null,"Metadata":"m"}'), undefined), { addr: 'a:1', metadata: 'm' });
    assert.deepEqual(decodeEndpoint(kv('{"Addr":"a:1","addr":"b:2"}'), undefined), { addr: 'b:2', metadata: null }, 'the last one wins');
  });

  it('rejects what Go skips, with the key in the message', () => {
    for (const [value, problem] of [
      ['nope', /not valid JSON/],
      ['[1]', /expected a JSON object/],
      ['null', /expected a JSON object/],
      ['{"Op":"add","Addr":"a:1"}', /Op must be an integer/],
      ['{"Op":256,"Addr":"a:1"}', /Op must be an integer/],
      ['{"Addr":5}', /Addr must be a string/],
      ['{"Op":0,"Metadata":{}}', /Addr is empty/],
    ] as const) {
      assert.throws(
        () => decodeEndpoint(kv(value), undefined),
        (e: unknown) => e instanceof ValueDecodeError && problem.test(e.message) && e.message.includes('"svc/a"'),
        value,
      );
    }
  });

  it('validates metadata with a schema (its output is what is returned)', () => {
    const schema = z.object({ weight: z.number().default(1) });
    assert.deepEqual(decodeEndpoint(kv('{"Addr":"a:1","Metadata":{}}'), schema), { addr: 'a:1', metadata: { weight: 1 } });
    assert.throws(
      () => decodeEndpoint(kv('{"Addr":"a:1","Metadata":{"weight":"x"}}'), schema),
      (e: unknown) => e instanceof ValueDecodeError && /metadata that does not match the schema: weight/.test(e.message),
    );
  });
});
