// Tagged JSON (interop/VECTORS.md) for JS values, and the comparison of a decoded JS value with
// the Go value a vector describes. JS has fewer kinds than Go, so the comparison maps kinds:
//
//   Go                          JS (after decoding)                      compared by
//   $int / $uint (any bits)     number or bigint                         exact decimal
//   $float                      number (or Float32/Float64)              value: float64 exactly (-0, ±Inf, NaN
//                                                                         included); float32 after Math.fround
//   $string                     string                                   UTF-8 hex; Go bytes that are not valid UTF-8
//                                                                         are compared after U+FFFD substitution
//                                                                         (a JS string cannot hold them)
//   $bytes                      Uint8Array; in JSON a base64 string      hex
//   $time                       Timestamp or Date; in JSON an RFC 3339   the instant (unixNano); a Date only to the
//                               string                                    millisecond
//   $struct/$proto/$thrift      plain object                              fields in order, by wire name (options.fieldName)
//   $map                        plain object or Map                       entries as a set (Go map order is random)
//   $slice                      array (or Uint8Array for []uint8)         element by element
//   null                        null or undefined
//
// Other agents (protobuf, thrift) reuse this helper; see CompareOptions.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ExtData } from '@msgpack/msgpack';
import { Float32, Float64 } from '../../src/codec/gotypes.js';
import { Timestamp } from '../../src/codec/timestamp.js';
import { repoRoot } from '../support/go.js';

export type Tagged = null | boolean | { readonly [k: string]: unknown };

const utf8 = new TextEncoder();
const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

function hexOfString(s: string): string {
  return Buffer.from(utf8.encode(s)).toString('hex');
}

/** Go's strconv.FormatFloat(f, 'g', -1, 64) spelling of the special values. */
function floatText(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Object.is(n, -0)) return '-0';
  return String(n);
}

function floatOfText(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  return Number(s);
}

/**
 * The tagged JSON of a JS value, using JS kinds: integers are `{"$int": "<decimal>"}` without
 * `bits`, other numbers `{"$float": "<text>"}`, plain objects `{"$object": [[key, value]...]}`
 * in key order, `Map` `{"$map": [[key, value]...]}` in insertion order, `ExtData`
 * `{"$ext": type, "hex": ...}`.
 */
export function toCanonical(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'bigint':
      return { $int: value.toString() };
    case 'number':
      if (Number.isInteger(value) && !Object.is(value, -0) && Math.abs(value) <= Number.MAX_SAFE_INTEGER) {
        return { $int: String(value) };
      }
      return { $float: floatText(value) };
    case 'string':
      return { $string: hexOfString(value) };
    default:
      break;
  }
  if (value instanceof Float32) return { $float: floatText(value.value), bits: 32 };
  if (value instanceof Float64) return { $float: floatText(value.value) };
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') };
  if (value instanceof Timestamp) return { $time: value.toString(), unixNano: value.toUnixNano().toString() };
  if (value instanceof Date) {
    return { $time: value.toISOString(), unixNano: (BigInt(value.getTime()) * 1_000_000n).toString() };
  }
  if (value instanceof ExtData) {
    const data = value.data instanceof Uint8Array ? value.data : new Uint8Array(0);
    return { $ext: value.type, hex: Buffer.from(data).toString('hex') };
  }
  if (Array.isArray(value)) return { $slice: value.map(toCanonical) };
  if (value instanceof Map) return { $map: [...value].map(([k, v]) => [toCanonical(k), toCanonical(v)]) };
  if (typeof value === 'object') {
    return { $object: Object.keys(value).map((k) => [k, toCanonical((value as Record<string, unknown>)[k])]) };
  }
  throw new Error(`toCanonical: unsupported ${typeof value}`);
}

export interface CompareOptions {
  /**
   * The wire name of a Go struct field (json/msgpack tags), or null when the codec leaves the
   * field out (`json:"-"`, `omitempty` with a zero value). Default: the Go field name.
   */
  readonly fieldName?: (structName: string, goField: string) => string | null;
  /** Accept members the Go value does not list (e.g. defaults a schema decoder fills in). Default false. */
  readonly extraFields?: boolean;
  /** How the codec carries []byte and time.Time: `native` (Uint8Array/Timestamp) or `json` (strings). */
  readonly text?: 'native' | 'json';
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

/**
 * Compares `actual` (a decoded JS value) with `expected` (Go's tagged JSON). Returns a list of
 * differences, each with its path; empty when they match.
 */
export function compareCanonical(actual: unknown, expected: unknown, options: CompareOptions = {}): string[] {
  const problems: string[] = [];
  compare(toCanonical(actual), expected, '$', options, problems);
  return problems;
}

function compare(a: unknown, e: unknown, path: string, o: CompareOptions, out: string[]): void {
  const fail = (why: string): void => {
    out.push(`${path}: ${why}: got ${describe(a)}, want ${describe(e)}`);
  };
  if (e === null) {
    if (a !== null) fail('want nil');
    return;
  }
  if (typeof e === 'boolean') {
    if (a !== e) fail('bool differs');
    return;
  }
  if (!isObj(e)) {
    fail('unknown tagged value');
    return;
  }
  if (!isObj(a)) {
    fail('kind differs');
    return;
  }
  if ('$int' in e || '$uint' in e) {
    const want = String(e['$int'] ?? e['$uint']);
    if ('$int' in a && a['$int'] === want) return;
    // An integral Go float may come back as a JS integer and vice versa (JSON "3").
    if ('$float' in a && floatOfText(String(a['$float'])) === Number(want) && Number.isSafeInteger(Number(want))) return;
    fail('integer differs');
    return;
  }
  if ('$float' in e) {
    const want = floatOfText(String(e['$float']));
    let got: number;
    if ('$float' in a) got = floatOfText(String(a['$float']));
    else if ('$int' in a) got = Number(a['$int']);
    else return fail('want a number');
    const ok = e['bits'] === 32 ? Object.is(Math.fround(got), Math.fround(want)) : Object.is(got, want);
    if (!ok) fail('float differs');
    return;
  }
  if ('$string' in e) {
    const goHex = String(e['$string']);
    const asJs = hexOfString(lossy.decode(Buffer.from(goHex, 'hex')));
    if (a['$string'] !== goHex && a['$string'] !== asJs) fail('string differs');
    return;
  }
  if ('$bytes' in e) {
    const want = String(e['$bytes']);
    if ('$bytes' in a) {
      if (a['$bytes'] !== want) fail('bytes differ');
      return;
    }
    if ('$string' in a && o.text === 'json') {
      const b64 = Buffer.from(String(a['$string']), 'hex').toString('utf8');
      if (Buffer.from(b64, 'base64').toString('hex') !== want || Buffer.from(want, 'hex').toString('base64') !== b64) {
        fail('base64 bytes differ');
      }
      return;
    }
    fail('want bytes');
    return;
  }
  if ('$time' in e) {
    const want = String(e['unixNano']);
    if ('$time' in a) {
      const got = String(a['unixNano']);
      if (got === want) return;
      // A Date keeps milliseconds only.
      if (BigInt(got) === (BigInt(want) / 1_000_000n) * 1_000_000n && BigInt(got) % 1_000_000n === 0n) return;
      fail('time differs');
      return;
    }
    if ('$string' in a && o.text === 'json') {
      const text = Buffer.from(String(a['$string']), 'hex').toString('utf8');
      if (Timestamp.parse(text).toUnixNano().toString() !== want) fail('time differs');
      return;
    }
    fail('want a time');
    return;
  }
  if ('$slice' in e) {
    const want = e['$slice'] as unknown[];
    if ('$bytes' in a) {
      const bytes = Buffer.from(String(a['$bytes']), 'hex');
      if (bytes.length !== want.length) return fail('length differs');
      want.forEach((w, i) => compare({ $int: String(bytes[i]) }, w, `${path}[${i}]`, o, out));
      return;
    }
    if (!('$slice' in a)) return fail('want a slice');
    const got = a['$slice'] as unknown[];
    if (got.length !== want.length) return fail(`length ${got.length} != ${want.length}`);
    want.forEach((w, i) => compare(got[i], w, `${path}[${i}]`, o, out));
    return;
  }
  const structName = e['$struct'] ?? e['$proto'] ?? e['$thrift'];
  if (structName !== undefined) {
    if (!('$object' in a)) return fail('want an object');
    const got = new Map((a['$object'] as [string, unknown][]).map(([k, v]) => [k, v]));
    const gotOrder = (a['$object'] as [string, unknown][]).map(([k]) => k);
    const wantOrder: string[] = [];
    for (const [field, value] of e['fields'] as [string, unknown][]) {
      const name = o.fieldName ? o.fieldName(String(structName), field) : field;
      if (name === null) continue;
      wantOrder.push(name);
      if (!got.has(name)) {
        out.push(`${path}.${field}: missing member ${JSON.stringify(name)}`);
        continue;
      }
      compare(got.get(name), value, `${path}.${field}`, o, out);
    }
    const extra = gotOrder.filter((k) => !wantOrder.includes(k));
    if (extra.length > 0 && o.extraFields !== true) out.push(`${path}: unexpected members ${JSON.stringify(extra)}`);
    const common = gotOrder.filter((k) => wantOrder.includes(k));
    if (!e['$proto'] && common.join('\u0000') !== wantOrder.filter((k) => got.has(k)).join('\u0000')) {
      out.push(`${path}: member order ${JSON.stringify(common)} != ${JSON.stringify(wantOrder)}`);
    }
    return;
  }
  if ('$map' in e) {
    const want = e['$map'] as [unknown, unknown][];
    let got: [unknown, unknown][];
    if ('$map' in a) got = a['$map'] as [unknown, unknown][];
    else if ('$object' in a) got = (a['$object'] as [string, unknown][]).map(([k, v]) => [toCanonical(k), v]);
    else return fail('want a map');
    if (got.length !== want.length) return fail(`size ${got.length} != ${want.length}`);
    for (const [wk, wv] of want) {
      const hit = got.find(([gk]) => {
        const p: string[] = [];
        compare(gk, wk, '', o, p);
        return p.length === 0;
      });
      if (hit === undefined) {
        out.push(`${path}: missing key ${describe(wk)}`);
        continue;
      }
      compare(hit[1], wv, `${path}[${describe(wk)}]`, o, out);
    }
    return;
  }
  fail('unknown tag');
}

/** Kinds the JS value built by {@link fromCanonical} can carry, per Go kind. */
export interface FromCanonicalOptions {
  /** As in {@link CompareOptions.fieldName}. */
  readonly fieldName?: (structName: string, goField: string) => string | null;
}

/**
 * The JS value to encode for a Go value given as tagged JSON: `$int` bits 64 and `$uint` bits 64
 * → bigint, other integers → number (bigint when not a safe integer), `$float` bits 32 →
 * Float32, bits 64 → Float64, `$string` → string, `$bytes` → Uint8Array, `$time` → Timestamp
 * (keeping the zone offset for JSON), struct → plain object in field order, map → Map, slice →
 * array, null → null.
 */
export function fromCanonical(tagged: unknown, options: FromCanonicalOptions = {}): unknown {
  if (tagged === null || typeof tagged === 'boolean') return tagged;
  if (!isObj(tagged)) throw new Error(`fromCanonical: ${describe(tagged)}`);
  const t = tagged;
  if ('$int' in t || '$uint' in t) {
    const text = String(t['$int'] ?? t['$uint']);
    if (t['bits'] === 64) return BigInt(text);
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : BigInt(text);
  }
  if ('$float' in t) {
    const n = floatOfText(String(t['$float']));
    return t['bits'] === 32 ? new Float32(n) : new Float64(n);
  }
  if ('$string' in t) return Buffer.from(String(t['$string']), 'hex').toString('utf8');
  if ('$bytes' in t) return new Uint8Array(Buffer.from(String(t['$bytes']), 'hex'));
  if ('$time' in t) {
    const parsed = Timestamp.parse(String(t['$time']));
    const exact = Timestamp.fromUnixNano(BigInt(String(t['unixNano'])));
    return new Timestamp(exact.seconds, exact.nanoseconds, parsed.offset);
  }
  if ('$slice' in t) return (t['$slice'] as unknown[]).map((v) => fromCanonical(v, options));
  if ('$map' in t) {
    return new Map((t['$map'] as [unknown, unknown][]).map(([k, v]) => [fromCanonical(k, options), fromCanonical(v, options)]));
  }
  const structName = t['$struct'] ?? t['$proto'] ?? t['$thrift'];
  if (structName !== undefined) {
    const obj: Record<string, unknown> = {};
    for (const [field, value] of t['fields'] as [string, unknown][]) {
      const name = options.fieldName ? options.fieldName(String(structName), field) : field;
      if (name === null) continue;
      obj[name] = fromCanonical(value, options);
    }
    return obj;
  }
  throw new Error(`fromCanonical: unknown tag ${describe(t)}`);
}

/** True when the tagged value holds a Go string whose bytes are not valid UTF-8. */
export function hasInvalidUtf8(tagged: unknown): boolean {
  if (Array.isArray(tagged)) return tagged.some(hasInvalidUtf8);
  if (!isObj(tagged)) return false;
  if ('$string' in tagged) {
    const b = Buffer.from(String(tagged['$string']), 'hex');
    return !Buffer.from(lossy.decode(b), 'utf8').equals(b);
  }
  return Object.values(tagged).some(hasInvalidUtf8);
}

/** One codec vector of interop/vectors/codec-*.json (see interop/VECTORS.md). */
export interface CodecVector {
  readonly name: string;
  readonly volatile?: readonly string[];
  readonly fields: {
    readonly serializeType: number;
    readonly payloadHex?: string;
    readonly payloadLength: number;
    readonly payloadSha256: string;
  };
  readonly value: {
    readonly case: string;
    readonly goType: string;
    readonly serializeType: number;
    readonly canonical: unknown;
  };
}

/** Reads interop/vectors/<file> (e.g. `codec-json.json`) and returns its vectors. */
export function loadCodecVectors(file: string): CodecVector[] {
  const path = join(repoRoot, 'interop', 'vectors', file);
  const doc = JSON.parse(readFileSync(path, 'utf8')) as { vectors: CodecVector[] };
  return doc.vectors.filter((v) => v.value !== undefined);
}

/** The payload of a vector, or undefined when the file only has its hash (over 64 KiB). */
export function vectorPayload(v: CodecVector): Uint8Array | undefined {
  return v.fields.payloadHex === undefined ? undefined : new Uint8Array(Buffer.from(v.fields.payloadHex, 'hex'));
}

/** sha-256 of bytes, hex. */
export function sha256Hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
