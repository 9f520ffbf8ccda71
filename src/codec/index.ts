/**
 * Payload codecs by rpcx `SerializeType` (Go: package `github.com/smallnest/rpcx/codec` and the
 * `share.Codecs` registry).
 */
export type { Codec, CodecOptions } from './types.js';
export { RawCodec, SERIALIZE_NONE } from './none.js';
export { JsonCodec, SERIALIZE_JSON, quoteGoJson } from './json.js';
export type { JsonBigIntMode, JsonCodecOptions } from './json.js';
export { MsgpackCodec, SERIALIZE_MSGPACK, TIMESTAMP_EXT_TYPE, MSGP_TIME_EXT_TYPE, ExtData } from './msgpack.js';
export type { MsgpackBigIntMode, MsgpackCodecOptions } from './msgpack.js';
export { Timestamp } from './timestamp.js';
export { Float32, Float64 } from './gotypes.js';
export { CodecRegistry } from './registry.js';
export { defaultCodecRegistry } from './defaults.js';
export * from './protobuf.js';
export * from './thrift.js';
