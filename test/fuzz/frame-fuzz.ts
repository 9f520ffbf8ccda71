// Decoder fuzzing shared by the bounded test (in npm test) and the long run (npm run fuzz):
// random and mutated frames are pushed through a FrameDecoder with small limits. Only RpcxError
// may escape, nothing may hang, and what the decoder buffers stays within its limit.
import { FrameDecoder } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { RpcxError } from '../../src/errors.js';
import { prng } from '../support/splits.js';

export interface FuzzStats {
  iterations: number;
  messages: number;
  errors: Map<string, number>;
  maxBuffered: number;
}

const LIMIT = 256 * 1024;

/** One mutation of `seed` (bit flips, byte writes, length-field edits, truncation, splices, noise). */
function mutate(seed: Uint8Array, rnd: () => number, corpus: readonly Uint8Array[]): Uint8Array {
  const b = Buffer.from(seed);
  const pick = Math.floor(rnd() * 8);
  const n = 1 + Math.floor(rnd() * 4);
  switch (pick) {
    case 0:
      for (let i = 0; i < n && b.length > 0; i++) b[Math.floor(rnd() * b.length)]! ^= 1 << Math.floor(rnd() * 8);
      return b;
    case 1:
      for (let i = 0; i < n && b.length > 0; i++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      return b;
    case 2: {
      // rewrite one of the u32 length fields with an interesting value
      const vals = [0, 1, 3, 4, 0x7fffffff, 0xffffffff, b.length, b.length - 16, Math.floor(rnd() * 70000)];
      const positions = [12, 16];
      let off = 16;
      for (let i = 0; i < 3 && off + 4 <= b.length; i++) {
        const l = b.readUInt32BE(off);
        off += 4 + l;
        if (off + 4 <= b.length) positions.push(off);
      }
      const pos = positions[Math.floor(rnd() * positions.length)]!;
      if (pos + 4 <= b.length) b.writeUInt32BE(vals[Math.floor(rnd() * vals.length)]! >>> 0, pos);
      return b;
    }
    case 3:
      return b.subarray(0, Math.floor(rnd() * b.length));
    case 4: {
      const other = corpus[Math.floor(rnd() * corpus.length)]!;
      const cut = Math.floor(rnd() * b.length);
      return Buffer.concat([b.subarray(0, cut), other.subarray(Math.floor(rnd() * other.length))]);
    }
    case 5: {
      // flip the compress bits to gzip or an unknown compressor
      if (b.length > 2) b[2] = (b[2]! & ~0x1c) | (Math.floor(rnd() * 8) << 2);
      return b;
    }
    case 6: {
      const noise = Buffer.alloc(Math.floor(rnd() * 64));
      for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(rnd() * 256);
      if (rnd() < 0.5 && noise.length > 0) noise[0] = 0x08;
      return noise;
    }
    default:
      return b;
  }
}

/** Runs the fuzzer until `iterations` or `ms` is reached. Throws on anything but RpcxError. */
export function fuzzFrames(corpus: readonly Uint8Array[], seed: number, iterations: number, ms: number): FuzzStats {
  const rnd = prng(seed);
  const stats: FuzzStats = { iterations: 0, messages: 0, errors: new Map(), maxBuffered: 0 };
  const deadline = Date.now() + ms;
  const small = corpus.filter((f) => f.length < 70_000);
  while (stats.iterations < iterations && Date.now() < deadline) {
    stats.iterations++;
    const d = new FrameDecoder({ compressors: defaultCompressors, maxMessageLength: LIMIT, maxDecompressedLength: LIMIT, maxMetadataEntries: 1000 });
    // a stream of 1..4 frames, some mutated, cut into random chunks
    const parts: Uint8Array[] = [];
    const count = 1 + Math.floor(rnd() * 4);
    for (let i = 0; i < count; i++) {
      const f = small[Math.floor(rnd() * small.length)]!;
      parts.push(rnd() < 0.7 ? mutate(f, rnd, small) : f);
    }
    const stream = Buffer.concat(parts);
    let p = 0;
    try {
      while (p < stream.length) {
        const n = 1 + Math.floor(rnd() * 300);
        d.write(stream.subarray(p, p + n));
        p += n;
        for (let m = d.read(); m !== undefined; m = d.read()) stats.messages++;
        if (d.bufferedBytes > stats.maxBuffered) stats.maxBuffered = d.bufferedBytes;
        if (d.bufferedBytes > LIMIT + 16 + 300) throw new Error(`decoder buffers ${d.bufferedBytes} bytes, over its limit`);
      }
    } catch (err) {
      if (!(err instanceof RpcxError)) throw err;
      const key = `${err.code} ${err.field ?? ''}`;
      stats.errors.set(key, (stats.errors.get(key) ?? 0) + 1);
      // a dead decoder keeps saying so with the same error
      try {
        d.write(Uint8Array.of(8));
        throw new Error('a dead decoder accepted bytes');
      } catch (again) {
        if (again !== err) throw again;
      }
    }
  }
  return stats;
}
