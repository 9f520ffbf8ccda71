import { constants } from 'node:buffer';
import { gunzipSync, gzipSync } from 'node:zlib';
import { RpcxError, ErrorCode } from '../errors.js';
import { CompressType } from '../protocol/constants.js';
import type { Compressor, CompressorTable } from '../protocol/compress.js';

/**
 * Gzip on Node's zlib (Go: `protocol.GzipCompressor`, util/compress.go). Output is a complete gzip
 * stream, also for an empty payload, as Go's is; Go decodes it (byte identity with Go's gzip is not
 * needed). `unzip` stops inflating at `maxLength` bytes (zlib's `maxOutputLength`), so a gzip bomb
 * is refused before its output is allocated. An empty input is an error, as in Go (`EOF`).
 */
export const gzipCompressor: Compressor = {
  zip(data: Uint8Array): Uint8Array {
    return gzipSync(data);
  },
  unzip(data: Uint8Array, maxLength: number): Uint8Array {
    if (data.length === 0) {
      throw new RpcxError(ErrorCode.PROTOCOL, 'bad gzip payload: empty (Go: EOF) (field payload)', { field: 'payload' });
    }
    try {
      return gunzipSync(data, { maxOutputLength: Math.max(1, Math.min(maxLength, constants.MAX_LENGTH)) });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ERR_BUFFER_TOO_LARGE') {
        throw new RpcxError(ErrorCode.LIMIT, `decompressed payload exceeds the maximum of ${maxLength} bytes (field payload)`, {
          field: 'payload',
          cause: err,
        });
      }
      throw new RpcxError(ErrorCode.PROTOCOL, `bad gzip payload: ${(err as Error).message} (field payload)`, { field: 'payload', cause: err });
    }
  },
};

/** The compressors Go registers by default: None (identity) is implicit, Gzip here. */
export const defaultCompressors: CompressorTable = new Map([[CompressType.Gzip, gzipCompressor]]);
