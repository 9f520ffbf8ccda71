// Shared pieces of the side-by-side benchmark (issue 5): payloads, the wire of the raw echo,
// CPU and memory readings from /proc, and argument parsing for bench/client.ts and bench/server.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Type } from 'protobufjs';
import { parseProto, ProtobufCodec } from '../src/codec/protobuf.js';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const goBin = (name: string): string => join(root, 'interop', 'go', 'bin', name);

export type PayloadKind = 'raw100' | 'benchmark581';
export const PAYLOADS: readonly PayloadKind[] = ['raw100', 'benchmark581'];

/** rpcx-benchmark's PrepareArgs string (interop/go/internal/values BenchmarkString). */
export const BENCHMARK_STRING = '许多往事在眼前一幕一幕，变的那麼模糊';

let benchType: Type | undefined;
/** `rpcx.interop.BenchmarkMessage` from interop/proto/benchmark.proto. */
export function benchmarkType(): Type {
  benchType ??= parseProto(readFileSync(join(root, 'interop', 'proto', 'benchmark.proto'), 'utf8')).lookupType('rpcx.interop.BenchmarkMessage');
  return benchType;
}

/** rpcx-benchmark's filled message: strings BENCHMARK_STRING, integers 100000, bools true; 581 bytes. */
export function benchmarkMessage(): Record<string, unknown> {
  const m: Record<string, unknown> = {};
  for (const f of benchmarkType().fieldsArray) {
    if (f.repeated) continue;
    if (f.type === 'string') m[f.name] = BENCHMARK_STRING;
    else if (f.type === 'bool') m[f.name] = true;
    else if (f.type === 'int32') m[f.name] = 100000;
    else if (f.type === 'int64') m[f.name] = 100000n;
    else throw new Error(`unexpected field type ${f.type}`);
  }
  const size = new ProtobufCodec().encode(m, { type: benchmarkType() }).length;
  if (size !== 581) throw new Error(`BenchmarkMessage encodes to ${size} bytes, want 581`);
  return m;
}

/** The 100-byte raw payload (Go: bytes.Repeat("0123456789", 10)). */
export function raw100(): Uint8Array {
  return new TextEncoder().encode('0123456789'.repeat(10));
}

/** Sizes of the rpcx request frames (Echo.Bytes raw100 and Bench.Echo benchmark581, no metadata): the raw echo uses the same. */
export const FRAME_BYTES: Record<PayloadKind, number> = { raw100: 141, benchmark581: 622 };

/** utime+stime of a process in µs from /proc/<pid>/stat (clock ticks of 10 ms). */
export function procCpuUs(pid: number): number {
  if (!(pid > 0)) return 0;
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10_000;
  } catch {
    return 0;
  }
}

/** VmRSS of a process in bytes. */
export function procRss(pid: number | 'self'): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+) kB/.exec(s);
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** `--name value` pairs (and bare `--flag`s) into a map. */
export function parseArgs(argv: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) out.set(a.slice(2), argv[++i]!);
    else out.set(a.slice(2), 'true');
  }
  return out;
}

export interface LatencyUs {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** What a bench client prints (the Go benchclient prints the same fields). */
export interface ClientResult {
  calls: number;
  errors: number;
  firstError?: string;
  durationNs: number;
  latencyUs: LatencyUs;
  clientCpuUs: number;
  serverCpuUs: number;
  rssBytes?: number;
  baseRssBytes?: number;
  pending?: number;
}
