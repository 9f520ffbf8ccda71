// The built-in codecs in one registry. Kept apart from registry.ts so that code needing only the
// CodecRegistry class (the browser entry) does not pull in protobufjs: a bundler keeps a module
// that is imported, used or not.
import { CodecRegistry } from './registry.js';
import { JsonCodec } from './json.js';
import { MsgpackCodec } from './msgpack.js';
import { RawCodec } from './none.js';
import { ProtobufCodec } from './protobuf.js';
import { ThriftCodec } from './thrift.js';

/**
 * A new registry holding rpcx's built-in codecs with default options (Go: the initial
 * `share.Codecs`): raw (0), JSON (1), protobuf (2), MsgPack (3), thrift (4). Each call returns a fresh registry, so
 * registering a user codec never changes anybody else's.
 */
export function defaultCodecRegistry(): CodecRegistry {
  return new CodecRegistry([new RawCodec(), new JsonCodec(), new ProtobufCodec(), new MsgpackCodec(), new ThriftCodec()]);
}
