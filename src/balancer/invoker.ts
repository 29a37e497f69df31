/**
 * The one way the client runs a unary RPC: `invoke(service, method, request, options)`.
 * It picks a ready endpoint (round-robin, healthy ones first), waits for one within the dial
 * timeout otherwise, applies the deadline and abort signal, classifies failures into
 * EtcdErrors, and retries repeatable calls per the retry policy, on another endpoint when
 * there is one. Every attempt is registered on its endpoint so the health monitor can notice
 * an endpoint that stopped answering. Everything client-side goes through here.
 */
import * as grpc from '@grpc/grpc-js';
import {
  cancelledError,
  classifyStatus,
  ClientClosedError,
  describeInput,
  EtcdError,
  internalError,
  InvalidArgumentError,
} from '../errors.js';
import type { CallFacts } from '../errors.js';
import { GrpcCode } from '../protocol/error-table.js';
import type { Init, ResponseHeader, ServiceName } from '../protocol/messages.generated.js';
import { methodDef } from '../protocol/services.js';
import type { MethodDef } from '../protocol/services.js';
import type { Invoke, RequestType, ResponseType, UnaryMethodName } from './invoke.js';
import type { CallOptions, ResolvedClientOptions } from '../options.js';
import { EndpointSync } from './auto-sync.js';
import { channelSettings } from './channel.js';
import type { EndpointChannel } from './channel.js';
import type { TrackedAttempt } from './health.js';
import { HealthMonitor } from './monitor.js';
import { EndpointPool } from './pool.js';
import { readProbe } from './probe.js';
import { openBidiStream } from './stream.js';
import type { BidiMethodName, BidiStream, OpenStreamOptions } from './invoke.js';
import { isRepeatable, requiresLeader, retryAfter, shouldRetry } from './retry.js';

/** One call in flight: what every attempt needs. */
interface UnaryCall {
  readonly def: MethodDef<ServiceName, never>;
  readonly request: unknown;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly facts: CallFacts & { idempotent: boolean };
  readonly metadata: grpc.Metadata;
  /** Set once the call is in its retry loop: later attempts report failures to the loop. */
  retrying: boolean;
  /** Endpoints an attempt of this call failed on (the next attempt prefers others). */
  tried: Set<EndpointChannel> | undefined;
  /** Set once an attempt was abandoned as stalled: later attempts run their course. */
  abandoned: boolean;
}

const maxTimeoutMs = 2_147_483_647;

/** Metadata of calls that need a leader (see `requiresLeader`); grpc-js copies it per call. */
const leaderMetadata = new grpc.Metadata();
leaderMetadata.set('hasleader', 'true');

/** An endpoint carrying streams is probed after this many unresponsive thresholds of silence. */
const silenceProbeFactor = 5;

/** The client's unary RPC engine over the endpoint pool. */
export class Invoker implements Invoke {
  readonly #pool: EndpointPool;
  readonly #monitor: HealthMonitor;
  readonly #sync: EndpointSync | undefined;
  readonly #timeoutMs: number;
  readonly #dialTimeoutMs: number;
  /** Shared empty metadata (grpc-js copies it per call). */
  readonly #metadata = new grpc.Metadata();
  readonly #inflight = new Set<grpc.ClientUnaryCall>();
  readonly #closing = new AbortController();
  #closed = false;

  constructor(options: ResolvedClientOptions) {
    this.#pool = new EndpointPool(options.endpoints, channelSettings(options));
    this.#timeoutMs = options.timeoutMs;
    this.#dialTimeoutMs = options.dialTimeoutMs;
    this.#monitor = new HealthMonitor(this.#pool, {
      unresponsiveMs: options.unresponsiveMs,
      silenceProbeMs: options.unresponsiveMs * silenceProbeFactor,
      probe: readProbe,
    });
    this.#sync =
      options.autoSyncIntervalMs > 0 ? new EndpointSync(this, this.#pool, { intervalMs: options.autoSyncIntervalMs }) : undefined;
  }

  /** The endpoint pool (for streams and diagnostics). */
  get pool(): EndpointPool {
    return this.#pool;
  }

  /** True once {@link close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Opens a bidirectional stream (e.g. `openStream('Watch', 'Watch', { requireLeader: true })`)
   * on a ready endpoint, waiting at most the dial timeout. Closing the client cancels it
   * (its end is then reported with ClientClosedError). See `stream.ts`.
   */
  openStream<S extends ServiceName, M extends BidiMethodName<S>>(
    service: S,
    method: M,
    options?: OpenStreamOptions,
  ): Promise<BidiStream<RequestType<S, M>, ResponseType<S, M>>> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    return openBidiStream(
      this.#pool,
      { dialTimeoutMs: this.#dialTimeoutMs, closing: this.#closing.signal, monitor: this.#monitor },
      service,
      method,
      options,
    );
  }

  invoke<S extends ServiceName, M extends UnaryMethodName<S>>(
    service: S,
    method: M,
    request: Init<RequestType<S, M>>,
    options?: CallOptions,
  ): Promise<ResponseType<S, M>> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    const def = methodDef(service, method) as unknown as MethodDef<ServiceName, never>;
    let timeoutMs = this.#timeoutMs;
    let signal: AbortSignal | undefined;
    const facts = { idempotent: isRepeatable(def.path), endpoint: undefined };
    if (options != null) {
      signal = options.signal ?? undefined;
      if (options.timeoutMs !== undefined) {
        timeoutMs = options.timeoutMs;
        if (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > maxTimeoutMs) {
          return Promise.reject(
            new InvalidArgumentError(
              'options.timeoutMs',
              `expected a number of milliseconds from 1 to ${maxTimeoutMs}, got ${describeInput(timeoutMs)}`,
            ),
          );
        }
      }
      if (signal !== undefined) {
        if (!(signal instanceof AbortSignal)) {
          return Promise.reject(new InvalidArgumentError('options.signal', `expected an AbortSignal, got ${describeInput(signal)}`));
        }
        if (signal.aborted) return Promise.reject(cancelledError(signal.reason, facts, false));
      }
    }
    const call: UnaryCall = {
      def,
      request,
      deadline: Date.now() + timeoutMs,
      signal,
      facts,
      metadata: requiresLeader(def.path, request) ? leaderMetadata : this.#metadata,
      retrying: false,
      tried: undefined,
      abandoned: false,
    };
    return this.#attempt(call) as Promise<ResponseType<S, M>>;
  }

  /**
   * Closes every channel; calls in flight and waiting reject with ClientClosedError.
   * Resolves once every call in flight has settled. Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#closing.abort(new ClientClosedError());
      this.#sync?.close();
      this.#monitor.close();
      for (const call of this.#inflight) call.cancel();
      this.#pool.close();
    }
    return this.#settled();
  }

  /** Resolves when no grpc call of this invoker is in flight (bounded: cancelled calls end promptly). */
  async #settled(): Promise<void> {
    for (let turn = 0; turn < 100 && this.#inflight.size > 0; turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  #attempt(call: UnaryCall): Promise<unknown> {
    const channel = this.#pool.pickReady(call.tried);
    if (channel !== undefined) return this.#dispatch(channel, call);
    // No connection yet: wait for one, bounded by the dial timeout and the call's deadline.
    // A failure here means nothing was sent.
    const remaining = Math.max(0, call.deadline - Date.now());
    const byDeadline = remaining <= this.#dialTimeoutMs;
    return this.#pool
      .waitForReady(
        byDeadline ? remaining : this.#dialTimeoutMs,
        byDeadline ? 'deadline' : 'dial-timeout',
        call.signal,
        () => cancelledError(call.signal?.reason, call.facts, false),
        call.tried,
      )
      .then((ready) => this.#dispatch(ready, call));
  }

  #dispatch(channel: EndpointChannel, call: UnaryCall): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ClientClosedError());
    return new Promise((resolve, reject) => {
      const signal = call.signal;
      const health = channel.health;
      let onAbort: (() => void) | undefined;
      let grpcCall: grpc.ClientUnaryCall | undefined;
      let settled = false;
      /** Set when the monitor ended the attempt as stalled: the error the attempt fails with. */
      let abandonedWith: EtcdError | undefined;
      const attempt: TrackedAttempt = {
        startedAt: Date.now(),
        repeatable: call.facts.idempotent,
        abandon: (error, force = false) => {
          if (settled || abandonedWith !== undefined || grpcCall === undefined) return false;
          if (call.facts.idempotent) {
            if (call.abandoned && !force) return false;
            call.abandoned = true;
          }
          abandonedWith = error;
          grpcCall.cancel();
          return true;
        },
      };
      try {
        grpcCall = channel.client.makeUnaryRequest(
          call.def.path,
          call.def.requestSerialize as (value: unknown) => Buffer,
          call.def.responseDeserialize,
          call.request,
          call.metadata,
          { deadline: call.deadline },
          (error, response) => {
            settled = true;
            this.#inflight.delete(grpcCall!);
            health.attempts.delete(attempt);
            if (channel.retired) this.#pool.releaseRetired(channel);
            if (onAbort !== undefined) signal!.removeEventListener('abort', onAbort);
            if (error === null || error === undefined) {
              health.lastHeard = Date.now();
              this.#monitor.observeHeader((response as { header?: ResponseHeader } | undefined)?.header);
              resolve(response);
              return;
            }
            const outcome = this.#failure(error, abandonedWith, channel, call);
            if (outcome instanceof EtcdError) reject(outcome);
            else resolve(outcome);
          },
        );
      } catch (error) {
        reject(this.#closed ? new ClientClosedError() : internalError(error, call.facts));
        return;
      }
      this.#inflight.add(grpcCall);
      if (!settled) {
        health.attempts.add(attempt);
        this.#monitor.attemptStarted(attempt.startedAt);
      }
      if (signal !== undefined) {
        onAbort = () => grpcCall!.cancel();
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
  }

  /**
   * Turns a failed attempt into the caller's error, or into a retry (a promise).
   * `abandoned` is the error of an attempt the health monitor ended as stalled.
   */
  #failure(
    status: grpc.ServiceError,
    abandoned: EtcdError | undefined,
    channel: EndpointChannel,
    call: UnaryCall,
  ): EtcdError | Promise<unknown> {
    if (this.#closed) return new ClientClosedError();
    const facts: CallFacts = { idempotent: call.facts.idempotent, endpoint: channel.endpoint.address };
    let error: EtcdError;
    if (call.signal?.aborted === true && (abandoned !== undefined || status.code === GrpcCode.CANCELLED)) {
      return cancelledError(call.signal.reason, facts, true);
    }
    if (abandoned !== undefined) {
      error = abandoned;
    } else {
      error = classifyStatus(status, facts, status);
      this.#monitor.failed(channel, error);
    }
    if (call.facts.idempotent && shouldRetry(error)) {
      (call.tried ??= new Set()).add(channel);
      if (!call.retrying && Date.now() < call.deadline) {
        call.retrying = true;
        const stop = call.signal === undefined ? this.#closing.signal : AbortSignal.any([this.#closing.signal, call.signal]);
        return retryAfter(error, () => this.#attempt(call), call.deadline, stop).catch((end: unknown) => {
          throw this.#retryEnd(end, call);
        });
      }
    }
    return error;
  }

  /** The error a retry loop ends with, as the caller sees it. */
  #retryEnd(end: unknown, call: UnaryCall): EtcdError {
    if (end instanceof EtcdError) return end;
    if (call.signal?.aborted === true) return cancelledError(call.signal.reason, call.facts, false);
    if (this.#closed) return new ClientClosedError();
    return internalError(end, call.facts);
  }
}
