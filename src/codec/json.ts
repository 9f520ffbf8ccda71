// Hand-written because `JSON.parse`/`JSON.stringify` cannot give Go's behaviour and bytes: exact
// int64s (Node 20's reviver sees no source text), one value with the rest ignored and Go's error
// texts on decode; `<>&` and U+2028/9 escaped, `-0`, base64 `[]byte`, sorted `Map` keys and
// float32 text on encode. JSON libraries on npm (json-bigint, lossless-json) address number precision only.
import { Buffer } from 'buffer';
import { ErrorCode, RpcxError } from '../errors.js';
import { Float32, Float64, setOwn } from './gotypes.js';
import { Timestamp } from './timestamp.js';
import type { Codec } from './types.js';

/** `JsonWriter`'s `#enter` result: the object is to be encoded field by field. */
const ENTERED: unique symbol = Symbol('entered');

/** rpcx `SerializeType` 1, `protocol.JSON`. */
export const SERIALIZE_JSON = 1;

/**
 * How JSON integers are decoded. `auto` (default): a `number` when it is a safe integer
 * (|n| ≤ 2^53−1), else a `bigint` holding the exact value; `always`: every integer literal
 * (no fraction, no exponent) is a `bigint`; `never`: always a `number` (precision may be lost,
 * as with `JSON.parse`).
 */
export type JsonBigIntMode = 'auto' | 'always' | 'never';

/** Options of {@link JsonCodec}. */
export interface JsonCodecOptions {
  /** Integer decoding, see {@link JsonBigIntMode}. Default `auto`. */
  readonly bigint?: JsonBigIntMode;
  /** Deepest nesting of arrays/objects accepted on decode and encode. Default 10000 (Go's limit). */
  readonly maxDepth?: number;
  /** Most elements or members one array/object may have on decode. Default unlimited. */
  readonly maxContainerLength?: number;
}

const GO_MAX_DEPTH = 10_000;

/**
 * Where `JSON.parse` could give another value than Go's decoder (and {@link JsonParser}): a run
 * of 16 digits (an integer literal past 2^53 - 1 is a `bigint` here, a rounded number there) and
 * a `\uD800`-`\uDFFF` escape (Go turns a lone surrogate into U+FFFD, `JSON.parse` keeps it).
 * Otherwise, for a text with fewer `[` and `{` than the depth limit (so never too deep), `JSON.parse` accepts
 * exactly the texts that are one JSON value with nothing after it, and gives the same value:
 * numbers by the same correctly rounded conversion (`-0` included), the last of duplicate keys at
 * the first one's place, `__proto__` as an own property. Anything it refuses (Go's trailing
 * data, syntax errors) goes to `JsonParser` for Go's result or error text.
 */
const NATIVE_UNSAFE = /\d{16}|\\u[dD][89a-fA-F]/;
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The JSON codec for `SerializeType` 1 (Go `codec.JSONCodec`: `encoding/json` `Marshal`, and a
 * `json.Decoder` with `UseNumber()` that reads one value and ignores what follows it).
 *
 * Encoding writes the bytes Go writes for the same value: plain objects are Go structs (members
 * in insertion order, `undefined` members left out), a `Map` is a Go map (keys sorted by their
 * UTF-8 bytes, as Go sorts map keys), `Uint8Array` is a `[]byte` (standard base64), `Date` and
 * {@link Timestamp} are `time.Time` (RFC 3339 with nanoseconds, UTC), `bigint` is an exact
 * integer literal, {@link Float32} gets Go's float32 text, `-0` is `-0` (Go float64), NaN and
 * ±Infinity fail as in Go, and `<`, `>`, `&`, U+2028, U+2029 are escaped as `\u003c`... like Go.
 * Decoding keeps integers exact (see {@link JsonBigIntMode}), turns objects into plain objects
 * (a `__proto__` member becomes an own property, never the prototype) and fails with Go's
 * messages (`EOF`, `unexpected EOF`, `invalid character 'x' looking for beginning of value`).
 */
export class JsonCodec implements Codec {
  readonly serializeType = SERIALIZE_JSON;
  readonly name = 'json';
  readonly #bigint: JsonBigIntMode;
  readonly #maxDepth: number;
  readonly #maxContainerLength: number;
  /** Whether `JSON.parse` may answer first (see {@link NATIVE_UNSAFE}). */
  readonly #native: boolean;

  constructor(options: JsonCodecOptions = {}) {
    this.#bigint = options.bigint ?? 'auto';
    this.#maxDepth = options.maxDepth ?? GO_MAX_DEPTH;
    this.#maxContainerLength = options.maxContainerLength ?? Number.POSITIVE_INFINITY;
    this.#native = this.#bigint !== 'always' && this.#maxContainerLength === Number.POSITIVE_INFINITY;
  }

  encode(value: unknown): Uint8Array {
    let text: string;
    try {
      text = new JsonWriter(this.#maxDepth).write(value);
    } catch (err) {
      throw wrap(err);
    }
    // Buffer.from: the same bytes as TextEncoder (lone surrogates as EF BF BD), ~6x faster in
    // Node for the short texts of RPC payloads (a pooled allocation, no TextEncoder call).
    return Buffer.from(text, 'utf8');
  }

  decode(data: Uint8Array): unknown {
    if (!(data instanceof Uint8Array)) throw new RpcxError(ErrorCode.CODEC, 'json: payload is not a Uint8Array');
    const text = decoder.decode(data);
    if (this.#native && !NATIVE_UNSAFE.test(text) && this.#shallow(text)) {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        // Not one whole JSON value: Go's rules (the value before trailing data, Go's error texts) below.
      }
    }
    try {
      return new JsonParser(text, this.#bigint, this.#maxDepth, this.#maxContainerLength).parse();
    } catch (err) {
      throw wrap(err);
    }
  }

  /** True when `text` cannot nest as deep as the depth limit (fewer `[` and `{` in all). */
  #shallow(text: string): boolean {
    const max = this.#maxDepth;
    if (text.length < max) return true;
    let open = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if ((c === 0x5b || c === 0x7b) && ++open >= max) return false;
    }
    return true;
  }
}

function wrap(err: unknown): RpcxError {
  if (err instanceof RpcxError) return err.code === ErrorCode.CODEC || err.code === ErrorCode.LIMIT ? err : new RpcxError(ErrorCode.CODEC, err.message, { cause: err });
  if (err instanceof RangeError) return new RpcxError(ErrorCode.CODEC, `json: ${err.message}`, { cause: err });
  return RpcxError.from(err, ErrorCode.CODEC);
}

// ---------------------------------------------------------------------------------------------
// Encoding

// Characters Go's encodeState.string escapes (with escapeHTML): controls, ", \, <, >, &,
// U+2028, U+2029; surrogates are checked too because a lone one is invalid UTF-8 (Go: \ufffd).
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;
const HEX = '0123456789abcdef';

/** Quotes `s` as Go's `encoding/json` does (HTML-safe, lowercase `\u00xx`, `\b`/`\f` short forms). */
export function quoteGoJson(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let rep: string | undefined;
    if (c < 0x20) {
      switch (c) {
        case 0x08: rep = '\\b'; break;
        case 0x09: rep = '\\t'; break;
        case 0x0a: rep = '\\n'; break;
        case 0x0c: rep = '\\f'; break;
        case 0x0d: rep = '\\r'; break;
        default: rep = '\\u00' + HEX[c >> 4]! + HEX[c & 0xf]!;
      }
    } else if (c === 0x22) rep = '\\"';
    else if (c === 0x5c) rep = '\\\\';
    else if (c === 0x3c) rep = '\\u003c';
    else if (c === 0x3e) rep = '\\u003e';
    else if (c === 0x26) rep = '\\u0026';
    else if (c === 0x2028) rep = '\\u2028';
    else if (c === 0x2029) rep = '\\u2029';
    else if (c >= 0xd800 && c <= 0xdfff) {
      const next = s.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      rep = '\\ufffd';
    }
    if (rep !== undefined) {
      out += s.slice(start, i) + rep;
      start = i + 1;
    }
  }
  return out + s.slice(start) + '"';
}

/** Formats a float64 as Go's `encoding/json` does (`strconv` 'f', or 'e' below 1e-6 / from 1e21). */
function formatNumber(n: number): string {
  if (!Number.isFinite(n)) throw new RpcxError(ErrorCode.CODEC, `json: unsupported value: ${goFloatName(n)}`);
  if (Object.is(n, -0)) return '-0'; // Go float64 -0; JSON.stringify would write 0
  // JS's Number#toString switches to exponent form at the same thresholds and also writes the
  // shortest round-trip digits with no zero-padded exponent, which is Go's output after its
  // "e-07 -> e-7" clean-up.
  return String(n);
}

/** Go's float32 text: the shortest decimal that reads back as the same float32. */
function formatFloat32(n: number): string {
  const f = Math.fround(n);
  if (!Number.isFinite(f) || f === 0 || Number.isInteger(f) && Math.abs(f) < 1e21) return formatNumber(f);
  for (let p = 1; p < 17; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return formatNumber(Number(s));
  }
  return formatNumber(f);
}

function goFloatName(n: number): string {
  return Number.isNaN(n) ? 'NaN' : n > 0 ? '+Inf' : '-Inf';
}

function compareUtf8(a: string, b: string): number {
  if (a === b) return 0;
  // UTF-16 order equals UTF-8 byte order except around surrogates; compare bytes when needed.
  if (!/[\ud800-\udfff]/.test(a + b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

class JsonWriter {
  readonly #maxDepth: number;
  /** The objects being encoded (the path from the root): an array while short, a Set past 32. */
  #stack: object[] = [];
  #seen: Set<object> | undefined;

  constructor(maxDepth: number) {
    this.#maxDepth = maxDepth;
  }

  write(value: unknown): string {
    const out = this.#value(value, '', 0);
    if (out === undefined) throw new RpcxError(ErrorCode.CODEC, `json: unsupported type: ${typeof value}`);
    return out;
  }

  /** Returns undefined for values JSON.stringify leaves out (undefined, functions, symbols). */
  #value(value: unknown, key: string, depth: number): string | undefined {
    switch (typeof value) {
      case 'string':
        return quoteGoJson(value);
      case 'number':
        return formatNumber(value);
      case 'bigint':
        return value.toString();
      case 'boolean':
        return value ? 'true' : 'false';
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
      default:
        break;
    }
    if (value === null) return 'null';
    const obj = value as object;
    // A plain object (the common reply) is none of the classes below: straight to its members.
    // An array or typed array whose prototype was replaced still takes the long way.
    const proto: unknown = Object.getPrototypeOf(obj);
    if ((proto === Object.prototype || proto === null) && !Array.isArray(obj) && !ArrayBuffer.isView(obj)) return this.#plainObject(obj, key, depth);
    if (obj instanceof Uint8Array) return `"${Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64')}"`;
    if (obj instanceof Timestamp) return quoteGoJson(obj.toJSON());
    if (obj instanceof Float32) return formatFloat32(obj.value);
    if (obj instanceof Float64) return formatNumber(obj.value);
    if (obj instanceof Date) {
      if (Number.isNaN(obj.getTime())) throw new RpcxError(ErrorCode.CODEC, 'json: invalid Date');
      return quoteGoJson(Timestamp.fromDate(obj).toJSON());
    }
    if (obj instanceof ArrayBuffer) return `"${Buffer.from(obj).toString('base64')}"`;
    const first = this.#enter(obj, key, depth);
    if (first !== ENTERED) return first;
    try {
      if (Array.isArray(obj) || (ArrayBuffer.isView(obj) && !(obj instanceof DataView))) {
        const items = obj as ArrayLike<unknown>;
        const parts: string[] = [];
        for (let i = 0; i < items.length; i++) {
          parts.push(this.#value(items[i], String(i), depth + 1) ?? 'null');
        }
        return `[${parts.join(',')}]`;
      }
      if (obj instanceof Map) {
        const entries: [string, string][] = [];
        for (const [k, v] of obj) {
          const ks = mapKey(k);
          const vs = this.#value(v, ks, depth + 1);
          if (vs !== undefined) entries.push([ks, vs]);
        }
        entries.sort((a, b) => compareUtf8(a[0], b[0]));
        return `{${entries.map(([k, v]) => `${quoteGoJson(k)}:${v}`).join(',')}}`;
      }
      if (obj instanceof Set || obj instanceof DataView || obj instanceof WeakMap || obj instanceof Promise) {
        throw new RpcxError(ErrorCode.CODEC, `json: unsupported type: ${obj.constructor.name}`);
      }
      const parts: string[] = [];
      for (const k of Object.keys(obj)) {
        const vs = this.#value((obj as Record<string, unknown>)[k], k, depth + 1);
        if (vs !== undefined) parts.push(`${quoteGoJson(k)}:${vs}`);
      }
      return `{${parts.join(',')}}`;
    } finally {
      this.#leave(obj);
    }
  }

  /**
   * What every object goes through before its fields: its `toJSON` if it has one (that text is
   * returned), else the depth limit and the cycle check, and then it is marked as being encoded
   * (the caller unmarks it in a `finally`) and {@link ENTERED} is returned.
   */
  #enter(obj: object, key: string, depth: number): string | undefined | typeof ENTERED {
    const toJSON = (obj as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return this.#value(toJSON.call(obj, key), key, depth);
    if (depth >= this.#maxDepth) {
      throw new RpcxError(ErrorCode.LIMIT, `json: exceeded max depth ${this.#maxDepth}`);
    }
    if (this.#seen !== undefined ? this.#seen.has(obj) : this.#stack.includes(obj)) throw new RpcxError(ErrorCode.CODEC, 'json: unsupported value: encountered a cycle');
    this.#stack.push(obj);
    if (this.#seen !== undefined) this.#seen.add(obj);
    else if (this.#stack.length > 32) this.#seen = new Set(this.#stack);
    return ENTERED;
  }

  #leave(obj: object): void {
    this.#stack.pop();
    this.#seen?.delete(obj);
  }

  /** {@link #value} of an object whose prototype is `Object.prototype` or `null`: the same steps and text. */
  #plainObject(obj: object, key: string, depth: number): string | undefined {
    const first = this.#enter(obj, key, depth);
    if (first !== ENTERED) return first;
    try {
      let out = '{';
      for (const k of Object.keys(obj)) {
        const vs = this.#value((obj as Record<string, unknown>)[k], k, depth + 1);
        if (vs !== undefined) out += `${out.length === 1 ? '' : ','}${quoteGoJson(k)}:${vs}`;
      }
      return `${out}}`;
    } finally {
      this.#leave(obj);
    }
  }
}

function mapKey(k: unknown): string {
  if (typeof k === 'string') return k;
  if (typeof k === 'bigint') return k.toString();
  if (typeof k === 'number' && Number.isInteger(k)) return String(k);
  throw new RpcxError(ErrorCode.CODEC, `json: unsupported map key ${String(k)} (${typeof k}); Go map keys are strings or integers`);
}

// ---------------------------------------------------------------------------------------------
// Decoding: an iterative parser following Go's scanner (same grammar, same error texts).

const Ch = {
  Tab: 0x09, Nl: 0x0a, Cr: 0x0d, Space: 0x20, Quote: 0x22, Plus: 0x2b, Comma: 0x2c,
  Minus: 0x2d, Dot: 0x2e, Zero: 0x30, Nine: 0x39, Colon: 0x3a, E: 0x45, LBracket: 0x5b,
  Backslash: 0x5c, RBracket: 0x5d, LowerE: 0x65, LBrace: 0x7b, RBrace: 0x7d,
} as const;

interface ArrayFrame {
  readonly array: unknown[];
}
interface ObjectFrame {
  readonly object: Record<string, unknown>;
  key: string;
  count: number;
}
type Frame = ArrayFrame | ObjectFrame;

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Nl || c === Ch.Cr;
}

function isDigit(c: number): boolean {
  return c >= Ch.Zero && c <= Ch.Nine;
}

/** Go `strconv.Quote`'s escapes of ASCII control characters (and `\\`). */
const GO_NAMED_ESCAPES: Readonly<Record<number, string>> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x5c: '\\\\' };

/**
 * Go's `quoteChar`: `'x'` for a printable character, `strconv.Quote`'s escapes otherwise
 * (`'\\x1f'`, `'\\n'`, `'\\x7f'`). Go quotes the offending byte; past ASCII this quotes the
 * UTF-16 code unit, so texts for non-ASCII input may differ from Go's.
 */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named = GO_NAMED_ESCAPES[c];
  if (named !== undefined) return `'${named}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  if (c >= 0x80) {
    // Go's scanner reads bytes and quotes the first byte of the character as the rune U+00XX:
    // 'é' (C3 A9) is reported as 'Ã', '€' as 'â', '😀' as 'ð' (a lead byte is C2-F4: printable).
    // Bytes that are not UTF-8 reached us as U+FFFD (EF BF BD), so they show as 'ï' where Go
    // quotes the byte itself.
    const b = c < 0x800 ? 0xc0 | (c >> 6) : c >= 0xd800 && c <= 0xdbff ? 0xf0 | ((0x10000 + ((c - 0xd800) << 10)) >> 18) : 0xe0 | (c >> 12);
    return `'${String.fromCharCode(b)}'`;
  }
  const s = JSON.stringify(String.fromCharCode(c));
  return `'${s.slice(1, -1)}'`;
}

class JsonParser {
  #pos = 0;
  readonly #text: string;
  readonly #bigint: JsonBigIntMode;
  readonly #maxDepth: number;
  readonly #maxLength: number;

  constructor(text: string, bigint: JsonBigIntMode, maxDepth: number, maxLength: number) {
    this.#text = text;
    this.#bigint = bigint;
    this.#maxDepth = maxDepth;
    this.#maxLength = maxLength;
  }

  #error(message: string): RpcxError {
    return new RpcxError(ErrorCode.CODEC, message, { offset: this.#pos });
  }

  #eof(): RpcxError {
    return new RpcxError(ErrorCode.CODEC, 'unexpected EOF', { offset: this.#pos });
  }

  #skipSpace(): number {
    const t = this.#text;
    while (this.#pos < t.length && isSpace(t.charCodeAt(this.#pos))) this.#pos++;
    if (this.#pos >= t.length) return -1;
    return t.charCodeAt(this.#pos);
  }

  parse(): unknown {
    if (this.#skipSpace() < 0) throw new RpcxError(ErrorCode.CODEC, 'EOF', { offset: this.#pos });
    const stack: Frame[] = [];
    let value: unknown;
    for (;;) {
      // Read one value start; containers push a frame and loop for their first element.
      let c = this.#skipSpace();
      if (c < 0) throw this.#eof();
      let complete = true;
      if (c === Ch.LBrace || c === Ch.LBracket) {
        if (stack.length >= this.#maxDepth) throw this.#error('exceeded max depth');
        this.#pos++;
        const close = c === Ch.LBrace ? Ch.RBrace : Ch.RBracket;
        const n = this.#skipSpace();
        if (n < 0) throw this.#eof();
        if (n === close) {
          this.#pos++;
          value = c === Ch.LBrace ? {} : [];
        } else if (c === Ch.LBrace) {
          const frame: ObjectFrame = { object: {}, key: '', count: 0 };
          frame.key = this.#objectKey(n);
          stack.push(frame);
          complete = false;
        } else {
          stack.push({ array: [] });
          complete = false;
        }
      } else {
        value = this.#scalar(c);
      }
      if (!complete) continue;

      // Attach the finished value to its parent; close containers that end here.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) return value;
        if ('array' in top) {
          if (top.array.length >= this.#maxLength) throw new RpcxError(ErrorCode.LIMIT, `json: array longer than ${this.#maxLength}`);
          top.array.push(value);
          c = this.#skipSpace();
          if (c < 0) throw this.#eof();
          this.#pos++;
          if (c === Ch.Comma) break;
          if (c !== Ch.RBracket) {
            this.#pos--;
            throw this.#error(`invalid character ${quoteChar(c)} after array element`);
          }
          stack.pop();
          value = top.array;
        } else {
          if (top.count >= this.#maxLength) throw new RpcxError(ErrorCode.LIMIT, `json: object with more than ${this.#maxLength} members`);
          top.count++;
          setOwn(top.object, top.key, value);
          c = this.#skipSpace();
          if (c < 0) throw this.#eof();
          this.#pos++;
          if (c === Ch.Comma) {
            const k = this.#skipSpace();
            if (k < 0) throw this.#eof();
            top.key = this.#objectKey(k);
            break;
          }
          if (c !== Ch.RBrace) {
            this.#pos--;
            throw this.#error(`invalid character ${quoteChar(c)} after object key:value pair`);
          }
          stack.pop();
          value = top.object;
        }
      }
    }
  }

  /** Reads `"key"` and the `:` after it; leaves the position at the value. */
  #objectKey(c: number): string {
    if (c !== Ch.Quote) throw this.#error(`invalid character ${quoteChar(c)} looking for beginning of object key string`);
    const key = this.#string();
    const n = this.#skipSpace();
    if (n < 0) throw this.#eof();
    if (n !== Ch.Colon) throw this.#error(`invalid character ${quoteChar(n)} after object key`);
    this.#pos++;
    return key;
  }

  #scalar(c: number): unknown {
    if (c === Ch.Quote) return this.#string();
    if (c === Ch.Minus || isDigit(c)) return this.#number();
    if (c === 0x74) return this.#literal('true', true);
    if (c === 0x66) return this.#literal('false', false);
    if (c === 0x6e) return this.#literal('null', null);
    throw this.#error(`invalid character ${quoteChar(c)} looking for beginning of value`);
  }

  #literal(word: string, value: unknown): unknown {
    const t = this.#text;
    for (let i = 0; i < word.length; i++, this.#pos++) {
      if (this.#pos >= t.length) throw this.#eof();
      const c = t.charCodeAt(this.#pos);
      if (c !== word.charCodeAt(i)) {
        throw this.#error(`invalid character ${quoteChar(c)} in literal ${word} (expecting ${quoteChar(word.charCodeAt(i))})`);
      }
    }
    return value;
  }

  #number(): unknown {
    const t = this.#text;
    const start = this.#pos;
    let integer = true;
    const at = (): number => (this.#pos < t.length ? t.charCodeAt(this.#pos) : -1);
    if (at() === Ch.Minus) {
      this.#pos++;
      const c = at();
      if (c < 0) throw this.#eof();
      if (!isDigit(c)) throw this.#error(`invalid character ${quoteChar(c)} in numeric literal`);
    }
    if (at() === Ch.Zero) this.#pos++;
    else while (isDigit(at())) this.#pos++;
    if (at() === Ch.Dot) {
      integer = false;
      this.#pos++;
      const c = at();
      if (c < 0) throw this.#eof();
      if (!isDigit(c)) throw this.#error(`invalid character ${quoteChar(c)} after decimal point in numeric literal`);
      while (isDigit(at())) this.#pos++;
    }
    let c = at();
    if (c === Ch.E || c === Ch.LowerE) {
      integer = false;
      this.#pos++;
      c = at();
      if (c === Ch.Plus || c === Ch.Minus) {
        this.#pos++;
        c = at();
      }
      if (c < 0) throw this.#eof();
      if (!isDigit(c)) throw this.#error(`invalid character ${quoteChar(c)} in exponent of numeric literal`);
      while (isDigit(at())) this.#pos++;
    }
    const literal = t.slice(start, this.#pos);
    if (!integer || this.#bigint === 'never') return Number(literal);
    if (this.#bigint === 'always') return BigInt(literal);
    const n = Number(literal);
    return Number.isSafeInteger(n) ? n : BigInt(literal);
  }

  #string(): string {
    const t = this.#text;
    this.#pos++; // opening quote
    let out = '';
    let start = this.#pos;
    for (;;) {
      if (this.#pos >= t.length) throw this.#eof();
      const c = t.charCodeAt(this.#pos);
      if (c === Ch.Quote) {
        out += t.slice(start, this.#pos);
        this.#pos++;
        return out;
      }
      if (c < 0x20) throw this.#error(`invalid character ${quoteChar(c)} in string literal`);
      if (c !== Ch.Backslash) {
        this.#pos++;
        continue;
      }
      out += t.slice(start, this.#pos);
      this.#pos++;
      if (this.#pos >= t.length) throw this.#eof();
      const e = t.charCodeAt(this.#pos);
      this.#pos++;
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          let cp = this.#hex4();
          if (cp >= 0xd800 && cp <= 0xdfff) {
            // Go decodes a valid \uD8xx\uDCxx pair; any lone surrogate becomes U+FFFD.
            let paired = false;
            if (cp <= 0xdbff && t.charCodeAt(this.#pos) === Ch.Backslash && t.charCodeAt(this.#pos + 1) === 0x75) {
              const save = this.#pos;
              this.#pos += 2;
              const lo = this.#hex4();
              if (lo >= 0xdc00 && lo <= 0xdfff) {
                out += String.fromCharCode(cp, lo);
                paired = true;
              } else {
                this.#pos = save;
              }
            }
            if (paired) break;
            cp = 0xfffd;
          }
          out += String.fromCharCode(cp);
          break;
        }
        default:
          this.#pos--;
          throw this.#error(`invalid character ${quoteChar(e)} in string escape code`);
      }
      start = this.#pos;
    }
  }

  #hex4(): number {
    const t = this.#text;
    let v = 0;
    for (let i = 0; i < 4; i++) {
      if (this.#pos >= t.length) throw this.#eof();
      const c = t.charCodeAt(this.#pos);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else throw this.#error(`invalid character ${quoteChar(c)} in \\u hexadecimal character escape`);
      v = v * 16 + d;
      this.#pos++;
    }
    return v;
  }
}
