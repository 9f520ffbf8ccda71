import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CompressType, decodeMessage, encodeMessage, type Message } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { loadVectors, type VectorFields } from '../support/vectors.js';
import { describe as describeMsg } from '../support/describe.js';
import { decodeAll, feedings, prng, randomSplit } from '../support/splits.js';
import { goJsonLines, requireGo } from '../support/go.js';

const opts = { compressors: defaultCompressors };
const vectors = loadVectors();
const frames = new Map(vectors.map((v) => [v.name, Buffer.from(v.hex, 'hex')]));

describe('golden vectors from Go rpcx v1.9.4', () => {
  it('has at least 150 vectors, every one a whole frame', () => {
    assert.ok(vectors.length >= 150, `only ${vectors.length} vectors`);
    assert.equal(new Set(vectors.map((v) => v.name)).size, vectors.length, 'vector names are unique');
  });

  describe('decode: every vector, fed whole, as an offset view, one byte at a time and in random splits', () => {
    for (const [i, v] of vectors.entries()) {
      it(v.name, () => {
        const frame = frames.get(v.name)!;
        for (const [how, chunks] of feedings(frame, i + 1)) {
          const msgs = decodeAll(chunks, opts);
          assert.equal(msgs.length, 1, how);
          assert.deepEqual(describeMsg(msgs[0]!, frame), v.fields, `${how}: fields differ from Go's`);
        }
      });
    }
  });

  it('decode: all vectors coalesced into one stream, split at random points', () => {
    const all = Buffer.concat([...frames.values()]);
    for (const seed of [1, 2, 3]) {
      const msgs = decodeAll(randomSplit(all, prng(seed), 8192), opts);
      assert.equal(msgs.length, vectors.length);
      msgs.forEach((m, i) => assert.deepEqual(describeMsg(m, frames.get(vectors[i]!.name)!), vectors[i]!.fields, vectors[i]!.name));
    }
  });

  describe('re-encode: byte-identical to Go unless metadata order or gzip bytes differ', () => {
    for (const v of vectors) {
      it(v.name, () => {
        const frame = frames.get(v.name)!;
        const m = decodeMessage(frame, opts);
        const again = encodeMessage(m, opts);
        const lengthFieldHonest = v.fields.wirePayloadLength === v.fields.payloadLength || v.fields.compressType !== 0;
        if (m.compressType === CompressType.None && m.metadata.size <= 1 && lengthFieldHonest) {
          assert.equal(Buffer.from(again).toString('hex'), v.hex);
        } else {
          // identical up to metadata order / gzip stream bytes: decode ours and compare with Go's fields
          const f = describeMsg(decodeMessage(again, opts), again);
          assert.deepEqual({ ...f, wirePayloadLength: 0 }, { ...v.fields, wirePayloadLength: 0 });
          assert.equal(again.length - f.wirePayloadLength, frame.length - v.fields.wirePayloadLength, 'only the payload may differ in length');
        }
      });
    }
  });
});

describe('Go decodes what TypeScript encodes (interop/go/cmd/framecheck)', () => {
  let answers: Array<{ name: string; ok: boolean; error?: string; fields?: VectorFields }> = [];
  const encoded: Array<{ name: string; msg: Message }> = [];

  before(async () => {
    for (const v of vectors) encoded.push({ name: v.name, msg: decodeMessage(frames.get(v.name)!, opts) });
  });

  it('every vector, decoded and re-encoded by TS (gzip by Node zlib), reads back in Go as the same fields', async (t) => {
    if (!requireGo(t, ['framecheck'])) return;
    answers = await goJsonLines('framecheck', encoded.map(({ name, msg }) => ({ name, hex: Buffer.from(encodeMessage(msg, opts)).toString('hex') })));
    assert.equal(answers.length, vectors.length);
    for (const [i, a] of answers.entries()) {
      const v = vectors[i]!;
      assert.equal(a.name, v.name);
      assert.ok(a.ok, `${v.name}: Go could not decode the TS frame: ${a.error}`);
      assert.deepEqual({ ...a.fields!, wirePayloadLength: 0 }, { ...v.fields, wirePayloadLength: 0 }, v.name);
    }
  });

  after(() => {
    encoded.length = 0;
  });
});
