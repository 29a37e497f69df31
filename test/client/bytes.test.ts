import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bytesToText, InvalidArgumentError, prefixEnd, toBytes } from '../../src/index.js';
import { toKey } from '../../src/bytes.js';

const b = (...bytes: number[]) => Uint8Array.from(bytes);

describe('bytes helpers', () => {
  it('toBytes encodes strings as UTF-8 and passes bytes through without copying', () => {
    assert.deepEqual([...toBytes('hé')], [0x68, 0xc3, 0xa9]);
    const raw = b(1, 2, 3);
    assert.equal(toBytes(raw), raw);
    assert.equal(toBytes('').length, 0);
  });

  it('toBytes rejects other types naming the argument', () => {
    assert.throws(() => toBytes(5 as unknown as string, 'value'), /value: expected a string or Uint8Array, got 5/);
  });

  it('toKey rejects empty keys', () => {
    assert.throws(() => toKey(''), (e: unknown) => e instanceof InvalidArgumentError && e.argument === 'key');
    assert.throws(() => toKey(new Uint8Array(0)), /key: must not be empty/);
  });

  it('bytesToText decodes UTF-8 from a view', () => {
    const buf = b(0x78, 0x68, 0xc3, 0xa9, 0x79);
    assert.equal(bytesToText(buf.subarray(1, 4)), 'hé');
    assert.equal(bytesToText(new Uint8Array(0)), '');
  });

  describe('prefixEnd', () => {
    it('increments the last byte', () => {
      assert.deepEqual([...prefixEnd('abc')], [...toBytes('abd')]);
      assert.deepEqual(prefixEnd(b(0x61, 0x00)), b(0x61, 0x01));
    });
    it('drops trailing 0xff bytes before incrementing', () => {
      assert.deepEqual(prefixEnd(b(0x61, 0xff)), b(0x62));
      assert.deepEqual(prefixEnd(b(0x01, 0xfe, 0xff, 0xff)), b(0x01, 0xff));
    });
    it('gives \\0 for an empty or all-0xff prefix', () => {
      assert.deepEqual(prefixEnd(''), b(0));
      assert.deepEqual(prefixEnd(b(0xff, 0xff)), b(0));
    });
    it('does not modify its input', () => {
      const input = b(0x61, 0x62);
      prefixEnd(input);
      assert.deepEqual(input, b(0x61, 0x62));
    });
  });
});
