// The args and reply structs of Go rpcx's stream service and file transfer (rpcx v1.9.4
// share/share.go:61-116), shaped per codec exactly as Go's client and server write them:
// MsgPack ignores the `json` tags (Go field names, case-sensitive, every field present, `Meta`
// nil as `c0`, `FileSize` as int64 `d3`, `Token` as bin), JSON uses the tag names with
// `omitempty` and `Token` in base64. No `node:` imports here.
import { ErrorCode, RpcxError } from '../errors.js';
import { SerializeType } from '../protocol/constants.js';
import { setOwn } from '../codec/gotypes.js';

/** Go: `share.StreamServiceName`. */
export const STREAM_SERVICE_NAME = '_streamservice';
/** Go: `share.SendFileServiceName`. */
export const FILE_TRANSFER_SERVICE_NAME = '_filetransfer';
/** Bytes of a token (Go: 32 `crypto/rand` bytes). */
export const TOKEN_LENGTH = 32;
/** Go's `ErrNotAccept` text, sent when a stream acceptor refuses. */
export const ERR_NOT_ACCEPT = 'server refused the connection';

/** Go `share.StreamServiceArgs`. */
export interface StreamServiceArgs {
  /** Go `Meta` (`map[string]string`; nil arrives as an empty map). */
  meta: Map<string, string>;
}

/** Go `share.FileTransferArgs`: what `SendFile` announces before uploading. */
export interface FileTransferArgs {
  /** Go `FileName`: the base name of the file on the client. */
  fileName: string;
  /** Go `FileSize` (int64): the bytes the client will send. */
  fileSize: number;
  meta: Map<string, string>;
}

/** Go `share.DownloadFileArgs`. */
export interface DownloadFileArgs {
  fileName: string;
  meta: Map<string, string>;
}

/** Go `share.StreamServiceReply` / `share.FileTransferReply`: the one-time token and where to send it. */
export interface TokenReply {
  token: Uint8Array;
  /** `host:port`, `[v6]:port`, or `:port` (the local host). */
  addr: string;
}

function isMsgpack(st: number): boolean {
  return st !== SerializeType.JSON;
}

function metaValue(meta: ReadonlyMap<string, string> | undefined, st: number): unknown {
  if (meta === undefined || meta.size === 0) return isMsgpack(st) ? null : undefined;
  return new Map(meta);
}

/** The args payload value of `_streamservice.Stream` for serialize type `st`. */
export function streamArgsValue(meta: ReadonlyMap<string, string> | undefined, st: number): unknown {
  if (isMsgpack(st)) return { Meta: metaValue(meta, st) };
  const m = metaValue(meta, st);
  return m === undefined ? {} : { meta: m };
}

/** The args payload value of `_filetransfer.TransferFile`. */
export function transferArgsValue(fileName: string, fileSize: number, meta: ReadonlyMap<string, string> | undefined, st: number): unknown {
  if (isMsgpack(st)) return { FileName: fileName, FileSize: BigInt(fileSize), Meta: metaValue(meta, st) };
  const o: Record<string, unknown> = {};
  if (fileName !== '') o['file_name'] = fileName;
  if (fileSize !== 0) o['file_size'] = fileSize;
  const m = metaValue(meta, st);
  if (m !== undefined) o['meta'] = m;
  return o;
}

/** The args payload value of `_filetransfer.DownloadFile`. */
export function downloadArgsValue(fileName: string, meta: ReadonlyMap<string, string> | undefined, st: number): unknown {
  if (isMsgpack(st)) return { FileName: fileName, Meta: metaValue(meta, st) };
  const o: Record<string, unknown> = {};
  if (fileName !== '') o['file_name'] = fileName;
  const m = metaValue(meta, st);
  if (m !== undefined) o['meta'] = m;
  return o;
}

/** The reply payload value for a token, as Go's server encodes it for serialize type `st`. */
export function tokenReplyValue(reply: TokenReply, st: number): unknown {
  if (isMsgpack(st)) return { Token: reply.token, Addr: reply.addr };
  const o: Record<string, unknown> = { token: reply.token };
  if (reply.addr !== '') o['addr'] = reply.addr;
  return o;
}

/**
 * Finds field `goName` (MsgPack: exact Go field name) or `tag` (JSON: the tag name, matched
 * case-insensitively as Go's encoding/json does) in a decoded struct.
 */
function field(obj: unknown, goName: string, tag: string, st: number): unknown {
  if (obj === null || obj === undefined) return undefined;
  if (obj instanceof Map) return obj.get(isMsgpack(st) ? goName : tag);
  if (typeof obj !== 'object') throw new RpcxError(ErrorCode.CODEC, `expected a struct, got ${typeof obj}`);
  const rec = obj as Record<string, unknown>;
  if (isMsgpack(st)) return Object.hasOwn(rec, goName) ? rec[goName] : undefined;
  if (Object.hasOwn(rec, tag)) return rec[tag];
  const lower = tag.toLowerCase();
  for (const k of Object.keys(rec)) if (k.toLowerCase() === lower) return rec[k];
  return undefined;
}

function toMeta(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (v === null || v === undefined) return out;
  if (typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) throw new RpcxError(ErrorCode.CODEC, 'Meta: expected a map[string]string');
  const entries: Iterable<[unknown, unknown]> = v instanceof Map ? v.entries() : Object.entries(v as object);
  for (const [k, val] of entries) {
    if (typeof k !== 'string' || typeof val !== 'string') throw new RpcxError(ErrorCode.CODEC, 'Meta: expected a map[string]string');
    out.set(k, val);
  }
  return out;
}

function toStr(v: unknown, name: string): string {
  if (v === null || v === undefined) return '';
  if (typeof v !== 'string') throw new RpcxError(ErrorCode.CODEC, `${name}: expected a string`);
  return v;
}

function toSize(v: unknown): number {
  if (v === null || v === undefined) return 0;
  const n = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  if (n === undefined) throw new RpcxError(ErrorCode.CODEC, 'FileSize: expected an int64');
  if (n < 0n || n > BigInt(Number.MAX_SAFE_INTEGER)) throw new RpcxError(ErrorCode.LIMIT, `FileSize ${n} is out of range`);
  return Number(n);
}

/** Reads a decoded `StreamServiceArgs`. Throws `RpcxError` `CODEC` on a wrong shape. */
export function readStreamArgs(v: unknown, st: number): StreamServiceArgs {
  return { meta: toMeta(field(v, 'Meta', 'meta', st)) };
}

/** Reads a decoded `FileTransferArgs`. */
export function readTransferArgs(v: unknown, st: number): FileTransferArgs {
  return {
    fileName: toStr(field(v, 'FileName', 'file_name', st), 'FileName'),
    fileSize: toSize(field(v, 'FileSize', 'file_size', st)),
    meta: toMeta(field(v, 'Meta', 'meta', st)),
  };
}

/** Reads a decoded `DownloadFileArgs`. */
export function readDownloadArgs(v: unknown, st: number): DownloadFileArgs {
  return {
    fileName: toStr(field(v, 'FileName', 'file_name', st), 'FileName'),
    meta: toMeta(field(v, 'Meta', 'meta', st)),
  };
}

/** Reads a decoded token reply; the token must be exactly 32 bytes (`PROTOCOL` otherwise). */
export function readTokenReply(v: unknown, st: number): TokenReply {
  const t = field(v, 'Token', 'token', st);
  let token: Uint8Array;
  if (t instanceof Uint8Array) token = t;
  else if (typeof t === 'string' && !isMsgpack(st)) token = base64(t);
  else if (typeof t === 'string') token = new TextEncoder().encode(t); // vmihailenco reads str into []byte too
  else throw new RpcxError(ErrorCode.PROTOCOL, 'stream reply: no Token');
  if (token.length !== TOKEN_LENGTH) throw new RpcxError(ErrorCode.PROTOCOL, `stream reply: token of ${token.length} bytes, want ${TOKEN_LENGTH}`);
  const addr = toStr(field(v, 'Addr', 'addr', st), 'Addr');
  if (addr === '') throw new RpcxError(ErrorCode.PROTOCOL, 'stream reply: empty Addr');
  return { token, addr };
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function base64(s: string): Uint8Array {
  if (s.length % 4 !== 0 || !B64.test(s)) throw new RpcxError(ErrorCode.CODEC, 'Token: illegal base64 data');
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Plain-object form of metadata (for handlers that prefer records); `__proto__` stays an own key. */
export function metaRecord(meta: ReadonlyMap<string, string>): Record<string, string> {
  const o: Record<string, string> = {};
  for (const [k, v] of meta) setOwn(o, k, v);
  return o;
}
