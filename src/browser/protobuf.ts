/**
 * The protobuf codec for the browser entry (`rpcx/browser/protobuf`): `ProtobufCodec` (rpcx
 * SerializeType 2, on protobufjs) and the schema helpers. A subpath of its own so that bundles
 * without protobuf leave protobufjs out (a bundler keeps a CommonJS module whenever it is imported):
 *
 * ```ts
 * import { BrowserClient, CodecRegistry, JsonCodec, MsgpackCodec, RawCodec } from 'rpcx/browser';
 * import { ProtobufCodec, parseProto } from 'rpcx/browser/protobuf';
 * const codecs = new CodecRegistry([new RawCodec(), new JsonCodec(), new MsgpackCodec(), new ProtobufCodec()]);
 * ```
 */
export * from '../codec/protobuf.js';
