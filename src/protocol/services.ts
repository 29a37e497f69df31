/**
 * grpc-js service definitions of the etcd v3 API, built from the schema tables and the codec.
 * The same definitions serve a grpc-js `Server` (`server.addService(serviceDefinitions.KV,
 * impl)`) and a client (`client.makeUnaryRequest(def.path, def.requestSerialize,
 * def.responseDeserialize, ...)`).
 */
import type { ServiceDefinition } from '@grpc/grpc-js';
import { messageCodec } from './codec.js';
import type { Init, MessageName, ServiceMethods, ServiceName } from './messages.generated.js';
import { serviceSchemas } from './schema.generated.js';

/** Method names of a service. */
export type MethodName<S extends ServiceName> = keyof ServiceMethods[S] & string;

/** Decoded request type of a method. */
export type RequestOf<S extends ServiceName, M extends MethodName<S>> = ServiceMethods[S][M] extends {
  request: infer R;
}
  ? R
  : never;

/** Decoded response type of a method. */
export type ResponseOf<S extends ServiceName, M extends MethodName<S>> = ServiceMethods[S][M] extends {
  response: infer R;
}
  ? R
  : never;

type Flag<S extends ServiceName, M extends MethodName<S>, K extends 'requestStream' | 'responseStream'> =
  ServiceMethods[S][M] extends { [P in K]: infer F } ? F : never;

/**
 * A typed grpc-js method definition: serializers take encoder input (`Init<T>`), deserializers
 * return decoded messages. Structurally a grpc-js `MethodDefinition`.
 */
export interface MethodDef<S extends ServiceName, M extends MethodName<S>> {
  /** HTTP/2 path, e.g. `/etcdserverpb.KV/Range`. */
  readonly path: string;
  readonly requestStream: Flag<S, M, 'requestStream'>;
  readonly responseStream: Flag<S, M, 'responseStream'>;
  readonly requestSerialize: (value: Init<RequestOf<S, M>>) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => RequestOf<S, M>;
  readonly responseSerialize: (value: Init<ResponseOf<S, M>>) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => ResponseOf<S, M>;
  /** The method name as declared (`Range`). */
  readonly originalName: string;
}

/** All method definitions of one service, keyed by method name. */
export type ServiceDef<S extends ServiceName> = { readonly [M in MethodName<S>]: MethodDef<S, M> };

function buildService<S extends ServiceName>(service: S): ServiceDef<S> {
  const out: Record<string, unknown> = {};
  for (const m of Object.values(serviceSchemas[service].methods)) {
    const req = messageCodec(m.requestType as MessageName);
    const res = messageCodec(m.responseType as MessageName);
    out[m.name] = Object.freeze({
      path: m.path,
      requestStream: m.requestStream,
      responseStream: m.responseStream,
      requestSerialize: req.encode,
      requestDeserialize: req.decode,
      responseSerialize: res.encode,
      responseDeserialize: res.decode,
      originalName: m.name,
    });
  }
  return Object.freeze(out) as ServiceDef<S>;
}

/** grpc-js service definitions of every etcd v3 service. */
export const serviceDefinitions: { readonly [S in ServiceName]: ServiceDef<S> } = {
  KV: buildService('KV'),
  Watch: buildService('Watch'),
  Lease: buildService('Lease'),
  Cluster: buildService('Cluster'),
  Maintenance: buildService('Maintenance'),
  Auth: buildService('Auth'),
};

/** The definition of one method, e.g. `methodDef('KV', 'Range')`. */
export function methodDef<S extends ServiceName, M extends MethodName<S>>(service: S, method: M): MethodDef<S, M> {
  const def = (serviceDefinitions[service] as Record<string, MethodDef<S, M> | undefined>)[method];
  if (!def) throw new Error(`unknown etcd method ${service}.${String(method)}`);
  return def;
}

/** A service's definitions typed as a grpc-js `ServiceDefinition` (for `Server.addService`). */
export function grpcServiceDefinition(service: ServiceName): ServiceDefinition {
  return serviceDefinitions[service] as unknown as ServiceDefinition;
}
