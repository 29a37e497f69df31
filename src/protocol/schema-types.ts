/**
 * Shapes of the generated schema tables (`schema.generated.ts`): plain data describing every
 * message, enum and service of the etcd v3 API. The codec and the grpc-js service definitions
 * are built from these tables; nothing reads `.proto` files at run time.
 */

/** Protobuf scalar types. */
export type ScalarType =
  | 'double'
  | 'float'
  | 'int32'
  | 'int64'
  | 'uint32'
  | 'uint64'
  | 'sint32'
  | 'sint64'
  | 'fixed32'
  | 'fixed64'
  | 'sfixed32'
  | 'sfixed64'
  | 'bool'
  | 'string'
  | 'bytes';

/** A field's type: a scalar, or a reference (`ref`) to an enum or a message. */
export type FieldType = ScalarType | 'enum' | 'message';

/** Protobuf wire types: 0 varint, 1 fixed 64-bit, 2 length-delimited, 5 fixed 32-bit. */
export type WireType = 0 | 1 | 2 | 5;

/** One field of a message. */
export interface FieldSchema {
  /** The proto field name, as-is (`range_end`, `TTL`). */
  readonly name: string;
  /** The field number. */
  readonly number: number;
  readonly type: FieldType;
  /** Wire type of one (unpacked) element. */
  readonly wireType: WireType;
  readonly repeated: boolean;
  /** Repeated numeric field written packed (proto3 default). */
  readonly packed: boolean;
  /** Fully-qualified enum or message name, for `enum` and `message` fields. */
  readonly ref?: string;
  /** Name of the oneof this field belongs to. */
  readonly oneof?: string;
}

/** One message type. */
export interface MessageSchema {
  /** Fully-qualified name (`etcdserverpb.RangeRequest`). */
  readonly name: string;
  /** Fields in declaration order. */
  readonly fields: readonly FieldSchema[];
  /** Oneof groups: name and member field names. */
  readonly oneofs: readonly { readonly name: string; readonly fields: readonly string[] }[];
}

/** One enum type. */
export interface EnumSchema {
  /** Fully-qualified name (`etcdserverpb.RangeRequest.SortOrder`). */
  readonly name: string;
  readonly values: Readonly<Record<string, number>>;
}

/** One RPC method. */
export interface MethodSchema {
  /** Method name (`Range`). */
  readonly name: string;
  /** HTTP/2 path (`/etcdserverpb.KV/Range`). */
  readonly path: string;
  /** Fully-qualified request message name. */
  readonly requestType: string;
  /** Fully-qualified response message name. */
  readonly responseType: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

/** One gRPC service. */
export interface ServiceSchema {
  /** Bare service name (`KV`). */
  readonly name: string;
  /** Fully-qualified service name (`etcdserverpb.KV`). */
  readonly fullName: string;
  /** Methods in declaration order, keyed by method name. */
  readonly methods: Readonly<Record<string, MethodSchema>>;
}
