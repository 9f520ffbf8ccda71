// node build/bench/msgpack.js (after npm run build): the MsgPack codec of src/codec/msgpack.ts
// (hand-written) against the same codec rebuilt on @msgpack/msgpack (bench/msgpack-library.ts),
// and against the hand-written codec as it was before issue 4 (bench/msgpack-before.ts). Messages: the benchmark's two payloads (bench/common.ts) as MsgPack values —
// benchmark581, rpcx-benchmark's BenchmarkMessage as a Go struct (strings, bools, int32 numbers,
// int64 bigints), and raw100, a 100-byte []byte — plus arith, the spec's {A: 10, B: 20}.
// Decoding reads the hand-written codec's bytes (Go's bytes: int64 as d3). Codecs, interleaved
// in a rotating order within every repetition: before (src at 6bc2a36), hand (src now), library
// (useBigInt64: positive bigint as cf) and library+delegate (no useBigInt64: a value holding a
// bigint goes to the hand-written codec). Prints medians of ns/op and bytes allocated per op (heap + ArrayBuffers, measured
// apart from the timing, after a forced GC). BENCH_REPS (default 7), BENCH_MS (default 300).
import { deepStrictEqual } from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { MsgpackCodec } from '../src/codec/msgpack.js';
import type { Codec } from '../src/codec/types.js';
import { benchmarkMessage, raw100 } from './common.js';
import { MsgpackCodec as BeforeMsgpackCodec } from './msgpack-before.js';
import { LibraryMsgpackCodec } from './msgpack-library.js';

const REPS = Number(process.env['BENCH_REPS'] ?? 7);
const MS = Number(process.env['BENCH_MS'] ?? 300);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

type Impl = 'before' | 'hand' | 'library' | 'library+delegate';
const IMPLS: readonly Impl[] = ['before', 'hand', 'library', 'library+delegate'];
const codecs = (options: ConstructorParameters<typeof MsgpackCodec>[0]): Record<Impl, Codec> => ({
  before: new BeforeMsgpackCodec(options),
  hand: new MsgpackCodec(options),
  library: new LibraryMsgpackCodec(options, 'library'),
  'library+delegate': new LibraryMsgpackCodec(options, 'delegate'),
});
const byMode = {
  default: codecs({}), // what a client uses: bigint 'auto', time 'date'
  int64: codecs({ bigint: 'int64', time: 'timestamp' }), // the demo server's codec
};

const MESSAGES: Record<string, unknown> = {
  benchmark581: benchmarkMessage(),
  raw100: raw100(),
  arith: { A: 10, B: 20 },
};

interface Op {
  name: string;
  run: Record<Impl, () => number>;
}

const ops: Op[] = [];
for (const [name, value] of Object.entries(MESSAGES)) {
  const goBytes = byMode.default.hand.encode(value);
  ops.push({ name: `${name} encode`, run: fromImpls((c) => () => c.encode(value).length, byMode.default) });
  for (const mode of ['default', 'int64'] as const) {
    const set = byMode[mode];
    // every implementation must read Go's bytes to the same value
    const want = set.hand.decode(goBytes);
    for (const impl of IMPLS) deepStrictEqual(set[impl].decode(goBytes), want, `${impl} ${name} ${mode}`);
    ops.push({ name: `${name} decode (${mode === 'default' ? 'bigint auto' : "bigint 'int64'"})`, run: fromImpls((c) => () => (c.decode(goBytes) === undefined ? 0 : 1), set) });
  }
}

function fromImpls(make: (c: Codec) => () => number, set: Record<Impl, Codec>): Record<Impl, () => number> {
  return { before: make(set.before), hand: make(set.hand), library: make(set.library), 'library+delegate': make(set['library+delegate']) };
}

let sink = 0;

/** Runs `fn` in batches for about `ms` and returns ns per op. */
function measure(fn: () => number, ms: number): number {
  for (let i = 0; i < 5_000; i++) sink += fn(); // warm-up
  let n = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 2_000; i++) sink += fn();
    n += 2_000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / n;
}

/** Bytes allocated per op: heap and ArrayBuffer growth over 200 ops after a GC, median of 9. */
function allocated(fn: () => number): number {
  const per: number[] = [];
  for (let r = 0; r < 9; r++) {
    gc();
    const a = process.memoryUsage();
    for (let i = 0; i < 200; i++) sink += fn();
    const b = process.memoryUsage();
    per.push((b.heapUsed - a.heapUsed + b.arrayBuffers - a.arrayBuffers) / 200);
  }
  return median(per);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const times = new Map<string, number[]>();
for (let rep = 0; rep < REPS; rep++) {
  for (const op of ops) {
    for (let k = 0; k < IMPLS.length; k++) {
      const impl = IMPLS[(k + rep) % IMPLS.length]!; // rotate who goes first
      const key = `${op.name}|${impl}`;
      const list = times.get(key) ?? [];
      list.push(measure(op.run[impl], MS));
      times.set(key, list);
    }
  }
}

const rows: Array<Record<string, string | number>> = [];
for (const op of ops) {
  const ns = (impl: Impl): number => median(times.get(`${op.name}|${impl}`)!);
  const row: Record<string, string | number> = { op: op.name };
  for (const impl of IMPLS) row[`${impl} ns/op`] = +ns(impl).toFixed(0);
  row['library/before'] = +(ns('library') / ns('before')).toFixed(2);
  row['hand/before'] = +(ns('hand') / ns('before')).toFixed(2);
  row['library/hand'] = +(ns('library') / ns('hand')).toFixed(2);
  row['delegate/hand'] = +(ns('library+delegate') / ns('hand')).toFixed(2);
  for (const impl of IMPLS) row[`${impl} B/op`] = Math.round(allocated(op.run[impl]));
  rows.push(row);
}

const sizes = Object.entries(MESSAGES).map(([name, v]) => `${name} ${byMode.default.hand.encode(v).length} B`).join(', ');
console.log(`MsgPack codec: hand-written (before, now) vs @msgpack/msgpack; time ratios < 1 mean the first is faster; ${REPS} interleaved repetitions of ${MS} ms, medians; node ${process.version}; payloads: ${sizes}`);
console.table(rows);
console.log(`\n| op | ${IMPLS.map((i) => `${i} ns/op`).join(' | ')} | library/before | hand/before | library/hand | delegate/hand | B/op ${IMPLS.join(' / ')} |`);
console.log(`|---|${IMPLS.map(() => '---:|').join('')}---:|---:|---:|---:|---:|`);
for (const r of rows) {
  const cols = ['library/before', 'hand/before', 'library/hand', 'delegate/hand'].map((k) => r[k]).join(' | ');
  console.log(`| ${r['op']} | ${IMPLS.map((i) => r[`${i} ns/op`]).join(' | ')} | ${cols} | ${IMPLS.map((i) => r[`${i} B/op`]).join(' / ')} |`);
}
if (sink === 42) console.log('');
