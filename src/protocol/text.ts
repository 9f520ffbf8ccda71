import { Buffer } from 'buffer';

/**
 * Go strings are byte strings: rpcx never checks that a path, method or metadata entry is UTF-8.
 * To carry any bytes through a JS string without loss we decode invalid UTF-8 the way Python's
 * `surrogateescape` does (PEP 383): every byte that is not part of a valid UTF-8 sequence becomes
 * the lone surrogate U+DC80 + byte, and encoding turns such a lone surrogate back into that byte.
 * Valid UTF-8 never decodes to a lone surrogate, so the mapping is a bijection on byte strings.
 * A lone surrogate outside U+DC80..U+DCFF (which no decode produces) encodes as EF BF BD, as
 * `TextEncoder` does.
 */

const REPLACEMENT = 0xfffd;

/** Number of bytes `str` encodes to. */
export function utf8Length(str: string): number {
  const n = str.length;
  // ASCII fast path for the short strings that dominate (paths, methods, keys).
  if (n < 64) {
    let ascii = true;
    for (let i = 0; i < n; i++) {
      if (str.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (ascii) return n;
  }
  if (isWellFormed(str)) return Buffer.byteLength(str, 'utf8');
  return escapedLength(str);
}

const encoder = new TextEncoder();

/** Writes `str` at `offset` of `buf` and returns the number of bytes written. */
export function utf8Write(str: string, buf: Uint8Array, offset: number): number {
  const n = str.length;
  if (n < 64) {
    let i = 0;
    for (; i < n; i++) {
      const c = str.charCodeAt(i);
      if (c > 0x7f) break;
      buf[offset + i] = c;
    }
    if (i === n) return n;
  }
  if (isWellFormed(str)) return encoder.encodeInto(str, buf.subarray(offset)).written;
  return escapedWrite(str, buf, offset);
}

/** Encodes `str` to bytes (a fresh buffer). */
export function utf8Encode(str: string): Buffer {
  const buf = Buffer.allocUnsafe(utf8Length(str));
  utf8Write(str, buf, 0);
  return buf;
}

/** Decodes `buf[start, end)` losslessly (see the module comment). */
export function utf8Decode(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len <= INTERN_MAX) return internShort(buf, start, end);
  const b = buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  const s = b.toString('utf8', start, end);
  if (s.indexOf('\ufffd') === -1) return s;
  return decodeSlow(buf, start, end);
}

/**
 * Short strings (service paths, methods, metadata keys) repeat on every frame. They are interned
 * in a small direct-mapped table keyed by a hash of their bytes, so decoding one allocates
 * nothing once it has been seen; a slot whose bytes differ is simply replaced.
 */
const INTERN_MAX = 32;
const INTERN_SLOTS = 1024;
const internBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(INTERN_SLOTS);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill('');

function internShort(buf: Uint8Array, start: number, end: number): string {
  let h = end - start;
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c > 0x7f) ascii = false;
    h = Math.imul(h ^ c, 0x01000193);
  }
  const slot = (h ^ (h >>> 15)) & (INTERN_SLOTS - 1);
  const known = internBytes[slot];
  if (known !== undefined && known.length === end - start) {
    let same = true;
    for (let i = 0; i < known.length; i++) {
      if (known[i] !== buf[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return internStrings[slot]!;
  }
  let s: string;
  if (ascii) {
    s = String.fromCharCode.apply(null, buf.subarray(start, end) as unknown as number[]);
  } else {
    const b = buf instanceof Buffer ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
    s = b.toString('utf8', start, end);
    if (s.indexOf('\ufffd') !== -1) s = decodeSlow(buf, start, end);
  }
  const copy = new Uint8Array(end - start); // a copy: the caller's chunk may be reused
  copy.set(buf.subarray(start, end));
  internBytes[slot] = copy;
  internStrings[slot] = s;
  return s;
}

function isWellFormed(str: string): boolean {
  return (str as unknown as { isWellFormed(): boolean }).isWellFormed();
}

function escapedLength(str: string): number {
  let len = 0;
  const n = str.length;
  for (let i = 0; i < n; i++) {
    const c = str.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(str.charCodeAt(i + 1))) {
      len += 4;
      i++;
    } else if (c >= 0xdc80 && c <= 0xdcff) len += 1;
    else len += 3;
  }
  return len;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function escapedWrite(str: string, buf: Uint8Array, offset: number): number {
  let p = offset;
  const n = str.length;
  for (let i = 0; i < n; i++) {
    let c = str.charCodeAt(i);
    if (c < 0x80) {
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLow(str.charCodeAt(i + 1))) {
      const cp = 0x10000 + ((c - 0xd800) << 10) + (str.charCodeAt(i + 1) - 0xdc00);
      i++;
      buf[p++] = 0xf0 | (cp >> 18);
      buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[p++] = 0x80 | (cp & 0x3f);
    } else if (c >= 0xdc80 && c <= 0xdcff) {
      buf[p++] = c - 0xdc00;
    } else {
      if (c >= 0xd800 && c <= 0xdfff) c = REPLACEMENT;
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
    }
  }
  return p - offset;
}

/** A strict UTF-8 decoder (as Go's `utf8.DecodeRune` accepts) with surrogateescape for bad bytes. */
function decodeSlow(buf: Uint8Array, start: number, end: number): string {
  const units: number[] = [];
  let out = '';
  let i = start;
  while (i < end) {
    const b0 = buf[i]!;
    let cp = -1;
    let size = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xc2 && b0 <= 0xdf && i + 1 < end) {
      const b1 = buf[i + 1]!;
      if ((b1 & 0xc0) === 0x80) {
        cp = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
        size = 2;
      }
    } else if (b0 >= 0xe0 && b0 <= 0xef && i + 2 < end) {
      const b1 = buf[i + 1]!;
      const b2 = buf[i + 2]!;
      const lo = b0 === 0xe0 ? 0xa0 : 0x80;
      const hi = b0 === 0xed ? 0x9f : 0xbf;
      if (b1 >= lo && b1 <= hi && (b2 & 0xc0) === 0x80) {
        cp = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
        size = 3;
      }
    } else if (b0 >= 0xf0 && b0 <= 0xf4 && i + 3 < end) {
      const b1 = buf[i + 1]!;
      const b2 = buf[i + 2]!;
      const b3 = buf[i + 3]!;
      const lo = b0 === 0xf0 ? 0x90 : 0x80;
      const hi = b0 === 0xf4 ? 0x8f : 0xbf;
      if (b1 >= lo && b1 <= hi && (b2 & 0xc0) === 0x80 && (b3 & 0xc0) === 0x80) {
        cp = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
        size = 4;
      }
    }
    if (cp < 0) {
      units.push(0xdc00 + b0);
    } else if (cp >= 0x10000) {
      const v = cp - 0x10000;
      units.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
    } else {
      units.push(cp);
    }
    i += size;
    if (units.length > 4096) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return out + String.fromCharCode(...units);
}
