import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RpcxError } from '../../src/errors.js';
import * as codecs from '../../src/codec/index.js';
import { CodecRegistry } from '../../src/codec/registry.js';
import { defaultCodecRegistry } from '../../src/codec/defaults.js';
import type { Codec } from '../../src/codec/types.js';

describe('CodecRegistry', () => {
  it('holds the built-in codecs by serialize type', () => {
    const r = defaultCodecRegistry();
    assert.equal(r.get(0).name, 'raw');
    assert.equal(r.get(1).name, 'json');
    assert.equal(r.get(2).name, 'protobuf');
    assert.equal(r.get(3).name, 'msgpack');
    assert.equal(r.get(4).name, 'thrift');
    for (const st of [0, 1, 2, 3, 4]) assert.equal(r.get(st).serializeType, st);
    assert.ok(r.get(1) instanceof codecs.JsonCodec);
    assert.ok(r.get(3) instanceof codecs.MsgpackCodec);
    assert.ok(r.get(0) instanceof codecs.RawCodec);
  });

  it("fails with Go's text for an unknown serialize type", () => {
    const r = new CodecRegistry();
    assert.throws(
      () => r.get(9),
      (err: unknown) => err instanceof RpcxError && err.code === 'CODEC' && err.message === 'can not find codec for 9',
    );
    assert.equal(r.find(9), undefined);
    assert.equal(r.has(9), false);
  });

  it('registers user codecs without touching other registries', () => {
    const upper: Codec = {
      serializeType: 9,
      name: 'upper',
      encode: (v) => new TextEncoder().encode(String(v).toUpperCase()),
      decode: (d) => new TextDecoder().decode(d),
    };
    const base = defaultCodecRegistry();
    const mine = base.clone().register(upper);
    assert.equal(new TextDecoder().decode(mine.get(9).encode('abc')), 'ABC');
    assert.equal(base.has(9), false);
    assert.equal(defaultCodecRegistry().has(9), false);
    // replacing a built-in
    const json2 = new codecs.JsonCodec({ bigint: 'always' });
    mine.register(json2);
    assert.equal(mine.get(1), json2);
    assert.deepEqual([...mine].map((c) => c.serializeType), [...mine].map((c) => c.serializeType).sort((a, b) => a - b));
    assert.equal(mine.unregister(9), true);
    assert.equal(mine.has(9), false);
    assert.throws(() => mine.register({ ...upper, serializeType: 16 }), RpcxError);
  });
});
