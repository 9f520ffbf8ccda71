import { createHash } from 'node:crypto';
import { utf8Encode, type Message } from '../../src/protocol/index.js';
import type { VectorFields } from './vectors.js';

const hexOf = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** The payload length field as written in `frame` (walks the three length-prefixed parts). */
export function wirePayloadLength(frame: Uint8Array): number {
  const b = Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  let off = 16;
  for (let i = 0; i < 3; i++) off += 4 + b.readUInt32BE(off);
  return b.readUInt32BE(off);
}

/** Describes a decoded message in the `fields` form of interop/VECTORS.md (what Go's Decode yields). */
export function describe(msg: Message, frame: Uint8Array): VectorFields {
  const path = utf8Encode(msg.servicePath);
  const method = utf8Encode(msg.serviceMethod);
  const meta = [...msg.metadata].map(([k, v]) => [hexOf(utf8Encode(k)), hexOf(utf8Encode(v))] as [string, string]);
  meta.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const f: VectorFields = {
    version: msg.version,
    messageType: msg.messageType,
    heartbeat: msg.heartbeat,
    oneway: msg.oneway,
    compressType: msg.compressType,
    messageStatusType: msg.messageStatusType,
    serializeType: msg.serializeType,
    seq: msg.seq.toString(),
    servicePathHex: hexOf(path),
    serviceMethodHex: hexOf(method),
    metadata: meta,
    payloadLength: msg.payload.length,
    payloadSha256: createHash('sha256').update(msg.payload).digest('hex'),
    wirePayloadLength: wirePayloadLength(frame),
  };
  const valid = (b: Uint8Array): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(b);
      return true;
    } catch {
      return false;
    }
  };
  if (valid(path)) f.servicePath = msg.servicePath;
  if (valid(method)) f.serviceMethod = msg.serviceMethod;
  if (msg.payload.length <= 65536) f.payloadHex = hexOf(msg.payload);
  return f;
}
