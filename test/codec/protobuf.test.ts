import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Root, Type } from 'protobufjs';
import protobuf from 'protobufjs';
import { ProtobufCodec, decodeShortUtf8, loadProtoSchemas, parseProto } from '../../src/codec/protobuf.js';
import { RpcxError } from '../../src/errors.js';
import {
  fromHex,
  normaliseGoCanonical,
  readVectors,
  sortEntries,
  tagBytes,
  tagFloat,
  tagInt,
  tagString,
  tagUint,
  toHex,
} from '../fixtures/canonical.js';
import { goJsonLines, repoRoot, requireGo } from '../support/go.js';
import { randomInputs } from './random-inputs.js';
import { decodesOrRpcxError } from './assertions.js';
import { prng as rng } from '../support/splits.js';

const protoDir = join(repoRoot, 'interop', 'proto');
const files = ['arith.proto', 'benchmark.proto', 'alltypes.proto'];
const schemas: Root = (() => {
  const r = new protobuf.Root();
  for (const f of files) protobuf.parse(readFileSync(join(protoDir, f), 'utf8'), r, { keepCase: true });
  r.resolveAll();
  return r;
})();

const codec = new ProtobufCodec();
const vectors = readVectors('codec-protobuf.json');
const LONG = new Set(['int64', 'sint64', 'sfixed64']);
const ULONG = new Set(['uint64', 'fixed64']);

function typeOf(fullName: string): Type {
  return schemas.lookupType(fullName);
}

function scalarCanonical(field: protobuf.Field, type: string, v: unknown, isKey = false): unknown {
  if (!isKey && field.resolvedType instanceof protobuf.Type) {
    return messageCanonical(field.resolvedType, v as Record<string, unknown>);
  }
  if (!isKey && field.resolvedType instanceof protobuf.Enum) return tagInt(v as number, 32);
  switch (type) {
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return tagInt(v as number, 32);
    case 'uint32':
    case 'fixed32':
      return tagUint(v as number, 32);
    case 'float':
      return tagFloat(v as number, 32);
    case 'double':
      return tagFloat(v as number, 64);
    case 'bool':
      assert.equal(typeof v, 'boolean');
      return v;
    case 'string':
      return tagString(v as string);
    case 'bytes':
      assert.ok(v instanceof Uint8Array);
      return tagBytes(v);
  }
  if (LONG.has(type)) {
    assert.equal(typeof v, 'bigint', `${field.name}: 64-bit values decode to bigint`);
    return tagInt(v as bigint, 64);
  }
  if (ULONG.has(type)) {
    assert.equal(typeof v, 'bigint', `${field.name}: 64-bit values decode to bigint`);
    return tagUint(v as bigint, 64);
  }
  throw new Error(`unexpected type ${type}`);
}

function mapKey(keyType: string, k: string): unknown {
  if (keyType === 'bool') return k === 'true';
  if (keyType === 'string') return k;
  return LONG.has(keyType) || ULONG.has(keyType) ? BigInt(k) : Number(k);
}

/** The tagged JSON of a decoded message (VECTORS.md `$proto`), fields in number order. */
function messageCanonical(type: Type, obj: Record<string, unknown>): unknown {
  const fields: unknown[] = [];
  for (const field of [...type.fieldsArray].sort((a, b) => a.id - b.id)) {
    if (!Object.prototype.hasOwnProperty.call(obj, field.name)) continue;
    const v = obj[field.name];
    if (field.map) {
      const keyType = (field as unknown as protobuf.MapField).keyType;
      const entries = Object.keys(v as object).map(
        (k): [unknown, unknown] => [mapKey(keyType, k), (v as Record<string, unknown>)[k]],
      );
      const sorted = sortEntries(entries, (k) => (typeof k === 'number' ? BigInt(k) : (k as bigint | string | boolean)));
      fields.push([
        field.name,
        {
          $map: sorted.map(([k, x]) => [
            scalarCanonical(field, keyType, k, true),
            scalarCanonical(field, field.type, x),
          ]),
        },
      ]);
    } else if (field.repeated) {
      fields.push([field.name, { $slice: (v as unknown[]).map((x) => scalarCanonical(field, field.type, x)) }]);
    } else {
      fields.push([field.name, scalarCanonical(field, field.type, v)]);
    }
  }
  return { $proto: type.fullName.replace(/^\./, ''), fields };
}

function vectorType(v: (typeof vectors)[number]): Type {
  return typeOf((v.value.canonical as { $proto: string }).$proto);
}

function expectCodecError(fn: () => unknown, pattern?: RegExp): RpcxError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RpcxError, `expected RpcxError, got ${String(caught)}`);
  assert.equal(caught.code, 'CODEC');
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

describe('ProtobufCodec: Go vectors (codec-protobuf.json)', () => {
  test('there are at least 15 vectors and the codec identifies itself', () => {
    assert.ok(vectors.length >= 15, `${vectors.length} vectors`);
    assert.equal(codec.serializeType, 2);
    assert.equal(codec.name, 'protobuf');
  });

  test('the rpcx-benchmark message is a 581-byte payload', () => {
    const v = vectors.find((x) => x.value.case === 'pb_benchmark_message');
    assert.ok(v);
    assert.equal(v.fields.payloadLength, 581);
    const decoded = codec.decode(fromHex(v.fields.payloadHex ?? ''), { type: vectorType(v) }) as Record<string, unknown>;
    assert.equal(decoded['field1'], '许多往事在眼前一幕一幕，变的那麼模糊');
    assert.equal(decoded['field22'], 100000n);
    assert.equal(decoded['field81'], true);
  });

  for (const v of vectors) {
    test(`${v.name}: decodes to Go's value and re-encodes to Go's bytes`, () => {
      const type = vectorType(v);
      assert.ok(v.fields.payloadHex !== undefined);
      const payload = fromHex(v.fields.payloadHex);
      const decoded = codec.decode(payload, { type }) as Record<string, unknown>;
      assert.deepStrictEqual(messageCanonical(type, decoded), normaliseGoCanonical(v.value.canonical));
      const again = codec.encode(decoded, { type });
      if (v.volatile?.includes('payload')) {
        // Go wrote the map entries in random order: same length, same value.
        assert.equal(again.length, payload.length);
        assert.deepStrictEqual(codec.decode(again, { type }), decoded);
      } else {
        assert.equal(toHex(again), v.fields.payloadHex);
      }
    });
  }

  test('Go (rpcx PBCodec via cmd/codeccheck) decodes the TypeScript re-encodings to the same values', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const inputs = vectors.map((v) => {
      const type = vectorType(v);
      const decoded = codec.decode(fromHex(v.fields.payloadHex ?? ''), { type });
      return { case: v.value.case, serializeType: 2, payloadHex: toHex(codec.encode(decoded, { type })) };
    });
    // Values built in TypeScript, not decoded from Go's bytes.
    inputs.push({
      case: 'pb_arith_args_extremes',
      serializeType: 2,
      payloadHex: toHex(codec.encode({ A: 9223372036854775807n, B: '-9223372036854775808' }, { type: typeOf('rpcx.interop.ArithArgs') })),
    });
    inputs.push({
      case: 'pb_all_types_multi_entry_maps',
      serializeType: 2,
      payloadHex: toHex(
        codec.encode(
          {
            m_string_int64: new Map<string, bigint>([['c', 9223372036854775807n], ['a', 1n], ['', 0n], ['b', -2n]]),
            m_int32_string: { '1000': 'thousand', '-1': 'minus one', '1': 'one' },
            m_string_nested: { y: {}, x: { id: 1, name: 'x' } },
            m_int64_bool: { '5': true, '0': false, '-9223372036854775808': true },
            m_bool_bytes: { false: new Uint8Array(0), true: new Uint8Array([1]) },
          },
          { type: typeOf('rpcx.interop.AllTypes') },
        ),
      ),
    });
    const answers = await goJsonLines<{ case: string; ok: boolean; error?: string; got?: string }>('codeccheck', inputs);
    for (const a of answers) assert.equal(a.ok, true, `${a.case}: ${a.error ?? ''} ${a.got ?? ''}`);
  });
});

describe('ProtobufCodec: strings on decode', () => {
  const pick = (r: () => number): string => {
    const x = r();
    if (x < 0.3) return String.fromCharCode(0x20 + Math.floor(r() * 0x5f));
    if (x < 0.5) return String.fromCharCode(0x80 + Math.floor(r() * 0x780));
    if (x < 0.8) return String.fromCharCode(0x800 + Math.floor(r() * 0xd000));
    if (x < 0.9) return String.fromCharCode(0xe000 + Math.floor(r() * 0x2000));
    return String.fromCodePoint(0x10000 + Math.floor(r() * 0x100000));
  };
  /** Up to `max` random characters from every UTF-8 length class. */
  const randomText = (r: () => number, max: number): string => {
    let text = '';
    const n = Math.floor(r() * max);
    for (let k = 0; k < n; k++) text += pick(r);
    return text;
  };

  test('the JS decoder of short strings gives what utf8Slice gives, for valid and broken UTF-8', () => {
    const r = rng(7);
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(randomText(r, 40), 'utf8');
      // every third input gets broken: a flipped bit, a cut sequence, or a stray byte
      if (i % 3 === 0 && bytes.length > 0) {
        const at = Math.floor(r() * bytes.length);
        const how = r();
        if (how < 0.4) bytes[at] = bytes[at]! ^ (1 << Math.floor(r() * 8));
        else if (how < 0.7) bytes[at] = [0x80, 0xbf, 0xc0, 0xc1, 0xed, 0xf4, 0xf5, 0xff][Math.floor(r() * 8)]!;
      }
      const cut = i % 3 === 0 && r() < 0.3 ? Math.floor(r() * bytes.length) : bytes.length;
      const b = bytes.subarray(0, cut);
      const want = b.toString('utf8');
      const got = decodeShortUtf8(b, 0, b.length);
      if (got !== undefined) assert.equal(got, want, `input ${b.toString('hex')}`);
    }
    // the cases that must take the JS path
    for (const t of ['é', '许多往事', 'a😀b', '\u07ff\u0800\uffff', String.fromCodePoint(0x10ffff)]) assert.equal(decodeShortUtf8(Buffer.from(t), 0, Buffer.byteLength(t)), t);
    // and those that must not: ASCII, surrogates, overlong forms, beyond U+10FFFF
    for (const hex of ['616263', 'eda080', 'c0af', 'e080af', 'f08080af', 'f4908080', 'c3']) assert.equal(decodeShortUtf8(Buffer.from(hex, 'hex'), 0, hex.length / 2), undefined, hex);
  });

  test('decoded strings match protobufjs, including broken UTF-8 and strings cut by the frame', () => {
    const type = typeOf('rpcx.interop.BenchmarkMessage');
    const base = Buffer.from(codec.encode({ field1: 'x', field2: 1, field3: 2 }, { type }));
    const r = rng(11);
    for (let i = 0; i < 2_000; i++) {
      const s = Buffer.from(randomText(r, 60), 'utf8');
      if (i % 2 === 0 && s.length > 0) s[Math.floor(r() * s.length)] = Math.floor(r() * 256);
      // field 9 (string): tag 0x4a, length, bytes
      const frame = Buffer.concat([base, Buffer.from([0x4a]), Buffer.from(protobuf.Writer.create().uint32(s.length).finish()), s]);
      const want = type.toObject(type.decode(frame), { longs: BigInt, enums: Number, defaults: false }) as Record<string, unknown>;
      const got = codec.decode(frame, { type }) as Record<string, unknown>;
      assert.equal(got.field9, want.field9, `input ${s.toString('hex')}`);
      // the same string cut short by the end of the payload is an error, not a shorter string
      if (s.length > 0) {
        const cutAt = frame.length - 1 - Math.floor(r() * s.length);
        assert.throws(() => codec.decode(frame.subarray(0, cutAt), { type }), (e: unknown) => e instanceof RpcxError && e.code === 'CODEC');
      }
    }
  });
});

describe('ProtobufCodec: encode', () => {
  const arith = typeOf('rpcx.interop.ArithArgs');
  const all = typeOf('rpcx.interop.AllTypes');

  test('accepts bigint, safe numbers, decimal strings and Long-like objects for int64', () => {
    const expected = '08ffffffffffffffff7f1080808080808080808001';
    assert.equal(toHex(codec.encode({ A: 9223372036854775807n, B: -9223372036854775808n }, { type: arith })), expected);
    assert.equal(toHex(codec.encode({ A: '9223372036854775807', B: '-9223372036854775808' }, { type: arith })), expected);
    assert.equal(toHex(codec.encode({ A: 10, B: 20 }, { type: arith })), '080a1014');
    assert.equal(toHex(codec.encode({ A: { low: 10, high: 0 }, B: 20n }, { type: arith })), '080a1014');
  });

  test('encodes a protobufjs message instance', () => {
    const msg = arith.fromObject({ A: 10, B: 20 });
    assert.equal(toHex(codec.encode(msg, { type: arith })), '080a1014');
  });

  test('refuses values that would lose precision or overflow, naming the field', () => {
    let e = expectCodecError(() => codec.encode({ A: 2 ** 60 }, { type: arith }), /safe integer/);
    assert.equal(e.field, 'A');
    e = expectCodecError(() => codec.encode({ A: 1n << 63n }, { type: arith }), /out of range/);
    assert.equal(e.field, 'A');
    e = expectCodecError(() => codec.encode({ f_uint64: -1n }, { type: all }), /out of range/);
    assert.equal(e.field, 'f_uint64');
    expectCodecError(() => codec.encode({ A: '12x' }, { type: arith }), /decimal integer/);
  });

  test('a verify failure is a CODEC error naming the field', () => {
    let e = expectCodecError(() => codec.encode({ A: true }, { type: arith }), /A: integer\|Long expected/);
    assert.equal(e.field, 'A');
    e = expectCodecError(() => codec.encode({ f_nested: { name: 5 } }, { type: all }), /name: string expected/);
    assert.ok(e.field?.includes('name'));
    expectCodecError(() => codec.encode({ c_string: 'a', c_int64: 1n }, { type: all }), /choice/);
    expectCodecError(() => codec.encode({ f_enum: 'NOT_A_COLOR' }, { type: all }), /f_enum/);
    expectCodecError(() => codec.encode('text', { type: all }), /expected an object/);
    expectCodecError(() => codec.encode({}, { type: typeOf('rpcx.interop.BenchmarkMessage') }), /field1/);
  });

  test('types without a oneof skip verify only for values verify accepts: every other value gets verify\'s error', () => {
    // No oneof anywhere: encode takes the fast path and checks values itself (see protobuf.ts).
    const root = parseProto(`
      syntax = "proto2";
      enum Closed { C_ZERO = 0; C_ONE = 1; }
      message Inner { optional string s = 1; }
      message Flat {
        required string req = 1;
        optional double d = 2; optional float f = 3; optional int32 i32 = 4; optional uint32 u32 = 5;
        optional sint32 s32 = 6; optional fixed32 x32 = 7; optional sfixed32 sx32 = 8; optional int64 i64 = 9;
        optional uint64 u64 = 10; optional bool b = 11; optional string str = 12; optional bytes by = 13;
        optional Closed e = 14; optional Inner inner = 15;
        repeated int32 ri = 16; repeated string rs = 17; repeated Inner rinner = 18; repeated Closed re = 19;
      }`);
    const flat = root.lookupType('Flat');
    const good: Record<string, unknown> = {
      req: 'r', d: 1.5, f: 2, i32: -3, u32: 4, s32: -5, x32: 6, sx32: -7, i64: 8n, u64: '9', b: true, str: 's',
      by: new Uint8Array([1, 2]), e: 1, inner: { s: 'x' }, ri: [1, 2], rs: ['a'], rinner: [{ s: 'y' }], re: ['C_ONE', 0],
    };
    // the same bytes protobufjs itself writes for the value
    const expected = flat.encode(flat.fromObject({ ...good, i64: 8, u64: 9 })).finish();
    assert.equal(toHex(codec.encode(good, { type: flat })), toHex(expected));
    const bad: Array<[string, unknown]> = [
      ['d', 'x'], ['f', true], ['i32', 1.5], ['i32', '1'], ['u32', {}], ['s32', NaN], ['x32', Infinity],
      ['sx32', false], ['i64', true], ['i64', {}], ['u64', 1.5], ['b', 1], ['b', 'true'], ['str', 5], ['str', {}], ['by', 5],
      ['e', 7], ['e', 'NOPE'], ['e', true], ['inner', 'x'], ['inner', { s: 5 }], ['ri', 5], ['ri', [1, 'x']], ['ri', [1, null]],
      ['rs', [1]], ['rinner', [{ s: 1 }]], ['re', [9]], ['req', null], ['req', 5],
    ];
    for (const [field, value] of bad) {
      const v = { ...good, [field]: value };
      const e = expectCodecError(() => codec.encode(v, { type: flat }));
      assert.ok(e.message.includes(field), `${field} = ${String(value)}: ${e.message}`);
    }
    const missing: Record<string, unknown> = { ...good };
    delete missing.req;
    expectCodecError(() => codec.encode(missing, { type: flat }), /req/);
    // null and undefined optional fields are left out, as protobufjs does
    assert.equal(toHex(codec.encode({ req: 'r', d: null, str: undefined }, { type: flat })), toHex(flat.encode(flat.fromObject({ req: 'r' })).finish()));
  });

  test('open proto3 enums take any int32 (as Go does) and enum names', () => {
    assert.equal(toHex(codec.encode({ f_enum: 99 }, { type: all })), '800163');
    assert.equal(toHex(codec.encode({ f_enum: 'COLOR_BLUE' }, { type: all })), '800103');
  });

  test('members of a oneof are written last, as Go does', () => {
    // c_int64 (36) before f_uint32_high (38) by number; Go writes the oneof member last
    assert.equal(toHex(codec.encode({ c_int64: 1n, f_uint32_high: 2 }, { type: all })), 'b00202a00201');
  });

  test('proto3 zero values are omitted, explicit-presence ones are written', () => {
    assert.equal(toHex(codec.encode({ A: 0n, B: 0 }, { type: arith })), '');
    assert.equal(toHex(codec.encode({ o_int32: 0, o_string: '' }, { type: all })), '9001009a0100');
  });

  test('without options.type, Uint8Array passes through and other values are refused', () => {
    const bytes = new Uint8Array([1, 2, 3]);
    assert.equal(codec.encode(bytes), bytes);
    assert.equal(codec.decode(bytes), bytes);
    expectCodecError(() => codec.encode({ A: 1 }), /options\.type/);
    expectCodecError(() => codec.encode({ A: 1 }, { type: { not: 'a type' } }), /not a protobufjs Type/);
  });

  test('map keys "__proto__" stay own keys and do not touch prototypes', () => {
    const value = JSON.parse('{"m_string_int64": {"__proto__": 7}}') as Record<string, unknown>;
    const bytes = codec.encode(value, { type: all });
    const decoded = codec.decode(bytes, { type: all }) as { m_string_int64: Record<string, unknown> };
    assert.ok(Object.prototype.hasOwnProperty.call(decoded.m_string_int64, '__proto__'));
    assert.equal(decoded.m_string_int64['__proto__'], 7n);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });

  test('loadProtoSchemas and parseProto keep field names as written', async () => {
    const loaded = await loadProtoSchemas(join(protoDir, 'arith.proto'));
    assert.deepEqual(loaded.lookupType('rpcx.interop.ArithArgs').fieldsArray.map((f) => f.name), ['A', 'B']);
    const parsed = parseProto('syntax = "proto3"; message M { int64 some_field = 1; }');
    assert.deepEqual(parsed.lookupType('M').fieldsArray.map((f) => f.name), ['some_field']);
    const camel = parseProto('syntax = "proto3"; message M { int64 some_field = 1; }', { keepCase: false });
    assert.deepEqual(camel.lookupType('M').fieldsArray.map((f) => f.name), ['someField']);
    expectCodecError(() => parseProto('message {'), /cannot parse/);
  });
});

describe('ProtobufCodec: bad input', () => {
  const arith = typeOf('rpcx.interop.ArithArgs');
  const all = typeOf('rpcx.interop.AllTypes');
  const nestedType = typeOf('rpcx.interop.Nested');
  const full = vectors.find((v) => v.value.case === 'pb_all_types_full');
  assert.ok(full?.fields.payloadHex);
  const fullPayload = fromHex(full.fields.payloadHex);

  test('every truncation of a message either decodes or fails with CODEC', () => {
    let failures = 0;
    for (let n = 0; n < fullPayload.length; n++) {
      try {
        codec.decode(fullPayload.subarray(0, n), { type: all });
      } catch (err) {
        assert.ok(err instanceof RpcxError && err.code === 'CODEC', String(err));
        failures++;
      }
    }
    assert.ok(failures > fullPayload.length / 2, `${failures} truncations failed`);
  });

  test('truncated varint, huge declared length, bad wire types, stray end-group: CODEC', () => {
    expectCodecError(() => codec.decode(fromHex('08'), { type: arith }));
    expectCodecError(() => codec.decode(fromHex('08ffffffffffffffffffff01'), { type: arith }));
    // f_string (field 14) declares 2^32-1 bytes with 1 present: refused, nothing allocated
    expectCodecError(() => codec.decode(fromHex('72ffffffff0f41'), { type: all }));
    expectCodecError(() => codec.decode(fromHex('7280808080808080808001'), { type: all }));
    // wire types 6 and 7 do not exist
    expectCodecError(() => codec.decode(fromHex('0e00'), { type: arith }));
    expectCodecError(() => codec.decode(fromHex('0f00'), { type: arith }));
    // end-group (4) without a start-group
    expectCodecError(() => codec.decode(fromHex('0c'), { type: arith }));
    // packed field whose length overruns the message
    expectCodecError(() => codec.decode(fromHex('a20105010203'), { type: all }));
    // proto2 required field missing (Go's proto.Unmarshal also refuses it)
    expectCodecError(() => codec.decode(fromHex(''), { type: typeOf('rpcx.interop.BenchmarkMessage') }), /field1/);
  });

  test('a known field with another wire type is skipped as unknown, as Go does', () => {
    // field 1 (A, varint) sent as length-delimited "hi", then B = 20
    const decoded = codec.decode(fromHex('0a0268691014'), { type: arith });
    assert.deepStrictEqual(decoded, { B: 20n });
  });

  test('nesting beyond protobufjs recursion limit (100) is CODEC, not a stack overflow', () => {
    let msg = fromHex('0801'); // Nested{id: 1}
    for (let i = 0; i < 150; i++) {
      const len = msg.length;
      const lenBytes: number[] = [];
      let n = len;
      while (n > 0x7f) {
        lenBytes.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      lenBytes.push(n);
      msg = Uint8Array.from([0x1a, ...lenBytes, ...msg]); // children (3), length-delimited
    }
    expectCodecError(() => codec.decode(msg, { type: nestedType }), /depth/);
  });

  test('decoded bytes do not alias the input', () => {
    const input = fromHex('7a03010203'); // f_bytes = 01 02 03
    const decoded = codec.decode(input, { type: all }) as { f_bytes: Uint8Array };
    input.fill(0);
    assert.equal(toHex(decoded.f_bytes), '010203');
  });

  test('random bytes never throw anything but RpcxError CODEC', () => {
    // random bytes, and valid messages with bytes flipped
    decodesOrRpcxError(codec, randomInputs(12345, fullPayload, 3000, 50), [all, arith, nestedType], 'CODEC');
  });
});
