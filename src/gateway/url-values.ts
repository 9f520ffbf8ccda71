// Go's net/url `ParseQuery` and `Values.Encode`, byte for byte: the gateway's `X-RPCX-Meta`
// header is read with the first and written with the second (rpcx server/converter.go,
// server/gateway.go). URLSearchParams differs: it never fails, and it encodes `*`, `~` and
// spaces differently.
import { Buffer } from 'node:buffer';
import { utf8Decode, utf8Encode } from '../protocol/text.js';

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function hexVal(c: number): number {
  if (c <= 0x39) return c - 0x30;
  if (c <= 0x46) return c - 0x41 + 10;
  return c - 0x61 + 10;
}

/** Go `url.QueryUnescape` on bytes: `+` is a space; a bad `%` escape gives Go's error text. */
function queryUnescape(s: Buffer): { value: string } | { error: string } {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === 0x25) {
      if (i + 2 >= s.length || !isHex(s[i + 1]!) || !isHex(s[i + 2]!)) {
        const bad = s.subarray(i, Math.min(s.length, i + 3)).toString('latin1');
        return { error: `invalid URL escape ${goQuote(bad)}` };
      }
      out.push(hexVal(s[i + 1]!) * 16 + hexVal(s[i + 2]!));
      i += 2;
    } else if (c === 0x2b) {
      out.push(0x20);
    } else {
      out.push(c);
    }
  }
  const b = Buffer.from(out);
  return { value: utf8Decode(b, 0, b.length) };
}

/** Go `strconv.Quote` for the ASCII/Latin-1 text of an escape error (enough for `%zz`). */
function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return `${out}"`;
}

/**
 * Go `url.ParseQuery(query)` keeping the first value per key, as rpcx does. `query` is the raw
 * header bytes. Go goes on after an error and returns the first one; `values` has every pair
 * that parsed (JSON-RPC uses them, the gateway refuses the request).
 */
export function parseQuery(query: Buffer): { values: Map<string, string>; error: string | undefined } {
  const values = new Map<string, string>();
  let error: string | undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf(0x26, start);
    if (end < 0) end = query.length;
    const part = query.subarray(start, end);
    start = end + 1;
    if (part.length === 0) {
      if (end >= query.length) break;
      continue;
    }
    if (part.includes(0x3b)) {
      error ??= 'invalid semicolon separator in query';
      continue;
    }
    const eq = part.indexOf(0x3d);
    const k = queryUnescape(eq < 0 ? part : part.subarray(0, eq));
    if ('error' in k) {
      error ??= k.error;
      continue;
    }
    const v = queryUnescape(eq < 0 ? Buffer.alloc(0) : part.subarray(eq + 1));
    if ('error' in v) {
      error ??= v.error;
      continue;
    }
    if (!values.has(k.value)) values.set(k.value, v.value);
  }
  return { values, error };
}

/** Go `url.QueryEscape`: unreserved `A-Z a-z 0-9 - _ . ~` raw, space `+`, everything else `%XX`. */
function queryEscape(s: string): string {
  const bytes = utf8Encode(s);
  let out = '';
  for (const c of bytes) {
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f || c === 0x2e || c === 0x7e) {
      out += String.fromCharCode(c);
    } else if (c === 0x20) {
      out += '+';
    } else {
      out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  return out;
}

/** Go `url.Values.Encode` of one value per key: keys sorted bytewise, `k=v` joined by `&`. */
export function encodeValues(values: ReadonlyMap<string, string>): string {
  const keys = [...values.keys()].sort((a, b) => Buffer.compare(utf8Encode(a), utf8Encode(b)));
  return keys.map((k) => `${queryEscape(k)}=${queryEscape(values.get(k)!)}`).join('&');
}
