import { ErrorCode, RpcxError } from '../errors.js';
import type { Codec } from './types.js';

/** rpcx `SerializeType` 0, `protocol.SerializeNone`: the payload is the caller's bytes, untouched. */
export const SERIALIZE_NONE = 0;

/**
 * The raw codec for `SerializeType` 0 (Go `codec.ByteCodec`): `encode` takes a `Uint8Array` and
 * returns it as the payload, `decode` returns the payload bytes. Like Go, which only accepts a
 * `[]byte` and fails with `<T> is not a []byte`, anything else (a string included) is refused
 * with an `RpcxError` of code `CODEC`; encode text yourself with `TextEncoder` first.
 */
export class RawCodec implements Codec {
  readonly serializeType = SERIALIZE_NONE;
  readonly name = 'raw';

  encode(value: unknown): Uint8Array {
    if (value instanceof Uint8Array) return value;
    throw new RpcxError(ErrorCode.CODEC, `${goTypeName(value)} is not a []byte`);
  }

  decode(data: Uint8Array): Uint8Array {
    if (!(data instanceof Uint8Array)) {
      throw new RpcxError(ErrorCode.CODEC, `${goTypeName(data)} is not a []byte`);
    }
    return data;
  }
}

/** A Go-flavoured type name for error texts (`string`, `float64`, `map[string]interface {}`...). */
function goTypeName(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'number':
      return Number.isInteger(value) ? 'int' : 'float64';
    case 'bigint':
      return 'int64';
    case 'boolean':
      return 'bool';
    case 'object':
      if (Array.isArray(value)) return '[]interface {}';
      if (value instanceof Map) return 'map[interface {}]interface {}';
      if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return value.constructor.name;
      return 'map[string]interface {}';
    default:
      return typeof value;
  }
}
