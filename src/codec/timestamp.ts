import { ErrorCode, RpcxError } from '../errors.js';

const NANOS_PER_SECOND = 1_000_000_000n;
/** 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range Go's `Time.MarshalJSON` accepts. */
const MIN_JSON_SECONDS = -62_167_219_200n;
const MAX_JSON_SECONDS = 253_402_300_799n;
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/**
 * An instant with nanosecond precision: Go's `time.Time` as it travels in rpcx payloads (the
 * MsgPack timestamp extension `-1`, tinylib/msgp's extension `5`, or an RFC 3339 string in
 * JSON). A JS `Date` keeps only milliseconds; decode with `{ time: 'timestamp' }` to keep the
 * nanoseconds Go sends. Only the instant travels in MsgPack; `offset` (seconds east of UTC, as
 * in Go's `time.FixedZone`) only changes the RFC 3339 text used by JSON.
 */
export class Timestamp {
  /** Seconds since the Unix epoch (Go `t.Unix()`), int64. */
  readonly seconds: bigint;
  /** Nanoseconds within the second, `0..999_999_999` (Go `t.Nanosecond()`). */
  readonly nanoseconds: number;
  /** Zone offset in seconds east of UTC used for RFC 3339 text (0 = `Z`). Not part of the instant. */
  readonly offset: number;

  /** Builds a timestamp; `nanoseconds` outside `0..999_999_999` carries into `seconds`. */
  constructor(seconds: bigint | number, nanoseconds: number | bigint = 0, offset = 0) {
    if (!Number.isSafeInteger(offset)) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `timestamp offset must be an integer, got ${offset}`);
    }
    this.offset = offset;
    if (typeof seconds === 'number' && !Number.isSafeInteger(seconds)) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `timestamp seconds must be an integer, got ${seconds}`);
    }
    if (typeof nanoseconds === 'number' && !Number.isSafeInteger(nanoseconds)) {
      throw new RpcxError(ErrorCode.INVALID_ARGUMENT, `timestamp nanoseconds must be an integer, got ${nanoseconds}`);
    }
    const total = BigInt(seconds) * NANOS_PER_SECOND + BigInt(nanoseconds);
    let s = total / NANOS_PER_SECOND;
    let n = total % NANOS_PER_SECOND;
    if (n < 0n) {
      n += NANOS_PER_SECOND;
      s -= 1n;
    }
    this.seconds = s;
    this.nanoseconds = Number(n);
  }

  /** The instant of a `Date` (millisecond precision). Throws for an invalid `Date`. */
  static fromDate(date: Date): Timestamp {
    const ms = date.getTime();
    if (Number.isNaN(ms)) throw new RpcxError(ErrorCode.INVALID_ARGUMENT, 'invalid Date');
    return new Timestamp(0n, BigInt(ms) * 1_000_000n);
  }

  /** The instant `n` nanoseconds after the Unix epoch (Go `time.Unix(0, n)`). */
  static fromUnixNano(n: bigint): Timestamp {
    return new Timestamp(0n, n);
  }

  /**
   * Parses RFC 3339 text with up to nine fractional digits (Go `time.Parse(time.RFC3339Nano, s)`),
   * e.g. what Go's `encoding/json` writes for a `time.Time`. Throws `RpcxError` `CODEC` otherwise.
   */
  static parse(text: string): Timestamp {
    const m = RFC3339.exec(text);
    if (m === null) throw new RpcxError(ErrorCode.CODEC, `cannot parse ${JSON.stringify(text)} as RFC 3339`);
    const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
    const month = Number(mo);
    const day = Number(d);
    const hour = Number(h);
    const minute = Number(mi);
    const second = Number(s);
    const days = daysFromCivil(Number(y), month, day);
    if (
      month < 1 || month > 12 || day < 1 || day > daysInMonth(Number(y), month) ||
      hour > 23 || minute > 59 || second > 59
    ) {
      throw new RpcxError(ErrorCode.CODEC, `cannot parse ${JSON.stringify(text)} as RFC 3339: field out of range`);
    }
    const offset = sign === undefined ? 0 : (sign === '+' ? 1 : -1) * (Number(oh) * 3600 + Number(om) * 60);
    const secs = BigInt(days) * 86_400n + BigInt(hour * 3600 + minute * 60 + second) - BigInt(offset);
    const nanos = frac === undefined ? 0 : Number(frac.padEnd(9, '0'));
    return new Timestamp(secs, nanos, offset);
  }

  /** Nanoseconds since the Unix epoch (Go `t.UnixNano()`, without its overflow). */
  toUnixNano(): bigint {
    return this.seconds * NANOS_PER_SECOND + BigInt(this.nanoseconds);
  }

  /** The instant as a `Date`, truncated to milliseconds (towards the past). */
  toDate(): Date {
    return new Date(Number(this.seconds * 1000n + BigInt(Math.floor(this.nanoseconds / 1_000_000))));
  }

  /**
   * RFC 3339 with trailing zeros of the fraction dropped, as Go's `t.Format(time.RFC3339Nano)`
   * writes it (e.g. `2024-05-06T07:08:09.5Z`, or `...+05:30` with an `offset`).
   */
  toString(): string {
    const local = this.seconds + BigInt(this.offset);
    const days = Number((local - mod(local, 86_400n)) / 86_400n);
    const secOfDay = Number(mod(local, 86_400n));
    const [y, mo, d] = civilFromDays(days);
    const hh = Math.floor(secOfDay / 3600);
    const mm = Math.floor((secOfDay % 3600) / 60);
    const ss = secOfDay % 60;
    let year: string;
    if (y >= 0) year = String(y).padStart(4, '0');
    else year = '-' + String(-y).padStart(4, '0');
    let text = `${year}-${pad2(mo)}-${pad2(d)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}`;
    if (this.nanoseconds !== 0) text += '.' + String(this.nanoseconds).padStart(9, '0').replace(/0+$/, '');
    if (this.offset === 0) return text + 'Z';
    const abs = Math.abs(this.offset);
    return `${text}${this.offset < 0 ? '-' : '+'}${pad2(Math.floor(abs / 3600))}:${pad2(Math.floor((abs % 3600) / 60))}`;
  }

  /**
   * The JSON text Go's `time.Time.MarshalJSON` produces (RFC 3339 with nanoseconds, UTC).
   * Throws like Go for years outside `0..9999`.
   */
  toJSON(): string {
    const local = this.seconds + BigInt(this.offset);
    if (local < MIN_JSON_SECONDS || local > MAX_JSON_SECONDS) {
      throw new RpcxError(ErrorCode.CODEC, 'Time.MarshalJSON: year outside of range [0,9999]');
    }
    return this.toString();
  }

  /** True when both name the same instant. */
  equals(other: Timestamp): boolean {
    return this.seconds === other.seconds && this.nanoseconds === other.nanoseconds;
  }
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function mod(a: bigint, b: bigint): bigint {
  const r = a % b;
  return r < 0n ? r + b : r;
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1] ?? 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function civilFromDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}
