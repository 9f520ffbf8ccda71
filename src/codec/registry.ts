import { ErrorCode, RpcxError } from '../errors.js';
import type { Codec } from './types.js';

/**
 * Codecs by rpcx `SerializeType` (Go: the `share.Codecs` map, filled from `codec/codec.go`).
 * `get` fails with Go's text `can not find codec for <n>` for an unknown type (what a Go server
 * answers in `__rpcx_error__`); `register` adds or replaces a codec, e.g. a user codec for a
 * serialize type of your own, as Go's `share.RegisterCodec` does.
 */
export class CodecRegistry {
  readonly #codecs = new Map<number, Codec>();

  /** A registry holding `codecs` (later ones replace earlier ones of the same serialize type). */
  constructor(codecs: Iterable<Codec> = []) {
    for (const c of codecs) this.register(c);
  }

  /** Adds `codec` under `codec.serializeType`, replacing any codec already there. Returns `this`. */
  register(codec: Codec): this {
    const st = codec.serializeType;
    if (!Number.isInteger(st) || st < 0 || st > 15) {
      // The serialize type travels in the high nibble of header byte 3.
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `serialize type ${st} does not fit in 4 bits`);
    }
    this.#codecs.set(st, codec);
    return this;
  }

  /** The codec for `serializeType`; throws `RpcxError` `CODEC` `can not find codec for <n>`. */
  get(serializeType: number): Codec {
    const c = this.#codecs.get(serializeType);
    if (c === undefined) throw new RpcxError(ErrorCode.CODEC, `can not find codec for ${serializeType}`);
    return c;
  }

  /** The codec for `serializeType`, or `undefined`. */
  find(serializeType: number): Codec | undefined {
    return this.#codecs.get(serializeType);
  }

  /** True when a codec is registered for `serializeType`. */
  has(serializeType: number): boolean {
    return this.#codecs.has(serializeType);
  }

  /** Removes the codec of `serializeType`; returns whether one was there. */
  unregister(serializeType: number): boolean {
    return this.#codecs.delete(serializeType);
  }

  /** A copy of this registry, to add codecs without changing the original. */
  clone(): CodecRegistry {
    return new CodecRegistry(this.#codecs.values());
  }

  /** The registered codecs, by ascending serialize type. */
  [Symbol.iterator](): IterableIterator<Codec> {
    return [...this.#codecs.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => c)[Symbol.iterator]();
  }
}
