// The parts of Go's encoding/json that rpcx's JSON-RPC 2.0 endpoint shows on the wire
// (server/jsonrpc2.go, server/jsonrpc2_wire.go): the syntax error texts of `json.Unmarshal`,
// decoding of its `jsonrpcRequest` struct (case-insensitive keys, `params` kept as raw bytes,
// type errors), and `json.Marshal`'s string and RawMessage output (HTML-safe escapes).
import { Buffer } from 'node:buffer';

/** Go `quoteChar`: the byte as Go's scanner names it in an error (`'x'`, `'\n'`, `'\''`). */
function quoteChar(c: number): string {
  if (c === 0x27) return `'\\''`;
  if (c === 0x22) return `'"'`;
  const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x5c: '\\\\' };
  const n = named[c];
  if (n !== undefined) return `'${n}'`;
  if (c < 0x20 || c === 0x7f) return `'\\x${c.toString(16).padStart(2, '0')}'`;
  // A byte >= 0x80 is printed as the rune U+00XX (Go converts the byte, not UTF-8).
  if ((c >= 0x80 && c <= 0xa0) || c === 0xad) return `'\\u${c.toString(16).padStart(4, '0')}'`;
  return `'${String.fromCharCode(c)}'`;
}

const EOF = 'unexpected end of JSON input';

class SyntaxErr extends Error {}

/** The kind of a JSON value (an index into {@link KIND_NAME}). */
const OBJECT = 0;
const ARRAY = 1;
const STRING = 2;
const NUMBER = 3;
const BOOL = 4;
const NULL = 5;
const KIND_NAME = ['object', 'array', 'string', 'number', 'bool', 'null'] as const;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * A validating scanner with Go's error texts; records the members of the top-level object as
 * `[keyStart, keyEnd, valueKind, valueStart, valueEnd]` in one flat list (no object per value).
 */
class Scanner {
  i = 0;
  readonly members: number[] = [];
  /** `record`: whether to record the top-level members. */
  constructor(
    readonly b: Buffer,
    readonly record = true,
  ) {}

  /**
   * Go's scanner error at the current byte. At the end of input Go feeds the scanner a space: where
   * a space is an error (inside a literal, a number, an escape) the text names `' '`, elsewhere it
   * is `unexpected end of JSON input`.
   */
  fail(context: string, spaceAtEof = false): never {
    if (this.i >= this.b.length) {
      if (spaceAtEof) throw new SyntaxErr(`invalid character ' ' ${context}`);
      throw new SyntaxErr(EOF);
    }
    throw new SyntaxErr(`invalid character ${quoteChar(this.b[this.i]!)} ${context}`);
  }

  ws(): void {
    const b = this.b;
    let i = this.i;
    while (i < b.length && isSpace(b[i]!)) i++;
    this.i = i;
  }

  /** Scans one value (white space before it skipped); returns its kind, `this.i` is then its end. */
  value(depth: number): number {
    if (depth > 10000) throw new SyntaxErr('exceeded max depth');
    this.ws();
    const b = this.b;
    const c = b[this.i];
    if (c === undefined) this.fail('looking for beginning of value');
    if (c === 0x7b) {
      this.i++;
      this.ws();
      if (b[this.i] === 0x7d) {
        this.i++;
        return OBJECT;
      }
      for (;;) {
        this.ws();
        if (b[this.i] !== 0x22) this.fail('looking for beginning of object key string');
        const keyStart = this.i;
        this.string();
        const keyEnd = this.i;
        this.ws();
        if (b[this.i] !== 0x3a) this.fail('after object key');
        this.i++;
        this.ws();
        const valueStart = this.i;
        const kind = this.value(depth + 1);
        if (depth === 0 && this.record) this.members.push(keyStart, keyEnd, kind, valueStart, this.i);
        this.ws();
        const d = b[this.i];
        if (d === 0x2c) {
          this.i++;
          continue;
        }
        if (d === 0x7d) {
          this.i++;
          return OBJECT;
        }
        this.fail('after object key:value pair');
      }
    }
    if (c === 0x5b) {
      this.i++;
      this.ws();
      if (b[this.i] === 0x5d) {
        this.i++;
        return ARRAY;
      }
      for (;;) {
        this.value(depth + 1);
        this.ws();
        const d = b[this.i];
        if (d === 0x2c) {
          this.i++;
          continue;
        }
        if (d === 0x5d) {
          this.i++;
          return ARRAY;
        }
        this.fail('after array element');
      }
    }
    if (c === 0x22) return this.string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
    if (c === 0x74) return this.literal('true', BOOL);
    if (c === 0x66) return this.literal('false', BOOL);
    if (c === 0x6e) return this.literal('null', NULL);
    this.fail('looking for beginning of value');
  }

  literal(word: string, kind: number): number {
    for (let k = 0; k < word.length; k++) {
      if (this.b[this.i] !== word.charCodeAt(k)) this.fail(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(k))})`, true);
      this.i++;
    }
    return kind;
  }

  string(): number {
    const b = this.b;
    this.i++;
    for (;;) {
      // The common bytes in a tight loop; the rest below.
      let i = this.i;
      let c = b[i];
      while (c !== undefined && c >= 0x20 && c !== 0x22 && c !== 0x5c) c = b[++i];
      this.i = i;
      if (c === undefined) this.fail('');
      if (c === 0x22) {
        this.i++;
        return STRING;
      }
      if (c < 0x20) this.fail('in string literal');
      // A backslash.
      this.i++;
      const e = b[this.i];
      if (e === undefined) this.fail('in string escape code', true);
      if (e === 0x75) {
        this.i++;
        for (let k = 0; k < 4; k++) {
          const h = b[this.i];
          if (h === undefined) this.fail('in \\u hexadecimal character escape', true);
          if (!((h >= 0x30 && h <= 0x39) || (h >= 0x41 && h <= 0x46) || (h >= 0x61 && h <= 0x66))) this.fail('in \\u hexadecimal character escape', true);
          this.i++;
        }
        continue;
      }
      if (!'"\\/bfnrt'.includes(String.fromCharCode(e))) this.fail('in string escape code', true);
      this.i++;
    }
  }

  digits(): number {
    const s = this.i;
    while (this.i < this.b.length && this.b[this.i]! >= 0x30 && this.b[this.i]! <= 0x39) this.i++;
    return this.i - s;
  }

  number(): number {
    if (this.b[this.i] === 0x2d) {
      this.i++;
      const c = this.b[this.i];
      if (c === undefined || c < 0x30 || c > 0x39) this.fail('in numeric literal', true);
    }
    if (this.b[this.i] === 0x30) this.i++;
    else this.digits();
    if (this.b[this.i] === 0x2e) {
      this.i++;
      if (this.digits() === 0) this.fail('after decimal point in numeric literal', true);
    }
    const e = this.b[this.i];
    if (e === 0x65 || e === 0x45) {
      this.i++;
      const s = this.b[this.i];
      if (s === 0x2b || s === 0x2d) this.i++;
      if (this.digits() === 0) this.fail('in exponent of numeric literal', true);
    }
    return NUMBER;
  }
}

/** Decodes the bytes of a JSON string literal at `start..end` (invalid UTF-8 becomes U+FFFD, as in Go). */
function decodeString(b: Buffer, start: number, end: number): string {
  // Without escapes the text between the quotes is the string (the scanner validated it).
  let plain = true;
  for (let i = start + 1; i < end - 1; i++) {
    if (b[i] === 0x5c) {
      plain = false;
      break;
    }
  }
  if (plain) return b.toString('utf8', start + 1, end - 1);
  try {
    return JSON.parse(b.toString('utf8', start, end)) as string;
  } catch {
    // A lone surrogate escape JSON.parse accepts; anything else was validated already.
    return '';
  }
}

/**
 * The field a top-level key names (Go matches `jsonrpcRequest`'s fields case-insensitively), as
 * its lower-case name; `''` for any other key. An ASCII key without escapes is compared byte by
 * byte; any other is decoded and lower-cased.
 */
function fieldOf(b: Buffer, start: number, end: number): string {
  const n = end - start - 2;
  let plain = true;
  for (let i = start + 1; i < end - 1; i++) {
    const c = b[i]!;
    if (c >= 0x80 || c === 0x5c) {
      plain = false;
      break;
    }
  }
  if (!plain) {
    const name = decodeString(b, start, end).toLowerCase();
    return name === 'jsonrpc' || name === 'method' || name === 'params' || name === 'id' ? name : '';
  }
  const f = n === 2 ? 'id' : n === 6 ? ((b[start + 1]! | 0x20) === 0x6d ? 'method' : 'params') : n === 7 ? 'jsonrpc' : '';
  if (f === '') return '';
  // `c | 0x20` equals a lower-case letter only for that letter and its capital.
  for (let k = 0; k < n; k++) if ((b[start + 1 + k]! | 0x20) !== f.charCodeAt(k)) return '';
  return f;
}

/** The request as rpcx's `jsonrpcRequest` holds it after `json.Unmarshal`. */
export interface JsonRpcRequest {
  method: string;
  /** Raw `params` bytes; `undefined` when absent or `null` (Go: a nil `*json.RawMessage`). */
  params: Buffer | undefined;
  /**
   * `undefined`: a notification. A number id as Go writes it back (its int64 in decimal); a
   * string id `""` is Go's `ID{Number: 0}` and comes back as `0`.
   */
  id: { name: string } | { number: string } | undefined;
}

const SMALL_INT = /^-?[0-9]{1,15}$/;

/** Go's int64 id of a JSON number literal, as Go writes it back; `undefined` if not an int64. */
function int64Text(text: string): string | undefined {
  // Up to 15 digits the text is the number (a valid literal has no leading zeros), but for -0.
  if (SMALL_INT.test(text)) return text === '-0' ? '0' : text;
  if (!/^-?[0-9]+$/.test(text)) return undefined;
  const n = BigInt(text);
  return n > 9223372036854775807n || n < -9223372036854775808n ? undefined : n.toString();
}

/** `"2.0"` exactly. */
function isVersion20(b: Buffer, start: number, end: number): boolean {
  return end - start === 5 && b[start + 1] === 0x32 && b[start + 2] === 0x2e && b[start + 3] === 0x30;
}

/**
 * Go `json.Unmarshal(body, &jsonrpcRequest{})` as rpcx runs it: a syntax error first (the whole
 * body is checked before decoding), then `jsonrpc` must be `"2.0"` (an error stops decoding), an
 * `id` must be an int64 or a string, `method` must be a string (a type error is kept and
 * returned at the end, as Go does). Keys match case-insensitively, the last duplicate wins.
 */
export function unmarshalRequest(body: Buffer): { request: JsonRpcRequest } | { error: string } {
  const sc = new Scanner(body);
  let top: number;
  try {
    top = sc.value(0);
    sc.ws();
    if (sc.i < body.length) sc.fail('after top-level value');
  } catch (err) {
    if (err instanceof SyntaxErr) return { error: err.message };
    throw err;
  }
  const request: JsonRpcRequest = { method: '', params: undefined, id: undefined };
  if (top === NULL) return { request };
  if (top !== OBJECT) return { error: `json: cannot unmarshal ${KIND_NAME[top]!} into Go value of type server.jsonrpcRequest` };
  let saved: string | undefined;
  const m = sc.members;
  for (let j = 0; j < m.length; j += 5) {
    const name = fieldOf(body, m[j]!, m[j + 1]!);
    if (name === '') continue;
    const kind = m[j + 2]!;
    const vs = m[j + 3]!;
    const ve = m[j + 4]!;
    if (name === 'jsonrpc') {
      if (kind !== STRING && kind !== NULL) return { error: `json: cannot unmarshal ${KIND_NAME[kind]!} into Go struct field jsonrpcRequest.jsonrpc of type string` };
      if (kind === STRING && isVersion20(body, vs, ve)) continue;
      const v = kind === NULL ? '' : decodeString(body, vs, ve);
      if (v !== '2.0') return { error: `invalid RPC version ${v}` };
    } else if (name === 'method') {
      if (kind === STRING) request.method = decodeString(body, vs, ve);
      else if (kind !== NULL) saved ??= `json: cannot unmarshal ${KIND_NAME[kind]!} into Go struct field jsonrpcRequest.method of type string`;
    } else if (name === 'params') {
      request.params = kind === NULL ? undefined : body.subarray(vs, ve);
    } else if (kind === NULL) {
      request.id = undefined;
    } else if (kind === NUMBER) {
      const n = int64Text(body.toString('latin1', vs, ve));
      if (n === undefined) return { error: 'json: cannot unmarshal number into Go struct field jsonrpcRequest.id of type string' };
      request.id = { number: n };
    } else if (kind === STRING) {
      const s = decodeString(body, vs, ve);
      request.id = s === '' ? { number: '0' } : { name: s };
    } else {
      // Go 1.2x adds the field to the type error ID.UnmarshalJSON returns.
      return { error: `json: cannot unmarshal ${KIND_NAME[kind]!} into Go struct field jsonrpcRequest.id of type string` };
    }
  }
  if (saved !== undefined) return { error: saved };
  return { request };
}

/** Go `json.Marshal` of a string: HTML-safe (`<`, `>`, `&` as `\u003c`...), U+2028/2029 escaped. */
export function marshalString(s: string): string {
  return JSON.stringify(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Go `json.Marshal` of a `json.RawMessage`: compacted (whitespace outside strings removed) and
 * HTML-escaped, as its UTF-8 bytes in a Latin-1 string; Go's syntax error if the bytes are not
 * valid JSON (Go's Marshal fails then).
 */
export function marshalRaw(raw: Uint8Array): string | { error: string } {
  const b = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const sc = new Scanner(b, false);
  try {
    sc.value(0);
    sc.ws();
    if (sc.i < b.length) sc.fail('after top-level value');
  } catch (err) {
    if (err instanceof SyntaxErr) return { error: err.message };
    throw err;
  }
  // Nothing to compact or escape (no white space, '<', '>', '&', nor the lead byte of U+2028/9):
  // the bytes are Go's output as they are. JSON.stringify's output is usually so.
  let plain = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0x3c || c === 0x3e || c === 0x26 || c === 0xe2) {
      plain = false;
      break;
    }
  }
  if (plain) return b.toString('latin1');
  const text = b.toString('utf8');
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') {
        out += ch + text[i + 1]!;
        i++;
        continue;
      }
      if (ch === '"') inString = false;
      if (ch === '<' || ch === '>' || ch === '&' || ch === '\u2028' || ch === '\u2029') out += `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;
      else out += ch;
      continue;
    }
    if (ch === '"') inString = true;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') continue;
    out += ch;
  }
  return Buffer.from(out, 'utf8').toString('latin1');
}
