/**
 * `rpcx bench ADDRESS Service.Method [JSON]`: closed-loop load like ghz. `-c` workers each make
 * one call at a time over `--connections` clients, for `-n` calls or `-d` duration; a live
 * progress line on stderr when it is a TTY; a summary (calls/s, latency percentiles, errors by
 * code) on stdout, as text or `--json`.
 *
 * Percentiles come from a bounded reservoir (Vitter's algorithm R, 100,000 samples): exact when
 * the run made at most that many calls, a uniform sample of all latencies otherwise (`sampled`
 * says which). Min, max and mean are over every call.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { RpcxError, ServiceError } from '../errors.js';
import { colours, durationOption, metaOption, numberOption, readStdin, serviceMethod, toJson, UsageError, Exit } from './common.js';
import { cliCodec } from './codec.js';
import { openCaller, type Caller } from './target.js';
import { ADDRESS_USAGE, CONNECT_OPTIONS, CONNECT_USAGE, connectOptions } from './call.js';

export const BENCH_USAGE = `usage: rpcx bench ADDRESS Service.Method [JSON | -] [options]

Closed-loop load: -c workers each make one call at a time, over --connections connections, for
-n calls or -d duration (default -n 1000). Prints a summary on stdout (calls/s, latency min,
mean, max, p50/p90/p99/p99.9, errors by code) as text or, with --json, one JSON object. A live
progress line goes to stderr when it is a terminal. Exit 1 when every call failed.

options:
${CONNECT_USAGE}
  -c, --concurrency N      calls in flight (default 10)
  -n, --total N            stop after N calls
  -d, --duration DURATION  stop starting calls after this long, e.g. 10s
  --connections N          connections (clients) the workers share round robin (default 1)
  --json                   the summary as JSON
${ADDRESS_USAGE}`;

/** Latency samples: a uniform reservoir of at most `capacity` values (algorithm R). */
export class Reservoir {
  readonly samples: number[] = [];
  count = 0;
  min = Infinity;
  max = 0;
  sum = 0;
  constructor(readonly capacity = 100_000) {}
  add(v: number): void {
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
    if (this.samples.length < this.capacity) this.samples.push(v);
    else {
      const j = Math.floor(Math.random() * this.count);
      if (j < this.capacity) this.samples[j] = v;
    }
  }
  /** Percentiles (nearest rank) of the samples, for `ps` in 0..100. */
  percentiles(ps: readonly number[]): number[] {
    const s = Float64Array.from(this.samples).sort();
    // The 1e-9 keeps float error (0.999 * 1000 = 999.0000000000001) from moving a rank up.
    return ps.map((p) => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length - 1e-9) - 1))]!));
  }
}

const PS = [50, 90, 99, 99.9] as const;

function fmtMs(ms: number): string {
  return ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(3)} ms`;
}

export async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...CONNECT_OPTIONS,
      concurrency: { type: 'string', short: 'c' },
      total: { type: 'string', short: 'n' },
      duration: { type: 'string', short: 'd' },
      connections: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    process.stdout.write(BENCH_USAGE);
    return Exit.OK;
  }
  const [address, sm, argText, ...extra] = positionals;
  if (address === undefined) throw new UsageError('missing ADDRESS', BENCH_USAGE);
  const { service, method } = serviceMethod(sm, BENCH_USAGE);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`, BENCH_USAGE);
  const concurrency = numberOption(values.concurrency, 'concurrency', BENCH_USAGE, { integer: true, min: 1 }) ?? 10;
  const connections = numberOption(values.connections, 'connections', BENCH_USAGE, { integer: true, min: 1 }) ?? 1;
  let total = numberOption(values.total, 'total', BENCH_USAGE, { integer: true, min: 1 });
  const durationMs = durationOption(values.duration, 'duration', BENCH_USAGE);
  if (total !== undefined && durationMs !== undefined) throw new UsageError('give -n or -d, not both', BENCH_USAGE);
  if (durationMs === undefined) total ??= 1000;
  const timeoutMs = durationOption(values.timeout, 'timeout', BENCH_USAGE) ?? 10_000;
  const metadata = metaOption(values.meta, BENCH_USAGE);
  const codec = await cliCodec({ codec: values.codec, proto: values.proto, type: values.type, replyType: values['reply-type'], service, method }, BENCH_USAGE);
  const input = argText === undefined || argText === '-' ? (process.stdin.isTTY === true && argText === undefined ? undefined : await readStdin()) : argText;
  const args = codec.args(input);
  const co = connectOptions(values, codec.serializeType, BENCH_USAGE);
  const callers: Caller[] = [];
  for (let i = 0; i < connections; i++) callers.push(openCaller(address, co, BENCH_USAGE));
  const options = {
    metadata,
    timeoutMs,
    ...(codec.argsCodec !== undefined ? { argsCodec: codec.argsCodec } : {}),
    ...(codec.replyCodec !== undefined ? { replyCodec: codec.replyCodec } : {}),
  };

  const lat = new Reservoir();
  const errors = new Map<string, { count: number; first: string }>();
  let started = 0;
  let ok = 0;
  let failed = 0;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  const err = process.stderr;
  const c = colours(err);
  const tty = err.isTTY === true;
  try {
    // Connect first, so that the first calls do not carry the dial time.
    await Promise.all(callers.map((k) => k.connect(service)));
    const t0 = performance.now();
    const deadline = durationMs === undefined ? Infinity : t0 + durationMs;
    const progress = (): void => {
      const s = (performance.now() - t0) / 1000;
      const done = ok + failed;
      err.write(`\r\x1b[K${c.bold(`[${s.toFixed(1)}s]`)} ${done} calls, ${Math.round(done / Math.max(s, 1e-3))}/s, ${failed === 0 ? '0 errors' : c.red(`${failed} errors`)}`);
    };
    const ticker = tty ? setInterval(progress, 200) : undefined;
    const worker = async (w: number): Promise<void> => {
      const caller = callers[w % callers.length]!;
      for (;;) {
        if (stop.signal.aborted || (total !== undefined && started >= total) || performance.now() >= deadline) return;
        started++;
        const s = performance.now();
        try {
          await caller.call(service, method, args, options);
          lat.add(performance.now() - s);
          ok++;
        } catch (e) {
          lat.add(performance.now() - s);
          failed++;
          const code = e instanceof ServiceError ? `${e.code}: ${e.message}` : e instanceof RpcxError ? e.code : 'ERROR';
          const entry = errors.get(code);
          if (entry === undefined) errors.set(code, { count: 1, first: e instanceof Error ? e.message : String(e) });
          else entry.count++;
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
    const elapsedMs = performance.now() - t0;
    if (ticker !== undefined) {
      clearInterval(ticker);
      progress();
      err.write('\n');
    }
    const [p50, p90, p99, p999] = lat.percentiles(PS);
    const count = ok + failed;
    const summary = {
      address,
      call: `${service}.${method}`,
      codec: codec.name,
      concurrency,
      connections,
      count,
      ok,
      errors: Object.fromEntries([...errors].map(([k, v]) => [k, v.count])),
      durationMs: elapsedMs,
      callsPerSecond: count / (elapsedMs / 1000),
      latencyMs: { min: count === 0 ? 0 : lat.min, mean: count === 0 ? 0 : lat.sum / count, max: lat.max, p50, p90, p99, 'p99.9': p999 },
      samples: lat.samples.length,
      sampled: lat.count > lat.capacity,
    };
    if (values.json) process.stdout.write(`${toJson(summary)}\n`);
    else {
      const lines = [
        'Summary:',
        `  Count:        ${count}`,
        `  Total:        ${(elapsedMs / 1000).toFixed(3)} s`,
        `  Slowest:      ${fmtMs(summary.latencyMs.max)}`,
        `  Fastest:      ${fmtMs(summary.latencyMs.min)}`,
        `  Average:      ${fmtMs(summary.latencyMs.mean)}`,
        `  Calls/sec:    ${summary.callsPerSecond.toFixed(2)}`,
        '',
        `Latency distribution${summary.sampled ? ` (from ${lat.samples.length} sampled calls)` : ''}:`,
        ...PS.map((p, i) => `  ${String(p).padStart(4)} % in ${fmtMs([p50, p90, p99, p999][i]!)}`),
        '',
        'Results:',
        `  [OK]   ${ok} calls`,
        ...[...errors].map(([k, v]) => `  [${k}]   ${v.count} calls${k.includes(':') ? '' : `: ${v.first}`}`),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return count > 0 && ok === 0 ? Exit.FAILED : Exit.OK;
  } finally {
    process.removeListener('SIGINT', onSignal);
    await Promise.all(callers.map((k) => k.close()));
  }
}
