import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import { decode as libDecode, ExtData } from '@msgpack/msgpack';
import fc from 'fast-check';
import { RpcxError } from '../../src/errors.js';
import { Float32, Float64 } from '../../src/codec/gotypes.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { Timestamp } from '../../src/codec/timestamp.js';
import { goJsonLines, requireGo } from '../support/go.js';
import {
  compareCanonical,
  fromCanonical,
  hasInvalidUtf8,
  loadCodecVectors,
  sha256Hex,
  vectorPayload,
} from './canonical.js';
import { codecError } from './assertions.js';

const vectors = loadCodecVectors('codec-msgpack.json');
const codec = new MsgpackCodec();
const exact = new MsgpackCodec({ time: 'timestamp' });
const int64 = new MsgpackCodec({ bigint: 'int64', time: 'timestamp' });

/** vmihailenco uses Go field names or `msgpack` tags (json tags are ignored). */
function msgpackFieldName(struct: string, field: string): string {
  if (struct === 'MsgpackTagged') return field === 'FileName' ? 'fn' : field === 'Both' ? 'm' : field;
  return field;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

/**
 * Whether our encoder can reproduce Go's bytes for this Go value: JS has no int8..int32 or
 * fixed-width unsigned kinds (vmihailenco writes `d0`..`d2`, `cc`..`cf` for them, we write the
 * smallest form — Go reads both), a bigint in int64 range is always `d3` (Go's `uint64` is `cf`),
 * and a JS string cannot hold invalid UTF-8.
 */
function reproducible(tagged: unknown): boolean {
  if (hasInvalidUtf8(tagged)) return false;
  const walk = (t: unknown): boolean => {
    if (Array.isArray(t)) return t.every(walk);
    if (typeof t !== 'object' || t === null) return true;
    const o = t as Record<string, unknown>;
    if ('$int' in o) {
      const bits = o['bits'];
      return bits === 64 || (bits === 0 && Number.isSafeInteger(Number(o['$int'])));
    }
    if ('$uint' in o) {
      const v = BigInt(String(o['$uint']));
      return (o['bits'] === 0 && Number.isSafeInteger(Number(v))) || (o['bits'] === 64 && v >= 2n ** 63n);
    }
    return Object.values(o).every(walk);
  };
  return walk(tagged);
}

/**
 * Whether decoding Go's bytes with `bigint: 'int64'` and encoding again gives them back: as
 * {@link reproducible}, and no floats (a decoded float is a plain number: integral ones come
 * back as integers, float32 as float64) and no Go `int`/`uint` beyond 32 bits (Go writes those
 * as `cf`/`d3`, which decode to a bigint that we write as `d3`).
 */
function reencodable(tagged: unknown): boolean {
  if (!reproducible(tagged)) return false;
  const walk = (t: unknown): boolean => {
    if (Array.isArray(t)) return t.every(walk);
    if (typeof t !== 'object' || t === null) return true;
    const o = t as Record<string, unknown>;
    if ('$float' in o) return false;
    if (('$int' in o || '$uint' in o) && o['bits'] === 0) {
      const v = Number(o['$int'] ?? o['$uint']);
      return v >= -(2 ** 31) && v < 2 ** 32;
    }
    return Object.values(o).every(walk);
  };
  return walk(tagged);
}


describe('MsgPack codec: Go vectors', () => {
  it('has vectors', () => assert.ok(vectors.length >= 60, `only ${vectors.length} vectors`));
  let exactCount = 0;

  for (const v of vectors) {
    const payload = vectorPayload(v);
    const value = fromCanonical(v.value.canonical, { fieldName: msgpackFieldName });

    it(`decodes ${v.name}`, () => {
      const input = payload ?? exact.encode(value); // > 64 KiB: the file only has the hash
      if (payload === undefined) assert.equal(sha256Hex(input), v.fields.payloadSha256);
      const problems = compareCanonical(exact.decode(input), v.value.canonical, { fieldName: msgpackFieldName });
      assert.deepEqual(problems, []);
      // the default (Date) decoding gives the same instant to the millisecond
      assert.deepEqual(compareCanonical(codec.decode(input), v.value.canonical, { fieldName: msgpackFieldName }), []);
    });

    it(`encodes ${v.name}`, () => {
      const ours = codec.encode(value);
      assert.deepEqual(compareCanonical(exact.decode(ours), v.value.canonical, { fieldName: msgpackFieldName }), []);
      if (!reproducible(v.value.canonical) || v.volatile?.includes('payload')) return;
      exactCount++;
      if (payload === undefined) {
        assert.equal(ours.length, v.fields.payloadLength);
        assert.equal(sha256Hex(ours), v.fields.payloadSha256);
      } else {
        assert.equal(hex(ours), hex(payload));
      }
    });

    if (payload !== undefined && !v.volatile?.includes('payload') && !hasInvalidUtf8(v.value.canonical)) {
      it(`re-encodes ${v.name} decoded with bigint: 'int64' to the same bytes when widths allow`, () => {
        const again = int64.encode(int64.decode(payload));
        if (reencodable(v.value.canonical)) assert.equal(hex(again), hex(payload));
        else assert.deepEqual(compareCanonical(exact.decode(again), v.value.canonical, { fieldName: msgpackFieldName }), []);
      });
    }
  }

  it('reproduces Go bytes for most vectors', () => {
    console.log(`msgpack: ${exactCount} of ${vectors.length} vectors byte-exact`);
    assert.ok(exactCount >= 40, `only ${exactCount} byte-exact vectors`);
  });

  it('Go decodes what we encode (codeccheck)', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    // A JS string cannot hold invalid UTF-8 (string_invalid_utf8 decodes with U+FFFD), so that
    // one case cannot travel back unchanged.
    const inputs = vectors.filter((v) => !hasInvalidUtf8(v.value.canonical)).map((v) => ({
      case: v.value.case,
      serializeType: 3,
      payloadHex: hex(codec.encode(fromCanonical(v.value.canonical, { fieldName: msgpackFieldName }))),
    }));
    const results = await goJsonLines<{ case: string; ok: boolean; error?: string }>('codeccheck', inputs);
    assert.deepEqual(results.filter((r) => !r.ok), []);
  });

  it('Go decodes plain JS values (numbers for int64, Date for time.Time, Map)', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const cases: [string, unknown][] = [
      ['arith_args', { A: 10, B: 20 }],
      ['int64_small', 1],
      ['int64_2p53p1', 2n ** 53n + 1n],
      ['int8_min', -128],
      ['uint64_max', 2n ** 64n - 1n],
      ['float64_integral', 3],
      ['float32_1_1', new Float32(1.1)],
      ['time_utc', new Date(Date.UTC(2024, 1, 29, 12, 34, 56))],
      ['time_utc_nanos', new Timestamp(1709210096n, 123456789)],
      ['bytes_small', new Uint8Array([1, 2, 3])],
      ['map_string_int', new Map([['two', 2], ['one', 1], ['minus', -3]])],
      ['map_string_int', { one: 1, two: 2, minus: -3 }],
      ['struct_nil_pointer', { Value: 1, Next: undefined }],
    ];
    const results = await goJsonLines<{ case: string; ok: boolean; error?: string }>(
      'codeccheck',
      cases.map(([c, v]) => ({ case: c, serializeType: 3, payloadHex: hex(codec.encode(v)) })),
    );
    assert.deepEqual(results.filter((r) => !r.ok), []);
  });
});

describe('MsgPack codec: encoding like vmihailenco/msgpack', () => {
  it('writes integers like Go int (smallest) and bigint like int64 (d3)', () => {
    const cases: [unknown, string][] = [
      [0, '00'], [127, '7f'], [128, 'cc80'], [255, 'ccff'], [256, 'cd0100'], [65536, 'ce00010000'],
      [2 ** 32, 'cf0000000100000000'], [-1, 'ff'], [-32, 'e0'], [-33, 'd0df'], [-129, 'd1ff7f'],
      [-32769, 'd2ffff7fff'], [-(2 ** 31) - 1, 'd3ffffffff7fffffff'],
      [1n, 'd30000000000000001'], [-1n, 'd3ffffffffffffffff'], [2n ** 63n, 'cf8000000000000000'],
      [1.5, 'cbbff8000000000000'.replace('bf', '3f')], [-0, 'cb8000000000000000'], [2 ** 60, 'cb43b0000000000000'],
      [new Float32(0.5), 'ca3f000000'], [new Float64(3), 'cb4008000000000000'],
      [null, 'c0'], [undefined, 'c0'], [true, 'c3'], [false, 'c2'],
    ];
    for (const [v, want] of cases) assert.equal(hex(codec.encode(v)), want, String(v));
    codecError(() => codec.encode(2n ** 64n), /does not fit/);
    codecError(() => codec.encode(-(2n ** 63n) - 1n), /does not fit/);
  });

  it('writes strings, bytes, arrays and maps with vmihailenco headers', () => {
    assert.equal(hex(codec.encode('a'.repeat(31))).slice(0, 2), 'bf');
    assert.equal(hex(codec.encode('a'.repeat(32))).slice(0, 4), 'd920');
    assert.equal(hex(codec.encode('a'.repeat(256))).slice(0, 6), 'da0100');
    assert.equal(hex(codec.encode(new Uint8Array(0))), 'c400');
    assert.equal(hex(codec.encode(new Uint8Array(256))).slice(0, 6), 'c50100');
    assert.equal(hex(codec.encode(new Array(16).fill(0))).slice(0, 6), 'dc0010');
    assert.equal(hex(codec.encode({ A: 10, B: 20 })), '82a1410aa14214'); // the spec's Arith example
    assert.equal(hex(codec.encode(new Map([[1, 'x']]))), '8101a178');
    assert.equal(hex(codec.encode(new ExtData(7, new Uint8Array([1, 2])))), 'd5070102');
    assert.equal(hex(codec.encode(new ExtData(-2, new Uint8Array(3)))), 'c703fe000000');
  });

  it('writes time.Time in vmihailenco\'s three layouts', () => {
    assert.equal(hex(codec.encode(new Timestamp(1n, 0))), 'd6ff00000001');
    assert.equal(hex(codec.encode(new Date(1500))), 'd7ff' + ((500_000_000n << 34n) | 1n).toString(16).padStart(16, '0'));
    assert.equal(hex(codec.encode(new Timestamp(-1n, 5))), 'c70cff00000005ffffffffffffffff');
    assert.equal(hex(codec.encode(new Timestamp(2n ** 34n, 0))), 'c70cff000000000000000400000000');
    codecError(() => codec.encode(new Date(NaN)), /invalid Date/);
  });

  it('refuses cycles, unsupported values and depth over the limit', () => {
    const o: Record<string, unknown> = {};
    o['self'] = o;
    codecError(() => codec.encode(o), /cycle/);
    codecError(() => codec.encode(Symbol('s')), /unsupported/);
    codecError(() => codec.encode(new Set([1])), /unsupported/);
    let deep: unknown = 0;
    for (let i = 0; i < 11; i++) deep = [deep];
    codecError(() => new MsgpackCodec({ maxDepth: 10 }).encode(deep), /max depth/);
  });

  it('finds a cycle deep down, in a shallow limit, and shared (non-cyclic) objects are fine', () => {
    // the cycle starts below the depth where ancestors are checked
    let chain: unknown[] = [];
    const bottom = chain;
    for (let i = 0; i < 40; i++) chain = [chain];
    bottom.push(chain);
    codecError(() => codec.encode(chain), /cycle/);
    const o: Record<string, unknown> = {};
    o['self'] = o;
    codecError(() => new MsgpackCodec({ maxDepth: 3 }).encode(o), /cycle/);
    const shared = { x: 1 };
    assert.equal(hex(codec.encode([shared, shared, { a: shared }])), '9381a17801' + '81a17801' + '81a16181a17801');
  });

  /** What a MsgPack string must be: vmihailenco's header for the UTF-8 length, then TextEncoder's bytes. */
  const goString = (s: string): string => {
    const b = new TextEncoder().encode(s);
    const n = b.length;
    const header = n < 32 ? (0xa0 | n).toString(16) : n <= 0xff ? 'd9' + n.toString(16).padStart(2, '0') : n <= 0xffff ? 'da' + n.toString(16).padStart(4, '0') : 'db' + n.toString(16).padStart(8, '0');
    return header + hex(b);
  };

  it('writes every string as TextEncoder does, at every header boundary', () => {
    const units = ['a', 'é', '许', '😀', '\ud800', '\udc00'];
    const lengths = [0, 1, 10, 11, 15, 16, 31, 32, 47, 48, 49, 50, 85, 86, 127, 128, 255, 256, 21845, 21846, 65535, 65536, 65537, 70000];
    for (const u of units) {
      for (const n of lengths) {
        const s = u.repeat(Math.ceil(n / u.length)).slice(0, n);
        assert.equal(hex(codec.encode(s)), goString(s), `${JSON.stringify(u)} x ${n}`);
      }
    }
    // mixed, lone surrogates next to pairs, at the ends
    for (const s of ['a\ud800', '\udc00a', '\ud800\ud800\udc00', 'x😀y\udbffé', 'é'.repeat(31) + 'a', 'a'.repeat(31) + 'é', 'a'.repeat(48) + '😀']) {
      assert.equal(hex(codec.encode(s)), goString(s), JSON.stringify(s));
      assert.equal(hex(codec.encode({ [s]: s })), '81' + goString(s) + goString(s));
    }
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), (s) => {
        assert.equal(hex(codec.encode(s)), goString(s));
      }),
      { numRuns: 3000 },
    );
  });

  it('reuses its buffer without sharing it: earlier results stay, a nested encode gets its own', () => {
    const first = codec.encode('a'.repeat(100));
    const second = codec.encode(new Uint8Array(5000).fill(7)); // grows the buffer
    const third = codec.encode({ A: 10, B: 20 });
    assert.equal(hex(first), goString('a'.repeat(100)));
    assert.equal(hex(second), 'c51388' + '07'.repeat(5000));
    assert.equal(hex(third), '82a1410aa14214');
    // a getter that encodes while the outer call is writing
    const tricky = { get X(): unknown { return hex(codec.encode([1, 2])); }, Y: 'y' };
    assert.equal(hex(codec.encode(tricky)), '82a158' + goString('920102') + 'a159a179');
    // many results from the shared slabs, kept while later ones are written
    const kept = Array.from({ length: 300 }, (_, i) => [i, codec.encode('é'.repeat(i * 7))] as const);
    for (const [i, b] of kept) assert.equal(hex(b), goString('é'.repeat(i * 7)), `result ${i}`);
    // an error midway leaves the codec usable
    codecError(() => codec.encode({ a: 'x'.repeat(300), b: Symbol('s') }), /unsupported/);
    assert.equal(hex(codec.encode({ A: 10, B: 20 })), '82a1410aa14214');
  });
});

describe('MsgPack codec: decoding', () => {
  it('keeps 64-bit integers exact in every mode', () => {
    const d3one = bytes('d30000000000000001');
    const big = bytes('d30020000000000001'); // 2^53 + 1
    const umax = bytes('cfffffffffffffffff');
    assert.equal(codec.decode(d3one), 1);
    assert.equal(codec.decode(big), 2n ** 53n + 1n);
    assert.equal(codec.decode(umax), 2n ** 64n - 1n);
    assert.equal(int64.decode(d3one), 1n);
    assert.equal(int64.decode(bytes('7f')), 127);
    assert.equal(new MsgpackCodec({ bigint: 'always' }).decode(bytes('7f')), 127n);
    assert.equal(new MsgpackCodec({ bigint: 'always' }).decode(bytes('d0ff')), -1n);
    assert.equal(new MsgpackCodec({ bigint: 'never' }).decode(big), 2 ** 53);
    assert.equal(codec.decode(bytes('d1ff7f')), -129);
    assert.equal(codec.decode(bytes('d2ffff7fff')), -32769);
    assert.equal(codec.decode(bytes('ce' + 'ffffffff')), 4294967295);
    assert.equal(codec.decode(bytes('ca3f800000')), 1);
  });

  it('decodes timestamps to Date or Timestamp, incl. tinylib/msgp\'s extension 5', () => {
    const nanos = bytes('d7ff1d6f345465e079f0'); // Go time_utc_nanos
    assert.equal((exact.decode(nanos) as Timestamp).toString(), '2024-02-29T12:34:56.123456789Z');
    assert.equal((codec.decode(nanos) as Date).toISOString(), '2024-02-29T12:34:56.123Z');
    // tinylib/msgp AppendTime: c7 0c 05 + int64 seconds + uint32 nanoseconds
    const msgp = bytes('c70c05' + '0000000065e079f0' + '075bcd15');
    assert.ok((exact.decode(msgp) as Timestamp).equals(new Timestamp(1709210096n, 123456789)));
    // negative seconds in the 96-bit layout
    assert.ok((exact.decode(bytes('c70cff00000005ffffffffffffffff')) as Timestamp).equals(new Timestamp(-1n, 5)));
    codecError(() => codec.decode(bytes('d5ff0000')), 'msgpack: invalid ext len=2 decoding time');
    const other = codec.decode(bytes('d5070102'));
    assert.ok(other instanceof ExtData);
    assert.equal(other.type, 7);
  });

  /** A str header for `n` bytes. */
  const strHeader = (n: number): string =>
    n < 32 ? (0xa0 | n).toString(16) : n <= 0xff ? 'd9' + n.toString(16).padStart(2, '0') : 'da' + n.toString(16).padStart(4, '0');
  const lossy = new TextDecoder('utf-8', { ignoreBOM: true });

  it('decodes strings and map keys as TextDecoder does, well-formed or not', () => {
    const samples = [
      '', '41', 'efbbbf41', 'c3a9', 'e4bcb8', 'f09f9880', 'c080', 'c1bf', 'e08080', 'e09f80', 'eda080', 'edbfbf', 'ee8080',
      'f08f8080', 'f4908080', 'f5808080', 'ff', '80', 'c3', 'e4bc', 'f09f98', 'c341', 'e441', 'e4bc41', 'f09f41', 'f09f9841', 'f09f98c3a9', 'f4bf8080', 'e4bcb8' + '41'.repeat(61),
      'e4bcb8'.repeat(21) + 'c3a9', '41'.repeat(63) + 'c3', 'c3a9'.repeat(40),
    ];
    for (const h of samples) {
      const b = bytes(h);
      const want = lossy.decode(b);
      assert.equal(codec.decode(bytes(strHeader(b.length) + h)), want, h);
      const obj = codec.decode(bytes('81' + strHeader(b.length) + h + 'c0')) as Record<string, unknown>;
      assert.deepEqual(Object.keys(obj), [want], h);
    }
    const utf8ish = fc.uint8Array({ maxLength: 80 }).chain((raw) =>
      fc.oneof(
        fc.constant(raw),
        fc.string({ unit: 'binary', maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
        fc.array(fc.constantFrom(0x41, 0x80, 0xbf, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xa0, 0x9f, 0x90, 0x8f), { maxLength: 40 }).map((a) => new Uint8Array(a)),
      ),
    );
    fc.assert(
      fc.property(utf8ish, (b) => {
        const want = lossy.decode(b);
        assert.equal(codec.decode(bytes(strHeader(b.length) + hex(b))), want);
        const obj = codec.decode(bytes('82' + strHeader(b.length) + hex(b) + '01 a178 02')) as Record<string, unknown>;
        assert.deepEqual(Object.entries(obj), want === 'x' ? [['x', 2]] : [[want, 1], ['x', 2]]);
      }),
      { numRuns: 3000 },
    );
  });

  it('gives every map key its own text however many keys share the cache', () => {
    const names = Array.from({ length: 5000 }, (_, i) => `k${i}é`);
    const payloads = names.map((k) => codec.encode({ [k]: k }));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < names.length; i += round + 1) {
        assert.deepEqual(codec.decode(payloads[i]!), { [names[i]!]: names[i] });
      }
    }
  });

  it('decodes tinylib/msgp output (str, bin, smallest ints) like vmihailenco\'s', () => {
    // msgp for struct{A int64; B []byte; C string}{1, {1}, "x"}: ints are smallest, []byte is bin
    assert.deepEqual(codec.decode(bytes('83a14101a142c40101a143a178')), { A: 1, B: new Uint8Array([1]), C: 'x' });
  });

  it('decodes maps with non-string keys to a Map, or every map to a Map on request', () => {
    const m = codec.decode(bytes('82a16101 02a162')) as Map<unknown, unknown>;
    assert.ok(m instanceof Map);
    assert.deepEqual([...m], [['a', 1], [2, 'b']]);
    const all = new MsgpackCodec({ maps: 'map' }).decode(bytes('81a16101'));
    assert.deepEqual(all, new Map([['a', 1]]));
  });

  it('decodes bin to a copy of every size, never a view of the payload, and bins do not share bytes', () => {
    const decoded: Array<[Uint8Array, number, number]> = [];
    const sizes = [0, 1, 63, 64, 65, 100, 1000, 4095, 4096, 4097, 8192, 70000];
    for (let round = 0; round < 40; round++) {
      for (const n of sizes) {
        const fill = (round * 31 + n) & 0xff;
        const payload = codec.encode(new Uint8Array(n).fill(fill));
        const b = codec.decode(payload) as Uint8Array;
        assert.ok(b instanceof Uint8Array);
        assert.equal(b.length, n);
        const overlap = b.buffer === payload.buffer && b.byteOffset < payload.byteOffset + payload.length && payload.byteOffset < b.byteOffset + n;
        assert.ok(!overlap || n === 0, `bin of ${n} is a view of the payload`);
        payload.fill(0xee); // the caller reuses its buffer
        decoded.push([b, n, fill]);
      }
    }
    for (const [b, n, fill] of decoded) assert.ok(b.length === n && b.every((x) => x === fill), `${n} x ${fill}`);
    // and in a struct, next to other values
    assert.deepEqual(codec.decode(codec.encode({ A: new Uint8Array(100).fill(1), B: 'x', C: new Uint8Array(3) })), { A: new Uint8Array(100).fill(1), B: 'x', C: new Uint8Array(3) });
  });

  it('reads one value and ignores trailing bytes, as Decoder.Decode does', () => {
    assert.equal(codec.decode(bytes('01 02 03')), 1);
    assert.deepEqual(codec.decode(bytes('90 c1 c1')), []);
  });

  it('fails with RpcxError on bad input', () => {
    codecError(() => codec.decode(new Uint8Array(0)), 'EOF');
    codecError(() => codec.decode(bytes('82a141')), 'unexpected EOF');
    codecError(() => codec.decode(bytes('cd00')), 'unexpected EOF');
    codecError(() => codec.decode(bytes('c1')), 'msgpack: unknown code c1 decoding interface{}');
    codecError(() => codec.decode(bytes('dd ffffffff')), 'unexpected EOF'); // no allocation of 4G slots
    codecError(() => codec.decode(bytes('c6 ffffffff 00')), 'unexpected EOF');
    codecError(() => codec.decode('x' as unknown as Uint8Array));
  });

  it('never lets __proto__ change a prototype', () => {
    // {"__proto__": {"polluted": true}, "a": {"__proto__": 1}}
    const payload = codec.encode(new Map<string, unknown>([
      ['__proto__', new Map([['polluted', true]])],
      ['a', new Map([['__proto__', 1]])],
    ]));
    const v = codec.decode(payload) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(Object.keys(v), ['__proto__', 'a']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { polluted: true });
    assert.equal(Object.getPrototypeOf(v['a']), Object.prototype);
    // encoding it again keeps the member
    assert.equal(hex(codec.encode(v)), hex(payload));
  });

  it('enforces depth, container and byte-length limits', () => {
    const limited = new MsgpackCodec({ maxDepth: 2, maxContainerLength: 2, maxBytesLength: 3 });
    assert.deepEqual(limited.decode(bytes('91 91 01')), [[1]]);
    codecError(() => limited.decode(bytes('91 91 91 01')), /max depth/);
    codecError(() => limited.decode(bytes('93 01 02 03')), /maxContainerLength/);
    codecError(() => limited.decode(bytes('83 a161 01 a162 02 a163 03')), /maxContainerLength/);
    codecError(() => limited.decode(bytes('a4 61626364')), /maxBytesLength/);
    codecError(() => limited.decode(bytes('c4 04 00000000')), /maxBytesLength/);
    // the default depth limit stops a deep payload before the stack does
    codecError(() => codec.decode(new Uint8Array(100_000).fill(0x91)), /max depth/);
  });

  it('only ever throws RpcxError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          codec.decode(b);
        } catch (err) {
          assert.ok(err instanceof RpcxError, String(err));
        }
      }),
      { numRuns: 5000 },
    );
  });
});

describe('MsgPack codec: round trips (fast-check)', () => {
  const key = fc.string({ unit: 'binary' }).filter((k) => k !== '__proto__' && !/[\ud800-\udfff]/.test(k.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
  const leaf = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double().filter((d) => !Number.isSafeInteger(d) || Object.is(d, -0)),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }).filter((b) => !Number.isSafeInteger(Number(b)) || b > 2n ** 53n || b < -(2n ** 53n)),
    key,
    fc.uint8Array({ maxLength: 40 }),
    fc.tuple(fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }), fc.integer({ min: 0, max: 999_999_999 })).map(([s, n]) => new Timestamp(s, n)),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(key, tie('v')).map((d) => ({ ...d }))),
  })).v;

  it('decode(encode(v)) equals v', () => {
    fc.assert(
      fc.property(value, (v) => {
        assert.deepEqual(exact.decode(exact.encode(v)), v);
      }),
      { numRuns: 500 },
    );
  });

  it('our output is valid MsgPack for @msgpack/msgpack too', () => {
    fc.assert(
      fc.property(value, (v) => {
        assert.doesNotThrow(() => libDecode(codec.encode(v), { useBigInt64: true }));
      }),
      { numRuns: 300 },
    );
  });

  it('int64 mode: encode(decode(b)) == b for Go-shaped integers', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.integer(), (b, n) => {
        const payload = int64.encode([b, n]);
        assert.equal(hex(int64.encode(int64.decode(payload))), hex(payload));
      }),
    );
  });
});
