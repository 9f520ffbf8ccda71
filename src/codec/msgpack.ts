// Why this codec is hand-written and not built on @msgpack/msgpack (issue 4; figures and the
// command in BENCHMARKS.md, "MsgPack codec: @msgpack/msgpack or hand-written").
//
// bench/msgpack-library.ts rebuilt it on @msgpack/msgpack 3.1.3: a reused Encoder and Decoder,
// an ExtensionCodec for Go's time extension -1 and tinylib/msgp's 5, useBigInt64,
// mapKeyConverter, the library's length limits and decodeMulti, with this codec kept beside it
// for what no hook reaches (Map, Float32/Float64, ArrayBuffer, non-string keys, `__proto__`, the
// 'always' and 'map' modes). It cannot keep Go's guarantees: 17 of the 234 tests of
// test/codec/msgpack.test.ts failed against it, and test/codec/msgpack-library.test.ts shows each
// gap against Go's own codec (codeccheck):
// - int64 as Go writes it: the library writes a positive bigint as uint64 `cf`, not `d3` (Go's
//   int64 reads the same value, an `any` gets a uint64), and with useBigInt64 an integral number
//   beyond 32 bits as float64 `cb`, which Go's `int` refuses ("msgpack: invalid code=cb decoding
//   int64"); an out-of-range bigint silently wraps around. Without useBigInt64 it writes no
//   bigint at all (every value holding one must go to this codec: still 4 tests failing).
// - `-0` becomes the integer 0 (no hook sees numbers): Go's float64 gets +0.
// - Go's ill-formed UTF-8 decodes to other text than TextDecoder's (a truncated sequence even
//   takes bytes of the next value) and a lone surrogate is written as WTF-8 bytes.
// - Decoding has no depth limit, and a bin is a view of the caller's payload.
// Nor is it faster than this codec now: the attempt first showed this codec far behind (encoding
// took 6-8x the library's time for benchmark581, 12-16x for arith, 2x for raw100: a
// `TextEncoder.encode` allocation per string), so it took the library's tricks
// (a reused encode buffer, UTF-8 written in place, cached map keys) and pooled copies. On
// bench/msgpack.ts's messages the library now takes 0.9-1.1x this codec's time to encode
// benchmark581 and arith, 2.4-2.7x for raw100, and 1.0-2x to decode raw100, 2-4.4x benchmark581
// and arith. From @msgpack/msgpack this file keeps `ExtData`, the raw extension value.
import { ExtData } from '@msgpack/msgpack';
import { ErrorCode, RpcxError } from '../errors.js';
import { Float32, Float64, setOwn } from './gotypes.js';
import { Timestamp } from './timestamp.js';
import type { Codec } from './types.js';

export { ExtData };

/** rpcx `SerializeType` 3, `protocol.MsgPack` (the Go client's default serializer). */
export const SERIALIZE_MSGPACK = 3;

/** The MsgPack timestamp extension type written by vmihailenco/msgpack for `time.Time`. */
export const TIMESTAMP_EXT_TYPE = -1;
/** tinylib/msgp's own `time.Time` extension type (12 bytes: int64 seconds, uint32 nanoseconds). */
export const MSGP_TIME_EXT_TYPE = 5;

/**
 * How MsgPack integers are decoded. `auto` (default): `number` when it is a safe integer, else
 * an exact `bigint`. `int64`: every 64-bit wire integer (`d3` int64, `cf` uint64, what Go writes
 * for `int64`/`uint64` fields) is a `bigint` and everything else a `number`, so decoding and
 * re-encoding gives Go's bytes back. `always`: every integer is a `bigint`. `never`: always a
 * `number` (values beyond 2^53 lose precision).
 */
export type MsgpackBigIntMode = 'auto' | 'int64' | 'always' | 'never';

/** Options of {@link MsgpackCodec}. */
export interface MsgpackCodecOptions {
  /** Integer decoding, see {@link MsgpackBigIntMode}. Default `auto`. */
  readonly bigint?: MsgpackBigIntMode;
  /**
   * What a timestamp extension decodes to: `date` (default) a `Date`, milliseconds only;
   * `timestamp` a {@link Timestamp} keeping Go's nanoseconds.
   */
  readonly time?: 'date' | 'timestamp';
  /**
   * What a MsgPack map decodes to: `auto` (default) a plain object when every key is a string
   * (Go structs and `map[string]T`), else a `Map`; `map` always a `Map` (keys keep their kinds).
   */
  readonly maps?: 'auto' | 'map';
  /** Deepest nesting of arrays/maps accepted (decode and encode). Default 1000. */
  readonly maxDepth?: number;
  /** Most elements (arrays) or entries (maps) one container may declare on decode. Default unlimited. */
  readonly maxContainerLength?: number;
  /** Longest str/bin/ext body accepted on decode, in bytes. Default unlimited (the payload bounds it). */
  readonly maxBytesLength?: number;
}

const DEFAULT_MAX_DEPTH = 1000;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { ignoreBOM: true });
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const UINT64_MIN_FOR_CF = 2n ** 63n;

/**
 * The MsgPack codec for `SerializeType` 3 (Go `codec.MsgpackCodec`: tinylib/msgp when the Go
 * type implements it, else vmihailenco/msgpack/v5 with default options). Encoding writes what
 * vmihailenco writes: plain objects are Go structs (a map keyed by field name, in insertion
 * order), a `Map` is a Go map, integral `number`s use the smallest integer form (Go `int`),
 * other numbers (and `-0`) are float64 (`cb`), {@link Float32} is `ca`, {@link Float64} forces
 * `cb`, a `bigint` is a Go `int64` (always the 9-byte `d3`, or
 * `cf` above int64's range, as `uint64`), `Uint8Array` is bin, `Date`/{@link Timestamp} are the
 * timestamp extension −1 in vmihailenco's 4/8/12-byte layouts, `null`/`undefined` are nil
 * (`c0`) and {@link ExtData} is a raw extension. Decoding reads vmihailenco and tinylib/msgp
 * output (including msgp's time extension 5), reads one value and ignores trailing bytes like
 * Go's `Decoder.Decode`, keeps integers exact (see {@link MsgpackBigIntMode}), never lets a
 * `__proto__` key touch a prototype, and reports bad input as `RpcxError` `CODEC`. An encoded
 * payload and a decoded bin are copies (a bin never aliases the payload it came from); those of
 * 65 bytes to 4 KiB are views into pooled 8 KiB buffers, like Node's small `Buffer`s, so mind
 * `byteOffset` when using `.buffer`.
 */
export class MsgpackCodec implements Codec {
  readonly serializeType = SERIALIZE_MSGPACK;
  readonly name = 'msgpack';
  readonly #options: Required<MsgpackCodecOptions>;
  /** Reused by every `encode` (its buffer only grows, up to {@link KEEP_BUFFER}); busy while encoding. */
  #writer: Writer | undefined;
  /** Map keys seen by `decode` (struct field names come back on every call). */
  readonly #keys = new KeyCache();
  /** Where decoded bins and encoded payloads are copied to. */
  readonly #binPool = new BinPool();

  constructor(options: MsgpackCodecOptions = {}) {
    this.#options = {
      bigint: options.bigint ?? 'auto',
      time: options.time ?? 'date',
      maps: options.maps ?? 'auto',
      maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
      maxContainerLength: options.maxContainerLength ?? Number.POSITIVE_INFINITY,
      maxBytesLength: options.maxBytesLength ?? Number.POSITIVE_INFINITY,
    };
  }

  encode(value: unknown): Uint8Array {
    // A getter of the value may encode too: then that call gets a writer of its own.
    const w = this.#writer ?? new Writer(this.#options.maxDepth);
    this.#writer = undefined;
    try {
      w.value(value, 0);
      return w.finish(this.#binPool);
    } catch (err) {
      throw wrap(err);
    } finally {
      w.reset();
      this.#writer = w;
    }
  }

  decode(data: Uint8Array): unknown {
    if (!(data instanceof Uint8Array)) throw new RpcxError(ErrorCode.CODEC, 'msgpack: payload is not a Uint8Array');
    if (data.length === 0) throw new RpcxError(ErrorCode.CODEC, 'EOF', { offset: 0 });
    try {
      return new Reader(data, this.#options, this.#keys, this.#binPool).value(0);
    } catch (err) {
      throw wrap(err);
    }
  }
}

function wrap(err: unknown): RpcxError {
  if (err instanceof RpcxError) return err;
  if (err instanceof RangeError) return new RpcxError(ErrorCode.CODEC, `msgpack: ${err.message}`, { cause: err });
  return RpcxError.from(err, ErrorCode.CODEC);
}

// ---------------------------------------------------------------------------------------------
// Encoding

/** A writer's buffer above this size is dropped after the call instead of being kept for the next one. */
const KEEP_BUFFER = 1 << 20;
/** Containers nested deeper than this are checked against their ancestors for a cycle. */
const CYCLE_CHECK_DEPTH = 32;
/** Strings up to this many UTF-16 units are written by a JS loop; longer ones by `TextEncoder.encodeInto`. */
const SHORT_STRING = 48;
/** Strings over this many UTF-16 units (always str32) are measured before `encodeInto`. */
const HUGE_STRING = 1 << 16;

class Writer {
  #buf = new Uint8Array(2048);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  readonly #maxDepth: number;
  /** The containers being written, by depth (`#path[d]` is the one at depth `d`). */
  readonly #path: object[] = [];

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  /** A copy of what was written (the buffer is reused by the next call). */
  finish(pool: BinPool): Uint8Array {
    return pool.copy(this.#buf, 0, this.#pos);
  }

  /** Ready for the next value: position 0, no containers held, an oversized buffer let go. */
  reset(): void {
    this.#pos = 0;
    this.#path.length = 0;
    if (this.#buf.length > KEEP_BUFFER) {
      this.#buf = new Uint8Array(2048);
      this.#view = new DataView(this.#buf.buffer);
    }
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  #u8(b: number): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = b;
  }

  #u8u8(code: number, b: number): void {
    this.#ensure(2);
    this.#buf[this.#pos++] = code;
    this.#buf[this.#pos++] = b;
  }

  #u16(code: number, v: number): void {
    this.#ensure(3);
    this.#buf[this.#pos++] = code;
    this.#view.setUint16(this.#pos, v);
    this.#pos += 2;
  }

  #u32(code: number, v: number): void {
    this.#ensure(5);
    this.#buf[this.#pos++] = code;
    this.#view.setUint32(this.#pos, v);
    this.#pos += 4;
  }

  #bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#pos);
    this.#pos += b.length;
  }

  value(v: unknown, depth: number): void {
    switch (typeof v) {
      case 'undefined':
        this.#u8(0xc0);
        return;
      case 'boolean':
        this.#u8(v ? 0xc3 : 0xc2);
        return;
      case 'number':
        this.#number(v);
        return;
      case 'bigint':
        this.#bigint(v);
        return;
      case 'string':
        this.#string(v);
        return;
      case 'object':
        break;
      default:
        throw new RpcxError(ErrorCode.CODEC, `msgpack: unsupported type ${typeof v}`);
    }
    if (v === null) {
      this.#u8(0xc0);
      return;
    }
    if (v instanceof Uint8Array) {
      this.#bin(v);
      return;
    }
    if (v instanceof Timestamp) {
      this.#time(v);
      return;
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new RpcxError(ErrorCode.CODEC, 'msgpack: invalid Date');
      this.#time(Timestamp.fromDate(v));
      return;
    }
    if (v instanceof Float32) {
      this.#ensure(5);
      this.#buf[this.#pos++] = 0xca;
      this.#view.setFloat32(this.#pos, v.value);
      this.#pos += 4;
      return;
    }
    if (v instanceof Float64) {
      this.#float64(v.value);
      return;
    }
    if (v instanceof ExtData) {
      const data = v.data instanceof Uint8Array ? v.data : new Uint8Array(0);
      this.#ext(v.type, data);
      return;
    }
    if (v instanceof ArrayBuffer) {
      this.#bin(new Uint8Array(v));
      return;
    }
    // A cycle nests without end: look for one only among deep containers (and at the limit).
    if (depth >= CYCLE_CHECK_DEPTH || depth >= this.#maxDepth) {
      const path = this.#path;
      for (let d = 0; d < depth; d++) {
        if (path[d] === v) throw new RpcxError(ErrorCode.CODEC, 'msgpack: unsupported value: encountered a cycle');
      }
      if (depth >= this.#maxDepth) throw new RpcxError(ErrorCode.LIMIT, `msgpack: exceeded max depth ${this.#maxDepth}`);
    }
    this.#path[depth] = v;
    {
      if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) {
        const items = v as ArrayLike<unknown>;
        this.#header(items.length, 0x90, 0xdc);
        for (let i = 0; i < items.length; i++) this.value(items[i], depth + 1);
        return;
      }
      if (v instanceof Map) {
        this.#header(v.size, 0x80, 0xde);
        for (const [k, val] of v) {
          this.value(k, depth + 1);
          this.value(val, depth + 1);
        }
        return;
      }
      if (v instanceof Set || v instanceof DataView || v instanceof WeakMap || v instanceof Promise) {
        throw new RpcxError(ErrorCode.CODEC, `msgpack: unsupported type ${v.constructor.name}`);
      }
      const keys = Object.keys(v);
      this.#header(keys.length, 0x80, 0xde);
      for (const k of keys) {
        this.#string(k);
        this.value((v as Record<string, unknown>)[k], depth + 1);
      }
    }
  }

  /** fixarray/fixmap below 16, else the 16- or 32-bit form (`code16`, `code16 + 1`). */
  #header(n: number, fix: number, code16: number): void {
    if (n < 16) this.#u8(fix | n);
    else if (n <= 0xffff) this.#u16(code16, n);
    else this.#u32(code16 + 1, n);
  }

  /** Go `Encoder.EncodeInt` for integral numbers (smallest form), float64 otherwise. */
  #float64(n: number): void {
    this.#ensure(9);
    this.#buf[this.#pos++] = 0xcb;
    this.#view.setFloat64(this.#pos, n);
    this.#pos += 8;
  }

  #number(n: number): void {
    if (!Number.isSafeInteger(n) || Object.is(n, -0)) {
      this.#float64(n);
      return;
    }
    if (n >= 0) {
      if (n <= 0x7f) this.#u8(n);
      else if (n <= 0xff) this.#u8u8(0xcc, n);
      else if (n <= 0xffff) this.#u16(0xcd, n);
      else if (n <= 0xffffffff) this.#u32(0xce, n);
      else this.#big(0xcf, BigInt(n));
      return;
    }
    if (n >= -32) this.#u8(n & 0xff);
    else if (n >= -128) this.#u8u8(0xd0, n & 0xff);
    else if (n >= -32768) this.#u16(0xd1, n & 0xffff);
    else if (n >= -2147483648) this.#u32(0xd2, n >>> 0);
    else this.#big(0xd3, BigInt(n));
  }

  /** Go `int64` → `d3` (9 bytes, like vmihailenco's `EncodeInt64`); above int64 → `uint64` `cf`. */
  #bigint(n: bigint): void {
    if (n >= INT64_MIN && n < UINT64_MIN_FOR_CF) this.#big(0xd3, n);
    else if (n >= UINT64_MIN_FOR_CF && n <= UINT64_MAX) this.#big(0xcf, n);
    else throw new RpcxError(ErrorCode.CODEC, `msgpack: bigint ${n} does not fit in int64 or uint64`);
  }

  #big(code: number, n: bigint): void {
    this.#ensure(9);
    this.#buf[this.#pos++] = code;
    if (code === 0xcf) this.#view.setBigUint64(this.#pos, n);
    else this.#view.setBigInt64(this.#pos, n);
    this.#pos += 8;
  }

  /**
   * UTF-8 straight into the buffer, as `TextEncoder` writes it (a lone surrogate becomes
   * U+FFFD). `TextEncoder.encode` allocates a new buffer per call (~0.8 µs on Node 20, most of
   * the encode time of a struct): short strings take a JS loop, long ones `encodeInto`.
   */
  #string(s: string): void {
    const n = s.length;
    if (n > SHORT_STRING) {
      this.#longString(s);
      return;
    }
    this.#ensure(2 + 3 * n);
    const buf = this.#buf;
    const start = this.#pos;
    if (n < 32) {
      // fixstr, and if every unit is ASCII one pass writes it all
      let pos = start + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos++] = c;
      }
      if (i === n) {
        buf[start] = 0xa0 | n;
        this.#pos = pos;
        return;
      }
    }
    const len = utf8Length(s);
    let pos = start;
    if (len < 32) buf[pos++] = 0xa0 | len;
    else {
      buf[pos++] = 0xd9; // len ≤ 3 × SHORT_STRING < 256
      buf[pos++] = len;
    }
    this.#pos = writeUtf8(s, buf, pos);
  }

  /**
   * Reserves the 5-byte header, lets `encodeInto` write, then moves the bytes to a shorter
   * header. A huge string is measured first instead of reserving 3 bytes per UTF-16 unit.
   */
  #longString(s: string): void {
    if (s.length > HUGE_STRING) {
      const len = utf8Length(s);
      this.#u32(0xdb, len);
      this.#ensure(len);
      this.#pos += textEncoder.encodeInto(s, this.#buf.subarray(this.#pos, this.#pos + len)).written;
      return;
    }
    this.#ensure(5 + 3 * s.length);
    const start = this.#pos;
    const len = textEncoder.encodeInto(s, this.#buf.subarray(start + 5)).written;
    const header = len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
    if (header === 2) this.#u8u8(0xd9, len);
    else if (header === 3) this.#u16(0xda, len);
    else this.#u32(0xdb, len);
    if (header !== 5) this.#buf.copyWithin(start + header, start + 5, start + 5 + len);
    this.#pos = start + header + len;
  }

  #bin(b: Uint8Array): void {
    const n = b.length;
    if (n <= 0xff) this.#u8u8(0xc4, n);
    else if (n <= 0xffff) this.#u16(0xc5, n);
    else this.#u32(0xc6, n);
    this.#bytes(b);
  }

  /** vmihailenco `encodeExtLen`: fixext for 1/2/4/8/16 bytes, else ext8/16/32. */
  #ext(type: number, data: Uint8Array): void {
    if (!Number.isInteger(type) || type < -128 || type > 127) {
      throw new RpcxError(ErrorCode.CODEC, `msgpack: extension type ${type} is not an int8`);
    }
    const n = data.length;
    const fix = n === 1 ? 0xd4 : n === 2 ? 0xd5 : n === 4 ? 0xd6 : n === 8 ? 0xd7 : n === 16 ? 0xd8 : 0;
    if (fix !== 0) this.#u8(fix);
    else if (n <= 0xff) this.#u8u8(0xc7, n);
    else if (n <= 0xffff) this.#u16(0xc8, n);
    else this.#u32(0xc9, n);
    this.#u8(type & 0xff);
    this.#bytes(data);
  }

  /** vmihailenco `encodeTime`: 4 bytes when it fits u32 without nanos, 8 when seconds < 2^34, else 12. */
  #time(t: Timestamp): void {
    const secs = t.seconds;
    const nsec = t.nanoseconds;
    if (secs >= 0n && secs < 2n ** 34n) {
      const data = (BigInt(nsec) << 34n) | secs;
      if (data <= 0xffffffffn) {
        const b = new Uint8Array(4);
        new DataView(b.buffer).setUint32(0, Number(data));
        this.#ext(TIMESTAMP_EXT_TYPE, b);
      } else {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setBigUint64(0, data);
        this.#ext(TIMESTAMP_EXT_TYPE, b);
      }
      return;
    }
    if (secs < INT64_MIN || secs >= UINT64_MIN_FOR_CF) throw new RpcxError(ErrorCode.CODEC, 'msgpack: time out of int64 range');
    const b = new Uint8Array(12);
    const dv = new DataView(b.buffer);
    dv.setUint32(0, nsec);
    dv.setBigInt64(4, secs);
    this.#ext(TIMESTAMP_EXT_TYPE, b);
  }
}

/** The UTF-8 length of `s` as `TextEncoder` writes it (a lone surrogate takes 3 bytes, U+FFFD). */
function utf8Length(s: string): number {
  let len = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      len += 4;
      i++;
    } else len += 3;
  }
  return len;
}

/** Writes `s` as UTF-8 at `pos` (lone surrogates as U+FFFD, like `TextEncoder`); returns the end. */
function writeUtf8(s: string, buf: Uint8Array, pos: number): number {
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      buf[pos++] = c;
    } else if (c < 0x800) {
      buf[pos++] = 0xc0 | (c >> 6);
      buf[pos++] = 0x80 | (c & 0x3f);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = c <= 0xdbff && i + 1 < s.length ? s.charCodeAt(i + 1) : 0;
        if ((d & 0xfc00) === 0xdc00) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          buf[pos++] = 0xf0 | (c >> 18);
          buf[pos++] = 0x80 | ((c >> 12) & 0x3f);
          buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
          buf[pos++] = 0x80 | (c & 0x3f);
          continue;
        }
        c = 0xfffd;
      }
      buf[pos++] = 0xe0 | (c >> 12);
      buf[pos++] = 0x80 | ((c >> 6) & 0x3f);
      buf[pos++] = 0x80 | (c & 0x3f);
    }
  }
  return pos;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** Strings up to this many bytes are decoded by a JS loop (when valid UTF-8), map keys cached. */
const SHORT_BYTES = 64;
/** Slots of a {@link KeyCache} (a power of two). */
const KEY_CACHE_SLOTS = 1024;

/**
 * Decodes `n` bytes of UTF-8 at `start` as `TextDecoder` does. A short string that is
 * well-formed UTF-8 (the Unicode table of well-formed byte sequences: no overlong forms, no
 * surrogates, nothing above U+10FFFF) takes a JS loop, since a `TextDecoder` call costs
 * ~90 ns even for a few ASCII bytes; at the first ill-formed byte, and for long strings,
 * `TextDecoder` decodes the whole string (with its U+FFFD replacements).
 */
function utf8Text(data: Uint8Array, start: number, n: number): string {
  if (n <= SHORT_BYTES) {
    let text = '';
    let i = start;
    const end = start + n;
    while (i < end) {
      const c = data[i]!;
      if (c < 0x80) {
        text += String.fromCharCode(c);
        i++;
      } else if (c >= 0xc2 && c <= 0xdf) {
        if (i + 1 >= end) break;
        const c1 = data[i + 1]!;
        if ((c1 & 0xc0) !== 0x80) break;
        text += String.fromCharCode(((c & 0x1f) << 6) | (c1 & 0x3f));
        i += 2;
      } else if (c >= 0xe0 && c <= 0xef) {
        if (i + 2 >= end) break;
        const c1 = data[i + 1]!;
        const c2 = data[i + 2]!;
        if (c1 < (c === 0xe0 ? 0xa0 : 0x80) || c1 > (c === 0xed ? 0x9f : 0xbf) || (c2 & 0xc0) !== 0x80) break;
        text += String.fromCharCode(((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f));
        i += 3;
      } else if (c >= 0xf0 && c <= 0xf4) {
        if (i + 3 >= end) break;
        const c1 = data[i + 1]!;
        const c2 = data[i + 2]!;
        const c3 = data[i + 3]!;
        if (c1 < (c === 0xf0 ? 0x90 : 0x80) || c1 > (c === 0xf4 ? 0x8f : 0xbf) || (c2 & 0xc0) !== 0x80 || (c3 & 0xc0) !== 0x80) break;
        const cp = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
        text += String.fromCharCode(0xd800 | (cp >> 10), 0xdc00 | (cp & 0x3ff));
        i += 4;
      } else {
        break;
      }
    }
    if (i === end) return text;
  }
  return textDecoder.decode(data.subarray(start, start + n));
}

/**
 * The strings of recently decoded map keys, by their bytes (a direct-mapped table on an FNV-1a
 * hash, a colliding key replaces the slot). Go structs send the same field names in every
 * message; a cached key skips the UTF-8 decoding and is a string the engine has already
 * internalized as a property name, which makes the object's keyed store cheaper too.
 */
class KeyCache {
  readonly #bytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(KEY_CACHE_SLOTS).fill(undefined);
  readonly #texts: string[] = new Array<string>(KEY_CACHE_SLOTS).fill('');

  get(data: Uint8Array, start: number, n: number): string {
    if (n > SHORT_BYTES) return utf8Text(data, start, n);
    let h = 0x811c9dc5 ^ n;
    for (let i = start; i < start + n; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
    const slot = (h >>> 0) & (KEY_CACHE_SLOTS - 1);
    const known = this.#bytes[slot];
    if (known !== undefined && known.length === n) {
      let i = 0;
      while (i < n && known[i] === data[start + i]) i++;
      if (i === n) return this.#texts[slot]!;
    }
    const text = utf8Text(data, start, n);
    this.#bytes[slot] = data.slice(start, start + n);
    this.#texts[slot] = text;
    return text;
  }
}

/** Size of a {@link BinPool} slab, and the largest bin copied into one (Node's Buffer pool sizes). */
const BIN_SLAB = 8192;
const BIN_POOLED = BIN_SLAB >>> 1;
/** Bins up to this size get a buffer of their own: V8 keeps such small buffers on its heap, which is cheap. */
const BIN_ON_HEAP = 64;

/**
 * Copies of decoded bins, so that a bin never aliases the caller's payload (a frame's socket
 * chunk, which it would keep alive and whose later changes it would see), and of encoded
 * payloads (the writer's buffer is reused). A buffer of its own for each costs ~1 µs for 100
 * bytes on Node 20 (off-heap allocation); mid-sized copies are therefore carved from a shared
 * 8 KiB slab, as Node's `Buffer` pool does: a copy is then a view with a `byteOffset` into a
 * buffer that other copies share (a region is never handed out twice).
 */
class BinPool {
  #slab = new Uint8Array(0);
  #used = BIN_SLAB; // full: the first pooled bin makes a slab

  copy(data: Uint8Array, start: number, n: number): Uint8Array {
    if (n <= BIN_ON_HEAP || n >= BIN_POOLED) return data.slice(start, start + n);
    if (this.#used + n > BIN_SLAB) {
      this.#slab = new Uint8Array(BIN_SLAB);
      this.#used = 0;
    }
    const at = this.#used;
    const slab = this.#slab;
    for (let i = 0; i < n; i++) slab[at + i] = data[start + i]!;
    this.#used = (at + n + 7) & ~7;
    return slab.subarray(at, at + n);
  }
}

class Reader {
  readonly #data: Uint8Array;
  /** Made on first use (floats and 64-bit integers): most payloads need none. */
  #dataView: DataView | undefined;
  readonly #o: Required<MsgpackCodecOptions>;
  readonly #keys: KeyCache;
  readonly #binPool: BinPool;
  #pos = 0;

  constructor(data: Uint8Array, options: Required<MsgpackCodecOptions>, keys: KeyCache, binPool: BinPool) {
    this.#data = data;
    this.#o = options;
    this.#keys = keys;
    this.#binPool = binPool;
  }

  get #view(): DataView {
    return (this.#dataView ??= new DataView(this.#data.buffer, this.#data.byteOffset, this.#data.byteLength));
  }

  #need(n: number): void {
    if (this.#pos + n > this.#data.length) {
      throw new RpcxError(ErrorCode.CODEC, 'unexpected EOF', { offset: this.#pos });
    }
  }

  #u8(): number {
    this.#need(1);
    return this.#data[this.#pos++]!;
  }

  #u16(): number {
    this.#need(2);
    const d = this.#data;
    const v = (d[this.#pos]! << 8) | d[this.#pos + 1]!;
    this.#pos += 2;
    return v;
  }

  #u32(): number {
    this.#need(4);
    const d = this.#data;
    const p = this.#pos;
    const v = d[p]! * 0x1000000 + ((d[p + 1]! << 16) | (d[p + 2]! << 8) | d[p + 3]!);
    this.#pos += 4;
    return v;
  }

  #int(n: number, wide: boolean): number | bigint {
    switch (this.#o.bigint) {
      case 'always':
        return BigInt(n);
      default:
        return wide && this.#o.bigint === 'int64' ? BigInt(n) : n;
    }
  }

  #int64(signed: boolean): number | bigint {
    this.#need(8);
    const v = signed ? this.#view.getBigInt64(this.#pos) : this.#view.getBigUint64(this.#pos);
    this.#pos += 8;
    switch (this.#o.bigint) {
      case 'always':
      case 'int64':
        return v;
      case 'never':
        return Number(v);
      default:
        return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
    }
  }

  /** Checks a str/bin/ext body of `n` bytes (limit, bounds), steps over it and returns where it starts. */
  #span(n: number): number {
    if (n > this.#o.maxBytesLength) {
      throw new RpcxError(ErrorCode.LIMIT, `msgpack: ${n}-byte value exceeds maxBytesLength ${this.#o.maxBytesLength}`, { offset: this.#pos });
    }
    this.#need(n);
    const start = this.#pos;
    this.#pos += n;
    return start;
  }

  #body(n: number): Uint8Array {
    const start = this.#span(n);
    return this.#data.subarray(start, start + n);
  }

  #count(n: number, depth: number): void {
    if (n > this.#o.maxContainerLength) {
      throw new RpcxError(ErrorCode.LIMIT, `msgpack: container of ${n} exceeds maxContainerLength ${this.#o.maxContainerLength}`, { offset: this.#pos });
    }
    if (depth >= this.#o.maxDepth) throw new RpcxError(ErrorCode.LIMIT, `msgpack: exceeded max depth ${this.#o.maxDepth}`, { offset: this.#pos });
    // Every element takes at least one byte: refuse impossible counts before allocating.
    if (n > this.#data.length - this.#pos) throw new RpcxError(ErrorCode.CODEC, 'unexpected EOF', { offset: this.#pos });
  }

  value(depth: number): unknown {
    const c = this.#u8();
    if (c <= 0x7f) return this.#int(c, false);
    if (c >= 0xe0) return this.#int(c - 0x100, false);
    if (c >= 0xa0 && c <= 0xbf) return this.#str(c & 0x1f);
    if (c >= 0x90 && c <= 0x9f) return this.#array(c & 0x0f, depth);
    if (c >= 0x80 && c <= 0x8f) return this.#map(c & 0x0f, depth);
    switch (c) {
      case 0xc0: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.#bin(this.#u8());
      case 0xc5: return this.#bin(this.#u16());
      case 0xc6: return this.#bin(this.#u32());
      case 0xc7: return this.#ext(this.#u8());
      case 0xc8: return this.#ext(this.#u16());
      case 0xc9: return this.#ext(this.#u32());
      case 0xca: {
        this.#need(4);
        const v = this.#view.getFloat32(this.#pos);
        this.#pos += 4;
        return v;
      }
      case 0xcb: {
        this.#need(8);
        const v = this.#view.getFloat64(this.#pos);
        this.#pos += 8;
        return v;
      }
      case 0xcc: return this.#int(this.#u8(), false);
      case 0xcd: return this.#int(this.#u16(), false);
      case 0xce: return this.#int(this.#u32(), false);
      case 0xcf: return this.#int64(false);
      case 0xd0: return this.#int((this.#u8() << 24) >> 24, false);
      case 0xd1: return this.#int((this.#u16() << 16) >> 16, false);
      case 0xd2: return this.#int(this.#u32() | 0, false);
      case 0xd3: return this.#int64(true);
      case 0xd4: return this.#ext(1);
      case 0xd5: return this.#ext(2);
      case 0xd6: return this.#ext(4);
      case 0xd7: return this.#ext(8);
      case 0xd8: return this.#ext(16);
      case 0xd9: return this.#str(this.#u8());
      case 0xda: return this.#str(this.#u16());
      case 0xdb: return this.#str(this.#u32());
      case 0xdc: return this.#array(this.#u16(), depth);
      case 0xdd: return this.#array(this.#u32(), depth);
      case 0xde: return this.#map(this.#u16(), depth);
      case 0xdf: return this.#map(this.#u32(), depth);
      default:
        // 0xc1 is "never used"; Go: msgpack: unknown code c1 decoding interface{}
        throw new RpcxError(ErrorCode.CODEC, `msgpack: unknown code ${c.toString(16)} decoding interface{}`, { offset: this.#pos - 1 });
    }
  }

  #bin(n: number): Uint8Array {
    return this.#binPool.copy(this.#data, this.#span(n), n);
  }

  #str(n: number): string {
    return utf8Text(this.#data, this.#span(n), n);
  }

  /** A map key: a fixstr (up to 31 bytes) through the key cache, anything else as a value. */
  #key(depth: number): unknown {
    const c = this.#data[this.#pos];
    if (c !== undefined && c >= 0xa0 && c <= 0xbf) {
      this.#pos++;
      const n = c & 0x1f;
      return this.#keys.get(this.#data, this.#span(n), n);
    }
    return this.value(depth);
  }

  #array(n: number, depth: number): unknown[] {
    this.#count(n, depth);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.value(depth + 1);
    return out;
  }

  #map(n: number, depth: number): Record<string, unknown> | Map<unknown, unknown> {
    this.#count(n, depth);
    if (this.#o.maps === 'map') {
      const m = new Map<unknown, unknown>();
      for (let i = 0; i < n; i++) {
        const k = this.value(depth + 1);
        m.set(k, this.value(depth + 1));
      }
      return m;
    }
    const obj: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const k = this.#key(depth + 1);
      if (typeof k !== 'string') {
        // A non-string key (Go map[int]T, ...): switch to a Map, keeping the entries so far.
        const m = new Map<unknown, unknown>(Object.entries(obj));
        m.set(k, this.value(depth + 1));
        for (i++; i < n; i++) {
          const k2 = this.value(depth + 1);
          m.set(k2, this.value(depth + 1));
        }
        return m;
      }
      setOwn(obj, k, this.value(depth + 1));
    }
    return obj;
  }

  #ext(n: number): unknown {
    const type = (this.#u8() << 24) >> 24;
    const data = this.#body(n);
    if (type === TIMESTAMP_EXT_TYPE) return this.#time(decodeTimestamp(data));
    if (type === MSGP_TIME_EXT_TYPE && n === 12) {
      const dv = new DataView(data.buffer, data.byteOffset, 12);
      return this.#time(new Timestamp(dv.getBigInt64(0), dv.getUint32(8)));
    }
    return new ExtData(type, data.slice());
  }

  #time(t: Timestamp): Date | Timestamp {
    return this.#o.time === 'timestamp' ? t : t.toDate();
  }
}

/** Reads the 4/8/12-byte MsgPack timestamp body (vmihailenco `decodeTime`). */
function decodeTimestamp(b: Uint8Array): Timestamp {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (b.length) {
    case 4:
      return new Timestamp(dv.getUint32(0), 0);
    case 8: {
      const v = dv.getBigUint64(0);
      return new Timestamp(v & 0x3_ffff_ffffn, Number(v >> 34n));
    }
    case 12:
      return new Timestamp(dv.getBigInt64(4), dv.getUint32(0));
    default:
      throw new RpcxError(ErrorCode.CODEC, `msgpack: invalid ext len=${b.length} decoding time`);
  }
}
