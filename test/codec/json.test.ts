import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RpcxError } from '../../src/errors.js';
import { Float32, Float64 } from '../../src/codec/gotypes.js';
import { JsonCodec } from '../../src/codec/json.js';
import { Timestamp } from '../../src/codec/timestamp.js';
import { goJsonLines, requireGo } from '../support/go.js';
import { compareCanonical, fromCanonical, loadCodecVectors, vectorPayload } from './canonical.js';
import { codecError } from './assertions.js';

const vectors = loadCodecVectors('codec-json.json');
const codec = new JsonCodec();
const utf8 = new TextEncoder();
const text = new TextDecoder();
const wellFormed = (s: string): boolean => !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''));

/** Go `json` tags of interop/go/internal/values (the canonical form names Go fields). */
function jsonFieldName(struct: string, field: string): string | null {
  if (struct === 'Tagged') {
    // FileSize is `omitempty` and zero in the vector; Skipped is `json:"-"`.
    const tags: Record<string, string | null> = { FileName: 'file_name', FileSize: null, Skipped: null, Lower: 'lower' };
    return field in tags ? tags[field]! : field;
  }
  if (struct === 'MsgpackTagged' && field === 'Both') return 'j';
  return field;
}

function enc(v: unknown): string {
  return text.decode(codec.encode(v));
}

function dec(s: string, c: JsonCodec = codec): unknown {
  return c.decode(utf8.encode(s));
}


describe('JSON codec: Go vectors', () => {
  it('has vectors', () => assert.ok(vectors.length >= 60, `only ${vectors.length} vectors`));

  for (const v of vectors) {
    it(`decodes ${v.name}`, () => {
      const payload = vectorPayload(v);
      assert.ok(payload);
      const problems = compareCanonical(codec.decode(payload), v.value.canonical, { text: 'json', fieldName: jsonFieldName });
      assert.deepEqual(problems, []);
    });

    it(`encodes ${v.name} to Go's exact bytes`, () => {
      const value = fromCanonical(v.value.canonical, { fieldName: jsonFieldName });
      assert.equal(enc(value), Buffer.from(v.fields.payloadHex ?? '', 'hex').toString('utf8'));
    });
  }

  it('Go decodes what we encode (codeccheck)', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const inputs = vectors.map((v) => ({
      case: v.value.case,
      serializeType: 1,
      payloadHex: Buffer.from(codec.encode(fromCanonical(v.value.canonical, { fieldName: jsonFieldName }))).toString('hex'),
    }));
    const results = await goJsonLines<{ case: string; ok: boolean; error?: string }>('codeccheck', inputs);
    assert.deepEqual(results.filter((r) => !r.ok), []);
  });

  it('Go decodes plain JS values (numbers for int64, Date for time.Time)', async (t) => {
    if (!requireGo(t, ['codeccheck'])) return;
    const cases: [string, unknown][] = [
      ['arith_args', { A: 10, B: 20 }],
      ['int64_small', 1],
      ['int64_max', 9223372036854775807n],
      ['float64_integral', 3],
      ['float32_1_1', 1.1],
      ['time_utc', new Date(Date.UTC(2024, 1, 29, 12, 34, 56))],
      ['bytes_small', new Uint8Array([1, 2, 3])],
      ['map_string_int', new Map([['two', 2], ['one', 1], ['minus', -3]])],
      ['map_string_int', { one: 1, two: 2, minus: -3 }],
      // Go's decoder matches struct fields case-insensitively.
      ['arith_args', { a: 10, b: 20 }],
    ];
    const results = await goJsonLines<{ case: string; ok: boolean; error?: string }>(
      'codeccheck',
      cases.map(([c, v]) => ({ case: c, serializeType: 1, payloadHex: Buffer.from(codec.encode(v)).toString('hex') })),
    );
    assert.deepEqual(results.filter((r) => !r.ok), []);
  });
});

describe('JSON codec: encoding like Go', () => {
  it('escapes like encoding/json (HTML-safe, \\u00xx, \\b \\f, U+2028/9)', () => {
    assert.equal(enc('<a href="x">&amp;</a>'), '"\\u003ca href=\\"x\\"\\u003e\\u0026amp;\\u003c/a\\u003e"');
    assert.equal(enc('\b\f\n\r\t\u0000\u001f\u007f\\/'), '"\\b\\f\\n\\r\\t\\u0000\\u001f\u007f\\\\/"');
    assert.equal(enc('\u2028\u2029é𝄞'), '"\\u2028\\u2029é𝄞"');
    assert.equal(enc('a\ud800b'), '"a\\ufffdb"'); // a lone surrogate is invalid UTF-8: Go writes \ufffd
  });

  it('formats numbers like Go', () => {
    assert.equal(enc(1e21), '1e+21');
    assert.equal(enc(1e20), '100000000000000000000');
    assert.equal(enc(1e-7), '1e-7');
    assert.equal(enc(0.000001), '0.000001');
    assert.equal(enc(-0), '-0');
    assert.equal(enc(5e-324), '5e-324');
    assert.equal(enc(2n ** 64n + 1n), '18446744073709551617');
    assert.equal(enc(new Float32(1.1)), '1.1');
    assert.equal(enc(new Float32(3.4028234663852886e38)), '3.4028235e+38');
    assert.equal(enc(new Float64(3)), '3');
    codecError(() => enc(NaN), 'json: unsupported value: NaN');
    codecError(() => enc(Infinity), 'json: unsupported value: +Inf');
  });

  it('writes objects in insertion order and Maps with sorted keys', () => {
    assert.equal(enc({ b: 1, a: 2, u: undefined }), '{"b":1,"a":2}');
    assert.equal(enc(new Map<unknown, unknown>([['b', 1], ['a', 2], ['', 0]])), '{"":0,"a":2,"b":1}');
    assert.equal(enc(new Map([[10, 'x'], [9, 'y']])), '{"10":"x","9":"y"}'); // Go sorts the key text
    // UTF-8 byte order, not UTF-16 order: U+FF61 (ef bd a1) sorts before U+1F600 (f0 9f 98 80).
    assert.equal(enc(new Map([['😀', 1], ['｡', 2]])), '{"｡":2,"😀":1}');
    codecError(() => enc(new Map([[{}, 1]])), /unsupported map key/);
  });

  it('writes []byte as base64 and time.Time as RFC 3339 with nanoseconds', () => {
    assert.equal(enc(new Uint8Array([0, 1, 255])), '"AAH/"');
    assert.equal(enc(new Uint8Array(new Uint8Array([120, 120, 104, 101, 108, 108, 111, 120]).buffer, 2, 5)), '"aGVsbG8="');
    assert.equal(enc(new Date(Date.UTC(2024, 1, 29, 12, 34, 56))), '"2024-02-29T12:34:56Z"');
    assert.equal(enc(new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 500))), '"2024-02-29T12:34:56.5Z"');
    assert.equal(enc(new Timestamp(0n, 7)), '"1970-01-01T00:00:00.000000007Z"');
    assert.equal(enc(new Timestamp(1709210096n, 500_000_000, 19800)), '"2024-02-29T18:04:56.5+05:30"');
    codecError(() => enc(new Timestamp(-62_167_219_201n)), 'Time.MarshalJSON: year outside of range [0,9999]');
    codecError(() => enc(new Date(NaN)));
  });

  it('refuses cycles and values too deep', () => {
    const a: unknown[] = [];
    a.push(a);
    codecError(() => enc(a), /cycle/);
    let deep: unknown = 1;
    for (let i = 0; i < 20; i++) deep = [deep];
    codecError(() => new JsonCodec({ maxDepth: 10 }).encode(deep), /max depth/);
    assert.equal(text.decode(new JsonCodec({ maxDepth: 20 }).encode(deep)), '['.repeat(20) + '1' + ']'.repeat(20));
    codecError(() => enc(Symbol('x')));
    // a cycle deep down (past the 32 levels kept in an array, then a Set), and one object twice
    // side by side, which is no cycle (Go writes it twice)
    const root: Record<string, unknown> = {};
    let at = root;
    for (let i = 0; i < 40; i++) at = (at['n'] = {}) as Record<string, unknown>;
    at['back'] = root;
    codecError(() => enc(root), /cycle/);
    delete at['back'];
    at['x'] = 1;
    assert.ok(enc(root).endsWith('{"x":1}' + '}'.repeat(40)));
    const shared = { v: 1 };
    assert.equal(enc({ a: shared, b: [shared, shared] }), '{"a":{"v":1},"b":[{"v":1},{"v":1}]}');
    for (let i = 0; i < 3; i++) codecError(() => enc(a), /cycle/); // the writer state is not left dirty
  });
});

describe('JSON codec: decoding like Go', () => {
  it('keeps large integers exact', () => {
    assert.equal(dec('9007199254740991'), 9007199254740991);
    assert.equal(dec('9007199254740993'), 9007199254740993n);
    assert.equal(dec('-9223372036854775808'), -9223372036854775808n);
    assert.equal(dec('1.5'), 1.5);
    assert.equal(dec('1e2'), 100);
    assert.equal(dec('5', new JsonCodec({ bigint: 'always' })), 5n);
    assert.equal(dec('5.0', new JsonCodec({ bigint: 'always' })), 5);
    assert.equal(dec('9007199254740993', new JsonCodec({ bigint: 'never' })), 9007199254740992);
    assert.deepEqual(dec('{"a":[18446744073709551615]}'), { a: [18446744073709551615n] });
  });

  it('reads one value and ignores what follows, as json.Decoder.Decode does', () => {
    assert.deepEqual(dec('{"A":1} trailing garbage'), { A: 1 });
    assert.deepEqual(dec(' [1,2]]]'), [1, 2]);
    assert.equal(dec('123abc'), 123);
    assert.equal(dec('01'), 0);
    assert.equal(dec('true false'), true);
  });

  it('fails with Go texts', () => {
    codecError(() => dec(''), 'EOF');
    codecError(() => dec(' \n\t'), 'EOF');
    codecError(() => dec('{"a":'), 'unexpected EOF');
    codecError(() => dec('[1,2'), 'unexpected EOF');
    codecError(() => dec('"abc'), 'unexpected EOF');
    codecError(() => dec('x'), "invalid character 'x' looking for beginning of value");
    // Go encoding/json quoteChar = strconv.Quote: \x1f, \n, \x7f (not JSON's \u001f).
    codecError(() => dec('\x1f'), "invalid character '\\x1f' looking for beginning of value");
    codecError(() => dec('\n\u007f'), "invalid character '\\x7f' looking for beginning of value");
    codecError(() => dec('[1\u0007]'), "invalid character '\\a' after array element");
    codecError(() => dec('\\'), "invalid character '\\\\' looking for beginning of value");
    codecError(() => dec('\ufeff{}'), /invalid character .* looking for beginning of value/);
    codecError(() => dec('[1 2]'), "invalid character '2' after array element");
    codecError(() => dec('{"a" 1}'), "invalid character '1' after object key");
    codecError(() => dec('{"a":1 "b"}'), "invalid character '\"' after object key:value pair");
    codecError(() => dec('{1:2}'), "invalid character '1' looking for beginning of object key string");
    codecError(() => dec('"a\nb"'), "invalid character '\\n' in string literal");
    codecError(() => dec('"\\x"'), "invalid character 'x' in string escape code");
    codecError(() => dec('"\\u12g4"'), "invalid character 'g' in \\u hexadecimal character escape");
    codecError(() => dec('-a'), "invalid character 'a' in numeric literal");
    codecError(() => dec('1.e5'), "invalid character 'e' after decimal point in numeric literal");
    codecError(() => dec('1e+'), 'unexpected EOF');
    codecError(() => dec('1ex'), "invalid character 'x' in exponent of numeric literal");
    codecError(() => dec('tru'), 'unexpected EOF');
    codecError(() => dec('trux'), "invalid character 'x' in literal true (expecting 'e')");
    codecError(() => codec.decode('{}' as unknown as Uint8Array));
    // Go quotes the first byte of a non-ASCII character as U+00XX (checked with Go 1.26's json.Unmarshal)
    codecError(() => dec('é'), "invalid character 'Ã' looking for beginning of value");
    codecError(() => dec('€'), "invalid character 'â' looking for beginning of value");
    codecError(() => dec('😀'), "invalid character 'ð' looking for beginning of value");
    codecError(() => dec('[1 é]'), "invalid character 'Ã' after array element");
    codecError(() => dec('{"a" é}'), "invalid character 'Ã' after object key");
  });

  it('decodes strings like Go (escapes, surrogates)', () => {
    assert.equal(dec('"\\u003c\\/\\b\\f\\n\\r\\t\\"\\\\"'), '</\b\f\n\r\t"\\');
    assert.equal(dec('"\\ud834\\udd1e"'), '𝄞');
    assert.equal(dec('"\\ud834x"'), '\ufffdx');
    assert.equal(dec('"\\udd1e"'), '\ufffd');
    assert.equal(dec('"\\ud834\\u0041"'), '\ufffdA');
  });

  it('never lets __proto__ change a prototype', () => {
    const v = dec('{"__proto__":{"polluted":true},"a":{"__proto__":[1]},"constructor":{"prototype":{"x":1}}}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.equal((v as { polluted?: unknown }).polluted, undefined);
    assert.equal(({} as { polluted?: unknown }).polluted, undefined);
    assert.deepEqual(Object.keys(v), ['__proto__', 'a', 'constructor']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, { polluted: true });
    const a = v['a'] as object;
    assert.equal(Object.getPrototypeOf(a), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(a, '__proto__')?.value, [1]);
    // and it survives a re-encode as a member
    assert.equal(enc(v), '{"__proto__":{"polluted":true},"a":{"__proto__":[1]},"constructor":{"prototype":{"x":1}}}');
  });

  it('enforces depth and container limits', () => {
    const limited = new JsonCodec({ maxDepth: 3, maxContainerLength: 2 });
    assert.deepEqual(dec('[[[1]]]', limited), [[[1]]]);
    codecError(() => dec('[[[[1]]]]', limited), 'exceeded max depth');
    codecError(() => dec('[1,2,3]', limited), /longer than 2/);
    codecError(() => dec('{"a":1,"b":2,"c":3}', limited), /more than 2/);
    // Go's own limit is 10000 levels; no stack overflow either way
    codecError(() => dec('['.repeat(10_001)), 'exceeded max depth');
    codecError(() => dec('['.repeat(10_000)), 'unexpected EOF');
    const huge = '['.repeat(200_000) + ']'.repeat(200_000);
    assert.ok(Array.isArray(dec(huge, new JsonCodec({ maxDepth: 1_000_000 }))));
  });

  it('only ever throws RpcxError on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          codec.decode(bytes);
        } catch (err) {
          assert.ok(err instanceof RpcxError);
        }
      }),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.json(), fc.nat(40), (json, cut) => {
        try {
          dec(json.slice(0, cut));
        } catch (err) {
          assert.ok(err instanceof RpcxError);
        }
      }),
    );
  });
});

describe('JSON codec: the JSON.parse shortcut gives what the Go-rules parser gives', () => {
  // A finite maxContainerLength turns the shortcut off: `slow` always runs the hand-written parser.
  const slow = new JsonCodec({ maxContainerLength: Number.MAX_SAFE_INTEGER });
  /** The value with its key order and -0 made visible, or the error text. */
  function outcome(c: JsonCodec, bytes: Uint8Array): string {
    const show = (v: unknown): string => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
      if (Array.isArray(v)) return `[${v.map(show).join(',')}]`;
      if (v !== null && typeof v === 'object') {
        if (Object.getPrototypeOf(v) !== Object.prototype) return 'NOT A PLAIN OBJECT';
        return `{${Object.keys(v).map((k) => `${JSON.stringify(k)}:${show((v as Record<string, unknown>)[k])}`).join(',')}}`;
      }
      return JSON.stringify(v);
    };
    try {
      return show(c.decode(bytes));
    } catch (err) {
      assert.ok(err instanceof RpcxError);
      return `error ${err.code} ${err.message}`;
    }
  }
  const same = (s: string): void => {
    const bytes = utf8.encode(s);
    assert.equal(outcome(codec, bytes), outcome(slow, bytes), s);
  };

  it('on texts at the edges (big integers, surrogate escapes, -0, duplicates, __proto__, trailing data)', () => {
    for (const s of [
      '9007199254740991', '9007199254740992', '9007199254740993', '-9007199254740993', '12345678901234567890', '1234567890123456.5',
      '1e400', '-1e400', '1e-400', '-0', '-0.0', '0e5', '[-0,0]', '"\\ud834\\udd1e"', '"\\ud834x"', '"\\udd1e"', '"\\\\ud834"',
      '{"a":1,"b":2,"a":3}', '{"__proto__":{"x":1},"y":[]}', '{"1":1,"0":0,"b":2}', '{"A":1} x', '01', '[1,2]]', ' \t\n\r[ 1 ]\r',
      '"\\u2028<>&"', '\ufeff{}', '{"a":"\\u0000"}', '"\\x"', '[', '', 'nul', 'NaN', 'Infinity', '+1', '.5', '1.', '"a\tb"',
      '"\x7f\u00e9\u20ac\ud834\udd1e"', '"\ud800"', '"\\u00e9"', '[1.5e3,-2E-2]',
      '['.repeat(10_001) + ']'.repeat(10_001),
    ]) same(s);
    // 9,999 levels: both accept it (compared by depth, the helper above would recurse too deep)
    const depth = (c: JsonCodec): number => {
      let v = c.decode(utf8.encode('['.repeat(9_999) + ']'.repeat(9_999)));
      let n = 0;
      while (Array.isArray(v) && n < 20_000) [v, n] = [v[0], n + 1];
      return n;
    };
    assert.equal(depth(codec), 9_999);
    assert.equal(depth(slow), 9_999);
    // long texts: many objects, brackets inside strings, a big integer at the very end
    const items = Array.from({ length: 3_000 }, (_, i) => ({ id: i, name: `[{item ${i}`, price: i * 1.5, neg: -i }));
    same(JSON.stringify(items));
    same(JSON.stringify(items).slice(0, -1) + ',18446744073709551615]');
    same(JSON.stringify({ deep: '['.repeat(20_000), ok: true }));
    const bad = new Uint8Array([0x22, 0xff, 0xc3, 0x22]); // invalid UTF-8 in a string
    assert.equal(outcome(codec, bad), outcome(slow, bad));
  });

  it('on arbitrary JSON, JSON-like texts and cut texts (fast-check)', () => {
    const jsonish = fc.stringMatching(/^[[\]{}",:0-9.eE+\- \\ud8a-f]{0,40}$/);
    fc.assert(
      fc.property(fc.oneof(fc.json(), fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'), jsonish), fc.nat(60), (t, cut) => {
        same(t);
        same(t.slice(0, cut));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        assert.equal(outcome(codec, bytes), outcome(slow, bytes));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('JSON codec: round trips (fast-check)', () => {
  it('decode(encode(v)) equals v for JSON-shaped values, bigints included', () => {
    const key = fc.string({ unit: 'binary' }).filter((k) => k !== '__proto__' && wellFormed(k));
    const leaf = fc.oneof(
      fc.constant(null),
      fc.boolean(),
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d) || Object.is(d, -0) || Number.isSafeInteger(d)),
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).filter((b) => !Number.isSafeInteger(Number(b)) || Number(b).toString() !== b.toString()),
      fc.string({ unit: 'binary' }).filter((s) => wellFormed(s)),
    );
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v')), fc.dictionary(key, tie('v')).map((d) => ({ ...d }))),
    })).v;
    fc.assert(
      fc.property(value, (v) => {
        assert.deepEqual(codec.decode(codec.encode(v)), v);
      }),
      { numRuns: 500 },
    );
  });

  it('matches JSON.parse on JSON.stringify output for safe values', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const s = JSON.stringify(v);
        assert.deepEqual(dec(s, new JsonCodec({ bigint: 'never' })), JSON.parse(s));
      }),
      { numRuns: 500 },
    );
  });
});
