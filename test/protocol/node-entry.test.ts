// The Node entry (`rpcx`, src/index.ts) decodes and encodes gzip with no setup, as Go's
// `protocol.Decode`/`Encode` do (Go's `protocol.Compressors` registers Gzip by default); the
// portable `rpcx/protocol` entry keeps its explicit compressor table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as root from '../../src/index.js';
import * as portable from '../../src/protocol/index.js';
import { loadVectors } from '../support/vectors.js';
import { describe as describeMsg } from '../support/describe.js';
import { rejectsWith } from '../support/tg.js';

const gzipVectors = loadVectors().filter((v) => v.fields.compressType === portable.CompressType.Gzip);
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('the rpcx entry knows gzip, as Go does by default', () => {
  it('has gzip frames among the golden vectors (some with a non-empty payload)', () => {
    assert.ok(gzipVectors.length >= 2, `${gzipVectors.length} gzip vectors`);
    assert.ok(gzipVectors.some((v) => v.fields.payloadLength > 0));
  });

  for (const v of gzipVectors) {
    it(`decodeMessage and FrameDecoder from rpcx, no options: ${v.name}`, () => {
      const frame = Buffer.from(v.hex, 'hex');
      const msg = root.decodeMessage(frame);
      assert.deepEqual(describeMsg(msg, frame), v.fields, "fields as Go's Decode gives them");
      assert.equal(sha256(msg.payload), v.fields.payloadSha256);
      const fd = new root.FrameDecoder();
      const msgs = fd.push(frame);
      assert.equal(msgs.length, 1);
      assert.deepEqual(describeMsg(msgs[0]!, frame), v.fields);
      assert.ok(fd instanceof portable.FrameDecoder, 'the same class family as rpcx/protocol');
    });
  }

  it('encodeMessage from rpcx gzips a Gzip message, as Go\'s Encode does', () => {
    const payload = new TextEncoder().encode('x'.repeat(4096));
    const msg = portable.createMessage({ servicePath: 'S', serviceMethod: 'M', compressType: portable.CompressType.Gzip, payload, seq: 3n });
    const frame = root.encodeMessage(msg);
    assert.equal((frame[2]! >> 2) & 0x7, portable.CompressType.Gzip, 'the gzip bit is set');
    assert.ok(frame.length < payload.length, 'the payload went out compressed');
    assert.deepEqual(Buffer.from(root.decodeMessage(frame).payload), Buffer.from(payload));
    // The portable encoder with no table sends it as None, as Go does for an unknown compressor.
    const plain = portable.encodeMessage(msg);
    assert.equal((plain[2]! >> 2) & 0x7, portable.CompressType.None);
  });

  it('an explicit table still wins: an empty one refuses gzip as Go refuses an unregistered compressor', async () => {
    const frame = Buffer.from(gzipVectors[0]!.hex, 'hex');
    await rejectsWith(Promise.resolve().then(() => root.decodeMessage(frame, { compressors: new Map() })), 'PROTOCOL');
    assert.throws(() => new root.FrameDecoder({ compressors: new Map() }).push(frame), /unsupported compressor 1/);
  });

  it('rpcx/protocol keeps its explicit table: gzip needs { compressors: defaultCompressors }', async () => {
    const v = gzipVectors.find((x) => x.fields.payloadLength > 0)!;
    const frame = Buffer.from(v.hex, 'hex');
    await rejectsWith(Promise.resolve().then(() => portable.decodeMessage(frame)), 'PROTOCOL');
    const msg = portable.decodeMessage(frame, { compressors: root.defaultCompressors });
    assert.equal(sha256(msg.payload), v.fields.payloadSha256);
  });
});
