/**
 * A client given only endpoints that cannot serve it - ports nobody listens on, and a black
 * hole (a TCP listener that accepts connections and never answers) - fails every kind of
 * call within its dial timeout, with an error that names every endpoint and why it failed.
 * Nothing was sent, so the errors are retryable and never `mayHaveBeenApplied`.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client.js';
import { EtcdError, UnavailableError } from '../../src/errors.js';
import { freePort } from '../harness/ports.js';

const DIAL_TIMEOUT_MS = 1000;
/** Scheduling slack on a loaded 2-core machine. */
const SLACK_MS = 1000;

describe('a client with only dead endpoints', { timeout: 30_000 }, () => {
  let blackhole: net.Server;
  const sockets = new Set<net.Socket>();
  let refused: string[];
  let silent: string;
  let client: Client;

  before(async () => {
    blackhole = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', () => resolve()));
    silent = `127.0.0.1:${(blackhole.address() as net.AddressInfo).port}`;
    refused = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    client = new Client({ endpoints: [refused[0]!, silent, refused[1]!], dialTimeoutMs: DIAL_TIMEOUT_MS, timeoutMs: 60_000 });
  });
  after(async () => {
    await client.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => blackhole.close(() => resolve()));
  });

  /** Runs `call`, checks it failed within the dial timeout with the full explanation. */
  async function failsWithinDialTimeout(what: string, call: () => Promise<unknown>): Promise<EtcdError> {
    const started = Date.now();
    let failure: unknown;
    try {
      await call();
    } catch (error) {
      failure = error;
    }
    const took = Date.now() - started;
    assert.ok(failure instanceof UnavailableError, `${what}: expected UnavailableError, got ${String(failure)}`);
    assert.ok(took >= DIAL_TIMEOUT_MS - 50 && took < DIAL_TIMEOUT_MS + SLACK_MS, `${what}: failed after ${took} ms`);
    const message = failure.message;
    assert.match(message, new RegExp(`within ${DIAL_TIMEOUT_MS} ms`), message);
    for (const endpoint of refused) assert.ok(message.includes(`${endpoint} (connection refused)`), `${what}: ${message}`);
    assert.ok(message.includes(`${silent} (no answer within ${DIAL_TIMEOUT_MS} ms)`), `${what}: ${message}`);
    assert.equal(failure.retryable, true, 'nothing was sent');
    assert.equal(failure.mayHaveBeenApplied, false);
    return failure;
  }

  it('a read fails within the dial timeout naming every endpoint (and is not retried past it)', async () => {
    await failsWithinDialTimeout('get', () => client.kv.get('k'));
  });

  it('a write fails the same way, and was not applied', async () => {
    await failsWithinDialTimeout('put', () => client.kv.put('k', 'v'));
  });

  it('lease calls fail the same way', async () => {
    await failsWithinDialTimeout('grant', () => client.lease.grant(5));
    await failsWithinDialTimeout('create', () => client.lease.create(5));
  });

  it('a watch fails at creation the same way', async () => {
    const watch = client.watch('k');
    const error = await failsWithinDialTimeout('watch', () => watch.ready);
    assert.ok(error instanceof UnavailableError);
  });

  it('a call deadline shorter than the dial timeout ends the wait first', async () => {
    const started = Date.now();
    await assert.rejects(client.kv.get('k', { timeoutMs: 200 }), (error: unknown) => {
      assert.ok(error instanceof EtcdError && error.codeName === 'DEADLINE_EXCEEDED', String(error));
      assert.ok(error.message.includes(silent), error.message);
      return true;
    });
    assert.ok(Date.now() - started < 200 + SLACK_MS);
  });
});
