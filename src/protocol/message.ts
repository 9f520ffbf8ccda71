import { Buffer } from 'buffer';
import { RpcxError, ErrorCode } from '../errors.js';
import { CompressType, Flag, HEADER_LENGTH, MAGIC, MessageStatusType, MessageType, PREFIX_LENGTH } from './constants.js';
import type { CompressorTable } from './compress.js';
import { utf8Decode, utf8Length, utf8Write } from './text.js';

/**
 * One rpcx frame (Go: `protocol.Message`): request, response, heartbeat or server push.
 * `seq` covers all of uint64; strings may carry any bytes (see `text.ts`); `payload` is the
 * payload before compression on encode and after decompression on decode.
 */
export interface Message {
  /** Header byte 1. Go writes 0, never checks it, and echoes it in responses. */
  version: number;
  messageType: MessageType;
  heartbeat: boolean;
  oneway: boolean;
  compressType: CompressType;
  messageStatusType: MessageStatusType;
  serializeType: number;
  seq: bigint;
  servicePath: string;
  serviceMethod: string;
  metadata: Map<string, string>;
  payload: Uint8Array;
}

/** Metadata as callers may give it: a `Map` or a plain object of strings. */
export type MetadataInit = ReadonlyMap<string, string> | Readonly<Record<string, string>>;

/** What `createMessage` takes: any subset of the fields, metadata as a Map or plain object. */
export type MessageInit = Partial<Omit<Message, 'metadata' | 'seq'>> & {
  metadata?: MetadataInit;
  seq?: bigint | number;
};

const EMPTY = new Uint8Array(0);
const MAX_U64 = (1n << 64n) - 1n;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);

/** Copies a `MetadataInit` into a fresh `Map` (own enumerable keys of an object only). */
export function toMetadataMap(init: MetadataInit | undefined): Map<string, string> {
  if (init === undefined) return new Map();
  if (init instanceof Map) return new Map(init);
  const m = new Map<string, string>();
  for (const k of Object.keys(init)) {
    const v = (init as Record<string, string>)[k];
    if (typeof v !== 'string') {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `metadata value for ${JSON.stringify(k)} is not a string`, { field: 'metadata' });
    }
    m.set(k, v);
  }
  return m;
}

/** Builds a `Message` with Go's zero values for everything not given (Go: `protocol.NewMessage`). */
export function createMessage(init: MessageInit = {}): Message {
  return {
    version: init.version ?? 0,
    messageType: init.messageType ?? MessageType.Request,
    heartbeat: init.heartbeat ?? false,
    oneway: init.oneway ?? false,
    compressType: init.compressType ?? CompressType.None,
    messageStatusType: init.messageStatusType ?? MessageStatusType.Normal,
    serializeType: init.serializeType ?? 0,
    seq: BigInt(init.seq ?? 0),
    servicePath: init.servicePath ?? '',
    serviceMethod: init.serviceMethod ?? '',
    metadata: toMetadataMap(init.metadata),
    payload: init.payload ?? EMPTY,
  };
}

/**
 * The response header Go builds for a request (Go: `Message.Clone` in server_dispatch.go): version,
 * heartbeat and oneway bits, status, serialize type and seq copied; compress None; response bit
 * set; path and method copied; no metadata; empty payload.
 */
export function responseFor(req: Message): Message {
  return {
    version: req.version,
    messageType: MessageType.Response,
    heartbeat: req.heartbeat,
    oneway: req.oneway,
    compressType: CompressType.None,
    messageStatusType: req.messageStatusType,
    serializeType: req.serializeType,
    seq: req.seq,
    servicePath: req.servicePath,
    serviceMethod: req.serviceMethod,
    metadata: new Map(),
    payload: EMPTY,
  };
}

export interface EncodeOptions {
  /**
   * Compressors by compress type; a compress type missing here is sent as None, as Go's `Encode`
   * does for a type not in `protocol.Compressors`. This portable entry has no default table, so
   * without it nothing is compressed; Go registers gzip by default: for Go's behaviour pass
   * `{ compressors: defaultCompressors }` (exported by `rpcx`), or use `encodeMessage` from
   * `rpcx`, which does.
   */
  compressors?: CompressorTable;
}

/** The header byte 2 for a message. */
function flagsByte(msg: Message, compressType: number): number {
  return (
    ((msg.messageType & 1) << 7) |
    (msg.heartbeat ? Flag.Heartbeat : 0) |
    (msg.oneway ? Flag.Oneway : 0) |
    ((compressType & 0x7) << 2) |
    (msg.messageStatusType & Flag.StatusMask)
  );
}

function checkHeader(msg: Message): void {
  const seq = msg.seq;
  if (typeof seq !== 'bigint' || seq < 0n || seq > MAX_U64) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `seq must be a bigint in [0, 2^64-1], got ${String(seq)}`, { field: 'seq' });
  }
  if (!Number.isInteger(msg.serializeType) || msg.serializeType < 0 || msg.serializeType > 15) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `serializeType must be 0..15, got ${msg.serializeType}`, { field: 'serializeType' });
  }
  if (!Number.isInteger(msg.compressType) || msg.compressType < 0 || msg.compressType > 7) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `compressType must be 0..7, got ${msg.compressType}`, { field: 'compressType' });
  }
  if (!Number.isInteger(msg.version) || msg.version < 0 || msg.version > 255) {
    throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `version must be 0..255, got ${msg.version}`, { field: 'version' });
  }
}

/** Header fields are checked on the slow path only: the common case is three small ints and a small seq. */
function headerIsCommon(msg: Message): boolean {
  const st = msg.serializeType;
  const ct = msg.compressType;
  const v = msg.version;
  return (st & 0x0f) === st && (ct & 0x07) === ct && (v & 0xff) === v && typeof msg.seq === 'bigint';
}

function writeU32(buf: Uint8Array, p: number, v: number): void {
  buf[p] = v >>> 24;
  buf[p + 1] = v >>> 16;
  buf[p + 2] = v >>> 8;
  buf[p + 3] = v;
}

/** Writes a uint64 seq; the bigint arithmetic runs only for seqs beyond 2^53. */
function writeSeq(buf: Uint8Array, p: number, seq: bigint): void {
  let hi: number;
  let lo: number;
  if (seq >= 0n && seq <= MAX_SAFE_BIG) {
    const n = Number(seq);
    hi = Math.floor(n / 4294967296);
    lo = n >>> 0;
  } else {
    hi = Number((seq >> 32n) & 0xffffffffn);
    lo = Number(seq & 0xffffffffn);
  }
  writeU32(buf, p, hi);
  writeU32(buf, p + 4, lo);
}

const SLAB_SIZE = 64 * 1024;
let slab: ArrayBuffer = new ArrayBuffer(0);
let slabOffset = 0;

/**
 * Memory for an encoded frame: small frames are carved out of a 64 KiB slab (Node's own Buffer
 * pool is 8 KiB, which a stream of 600-byte frames churns through every 13 frames), big ones get
 * their own buffer. A frame keeps at most its slab alive, as a pooled Buffer keeps its pool.
 */
function allocFrame(n: number): Uint8Array {
  if (n > SLAB_SIZE / 8) return Buffer.allocUnsafe(n);
  if (slabOffset + n > slab.byteLength) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE).buffer as ArrayBuffer;
    slabOffset = 0;
  }
  const view = new Uint8Array(slab, slabOffset, n);
  slabOffset += (n + 7) & ~7;
  return view;
}

/**
 * Encodes a message to one frame, compressing the payload per its compress type as Go's
 * `Message.Encode` does (protocol/message.go): a compress type with no compressor in the table,
 * or a compressor that fails, is sent as None with the payload as it is. The table is
 * `options.compressors`, empty by default here; `encodeMessage` from `rpcx` (the Node entry)
 * defaults to Go's, with gzip.
 */
export function encodeMessage(msg: Message, options: EncodeOptions = {}): Uint8Array {
  const seq = msg.seq;
  if (!headerIsCommon(msg) || seq < 0n || (seq > MAX_SAFE_BIG && seq > MAX_U64)) checkHeader(msg);
  let compressType = msg.compressType;
  let payload = msg.payload;
  if (compressType !== CompressType.None) {
    const c = options.compressors?.get(compressType);
    if (c === undefined) {
      compressType = CompressType.None; // protocol/message.go: unknown compressor -> None
    } else {
      try {
        payload = c.zip(payload);
      } catch {
        compressType = CompressType.None; // protocol/message.go: Zip error -> None, raw payload
        payload = msg.payload;
      }
    }
  }

  const path = msg.servicePath;
  const method = msg.serviceMethod;
  const metadata = msg.metadata;
  const spL = utf8Length(path);
  const smL = utf8Length(method);
  let metaL = 0;
  if (metadata.size > 0) for (const [k, v] of metadata) metaL += 8 + utf8Length(k) + utf8Length(v);
  const totalL = 16 + spL + smL + metaL + payload.length;
  if (totalL > 0xffffffff) {
    throw new RpcxError(ErrorCode.LIMIT, `message of ${totalL} bytes does not fit the 32-bit length field`, { field: 'totalLength' });
  }

  const buf = allocFrame(PREFIX_LENGTH + totalL);
  buf[0] = MAGIC;
  buf[1] = msg.version;
  buf[2] = flagsByte(msg, compressType);
  buf[3] = msg.serializeType << 4;
  writeSeq(buf, 4, seq);
  writeU32(buf, HEADER_LENGTH, totalL);
  let p = PREFIX_LENGTH;
  writeU32(buf, p, spL);
  p += 4;
  p += utf8Write(path, buf, p);
  writeU32(buf, p, smL);
  p += 4;
  p += utf8Write(method, buf, p);
  writeU32(buf, p, metaL);
  p += 4;
  if (metaL > 0) {
    for (const [k, v] of metadata) {
      const kl = utf8Write(k, buf, p + 4);
      writeU32(buf, p, kl);
      p += 4 + kl;
      const vl = utf8Write(v, buf, p + 4);
      writeU32(buf, p, vl);
      p += 4 + vl;
    }
  }
  writeU32(buf, p, payload.length);
  p += 4;
  if (payload.length > 0) buf.set(payload, p);
  return buf;
}

export interface DecodeOptions {
  /**
   * Compressors by compress type. A compressed frame whose type is missing from the table is a
   * PROTOCOL error (`unsupported compressor <n>`), as Go's `Decode` fails for a type not in
   * `protocol.Compressors`. This portable entry has no default table: without it a gzip frame
   * fails, where Go decodes it with no setup (Go registers gzip by default). For Go's behaviour
   * pass `{ compressors: defaultCompressors }` (exported by `rpcx`), or use `decodeMessage` /
   * `FrameDecoder` from `rpcx`, which default to it.
   */
  compressors?: CompressorTable;
  /** Largest allowed `totalLen` (bytes after the 16-byte prefix); 0 = no limit. Default 64 MiB. */
  maxMessageLength?: number;
  /** Largest payload after decompression. Default 64 MiB. */
  maxDecompressedLength?: number;
  /** Most metadata entries in one frame. Default 65,536. */
  maxMetadataEntries?: number;
}

export const DEFAULT_MAX_MESSAGE_LENGTH = 64 * 1024 * 1024;
export const DEFAULT_MAX_DECOMPRESSED_LENGTH = 64 * 1024 * 1024;
export const DEFAULT_MAX_METADATA_ENTRIES = 65536;

function protocolError(message: string, field: string, offset: number): RpcxError {
  return new RpcxError(ErrorCode.PROTOCOL, `${message} (field ${field}, offset ${offset})`, { field, offset });
}

/** Throws Go's `wrong magic number: <n>` unless `byte` is 0x08. */
export function checkMagic(byte: number, offset: number): void {
  if (byte !== MAGIC) throw protocolError(`wrong magic number: ${byte}`, 'magic', offset);
}

/**
 * Checks the 16-byte prefix at `buf[off..]` and returns `totalLen`. Throws on a bad magic byte
 * (Go: `wrong magic number: <n>`) or a length over the limit (Go: `message is too long`).
 */
export function readPrefix(buf: Uint8Array, off: number, maxMessageLength: number, base = 0): number {
  checkMagic(buf[off]!, base);
  const totalL = ((buf[off + 12]! << 24) >>> 0) + (buf[off + 13]! << 16) + (buf[off + 14]! << 8) + buf[off + 15]!;
  if (maxMessageLength > 0 && totalL > maxMessageLength) {
    throw new RpcxError(ErrorCode.LIMIT, `message is too long: ${totalL} bytes > maxMessageLength ${maxMessageLength} (field totalLength, offset ${base + 12})`, {
      field: 'totalLength',
      offset: base + 12,
    });
  }
  return totalL;
}

function u32(buf: Uint8Array, p: number): number {
  return ((buf[p]! << 24) >>> 0) + (buf[p + 1]! << 16) + (buf[p + 2]! << 8) + buf[p + 3]!;
}

/**
 * Decodes one whole frame (Go: `Message.Decode`). `frame` must hold exactly one frame; the
 * returned payload is a view into `frame` unless it was decompressed. `base` is added to offsets
 * in error messages (the frame's position in a stream). Compressed frames need
 * `options.compressors` here (see {@link DecodeOptions}); `decodeMessage` from `rpcx` (the Node
 * entry) decodes gzip with no options, as Go does.
 */
export function decodeMessage(frame: Uint8Array, options: DecodeOptions = {}, base = 0): Message {
  if (frame.length < PREFIX_LENGTH) {
    throw protocolError(`truncated frame: ${frame.length} bytes, the prefix needs ${PREFIX_LENGTH}`, 'header', base + frame.length);
  }
  const totalL = readPrefix(frame, 0, options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH, base);
  if (frame.length !== PREFIX_LENGTH + totalL) {
    throw protocolError(`frame length ${frame.length} does not match totalLength ${totalL} + ${PREFIX_LENGTH}`, 'totalLength', base + 12);
  }
  return parseBody(frame, 0, options, base);
}

/**
 * Parses the frame at `buf[start..start+16+totalLen)` whose prefix has been checked.
 * Go's `Decode` recovers from the slice panics that inconsistent inner lengths cause and returns
 * a half-filled message with no error (protocol/message.go); we refuse such frames instead, since
 * what Go then dispatches is an accident, not a behaviour a peer can rely on.
 */
export function parseBody(buf: Uint8Array, start: number, options: DecodeOptions, base: number): Message {
  const end = start + PREFIX_LENGTH + u32(buf, start + 12);
  const b2 = buf[start + 2]!;
  let p = start + PREFIX_LENGTH;

  // servicePath
  if (p + 4 > end) throw protocolError('truncated servicePath length', 'servicePath', base + p - start);
  let l = u32(buf, p);
  p += 4;
  if (l > end - p) throw protocolError(`servicePath length ${l} runs past the frame end`, 'servicePath', base + p - 4 - start);
  const servicePath = utf8Decode(buf, p, p + l);
  p += l;

  // serviceMethod
  if (p + 4 > end) throw protocolError('truncated serviceMethod length', 'serviceMethod', base + p - start);
  l = u32(buf, p);
  p += 4;
  if (l > end - p) throw protocolError(`serviceMethod length ${l} runs past the frame end`, 'serviceMethod', base + p - 4 - start);
  const serviceMethod = utf8Decode(buf, p, p + l);
  p += l;

  // metadata
  if (p + 4 > end) throw protocolError('truncated metadata length', 'metadata', base + p - start);
  l = u32(buf, p);
  p += 4;
  if (l > end - p) throw protocolError(`metadata length ${l} runs past the frame end`, 'metadata', base + p - 4 - start);
  const metadata = new Map<string, string>();
  if (l > 0) decodeMetadata(buf, p, p + l, metadata, options.maxMetadataEntries ?? DEFAULT_MAX_METADATA_ENTRIES, base - start);
  p += l;

  // payload: Go reads the length field and ignores it; the payload is the rest of the frame.
  if (p + 4 > end) throw protocolError('truncated payload length', 'payload', base + p - start);
  p += 4; // protocol/message.go: payload length ignored, payload = data[n:]
  // A plain Uint8Array view: cheaper to make than Buffer#subarray, and no copy.
  let payload: Uint8Array = new Uint8Array(buf.buffer, buf.byteOffset + p, end - p);

  const compressType = (b2 & Flag.CompressMask) >> 2;
  if (compressType !== CompressType.None) {
    const c = options.compressors?.get(compressType);
    if (c === undefined) {
      throw protocolError(`unsupported compressor ${compressType}`, 'compressType', base + 2);
    }
    payload = c.unzip(payload, options.maxDecompressedLength ?? DEFAULT_MAX_DECOMPRESSED_LENGTH);
  }

  return {
    version: buf[start + 1]!,
    messageType: ((b2 & Flag.Response) >> 7) as MessageType,
    heartbeat: (b2 & Flag.Heartbeat) !== 0,
    oneway: (b2 & Flag.Oneway) !== 0,
    compressType,
    messageStatusType: b2 & Flag.StatusMask,
    serializeType: buf[start + 3]! >> 4,
    seq: readU64(buf, start + 4),
    servicePath,
    serviceMethod,
    metadata,
    payload,
  };
}

function readU64(buf: Uint8Array, p: number): bigint {
  const hi = u32(buf, p);
  const lo = u32(buf, p + 4);
  if (hi === 0) return BigInt(lo);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * Go's `decodeMetadata` (protocol/message.go): entries until the block is consumed; a key or value
 * that runs past the block is `wrong metadata lines. some keys or values are missing`; duplicate
 * keys: the last wins.
 */
function decodeMetadata(buf: Uint8Array, p: number, end: number, out: Map<string, string>, maxEntries: number, rel: number): void {
  let entries = 0;
  while (p < end) {
    if (entries >= maxEntries) {
      throw new RpcxError(ErrorCode.LIMIT, `more than ${maxEntries} metadata entries (field metadata, offset ${rel + p})`, {
        field: 'metadata',
        offset: rel + p,
      });
    }
    if (p + 4 > end) throw protocolError('wrong metadata lines. some keys or values are missing: truncated key length', 'metadata', rel + p);
    const kl = u32(buf, p);
    p += 4;
    if (kl > end - p || p + kl + 4 > end) {
      throw protocolError('wrong metadata lines. some keys or values are missing: key runs past the block', 'metadata', rel + p - 4);
    }
    const k = utf8Decode(buf, p, p + kl);
    p += kl;
    const vl = u32(buf, p);
    p += 4;
    if (vl > end - p) {
      throw protocolError('wrong metadata lines. some keys or values are missing: value runs past the block', 'metadata', rel + p - 4);
    }
    const v = utf8Decode(buf, p, p + vl);
    p += vl;
    out.set(k, v);
    entries++;
  }
}
