// Header and body helpers shared by the HTTP gateway and JSON-RPC: Go's net/http writes header
// values as raw bytes (CR/LF turned into spaces, ends trimmed) and sniffs a Content-Type.
import { Buffer } from 'node:buffer';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { utf8Decode, utf8Encode } from '../protocol/text.js';

/**
 * What the gateway reads request headers from: Node's `headers` (built by Node for every request
 * anyway, as its server looks at `Host` and `Expect`) and `rawHeaders`, for the rare header Node
 * joined from duplicates.
 */
export type RequestHeaders = Pick<IncomingMessage, 'headers' | 'rawHeaders'>;

/** The {@link RequestHeaders} of a request (the request itself: nothing is copied). */
export function requestHeaders(req: IncomingMessage): RequestHeaders {
  return req;
}

/**
 * The first value of a request header as raw bytes in a Latin-1 string (Go: `Header.Get`), `''`
 * if absent; `lowerName` in lower case. Node keeps the first of duplicate `Authorization`,
 * `Content-Type`... headers but joins duplicate `X-*` ones with `, `: a value with `, ` in it is
 * looked up again in `rawHeaders` for its first occurrence.
 */
export function headerGet(h: RequestHeaders, lowerName: string): string {
  const v = h.headers[lowerName];
  if (v === undefined) return '';
  if (typeof v === 'string' && !v.includes(', ')) return v;
  const raw = h.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const k = raw[i]!;
    if (k.length === lowerName.length && k.toLowerCase() === lowerName) return raw[i + 1]!;
  }
  return '';
}

/** Whether a string holds only ASCII (then its Latin-1 and UTF-8 bytes are the same). */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * A Latin-1 header string (one char per byte) decoded as UTF-8, bytes that are not UTF-8 kept as
 * lone surrogates (protocol/text.ts), so that they go back out as the same bytes.
 */
export function latin1ToUtf8(s: string): string {
  if (isAscii(s)) return s;
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

/** A value {@link rawHeaderValue} leaves as it is: no CR, LF or other control byte, no space or tab at either end. */
const SAFE_HEADER_VALUE = /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/;

/** {@link headerValue} for bytes already in a Latin-1 string. */
export function rawHeaderValue(raw: string): string {
  if (SAFE_HEADER_VALUE.test(raw)) return raw;
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

/** {@link sniffContentType} of the bytes of a Latin-1 string. */
function sniffContentTypeLatin1(body: string): string {
  const n = Math.min(body.length, 512);
  for (let i = 0; i < n; i++) {
    const b = body.charCodeAt(i);
    if (b <= 0x08 || b === 0x0b || (b >= 0x0e && b <= 0x1a) || (b >= 0x1c && b <= 0x1f)) return 'application/octet-stream';
  }
  return 'text/plain; charset=utf-8';
}

/**
 * Bodies up to this size go out as a Latin-1 string: Node then joins the response head and the
 * body into one string chunk (a Buffer body is a chunk of its own next to the head). The bytes
 * on the wire are the same either way.
 */
const STRING_BODY_MAX = 16 * 1024;

/**
 * Ends a response with a body, the status and headers set on `res` so far (header values, Latin-1
 * strings, are written byte for byte); {@link endWithHead} with no further headers.
 */
export function endWith(res: ServerResponse, body: Uint8Array, contentType = true): void {
  endWithHead(res, res.statusCode, [], body, contentType);
}

/**
 * Response headers collected as a flat `[name, value, ...]` list for one `writeHead` (the hot
 * paths of the gateway and JSON-RPC: no `setHeader` per header). Values are Latin-1 strings.
 */
export type Head = string[];

/** Sets `head` on `res` one by one (before an answer that goes through `setHeader`, as `httpError`). */
export function applyHead(res: ServerResponse, head: Head): void {
  for (let i = 0; i + 1 < head.length; i += 2) res.setHeader(head[i]!, head[i + 1]!);
}

/**
 * Ends a response with `status`, the headers of `head` and a body (the answer {@link endWith}
 * gives, in one `writeHead`): a sniffed Content-Type for a non-empty body (unless one is set),
 * and the Content-Length.
 */
export function endWithHead(res: ServerResponse, status: number, head: Head, body: Uint8Array | string, contentType = true): void {
  const length = body.length;
  if (contentType && length > 0 && !res.hasHeader('Content-Type')) {
    head.push('Content-Type', typeof body === 'string' ? sniffContentTypeLatin1(body) : sniffContentType(body));
  }
  head.push('Content-Length', String(length));
  res.writeHead(status, head);
  if (typeof body === 'string') {
    res.end(body, 'latin1');
    return;
  }
  const b = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (length > 0 && length <= STRING_BODY_MAX) res.end(b.toString('latin1'), 'latin1');
  else res.end(b);
}

/** Go `http.Error(w, text, code)`: the text plus `\n`, plain text, `nosniff`. */
export function httpError(res: ServerResponse, text: string, code: number): void {
  res.removeHeader('Content-Length');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.statusCode = code;
  endWith(res, Buffer.from(utf8Encode(`${text}\n`)));
}

/**
 * Reads a request body up to `limit` bytes and hands it to `done`. Longer: the socket is
 * destroyed and `done` is never called; nor is it when the request is aborted.
 *
 * Node emits the request when its head is parsed; a small body sent with the head is parsed in
 * the same pass. So the body is first looked for on the next tick: if the request is complete
 * by then, it is taken with one `read()` (no `'data'`/`'end'` listeners, no flowing mode); else
 * it is collected as it comes.
 */
export function readBody(req: IncomingMessage, limit: number, done: (body: Buffer) => void): void {
  process.nextTick(readBodyNT, req, limit, done);
}

function readBodyNT(req: IncomingMessage, limit: number, done: (body: Buffer) => void): void {
  if (req.complete && !req.destroyed) {
    const n = req.readableLength;
    if (n > limit) {
      req.socket.destroy();
      return;
    }
    const b = n === 0 ? null : (req.read() as Buffer | null);
    done(b ?? EMPTY_BODY);
    return;
  }
  let first: Buffer | undefined;
  let chunks: Buffer[] | undefined;
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > limit) {
      if (size - c.length <= limit) req.socket.destroy();
      return;
    }
    if (first === undefined) first = c;
    else (chunks ??= [first]).push(c);
  });
  req.on('end', () => {
    if (size > limit) return;
    done(chunks !== undefined ? Buffer.concat(chunks, size) : (first ?? EMPTY_BODY));
  });
}

const EMPTY_BODY = Buffer.alloc(0);
