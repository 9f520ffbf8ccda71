import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CompressType,
  FrameDecoder,
  MessageType,
  createMessage,
  decodeMessage,
  encodeMessage,
  heartbeatReply,
  heartbeatRequest,
  isServerMessage,
  pushMessage,
  readHeartbeatPayload,
  responseFor,
  serverReplyCompressType,
  clientCompressType,
  utf8Decode,
  utf8Encode,
  type Message,
} from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { RpcxError } from '../../src/errors.js';
import { decodeAll, feedings, hex } from '../support/splits.js';

const opts = { compressors: defaultCompressors };

function frameOf(init: Parameters<typeof createMessage>[0]): Buffer {
  return Buffer.from(encodeMessage(createMessage(init), opts));
}

/** Rewrites the u32 at `pos` in a copy of `frame`. */
function patchU32(frame: Uint8Array, pos: number, value: number): Buffer {
  const b = Buffer.from(frame);
  b.writeUInt32BE(value, pos);
  return b;
}

function expectProtocol(fn: () => unknown, code: string, re: RegExp): RpcxError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof RpcxError, `expected RpcxError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, re);
    return err;
  }
  assert.fail('expected an error');
}

describe('encodeMessage / decodeMessage', () => {
  it('reproduces the worked example of rpcx-protocol.md 1.1', () => {
    const f = frameOf({ servicePath: 'Arith', serviceMethod: 'Mul', metadata: { a: 'b' }, serializeType: 1, seq: 1, payload: Buffer.from('{"A":10,"B":20}') });
    assert.equal(
      hex(f),
      '08000010000000000000000100000031' + '000000054172697468' + '000000034d756c' + '0000000a000000016100000001620000000f' + Buffer.from('{"A":10,"B":20}').toString('hex'),
    );
    const m = decodeMessage(f, opts);
    assert.equal(m.servicePath, 'Arith');
    assert.equal(m.seq, 1n);
    assert.deepEqual([...m.metadata], [['a', 'b']]);
  });

  it('builds the response header as Go does: flags copied, compress cleared, metadata and payload dropped', () => {
    const req = createMessage({ version: 3, oneway: true, heartbeat: true, compressType: CompressType.Gzip, messageStatusType: 1, serializeType: 3, seq: 2n ** 64n - 1n, servicePath: 'S', serviceMethod: 'M', metadata: { k: 'v' }, payload: Uint8Array.of(1) });
    const res = responseFor(req);
    assert.equal(res.messageType, MessageType.Response);
    assert.equal(res.compressType, CompressType.None);
    assert.equal(res.version, 3);
    assert.equal(res.oneway, true);
    assert.equal(res.heartbeat, true);
    assert.equal(res.messageStatusType, 1);
    assert.equal(res.seq, 2n ** 64n - 1n);
    assert.equal(res.metadata.size, 0);
    assert.equal(res.payload.length, 0);
  });

  it('encodes a heartbeat as Go does and echoes it with only the response bit changed', () => {
    const hb = encodeMessage(heartbeatRequest(5n, 1_700_000_000_123_456_789n));
    assert.equal(hb[2], 0x40);
    assert.equal(hb[3], 0x30);
    const m = decodeMessage(hb);
    assert.equal(readHeartbeatPayload(m.payload), 1_700_000_000_123_456_789n);
    const reply = encodeMessage(heartbeatReply({ ...m, oneway: true }));
    assert.equal(reply[2], 0xe0);
    assert.equal(hex(reply.subarray(3)), hex(encodeMessage({ ...m, oneway: true }).subarray(3)));
  });

  it('classifies pushes exactly as Go: Request && oneway && !heartbeat', () => {
    const push = pushMessage(1n, 'p', 'm', new Map([['a', 'b']]), Uint8Array.of(9));
    const f = encodeMessage(push);
    assert.equal(f[2], 0x20);
    assert.equal(f[3], 0x00);
    assert.equal(isServerMessage(decodeMessage(f)), true);
    assert.equal(isServerMessage({ ...push, heartbeat: true }), false);
    assert.equal(isServerMessage({ ...push, oneway: false }), false);
    assert.equal(isServerMessage({ ...push, messageType: MessageType.Response }), false);
  });

  it("applies Go's 1024-byte compression rules", () => {
    assert.equal(clientCompressType(CompressType.Gzip, 1024), CompressType.None);
    assert.equal(clientCompressType(CompressType.Gzip, 1025), CompressType.Gzip);
    assert.equal(serverReplyCompressType(CompressType.None, 5000), CompressType.None);
    assert.equal(serverReplyCompressType(CompressType.Gzip, 1024), CompressType.None);
    assert.equal(serverReplyCompressType(CompressType.Gzip, 1025), CompressType.Gzip);
  });

  it('gzips the payload, also an empty one, and sends an unknown compress type as None (as Go)', () => {
    for (const n of [0, 1, 1024, 1025, 100_000]) {
      const payload = Buffer.alloc(n, 'abc');
      const f = frameOf({ compressType: CompressType.Gzip, payload });
      assert.equal((f[2]! & 0x1c) >> 2, 1);
      assert.ok(f.length > 20);
      assert.deepEqual(Buffer.from(decodeMessage(f, opts).payload), payload);
    }
    const f = frameOf({ compressType: 5, payload: Uint8Array.of(1, 2) });
    assert.equal((f[2]! & 0x1c) >> 2, 0);
    assert.deepEqual([...decodeMessage(f).payload], [1, 2]);
  });

  it('ignores the payload length field as Go does: the payload runs to the frame end', () => {
    const f = frameOf({ servicePath: 'a', payload: Uint8Array.of(1, 2, 3) });
    const lenPos = f.length - 3 - 4;
    for (const bogus of [0, 1, 0xffffffff]) {
      assert.deepEqual([...decodeMessage(patchU32(f, lenPos, bogus)).payload], [1, 2, 3]);
    }
  });

  it('carries seq over the whole uint64 range', () => {
    for (const seq of [0n, 1n, 2n ** 32n, 2n ** 53n + 1n, 2n ** 64n - 1n]) {
      assert.equal(decodeMessage(frameOf({ seq })).seq, seq);
    }
    assert.throws(() => frameOf({ seq: 2n ** 64n }), (e: unknown) => e instanceof RpcxError && e.field === 'seq');
    assert.throws(() => frameOf({ seq: -1n }), RpcxError);
  });

  it('keeps metadata last-wins on duplicate keys and __proto__ as a plain key', () => {
    const m = createMessage({ metadata: new Map([['__proto__', 'x'], ['k', '1']]) });
    const f = encodeMessage(m);
    const d = decodeMessage(f);
    assert.equal(d.metadata.get('__proto__'), 'x');
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
    // duplicate key: build a frame with two entries named k
    const one = encodeMessage(createMessage({ metadata: { k: 'first' } }));
    const metaStart = 16 + 4 + 4;
    const block = Buffer.concat([one.subarray(metaStart + 4, metaStart + 4 + 14), Buffer.from('000000016b000000067365636f6e64', 'hex')]);
    const dup = Buffer.concat([one.subarray(0, metaStart), Buffer.from([0, 0, 0, block.length]), block, one.subarray(one.length - 4)]);
    dup.writeUInt32BE(dup.length - 16, 12);
    assert.equal(decodeMessage(dup).metadata.get('k'), 'second');
  });

  it('property: any message round-trips through encode and every feeding of the decoder', () => {
    const bytesStr = fc.uint8Array({ maxLength: 40 }).map((b) => utf8Decode(b, 0, b.length));
    const msg = fc.record({
      version: fc.integer({ min: 0, max: 255 }),
      messageType: fc.constantFrom(0, 1) as fc.Arbitrary<0 | 1>,
      heartbeat: fc.boolean(),
      oneway: fc.boolean(),
      compressType: fc.constantFrom(0, 1),
      messageStatusType: fc.integer({ min: 0, max: 3 }),
      serializeType: fc.integer({ min: 0, max: 15 }),
      seq: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      servicePath: fc.oneof(fc.string({ maxLength: 30 }), bytesStr),
      serviceMethod: fc.oneof(fc.string({ maxLength: 30 }), bytesStr),
      metadata: fc.uniqueArray(fc.tuple(fc.oneof(fc.string({ maxLength: 10 }), bytesStr), fc.oneof(fc.string({ maxLength: 20 }), bytesStr)), { maxLength: 8, selector: (e) => e[0] }).map((e) => new Map(e)),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(msg, fc.integer(), (m: Message, seed) => {
        const f = encodeMessage(m, opts);
        for (const [, chunks] of feedings(f, seed)) {
          const [d] = decodeAll(chunks, opts);
          assert.ok(d);
          const { metadata: dm, payload: dp, ...dh } = d;
          const { metadata: mm, payload: mp, ...mh } = m;
          assert.deepEqual(dh, mh);
          assert.deepEqual([...dm], [...mm]);
          assert.deepEqual(Buffer.from(dp), Buffer.from(mp));
        }
        // re-encoding what was decoded gives the same bytes when no compression is involved
        if (m.compressType === 0) assert.deepEqual(encodeMessage(decodeMessage(f, opts), opts), f);
      }),
      { numRuns: 300 },
    );
  });

  it('property: surrogateescape text is a bijection on byte strings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const s = utf8Decode(b, 0, b.length);
        assert.deepEqual(Buffer.from(utf8Encode(s)), Buffer.from(b));
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) => {
        const b = utf8Encode(s);
        assert.deepEqual(Buffer.from(b), Buffer.from(s, 'utf8'));
        assert.equal(utf8Decode(b, 0, b.length), s);
      }),
    );
  });
});

describe('malformed frames', () => {
  const good = frameOf({ servicePath: 'Arith', serviceMethod: 'Mul', metadata: { key: 'value' }, payload: Uint8Array.of(1, 2, 3) });
  const pathLenPos = 16;
  const methodLenPos = 16 + 4 + 5;
  const metaLenPos = methodLenPos + 4 + 3;

  it('refuses a wrong magic number with Go\'s text and the offset', () => {
    const bad = Buffer.from(good);
    bad[0] = 0x09;
    const e = expectProtocol(() => decodeMessage(bad), 'PROTOCOL', /wrong magic number: 9/);
    assert.equal(e.field, 'magic');
    assert.equal(e.offset, 0);
  });

  it('refuses a frame longer than maxMessageLength from the prefix alone, before buffering the body', () => {
    const d = new FrameDecoder({ maxMessageLength: 1000 });
    const prefix = Buffer.from(good.subarray(0, 16));
    prefix.writeUInt32BE(0xfffffff0, 12);
    d.write(prefix);
    const e = expectProtocol(() => d.read(), 'LIMIT', /message is too long/);
    assert.equal(e.field, 'totalLength');
    assert.equal(e.offset, 12);
    // the decoder is dead afterwards and says so with the same error
    assert.throws(() => d.write(good), (x: unknown) => x === e);
    assert.throws(() => d.read(), (x: unknown) => x === e);
  });

  it('refuses inner lengths that run past the frame, naming the field', () => {
    expectProtocol(() => decodeMessage(patchU32(good, pathLenPos, 1000)), 'PROTOCOL', /servicePath length 1000 runs past/);
    expectProtocol(() => decodeMessage(patchU32(good, methodLenPos, 1000)), 'PROTOCOL', /serviceMethod length 1000/);
    expectProtocol(() => decodeMessage(patchU32(good, metaLenPos, 1000)), 'PROTOCOL', /metadata length 1000/);
    // inconsistent metadata: the block length cuts the value short
    const shorter = patchU32(good, metaLenPos, 10);
    expectProtocol(() => decodeMessage(shorter), 'PROTOCOL', /wrong metadata lines/);
    // key length inside the block too large
    expectProtocol(() => decodeMessage(patchU32(good, metaLenPos + 4, 200)), 'PROTOCOL', /wrong metadata lines/);
  });

  it('refuses a frame whose totalLength is shorter than its fixed fields', () => {
    const tiny = Buffer.from(good.subarray(0, 16 + 6));
    tiny.writeUInt32BE(6, 12);
    expectProtocol(() => decodeMessage(tiny), 'PROTOCOL', /servicePath|serviceMethod/);
    const empty = Buffer.from(good.subarray(0, 16));
    empty.writeUInt32BE(0, 12);
    expectProtocol(() => decodeMessage(empty), 'PROTOCOL', /truncated servicePath length/);
  });

  it('refuses an unknown compressor and bad gzip, including gzip with an empty payload (Go: EOF)', () => {
    const unknown = Buffer.from(good);
    unknown[2] = (unknown[2]! & ~0x1c) | (3 << 2);
    expectProtocol(() => decodeMessage(unknown, opts), 'PROTOCOL', /unsupported compressor 3/);
    const gz = Buffer.from(good);
    gz[2] = gz[2]! | (1 << 2);
    expectProtocol(() => decodeMessage(gz, opts), 'PROTOCOL', /bad gzip/);
    const emptyGz = frameOf({ payload: new Uint8Array(0) });
    emptyGz[2] = emptyGz[2]! | (1 << 2);
    expectProtocol(() => decodeMessage(emptyGz, opts), 'PROTOCOL', /bad gzip payload: empty/);
  });

  it('refuses a gzip bomb at maxDecompressedLength', () => {
    const f = frameOf({ compressType: CompressType.Gzip, payload: Buffer.alloc(8 * 1024 * 1024) });
    assert.ok(f.length < 20_000);
    expectProtocol(() => decodeMessage(f, { ...opts, maxDecompressedLength: 1024 * 1024 }), 'LIMIT', /exceeds the maximum/);
  });

  it('refuses more metadata entries than allowed', () => {
    const meta: Record<string, string> = {};
    for (let i = 0; i < 50; i++) meta[`k${i}`] = '';
    expectProtocol(() => decodeMessage(frameOf({ metadata: meta }), { maxMetadataEntries: 49 }), 'LIMIT', /more than 49 metadata entries/);
    assert.equal(decodeMessage(frameOf({ metadata: meta }), { maxMetadataEntries: 50 }).metadata.size, 50);
  });

  it('returns every good frame before the bad one with write/read', () => {
    const bad = Buffer.from(good);
    bad[0] = 7;
    const d = new FrameDecoder();
    d.write(Buffer.concat([good, good, bad, good]));
    assert.ok(d.read());
    assert.ok(d.read());
    const e = expectProtocol(() => d.read(), 'PROTOCOL', /wrong magic number: 7/);
    assert.equal(e.offset, good.length * 2);
  });

  it('reports a wrong magic byte as soon as it arrives, before the rest of the prefix', () => {
    const d = new FrameDecoder();
    assert.equal(d.push(good).length, 1);
    d.write(Uint8Array.of(0x47));
    expectProtocol(() => d.read(), 'PROTOCOL', /wrong magic number: 71/);
  });
});
