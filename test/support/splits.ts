import type { Message } from '../../src/protocol/index.js';
import { FrameDecoder, type DecodeOptions } from '../../src/protocol/index.js';

/** A tiny deterministic PRNG (mulberry32) so split tests are reproducible from a seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Copies `bytes` into a larger buffer at a non-zero offset and returns the view. */
export function offsetView(bytes: Uint8Array, offset = 7): Uint8Array {
  const big = new Uint8Array(bytes.length + offset + 5).fill(0xee);
  big.set(bytes, offset);
  return big.subarray(offset, offset + bytes.length);
}

/** Splits `bytes` into chunks at random points (each chunk a view with a non-zero byteOffset when possible). */
export function randomSplit(bytes: Uint8Array, rnd: () => number, maxChunk = 64): Uint8Array[] {
  const out: Uint8Array[] = [];
  let p = 0;
  while (p < bytes.length) {
    const n = 1 + Math.floor(rnd() * Math.min(maxChunk, bytes.length - p));
    out.push(offsetView(bytes.subarray(p, p + n), 1 + Math.floor(rnd() * 5)));
    p += n;
  }
  return out;
}

/** The ways every frame is fed to a decoder (STYLE.md 10). */
export function feedings(frame: Uint8Array, seed: number): Array<[string, Uint8Array[]]> {
  const rnd = prng(seed);
  const bytes: Uint8Array[] = [];
  if (frame.length <= 4096) for (let i = 0; i < frame.length; i++) bytes.push(frame.subarray(i, i + 1));
  const out: Array<[string, Uint8Array[]]> = [
    ['whole', [frame]],
    ['offset view', [offsetView(frame)]],
    ['random splits', randomSplit(frame, rnd)],
    ['random large splits', randomSplit(frame, rnd, 4096)],
  ];
  if (bytes.length > 0) out.push(['one byte at a time', bytes]);
  return out;
}

/** Feeds chunks through write/read and returns every message. */
export function decodeAll(chunks: Uint8Array[], options: DecodeOptions = {}): Message[] {
  const d = new FrameDecoder(options);
  const out: Message[] = [];
  for (const c of chunks) {
    d.write(c);
    for (let m = d.read(); m !== undefined; m = d.read()) out.push(m);
  }
  if (d.bufferedBytes !== 0) throw new Error(`decoder holds ${d.bufferedBytes} bytes after the last frame`);
  return out;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
