import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client, InvalidArgumentError } from '../../src/index.js';
import { parseClientOptions } from '../../src/options.js';

function rejects(input: unknown, argument: string, message: string | RegExp): void {
  assert.throws(
    () => parseClientOptions(input),
    (error: unknown) => {
      assert.ok(error instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${String(error)}`);
      assert.equal(error.argument, argument);
      if (typeof message === 'string') assert.equal(error.message, message);
      else assert.match(error.message, message);
      return true;
    },
  );
}

describe('client options', () => {
  it('accepts host:port and http:// endpoints and fills in defaults', () => {
    const options = parseClientOptions({ endpoints: ['127.0.0.1:2379', 'http://localhost:22379/', '[::1]:2379'] });
    assert.deepEqual(
      options.endpoints.map((e) => e.address),
      ['127.0.0.1:2379', 'localhost:22379', '[::1]:2379'],
    );
    assert.equal(options.endpoints[1]!.port, 22379);
    assert.equal(options.dialTimeoutMs, 5000);
    assert.equal(options.timeoutMs, 30000);
    assert.ok(options.keepaliveTimeMs >= 10000);
  });

  it('accepts a single endpoint string', () => {
    assert.deepEqual(
      parseClientOptions({ endpoints: 'etcd-0.local:2379', timeoutMs: 100 }).endpoints.map((e) => e.address),
      ['etcd-0.local:2379'],
    );
  });

  it('names a malformed endpoint with its index and value', () => {
    rejects(
      { endpoints: ['127.0.0.1:2379', 'foo'] },
      'endpoints[1]',
      'endpoints[1]: expected "host:port" or "http://host:port", got "foo"',
    );
    rejects({ endpoints: [42] }, 'endpoints[0]', 'endpoints[0]: expected "host:port" or "http://host:port", got 42');
    rejects({ endpoints: ['127.0.0.1:0'] }, 'endpoints[0]', /port must be 1-65535/);
    rejects({ endpoints: ['ftp://h:1'] }, 'endpoints[0]', /unsupported scheme "ftp:\/\/"/);
  });

  it('says TLS endpoints are not supported yet', () => {
    rejects({ endpoints: ['https://127.0.0.1:2379'] }, 'endpoints[0]', /TLS endpoints are not supported yet/);
  });

  it('rejects an empty, missing or duplicate endpoint list', () => {
    rejects({ endpoints: [] }, 'endpoints', 'endpoints: expected at least one endpoint');
    rejects({}, 'endpoints', /endpoints: expected an array of "host:port" strings, got undefined/);
    rejects({ endpoints: ['a:1', 'http://a:1'] }, 'endpoints[1]', /duplicate of endpoints\[0\]/);
  });

  it('checks timeouts and keepalive', () => {
    rejects({ endpoints: ['a:1'], dialTimeoutMs: -5 }, 'dialTimeoutMs', /dialTimeoutMs: expected an integer number of milliseconds .* got -5/);
    rejects({ endpoints: ['a:1'], timeoutMs: '10' }, 'timeoutMs', /got "10"/);
    rejects({ endpoints: ['a:1'], dialTimeoutMs: 1.5 }, 'dialTimeoutMs', /got 1\.5/);
    rejects({ endpoints: ['a:1'], keepaliveTimeMs: 1000 }, 'keepaliveTimeMs', /from 10000 /);
  });

  it('reports every problem, the first one as the argument', () => {
    rejects({ endpoints: ['a:1'], dialTimeoutMs: 0, timeoutMs: 0 }, 'dialTimeoutMs', /dialTimeoutMs: .*; timeoutMs: /);
  });

  it('rejects unknown options and non-objects', () => {
    rejects({ endpoints: ['a:1'], dialTimeout: 5 }, 'dialTimeout', /unknown option \(known options: endpoints, dialTimeoutMs/);
    rejects(null, 'options', 'options: expected an options object, got null');
    rejects('127.0.0.1:2379', 'options', /expected an options object/);
  });

  it('the Client constructor validates before opening anything', () => {
    assert.throws(() => new Client({ endpoints: ['nope'] }), InvalidArgumentError);
  });
});
