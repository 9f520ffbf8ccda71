// The browser entry's gzip (src/browser/gzip.ts, fflate): interchangeable with Go's/zlib's gzip,
// and bad or oversized input is a typed RpcxError, refused before the output is allocated.
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { browserCompressors, browserGzipCompressor as gz } from '../src/browser/index.js';
import { CompressType, ErrorCode, RpcxError, createMessage, decodeMessage, encodeMessage } from '../src/browser/index.js';

const pattern = (n: number): Uint8Array => new Uint8Array(n).map((_, i) => (i * 31 + (i >> 9)) % 256);
const rpcxCode = (code: ErrorCode) => (e: unknown) => e instanceof RpcxError && e.code === code;

describe('browser gzip (fflate)', () => {
  test('round trips with zlib both ways, empty payloads included', () => {
    for (const n of [0, 1, 1025, 300_000]) {
      const data = pattern(n);
      assert.deepEqual(new Uint8Array(gunzipSync(gz.zip(data))), data, `zlib inflates fflate's gzip (${n} B)`);
      assert.deepEqual(gz.unzip(gzipSync(data), n + 1), data, `fflate inflates zlib's gzip (${n} B)`);
    }
  });

  test('a frame gzipped by the browser entry decodes with the same table, as Go decodes it', () => {
    const payload = pattern(4096);
    const frame = encodeMessage(createMessage({ seq: 7n, servicePath: 'Echo', serviceMethod: 'Bytes', compressType: CompressType.Gzip, payload }), {
      compressors: browserCompressors,
    });
    assert.ok(frame.length < payload.length, 'the payload went compressed');
    const m = decodeMessage(frame, { compressors: browserCompressors });
    assert.equal(m.compressType, CompressType.Gzip);
    assert.deepEqual(new Uint8Array(m.payload), payload);
  });

  test('a gzip bomb is refused with LIMIT before its output is allocated', () => {
    const bomb = gzipSync(Buffer.alloc(256 * 1024 * 1024));
    const before = process.memoryUsage().arrayBuffers;
    assert.throws(() => gz.unzip(bomb, 1024 * 1024), rpcxCode(ErrorCode.LIMIT));
    const grown = process.memoryUsage().arrayBuffers - before;
    assert.ok(grown < 64 * 1024 * 1024, `inflating stopped near the limit (grew ${grown} bytes, the bomb is 256 MiB)`);
    assert.deepEqual(gz.unzip(gzipSync(pattern(1024)), 1024), pattern(1024), 'exactly the limit passes');
    assert.throws(() => gz.unzip(gzipSync(pattern(1025)), 1024), rpcxCode(ErrorCode.LIMIT));
  });

  test('empty, truncated and garbage input are PROTOCOL errors', () => {
    const ok = gzipSync(pattern(10_000));
    assert.throws(() => gz.unzip(new Uint8Array(0), 100), rpcxCode(ErrorCode.PROTOCOL));
    for (const cut of [1, 4, 5, 8, 100]) {
      assert.throws(() => gz.unzip(ok.subarray(0, ok.length - cut), 1e6), rpcxCode(ErrorCode.PROTOCOL), `cut ${cut}`);
    }
    assert.throws(() => gz.unzip(pattern(64), 1e6), rpcxCode(ErrorCode.PROTOCOL));
  });
});
