// Header and body helpers shared by the HTTP gateway and JSON-RPC: Go's net/http writes header
// values as raw bytes (CR/LF turned into spaces, ends trimmed) and sniffs a Content-Type.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { utf8Decode, utf8Encode } from '../protocol/text.js';

/** The first value of a request header as raw bytes in a Latin-1 string (Go: `Header.Get`), `''` if absent. */
export function headerGet(req: IncomingMessage, name: string): string {
  const v = req.headersDistinct[name.toLowerCase()];
  return v?.[0] ?? '';
}

/**
 * A Latin-1 header string (one char per byte) decoded as UTF-8, bytes that are not UTF-8 kept as
 * lone surrogates (protocol/text.ts), so that they go back out as the same bytes.
 */
export function latin1ToUtf8(s: string): string {
  const b = Buffer.from(s, 'latin1');
  return utf8Decode(b, 0, b.length);
}

/**
 * A text for a header value as Go writes it: UTF-8 bytes raw (as a Latin-1 string, which Node
 * writes byte for byte when the body is a Buffer), CR and LF as spaces (Go's
 * `headerNewlineToSpace`), leading and trailing spaces and tabs trimmed (`textproto.TrimString`).
 * Other control bytes, which Go writes raw, Node refuses: they become spaces too.
 */
export function headerValue(text: string): string {
  return rawHeaderValue(Buffer.from(utf8Encode(text)).toString('latin1'));
}

/** {@link headerValue} for bytes already in a Latin-1 string. */
export function rawHeaderValue(raw: string): string {
  return raw.replace(/[\r\n]/g, ' ').replace(/^[ \t]+|[ \t]+$/g, '').replace(/[^\t\x20-\x7e\x80-\xff]/g, ' ');
}

/** Go `strconv.Quote` of a byte string given as Latin-1 (valid UTF-8 printable kept, other bytes `\xNN`). */
export function goQuote(latin1: string): string {
  const bytes = Buffer.from(latin1, 'latin1');
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const c = bytes[i]!;
    if (c < 0x80) {
      const named: Record<number, string> = { 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v', 0x22: '\\"', 0x5c: '\\\\' };
      const n = named[c];
      if (n !== undefined) out += n;
      else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
      else out += String.fromCharCode(c);
      i++;
      continue;
    }
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
    const chunk = bytes.subarray(i, i + len);
    const s = chunk.toString('utf8');
    if (len > 1 && chunk.length === len && !s.includes('\ufffd') && Buffer.from(s, 'utf8').equals(chunk)) {
      out += s;
      i += len;
    } else {
      out += `\\x${c.toString(16).padStart(2, '0')}`;
      i++;
    }
  }
  return `${out}"`;
}

/**
 * Go `http.DetectContentType`, reduced to what rpcx replies hold: text (`text/plain;
 * charset=utf-8`) unless a byte Go counts as binary occurs, then `application/octet-stream`.
 * Go's signatures for HTML, XML, PDF, images and archives are not checked.
 */
export function sniffContentType(body: Uint8Array): string {
  const n = Math.min(body.length, 512);
  for (let i = 0; i < n; i++) {
    const b = body[i]!;
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}

/** Ends a response with a Buffer body (so Node writes Latin-1 header values byte for byte). */
export function endWith(res: ServerResponse, body: Uint8Array, contentType = true): void {
  if (contentType && body.length > 0 && !res.hasHeader('Content-Type')) res.setHeader('Content-Type', sniffContentType(body));
  res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

/** Go `http.Error(w, text, code)`: the text plus `\n`, plain text, `nosniff`. */
export function httpError(res: ServerResponse, text: string, code: number): void {
  res.removeHeader('Content-Length');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.statusCode = code;
  endWith(res, Buffer.from(utf8Encode(`${text}\n`)));
}

/** Reads a request body up to `limit` bytes; `undefined` if it was longer (the socket is then destroyed). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (c: Buffer) => {
      if (done) return;
      size += c.length;
      if (size > limit) {
        done = true;
        req.socket.destroy();
        resolve(undefined);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(Buffer.concat(chunks));
    });
    req.on('error', () => {
      if (done) return;
      done = true;
      resolve(undefined);
    });
    req.on('close', () => {
      if (done) return;
      done = true;
      resolve(undefined);
    });
  });
}
