// Gzip for the browser entry (Go: `protocol.GzipCompressor`) on fflate, a small, dependency-free,
// synchronous deflate library: the protocol's `Compressor` interface is synchronous (a frame is
// decoded in one go, as Go's `protocol.Read` does), which the browser's own `CompressionStream`
// is not. `unzip` inflates chunk by chunk and stops past `maxLength`, so a gzip bomb is refused
// before its output is allocated, as the Node entry's zlib compressor does.
import { Gunzip, gzipSync } from 'fflate';
import { ErrorCode, RpcxError } from '../errors.js';
import { CompressType } from '../protocol/constants.js';
import type { Compressor, CompressorTable } from '../protocol/compress.js';

class TooLarge extends Error {}

export const browserGzipCompressor: Compressor = {
  zip(data: Uint8Array): Uint8Array {
    return gzipSync(data);
  },
  unzip(data: Uint8Array, maxLength: number): Uint8Array {
    if (data.length === 0) {
      throw new RpcxError(ErrorCode.PROTOCOL, 'bad gzip payload: empty (Go: EOF) (field payload)', { field: 'payload' });
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    let ended = false;
    const g = new Gunzip((chunk, final) => {
      total += chunk.length;
      if (total > maxLength) throw new TooLarge();
      chunks.push(chunk);
      if (final) ended = true;
    });
    try {
      // fflate inflates a whole push at once, so the input goes in slices small enough that one
      // slice cannot inflate far past what is left of `maxLength` (deflate expands at most 1032:1).
      for (let at = 0; at < data.length; ) {
        const size = Math.min(65_536, Math.max(512, Math.floor((maxLength - total) / 1032)));
        const end = Math.min(data.length, at + size);
        g.push(data.subarray(at, end), end === data.length);
        at = end;
      }
    } catch (err) {
      if (err instanceof TooLarge) {
        throw new RpcxError(ErrorCode.LIMIT, `decompressed payload exceeds the maximum of ${maxLength} bytes (field payload)`, { field: 'payload' });
      }
      throw new RpcxError(ErrorCode.PROTOCOL, `bad gzip payload: ${(err as Error).message} (field payload)`, { field: 'payload', cause: err });
    }
    // A complete gzip member ends with ISIZE (the length mod 2^32); fflate does not check it.
    const n = data.length;
    const isize = n >= 18 ? (data[n - 4]! | (data[n - 3]! << 8) | (data[n - 2]! << 16) | (data[n - 1]! << 24)) >>> 0 : -1;
    if (!ended || isize !== total >>> 0) {
      throw new RpcxError(ErrorCode.PROTOCOL, 'bad gzip payload: unexpected EOF (field payload)', { field: 'payload' });
    }
    if (chunks.length === 1) return chunks[0]!;
    const out = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  },
};

/** Go's default table (Gzip registered) for the browser entry. */
export const browserCompressors: CompressorTable = new Map([[CompressType.Gzip, browserGzipCompressor]]);
