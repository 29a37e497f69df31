/** The wire protocol layer shared by client and server: messages, codec, grpc-js services. */
export * from './messages.generated.js';
export { encode, decode, messageCodec, CodecError, type MessageCodec } from './codec.js';
export {
  serviceDefinitions,
  methodDef,
  grpcServiceDefinition,
  type MethodDef,
  type MethodName,
  type RequestOf,
  type ResponseOf,
  type ServiceDef,
} from './services.js';
export { messageSchemas, enumSchemas, serviceSchemas } from './schema.generated.js';
export type * from './schema-types.js';
