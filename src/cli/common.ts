/**
 * What every `rpcx` subcommand shares: the usage error (exit 2), exit codes, colour (only on a
 * TTY, never with NO_COLOR), number and duration options, `--meta k=v`, and JSON output with
 * exact bigints (the JSON codec's Go-compatible writer).
 */
import { ErrorCode, RpcxError } from '../errors.js';
import { JsonCodec } from '../codec/json.js';

/** Exit statuses of every subcommand. */
export const Exit = {
  /** Done. */
  OK: 0,
  /** The call (or the command's work) failed: a service error, a connection error, a bad frame. */
  FAILED: 1,
  /** Bad command line: unknown command or option, missing or malformed argument. */
  USAGE: 2,
} as const;

/** A command-line mistake: the message and the subcommand's usage go to stderr, exit status 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text to print after the message (the subcommand's). */
    readonly usage?: string,
  ) {
    super(message);
  }

  override get name(): string {
    return 'UsageError';
  }
}

/** Whether `parseArgs` threw this (its TypeErrors carry `ERR_PARSE_ARGS_*` codes). */
export function isParseArgsError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_');
}

/** Colour for a stream: only when it is a TTY and `NO_COLOR` is unset or empty (no-color.org). */
export function colours(stream: NodeJS.WriteStream): { red(s: string): string; green(s: string): string; dim(s: string): string; bold(s: string): string } {
  const on = stream.isTTY === true && (process.env.NO_COLOR ?? '') === '';
  const wrap = (code: string) => (s: string) => (on ? `\x1b[${code}m${s}\x1b[0m` : s);
  return { red: wrap('31'), green: wrap('32'), dim: wrap('2'), bold: wrap('1') };
}

/** Parses a non-negative number option; `UsageError` otherwise. */
export function numberOption(value: string | undefined, name: string, usage: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const min = opts.min ?? 0;
  if (value.trim() === '' || !Number.isFinite(n) || n < min || (opts.integer === true && !Number.isInteger(n))) {
    throw new UsageError(`--${name} must be ${opts.integer === true ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(value)}`, usage);
  }
  return n;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A duration option in ms: `1500`, `1500ms`, `1.5s`, `2m`, `1h`. `UsageError` otherwise. */
export function durationOption(value: string | undefined, name: string, usage: string): number | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (m === null) throw new UsageError(`--${name} must be a duration such as 500ms, 2s or 1m, got ${JSON.stringify(value)}`, usage);
  return Number(m[1]) * UNITS[m[2] ?? 'ms']!;
}

/** `--meta k=v` (repeatable) as a metadata object; `UsageError` for an entry without `=`. */
export function metaOption(values: readonly string[] | undefined, usage: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of values ?? []) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UsageError(`--meta takes key=value, got ${JSON.stringify(kv)}`, usage);
    out[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return out;
}

/** `Service.Method` split at the last dot; `UsageError` when there is none. */
export function serviceMethod(text: string | undefined, usage: string): { service: string; method: string } {
  if (text === undefined) throw new UsageError('missing Service.Method', usage);
  const i = text.lastIndexOf('.');
  if (i <= 0 || i === text.length - 1) throw new UsageError(`expected Service.Method, got ${JSON.stringify(text)}`, usage);
  return { service: text.slice(0, i), method: text.slice(i + 1) };
}

const json = new JsonCodec();
const utf8 = new TextDecoder();

/**
 * A value as one line of JSON, as Go's `encoding/json` writes it: bigints exact, `Uint8Array` as
 * base64, `Map` keys sorted, `Date` as RFC 3339.
 */
export function toJson(value: unknown): string {
  return utf8.decode(json.encode(value));
}

/**
 * `value` with what JSON cannot hold made printable: NaN and ±Infinity become the strings `NaN`,
 * `+Inf`, `-Inf` (Go's `%v` spelling). Arrays, plain objects and Maps are walked; the rest is kept.
 */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : Number.isNaN(value) ? 'NaN' : value > 0 ? '+Inf' : '-Inf';
  if (depth > 10_000 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => jsonSafe(v, depth + 1));
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, jsonSafe(v, depth + 1)]));
  if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v, depth + 1);
    return out;
  }
  return value;
}

/** {@link toJson}, falling back to {@link jsonSafe} for values Go's JSON refuses (NaN, ±Inf). */
export function toJsonLenient(value: unknown): string {
  try {
    return toJson(value);
  } catch {
    return toJson(jsonSafe(value));
  }
}

/** Parses JSON text keeping big integers exact (bigint beyond 2^53); `UsageError` naming `what` on bad JSON. */
export function parseJson(text: string, what: string, usage: string): unknown {
  try {
    return json.decode(new TextEncoder().encode(text));
  } catch (err) {
    throw new UsageError(`${what} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, usage);
  }
}

/** Reads all of stdin (bounded: 64 MiB), or '' when stdin is a terminal. */
export async function readStdin(limit = 64 * 1024 * 1024): Promise<Buffer> {
  if (process.stdin.isTTY === true) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > limit) throw new RpcxError(ErrorCode.LIMIT, `stdin is larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The text of an error for stderr: an `RpcxError`'s code and message (field and offset are in the message). */
export function errorText(err: unknown): string {
  if (err instanceof RpcxError) return `${err.message}`;
  return err instanceof Error ? err.message : String(err);
}
