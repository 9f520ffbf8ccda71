import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { RpcxError } from '../../src/errors.js';
import { RawCodec } from '../../src/codec/none.js';
import { goJsonLines, requireGo } from '../support/go.js';
import { compareCanonical, fromCanonical, loadCodecVectors, vectorPayload } from './canonical.js';

const vectors = loadCodecVectors('codec-raw.json');
const codec = new RawCodec();

describe('raw codec (SerializeType 0)', () => {
  it('has vectors', () => assert.ok(vectors.length >= 4));

  for (const v of vectors) {
    it(`decodes and encodes ${v.name}`, () => {
      const payload = vectorPayload(v);
      assert.ok(payload);
      const decoded = codec.decode(payload);
      assert.deepEqual(compareCanonical(decoded, v.value.canonical), []);
      const value = fromCanonical(v.value.canonical) as Uint8Array;
      assert.equal(Buffer.from(codec.encode(value)).toString('hex'), v.fields.payloadHex);
    });
  }

  it('Go decodes what we encode (codeccheck)', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const results = await goJsonLines<{ ok: boolean }>(
      'codeccheck',
      vectors.map((v) => ({
        case: v.value.case,
        serializeType: 0,
        payloadHex: Buffer.from(codec.encode(fromCanonical(v.value.canonical))).toString('hex'),
      })),
    );
    assert.deepEqual(results.filter((r) => !r.ok), []);
  });

  it('passes bytes through untouched (same view, any byteOffset)', () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9]);
    const view = backing.subarray(1, 4);
    assert.equal(codec.encode(view), view);
    assert.equal(codec.decode(view), view);
    assert.equal(codec.encode(Buffer.from('x')).length, 1);
  });

  it("refuses anything but bytes with Go's text", () => {
    const cases: [unknown, string][] = [
      ['hello', 'string is not a []byte'],
      [1, 'int is not a []byte'],
      [1.5, 'float64 is not a []byte'],
      [null, '<nil> is not a []byte'],
      [{}, 'map[string]interface {} is not a []byte'],
      [[1], '[]interface {} is not a []byte'],
    ];
    for (const [v, text] of cases) {
      assert.throws(() => codec.encode(v), (err: unknown) => err instanceof RpcxError && err.code === 'CODEC' && err.message === text);
    }
    assert.throws(() => codec.decode('x' as unknown as Uint8Array), RpcxError);
  });
});
