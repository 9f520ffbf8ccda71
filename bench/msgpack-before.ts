// src/codec/msgpack.ts as it was before issue 4 (commit 6bc2a36), verbatim but for these import
// paths: the "before" column of bench/msgpack.ts. Not used anywhere else.
import { ExtData } from '@msgpack/msgpack';
import { ErrorCode, RpcxError } from '../src/errors.js';
import { Float32, Float64, setOwn } from '../src/codec/gotypes.js';
import { Timestamp } from '../src/codec/timestamp.js';
import type { Codec } from '../src/codec/types.js';

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
 * `__proto__` key touch a prototype, and reports bad input as `RpcxError` `CODEC`.
 */
export class MsgpackCodec implements Codec {
  readonly serializeType = SERIALIZE_MSGPACK;
  readonly name = 'msgpack';
  readonly #options: Required<MsgpackCodecOptions>;

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
    const w = new Writer(this.#options.maxDepth);
    try {
      w.value(value, 0);
    } catch (err) {
      throw wrap(err);
    }
    return w.finish();
  }

  decode(data: Uint8Array): unknown {
    if (!(data instanceof Uint8Array)) throw new RpcxError(ErrorCode.CODEC, 'msgpack: payload is not a Uint8Array');
    if (data.length === 0) throw new RpcxError(ErrorCode.CODEC, 'EOF', { offset: 0 });
    try {
      return new Reader(data, this.#options).value(0);
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

class Writer {
  #buf = new Uint8Array(256);
  #view = new DataView(this.#buf.buffer);
  #pos = 0;
  readonly #maxDepth: number;
  readonly #seen = new Set<object>();

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  finish(): Uint8Array {
    return this.#buf.slice(0, this.#pos);
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
    if (depth >= this.#maxDepth) throw new RpcxError(ErrorCode.LIMIT, `msgpack: exceeded max depth ${this.#maxDepth}`);
    if (this.#seen.has(v)) throw new RpcxError(ErrorCode.CODEC, 'msgpack: unsupported value: encountered a cycle');
    this.#seen.add(v);
    try {
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
    } finally {
      this.#seen.delete(v);
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

  #string(s: string): void {
    const b = textEncoder.encode(s);
    const n = b.length;
    if (n < 32) this.#u8(0xa0 | n);
    else if (n <= 0xff) this.#u8u8(0xd9, n);
    else if (n <= 0xffff) this.#u16(0xda, n);
    else this.#u32(0xdb, n);
    this.#bytes(b);
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

// ---------------------------------------------------------------------------------------------
// Decoding

class Reader {
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #o: Required<MsgpackCodecOptions>;
  #pos = 0;

  constructor(data: Uint8Array, options: Required<MsgpackCodecOptions>) {
    this.#data = data;
    this.#view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.#o = options;
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
    const v = this.#view.getUint16(this.#pos);
    this.#pos += 2;
    return v;
  }

  #u32(): number {
    this.#need(4);
    const v = this.#view.getUint32(this.#pos);
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

  #body(n: number): Uint8Array {
    if (n > this.#o.maxBytesLength) {
      throw new RpcxError(ErrorCode.LIMIT, `msgpack: ${n}-byte value exceeds maxBytesLength ${this.#o.maxBytesLength}`, { offset: this.#pos });
    }
    this.#need(n);
    const b = this.#data.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return b;
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
      case 0xc4: return this.#body(this.#u8()).slice();
      case 0xc5: return this.#body(this.#u16()).slice();
      case 0xc6: return this.#body(this.#u32()).slice();
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

  #str(n: number): string {
    return textDecoder.decode(this.#body(n));
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
      const k = this.value(depth + 1);
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
