/**
 * `rpcx decode [HEX...]`: reads rpcx frames (hex arguments, a binary `--file`, or stdin as hex
 * text or raw bytes) and prints each as one JSON object naming every field, with a `layout` of
 * each field's offset and length; payloads are decoded by their serialize type. A bad frame
 * exits 1 with an error that names the field and the offset in the input.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ErrorCode, RpcxError } from '../errors.js';
import { decodeMessage } from '../node/protocol.js';
import { defaultCompressors } from '../node/gzip.js';
import { defaultCodecRegistry } from '../codec/defaults.js';
import { loadProtoSchemas } from '../codec/protobuf.js';
import type { CodecOptions } from '../codec/types.js';
import { CompressType, MessageType, PREFIX_LENGTH, SerializeType } from '../protocol/constants.js';
import { colours, readStdin, toJsonLenient, UsageError, Exit } from './common.js';

export const DECODE_USAGE = `usage: rpcx decode [HEX...] [options]

Decodes rpcx frames and prints each as one JSON line on stdout: every header field (magic,
version, messageType, heartbeat, oneway, compressType, messageStatusType, serializeType, seq,
totalLength), servicePath, serviceMethod, metadata, the payload decoded by its serialize type
(json and msgpack as values; raw, protobuf without --type and thrift as base64), and "layout":
each field's offset and length in the input. Input: the HEX arguments (several frames may follow
one another), else --file, else stdin (hex text or raw bytes). A bad frame exits 1 naming the
field and the offset.

options:
  --file FILE              read binary frames from FILE
  --proto FILE --type pkg.Msg   decode protobuf payloads as this message
  -h, --help               this text
`;

const NAMES = {
  messageType: { 0: 'Request', 1: 'Response' } as Record<number, string>,
  messageStatusType: { 0: 'Normal', 1: 'Error' } as Record<number, string>,
  compressType: { 0: 'None', 1: 'Gzip' } as Record<number, string>,
  serializeType: { 0: 'SerializeNone', 1: 'JSON', 2: 'ProtoBuffer', 3: 'MsgPack', 4: 'Thrift' } as Record<number, string>,
};

/** Hex text to bytes: whitespace and a leading 0x ignored; `INVALID_ARGUMENT` naming the position of a bad character. */
export function hexBytes(text: string, what: string): Uint8Array {
  const clean = text.replace(/^0x/i, '').replace(/\s+/g, '');
  const bad = /[^0-9a-f]/i.exec(clean);
  if (bad !== null) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${what} is not hex: ${JSON.stringify(bad[0])} at hex digit ${bad.index}`, { field: 'input', offset: bad.index >> 1 });
  if (clean.length % 2 !== 0) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `${what} has an odd number of hex digits (${clean.length})`, { field: 'input', offset: clean.length >> 1 });
  return Buffer.from(clean, 'hex');
}

interface LayoutEntry {
  field: string;
  offset: number;
  length: number;
  hex?: string;
}

const u32 = (b: Uint8Array, p: number): number => ((b[p]! << 24) >>> 0) + (b[p + 1]! << 16) + (b[p + 2]! << 8) + b[p + 3]!;

function hexOf(b: Uint8Array, start: number, end: number): string | undefined {
  return end - start <= 64 ? Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('hex') : undefined;
}

/** The layout of a frame already known to be well formed (decodeMessage accepted it). */
function layoutOf(frame: Uint8Array, base: number): LayoutEntry[] {
  const out: LayoutEntry[] = [];
  const add = (field: string, start: number, length: number): void => {
    const hex = hexOf(frame, start, start + length);
    out.push({ field, offset: base + start, length, ...(hex !== undefined ? { hex } : {}) });
  };
  add('magic', 0, 1);
  add('version', 1, 1);
  add('flags (messageType, heartbeat, oneway, compressType, messageStatusType)', 2, 1);
  add('serializeType (high nibble)', 3, 1);
  add('seq', 4, 8);
  add('totalLength', 12, 4);
  let p = PREFIX_LENGTH;
  for (const name of ['servicePath', 'serviceMethod', 'metadata']) {
    const l = u32(frame, p);
    add(`${name}Length`, p, 4);
    add(name, p + 4, l);
    p += 4 + l;
  }
  add('payloadLength', p, 4);
  add('payload', p + 4, frame.length - p - 4);
  return out;
}

function decodePayload(serializeType: number, payload: Uint8Array, protoType: CodecOptions | undefined): { payload: unknown; payloadError?: string } {
  if (payload.length === 0 || serializeType === SerializeType.SerializeNone || serializeType === SerializeType.Thrift) return { payload };
  if (serializeType === SerializeType.ProtoBuffer && protoType === undefined) return { payload };
  try {
    return { payload: defaultCodecRegistry().get(serializeType).decode(payload, protoType) };
  } catch (err) {
    return { payload, payloadError: err instanceof Error ? err.message : String(err) };
  }
}

/** Decodes the frames of `input` one after another, calling `out` with each; throws at the first bad one. */
export function decodeFrames(input: Uint8Array, out: (frame: Record<string, unknown>) => void, protoType?: CodecOptions): number {
  let off = 0;
  let n = 0;
  for (; off < input.length; n++) {
    const left = input.length - off;
    if (left < PREFIX_LENGTH) {
      throw new RpcxError(ErrorCode.PROTOCOL, `truncated frame: ${left} bytes left, the header and totalLength need ${PREFIX_LENGTH} (field header, offset ${input.length})`, { field: 'header', offset: input.length });
    }
    const totalLength = u32(input, off + 12);
    if (input[off] === 0x08 && left < PREFIX_LENGTH + totalLength) {
      throw new RpcxError(ErrorCode.PROTOCOL, `truncated frame: totalLength ${totalLength} needs ${PREFIX_LENGTH + totalLength} bytes, ${left} left (field totalLength, offset ${off + 12})`, {
        field: 'totalLength',
        offset: off + 12,
      });
    }
    const frame = input.subarray(off, off + PREFIX_LENGTH + totalLength);
    const msg = decodeMessage(frame, { compressors: defaultCompressors, maxMessageLength: 0 }, off);
    const layout = layoutOf(frame, off);
    const wirePayload = layout[layout.length - 1]!.length;
    const decoded = decodePayload(msg.serializeType, msg.payload, protoType);
    out({
      frame: n,
      offset: off,
      length: frame.length,
      magic: frame[0],
      version: msg.version,
      messageType: msg.messageType,
      messageTypeName: msg.messageType === MessageType.Response ? 'Response' : 'Request',
      heartbeat: msg.heartbeat,
      oneway: msg.oneway,
      compressType: msg.compressType,
      compressTypeName: NAMES.compressType[msg.compressType] ?? `unknown(${msg.compressType})`,
      messageStatusType: msg.messageStatusType,
      messageStatusTypeName: NAMES.messageStatusType[msg.messageStatusType] ?? `unknown(${msg.messageStatusType})`,
      serializeType: msg.serializeType,
      serializeTypeName: NAMES.serializeType[msg.serializeType] ?? `unknown(${msg.serializeType})`,
      seq: msg.seq,
      totalLength,
      servicePath: msg.servicePath,
      serviceMethod: msg.serviceMethod,
      metadata: Object.fromEntries(msg.metadata),
      payloadLength: msg.payload.length,
      wirePayloadLength: wirePayload,
      ...(msg.compressType !== CompressType.None ? { compressed: true } : {}),
      ...decoded,
      layout,
    });
    off += frame.length;
  }
  return n;
}

export async function decode(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      file: { type: 'string' },
      proto: { type: 'string', multiple: true },
      type: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(DECODE_USAGE);
    return Exit.OK;
  }
  if (values.file !== undefined && positionals.length > 0) throw new UsageError('give HEX arguments or --file, not both', DECODE_USAGE);
  if ((values.proto === undefined) !== (values.type === undefined)) throw new UsageError('--proto and --type go together', DECODE_USAGE);
  let protoType: CodecOptions | undefined;
  if (values.proto !== undefined && values.type !== undefined) {
    const root = await loadProtoSchemas(values.proto);
    try {
      protoType = { type: root.lookupType(values.type) };
    } catch {
      throw new UsageError(`--type ${values.type}: no such message in ${values.proto.join(', ')}`, DECODE_USAGE);
    }
  }
  let input: Uint8Array;
  if (positionals.length > 0) input = hexBytes(positionals.join(''), 'the argument');
  else if (values.file !== undefined) input = readFileSync(values.file);
  else {
    if (process.stdin.isTTY === true) throw new UsageError('no input: give HEX, --file FILE, or pipe frames on stdin', DECODE_USAGE);
    const raw = await readStdin();
    // Hex text if it is only hex digits and whitespace, else the bytes themselves.
    const text = raw.toString('latin1');
    input = /^\s*(0x)?[0-9a-fA-F\s]*$/.test(text) && raw.length > 0 && raw[0] !== 0x08 ? hexBytes(text, 'stdin') : raw;
  }
  if (input.length === 0) throw new UsageError('no input: empty', DECODE_USAGE);
  const c = colours(process.stderr);
  let printed = 0;
  try {
    decodeFrames(input, (f) => {
      process.stdout.write(`${toJsonLenient(f)}\n`);
      printed++;
    }, protoType);
  } catch (err) {
    if (err instanceof RpcxError) {
      process.stderr.write(`${c.red('rpcx: bad frame')} ${printed}: ${err.message}\n`);
      return Exit.FAILED;
    }
    throw err;
  }
  return Exit.OK;
}
