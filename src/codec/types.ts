/**
 * Per-call options a codec may use. `type` is codec-specific: a protobufjs `Type` for protobuf,
 * a thrift struct descriptor for thrift; JSON and msgpack need none.
 */
export interface CodecOptions {
  /** The schema of the value: required by protobuf and thrift, ignored by the others. */
  readonly type?: unknown;
}

/**
 * A serializer for one rpcx `SerializeType` (Go: `codec.Codec`). `encode` returns the payload
 * bytes; `decode` reads a payload. Both throw `RpcxError` with code `CODEC` on bad input.
 */
export interface Codec {
  /** The `SerializeType` value this codec is registered under. */
  readonly serializeType: number;
  /** A short name for logs and errors (`json`, `msgpack`, ...). */
  readonly name: string;
  encode(value: unknown, options?: CodecOptions): Uint8Array;
  decode(data: Uint8Array, options?: CodecOptions): unknown;
}
