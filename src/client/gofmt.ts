import { Buffer } from 'buffer';

/**
 * Go's `fmt.Sprintf("%v", x)` for the JavaScript shapes that stand for common Go values, so
 * {@link SelectMode.ConsistentHash} hashes the same key string as Go's `client/hash_utils.go`
 * `genKey` (`"/" + servicePath + "/" + serviceMethod + "/" + fmt.Sprintf("%v", args)`).
 *
 * Mapping (checked against Go by `interop/go/cmd/hashcheck -mode fmt`):
 *
 * | JavaScript | Go value | `%v` |
 * |---|---|---|
 * | `null`, `undefined` | `nil` | `<nil>` |
 * | string | `string` | the text as is |
 * | boolean | `bool` | `true` / `false` |
 * | integer `number`, `bigint` | `int` / `int64` / `uint64` | decimal |
 * | other `number` | `float64` | shortest `%g` (`0.5`, `1.5e+06`, `1e-05`, `+Inf`, `NaN`) |
 * | `Uint8Array` | `[]byte` | `[1 2 3]` |
 * | array | slice | `[a b c]` |
 * | `Map` | map | `map[k:v ...]`, keys sorted as fmt sorts them (numbers by value, strings by bytes) |
 * | plain object | struct (fields in declaration = key order) | `{v1 v2}` |
 *
 * Limits: an integer-valued `number` is always taken as a Go integer (a Go `float64` 1e6 prints
 * `1e+06`, an `int` `1000000`: pass a non-integer or use `hashKey`); a Go `float32` prints
 * with float32 shortest digits, not reproduced; `time.Time`, pointers inside values (Go prints
 * the address, which no other process can reproduce), `Stringer`/`error` methods and named
 * types with their own `String()` are not modelled. The top-level value can be marked as a Go
 * pointer (`&{10 20}`, how Go callers usually pass `&Args{...}`) with `{ pointer: true }`.
 */
export interface GoFormatOptions {
  /** Format the top-level struct/slice/map as a pointer to it (`&{...}`), as `%v` does at depth 0. */
  pointer?: boolean;
  /** `%+v`: struct fields with their names (`{A:1 B:2}`), at every depth. */
  plus?: boolean;
}

/** `fmt.Sprintf("%v", value)` for the Go value `value` stands for (see the table above). */
export function goSprintV(value: unknown, options: GoFormatOptions = {}): string {
  const s = options.plus ? fmtValue(value, true) : fmtValue(value);
  if (options.pointer && value !== null && typeof value === 'object') return `&${s}`;
  return s;
}

function fmtValue(v: unknown, plus = false): string {
  switch (typeof v) {
    case 'undefined':
      return '<nil>';
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isInteger(v) ? (Object.is(v, -0) ? '0' : BigInt(v).toString()) : goFloat(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return '<func>';
    case 'object':
      break;
  }
  if (v === null) return '<nil>';
  const f = (x: unknown): string => fmtValue(x, plus);
  if (v instanceof Uint8Array) return `[${Array.from(v).join(' ')}]`;
  if (ArrayBuffer.isView(v)) return `[${Array.from(v as unknown as ArrayLike<number | bigint>, f).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map(f).join(' ')}]`;
  if (v instanceof Map) {
    const entries = [...(v as Map<unknown, unknown>).entries()].sort((a, b) => compareKeys(a[0], b[0]));
    return `map[${entries.map(([k, x]) => `${f(k)}:${f(x)}`).join(' ')}]`;
  }
  if (v instanceof Set) return `[${[...v].map(f).join(' ')}]`;
  if (plus) return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}:${f(x)}`).join(' ')}}`;
  return `{${Object.values(v as Record<string, unknown>).map(f).join(' ')}}`;
}

/** `internal/fmtsort` order for the key kinds we model: numbers by value, strings by bytes, false < true. */
function compareKeys(a: unknown, b: unknown): number {
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint')) {
    return a < b ? -1 : a > b ? 1 : 0;
  }
  if (typeof a === 'string' && typeof b === 'string') {
    const x = Buffer.from(a, 'utf8');
    const y = Buffer.from(b, 'utf8');
    return Buffer.compare(x, y);
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = fmtValue(a);
  const y = fmtValue(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * `strconv.FormatFloat(f, 'g', -1, 64)` as fmt's `%v` uses it: shortest digits, exponent form
 * when the decimal exponent is < -4 or >= 6 (`1e+06`, `1.5e-05`), exponent with a sign and at
 * least two digits.
 */
export function goFloat(f: number): string {
  if (Number.isNaN(f)) return 'NaN';
  if (f === Infinity) return '+Inf';
  if (f === -Infinity) return '-Inf';
  if (f === 0) return Object.is(f, -0) ? '-0' : '0';
  // JavaScript's shortest round-trip digits equal Go's (both print the shortest decimal that
  // parses back to the same float64); only the layout differs.
  const [mant, expStr] = f.toExponential().split('e') as [string, string];
  const neg = mant.startsWith('-');
  const digits = mant.replace('-', '').replace('.', '');
  const exp = Number(expStr);
  const eprec = 6; // strconv: shortest precision decides %e vs %f at exponent 6
  let out: string;
  if (exp < -4 || exp >= eprec) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = Math.abs(exp);
    out = `${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  } else if (exp < 0) {
    out = `0.${'0'.repeat(-exp - 1)}${digits}`;
  } else if (digits.length <= exp + 1) {
    out = digits + '0'.repeat(exp + 1 - digits.length);
  } else {
    out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
  }
  return neg ? `-${out}` : out;
}
