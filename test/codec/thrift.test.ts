import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThriftCodec } from '../../src/codec/thrift.js';
import type { ThriftStruct, ThriftType, ThriftTypeSpec } from '../../src/codec/thrift.js';
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
  toHex,
} from '../fixtures/canonical.js';
import { goJsonLines, requireGo } from '../support/go.js';
import { randomInputs } from './random-inputs.js';
import { decodesOrRpcxError } from './assertions.js';
import { ThriftAllTypes, ThriftArithArgs, ThriftArithReply, ThriftEmpty, ThriftInner } from '../../src/server/demo/thrift-schemas.js';

// Descriptors mirroring interop/thrift/interop.thrift, shared with the demo services.
const ArithArgs = ThriftArithArgs;
const ArithReply = ThriftArithReply;
const Inner = ThriftInner;
const Empty = ThriftEmpty;
const AllTypes = ThriftAllTypes;
const innerType: ThriftTypeSpec = { type: 'struct', struct: Inner };

const byGoType: Record<string, ThriftStruct> = {
  '*thriftgen.ArithArgs_': ArithArgs,
  '*thriftgen.ArithReply': ArithReply,
  '*thriftgen.Inner': Inner,
  '*thriftgen.Empty': Empty,
  '*thriftgen.AllTypes': AllTypes,
};

const codec = new ThriftCodec();
const vectors = readVectors('codec-thrift.json');

function structOf(goType: string): ThriftStruct {
  const s = byGoType[goType];
  assert.ok(s, `no descriptor for ${goType}`);
  return s;
}

function specOf(t: ThriftType | undefined): ThriftTypeSpec {
  assert.ok(t !== undefined);
  return typeof t === 'string' ? { type: t } : t;
}

/** VECTORS.md `$thrift` tagged JSON of a decoded value. */
function canonical(s: ThriftTypeSpec, v: unknown): unknown {
  switch (s.type) {
    case 'bool':
      assert.equal(typeof v, 'boolean');
      return v;
    case 'byte':
    case 'i8':
      return tagInt(v as number, 8);
    case 'i16':
      return tagInt(v as number, 16);
    case 'i32':
      return tagInt(v as number, 32);
    case 'i64':
      assert.equal(typeof v, 'bigint', 'i64 decodes to bigint');
      return tagInt(v as bigint, 64);
    case 'double':
      return tagFloat(v as number, 64);
    case 'string':
      return tagString(v as string);
    case 'binary':
      assert.ok(v instanceof Uint8Array);
      return tagBytes(v);
    case 'struct':
      assert.ok(s.struct);
      return structCanonical(s.struct, v as Record<string, unknown>);
    case 'list':
    case 'set':
      return { $slice: (v as unknown[]).map((x) => canonical(specOf(s.elem), x)) };
    case 'map': {
      assert.ok(v instanceof Map);
      const entries = sortEntries([...(v as Map<unknown, unknown>).entries()], (k) =>
        typeof k === 'number' ? BigInt(k) : (k as bigint | string | boolean),
      );
      return { $map: entries.map(([k, x]) => [canonical(specOf(s.key), k), canonical(specOf(s.value), x)]) };
    }
  }
  throw new Error(`unexpected ${s.type}`);
}

function structCanonical(struct: ThriftStruct, obj: Record<string, unknown>): unknown {
  const fields: unknown[] = [];
  for (const f of struct.fields) {
    if (Object.prototype.hasOwnProperty.call(obj, f.name)) fields.push([f.name, canonical(f, obj[f.name])]);
  }
  return { $thrift: struct.name, fields };
}

function expectError(fn: () => unknown, code: string, pattern?: RegExp): RpcxError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof RpcxError, `expected RpcxError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (pattern) assert.match(caught.message, pattern);
  return caught;
}

describe('ThriftCodec: Go vectors (codec-thrift.json)', () => {
  test('there are at least 10 vectors and the codec identifies itself', () => {
    assert.ok(vectors.length >= 10, `${vectors.length} vectors`);
    assert.equal(codec.serializeType, 4);
    assert.equal(codec.name, 'thrift');
  });

  for (const v of vectors) {
    test(`${v.name}: decodes to Go's value and re-encodes to Go's bytes`, () => {
      const struct = structOf(v.value.goType);
      assert.ok(v.fields.payloadHex !== undefined);
      const payload = fromHex(v.fields.payloadHex);
      const decoded = codec.decode(payload, { type: struct }) as Record<string, unknown>;
      assert.deepStrictEqual(structCanonical(struct, decoded), normaliseGoCanonical(v.value.canonical));
      const again = codec.encode(decoded, { type: struct });
      if (v.volatile?.includes('payload')) {
        assert.equal(again.length, payload.length);
        assert.deepStrictEqual(codec.decode(again, { type: struct }), decoded);
      } else {
        assert.equal(toHex(again), v.fields.payloadHex);
      }
    });
  }

  test('Go (rpcx ThriftCodec via cmd/codeccheck) decodes the TypeScript encodings to the same values', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const inputs = vectors.map((v) => {
      const struct = structOf(v.value.goType);
      const decoded = codec.decode(fromHex(v.fields.payloadHex ?? ''), { type: struct });
      return { case: v.value.case, serializeType: 4, payloadHex: toHex(codec.encode(decoded, { type: struct })) };
    });
    // Built in TypeScript: absent default fields are written as zero values, like Go.
    inputs.push({ case: 'thrift_arith_args', serializeType: 4, payloadHex: toHex(codec.encode({ A: 10, B: 20n }, { type: ArithArgs })) });
    inputs.push({ case: 'thrift_arith_args_zero', serializeType: 4, payloadHex: toHex(codec.encode({}, { type: ArithArgs })) });
    inputs.push({ case: 'thrift_all_types_zero', serializeType: 4, payloadHex: toHex(codec.encode({ f_inner: {} }, { type: AllTypes })) });
    inputs.push({
      case: 'thrift_all_types_multi_entry_maps',
      serializeType: 4,
      payloadHex: toHex(
        codec.encode(
          {
            f_inner: {},
            m_string_i32: { b: 2, '': -1, a: 1 },
            m_i32_list: new Map<number, string[]>([[2, []], [-2, ['minus', 'two']], [1, ['one']]]),
            m_i64_inner: new Map<bigint, object>([[1n, { id: 1 }], [-(1n << 63n), { name: 'min' }], [0n, {}]]),
          },
          { type: AllTypes },
        ),
      ),
    });
    const answers = await goJsonLines<{ case: string; ok: boolean; error?: string; got?: string }>('codeccheck', inputs);
    for (const a of answers) assert.equal(a.ok, true, `${a.case}: ${a.error ?? ''} ${a.got ?? ''}`);
  });
});

describe('ThriftCodec: encode', () => {
  test('ArithArgs{10, 20} in TBinaryProtocol', () => {
    assert.equal(toHex(codec.encode({ A: 10n, B: 20n }, { type: ArithArgs })), '0a0001000000000000000a0a0002000000000000001400');
  });

  test('optional fields only when set; absent default fields as zero values; absent structs skipped', () => {
    const bytes = codec.encode({}, { type: AllTypes });
    const decoded = codec.decode(bytes, { type: AllTypes }) as Record<string, unknown>;
    assert.equal('o_string' in decoded, false);
    assert.equal('f_inner' in decoded, false);
    assert.equal(decoded['f_i64'], 0n);
    assert.deepStrictEqual(decoded['l_i32'], []);
    assert.deepStrictEqual(decoded['m_string_i32'], new Map());
    const withOptional = codec.decode(codec.encode({ o_i32: 0 }, { type: AllTypes }), { type: AllTypes }) as Record<string, unknown>;
    assert.equal(withOptional['o_i32'], 0);
  });

  test('required fields are enforced both ways', () => {
    const Req: ThriftStruct = { name: 'Req', fields: [{ id: 1, name: 'x', type: 'i32', required: true }] };
    expectError(() => codec.encode({}, { type: Req }), 'CODEC', /required/);
    expectError(() => codec.decode(fromHex('00'), { type: Req }), 'CODEC', /required/);
    assert.deepStrictEqual(codec.decode(codec.encode({ x: 1 }, { type: Req }), { type: Req }), { x: 1 });
  });

  test('wrong types and out-of-range integers are CODEC errors naming the field', () => {
    let e = expectError(() => codec.encode({ f_byte: 128 }, { type: AllTypes }), 'CODEC', /out of range/);
    assert.equal(e.field, 'AllTypes.f_byte');
    e = expectError(() => codec.encode({ f_i32: 1.5 }, { type: AllTypes }), 'CODEC', /integer/);
    expectError(() => codec.encode({ f_i64: 2 ** 60 }, { type: AllTypes }), 'CODEC', /safe integer/);
    expectError(() => codec.encode({ f_i64: 1n << 63n }, { type: AllTypes }), 'CODEC', /out of range/);
    expectError(() => codec.encode({ f_string: 5 }, { type: AllTypes }), 'CODEC', /string/);
    expectError(() => codec.encode({ l_i32: 'x' }, { type: AllTypes }), 'CODEC', /array/);
    expectError(() => codec.encode({ m_i32_list: { x: [] } }, { type: AllTypes }), 'CODEC', /not a number/);
    expectError(() => codec.encode(null, { type: AllTypes }), 'CODEC', /expected an object/);
    expectError(() => codec.encode({ A: 1 }), 'CODEC', /options\.type/);
    expectError(() => codec.encode({ A: 1 }, { type: 'ArithArgs' }), 'CODEC', /descriptor/);
  });

  test('sets accept a Set; maps accept plain objects with converted keys', () => {
    const a = codec.encode({ s_i64: new Set([1n, 2n]), m_i32_list: { '-3': ['x'] }, f_inner: {} }, { type: AllTypes });
    const b = codec.encode({ s_i64: [1n, 2n], m_i32_list: new Map([[-3, ['x']]]), f_inner: {} }, { type: AllTypes });
    assert.equal(toHex(a), toHex(b));
  });

  test('without options.type, Uint8Array passes through', () => {
    const bytes = new Uint8Array([0]);
    assert.equal(codec.encode(bytes), bytes);
    assert.equal(codec.decode(bytes), bytes);
  });

  test('a field named __proto__ stays an own key', () => {
    const P: ThriftStruct = { name: 'P', fields: [{ id: 1, name: '__proto__', type: 'string' }] };
    const decoded = codec.decode(codec.encode(JSON.parse('{"__proto__": "x"}'), { type: P }), { type: P }) as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(decoded, '__proto__'));
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });
});

describe('ThriftCodec: bad input', () => {
  const full = vectors.find((v) => v.value.case === 'thrift_all_types_full');
  assert.ok(full?.fields.payloadHex);
  const fullPayload = fromHex(full.fields.payloadHex);

  test('every truncation of a struct fails with CODEC', () => {
    for (let n = 0; n < fullPayload.length; n++) {
      expectError(() => codec.decode(fullPayload.subarray(0, n), { type: AllTypes }), 'CODEC');
    }
  });

  test('huge or negative declared lengths are refused before allocating', () => {
    // f_string (7) claims 2^31-1 bytes
    expectError(() => codec.decode(fromHex('0b00077fffffff41'), { type: AllTypes }), 'CODEC', /exceeds/);
    expectError(() => codec.decode(fromHex('0b0007ffffffff'), { type: AllTypes }), 'CODEC', /negative/);
    // l_i32 (9) claims 2^31-1 i32 elements
    expectError(() => codec.decode(fromHex('0f0009087fffffff00'), { type: AllTypes }), 'CODEC', /cannot fit/);
    // m_string_i32 (12) claims 10^6 entries
    expectError(() => codec.decode(fromHex('0d000c0b08000f424000'), { type: AllTypes }), 'CODEC', /cannot fit/);
    expectError(() => codec.decode(fromHex('0f000908ffffffff'), { type: AllTypes }), 'CODEC', /negative/);
    // an unknown field (99) with a huge list is refused the same way
    expectError(() => codec.decode(fromHex('0f0063087fffffff'), { type: AllTypes }), 'CODEC', /cannot fit/);
  });

  test('maxContainerSize is a LIMIT error', () => {
    const small = new ThriftCodec({ maxContainerSize: 2 });
    const bytes = codec.encode({ l_i32: [1, 2, 3], f_inner: {} }, { type: AllTypes });
    expectError(() => small.decode(bytes, { type: AllTypes }), 'LIMIT');
    expectError(() => small.encode({ l_i32: [1, 2, 3] }, { type: AllTypes }), 'LIMIT');
  });

  test('nesting deeper than maxDepth is CODEC, not a stack overflow', () => {
    // unknown field 1: a struct holding a struct holding ... 10000 deep
    const depth = 10000;
    const bytes = new Uint8Array(depth * 3 + depth + 1);
    let i = 0;
    for (let d = 0; d < depth; d++) {
      bytes[i++] = 12; // struct
      bytes[i++] = 0;
      bytes[i++] = 1;
    }
    expectError(() => codec.decode(bytes, { type: Empty }), 'CODEC', /nesting/);
    type Deep = { type: 'list'; elem: ThriftType };
    let t: ThriftType = 'i32';
    for (let d = 0; d < 100; d++) t = { type: 'list', elem: t } as Deep;
    const Nest: ThriftStruct = { name: 'Nest', fields: [{ id: 1, name: 'l', ...(t as Deep) }] };
    let value: unknown = [1];
    for (let d = 0; d < 100; d++) value = [value];
    expectError(() => codec.encode({ l: value }, { type: Nest }), 'CODEC', /nesting/);
  });

  test('unknown fields are skipped; a known id with another wire type is skipped, as Go does', () => {
    const Wide: ThriftStruct = {
      name: 'Wide',
      fields: [
        ...ArithArgs.fields,
        { id: 3, name: 'extra', type: 'map', key: 'string', value: { type: 'list', elem: innerType } },
        { id: 4, name: 'more', type: 'double' },
      ],
    };
    const bytes = codec.encode({ A: 1n, B: 2n, extra: { k: [{ id: 1, name: 'n' }] }, more: 1.5 }, { type: Wide });
    assert.deepStrictEqual(codec.decode(bytes, { type: ArithArgs }), { A: 1n, B: 2n });
    // field 1 sent as i32 where ArithArgs has i64: skipped
    assert.deepStrictEqual(codec.decode(fromHex('08000100000005' + '00'), { type: ArithArgs }), {});
  });

  test('element type mismatch inside a container is CODEC; unknown wire types too', () => {
    expectError(() => codec.decode(fromHex('0f0009' + '0b' + '00000001' + '00000000' + '00'), { type: AllTypes }), 'CODEC', /element type/);
    expectError(() => codec.decode(fromHex('1100010000'), { type: AllTypes }), 'CODEC', /unknown field type/);
  });

  test('bool: only 1 is true (as Go reads it)', () => {
    const B: ThriftStruct = { name: 'B', fields: [{ id: 1, name: 'b', type: 'bool' }] };
    assert.deepStrictEqual(codec.decode(fromHex('020001' + '02' + '00'), { type: B }), { b: false });
    assert.deepStrictEqual(codec.decode(fromHex('020001' + '01' + '00'), { type: B }), { b: true });
  });

  test('decoded binary does not alias the input', () => {
    const input = codec.encode({ f_binary: new Uint8Array([1, 2, 3]), f_inner: {} }, { type: AllTypes });
    const decoded = codec.decode(input, { type: AllTypes }) as { f_binary: Uint8Array };
    input.fill(0);
    assert.equal(toHex(decoded.f_binary), '010203');
  });

  test('random bytes never throw anything but RpcxError', () => {
    // random bytes, and valid structs with bytes flipped
    decodesOrRpcxError(codec, randomInputs(987654, fullPayload, 3000, 40), [AllTypes, ArithArgs, Empty]);
  });
});
