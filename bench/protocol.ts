// npm run bench:protocol: encode and decode rate of rpcx frames in TypeScript next to Go rpcx's
// own protocol package (interop/go/cmd/protobench), on the same frames, in the same run.
// Frames: a 100-byte raw payload, and rpcx-benchmark's BenchmarkMessage (581-byte protobuf).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, decodeMessage, encodeMessage, type Message } from '../src/protocol/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'interop', 'go', 'bin', 'protobench');
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const MS = Number(process.env['BENCH_MS'] ?? 400);

interface GoResult {
  name: string;
  frameBytes: number;
  encodeNsPerOp: number;
  decodeNsPerOp: number;
}

/** Runs `fn` in batches for about `ms` and returns ns per op. */
function measure(fn: () => void, ms: number): number {
  for (let i = 0; i < 20_000; i++) fn(); // warm-up
  let ops = 0;
  const start = process.hrtime.bigint();
  const end = start + BigInt(ms) * 1_000_000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 10_000; i++) fn();
    ops += 10_000;
    now = process.hrtime.bigint();
  }
  return Number(now - start) / ops;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const frames = JSON.parse(execFileSync(bin, ['-frames'], { encoding: 'utf8' })) as Record<string, string>;
const rows: Array<Record<string, string | number>> = [];
const goRuns: GoResult[][] = [];
const tsRuns = new Map<string, { enc: number[]; dec: number[]; stream: number[] }>();

for (let rep = 0; rep < REPS; rep++) {
  // interleave Go and TS repetitions so machine noise hits both alike
  goRuns.push(JSON.parse(execFileSync(bin, [], { encoding: 'utf8', env: { ...process.env, GOMAXPROCS: '1' } })) as GoResult[]);
  for (const [name, hex] of Object.entries(frames)) {
    const frame = Buffer.from(hex, 'hex');
    const msg: Message = decodeMessage(frame);
    let sink = 0;
    const enc = measure(() => {
      sink += encodeMessage(msg).length;
    }, MS);
    const dec = measure(() => {
      sink += decodeMessage(frame).payload.length;
    }, MS);
    // the path a connection takes: chunks of 64 KiB holding many frames, through FrameDecoder
    const perChunk = Math.floor(65536 / frame.length);
    const chunk = Buffer.concat(Array.from({ length: perChunk }, () => frame));
    const d = new FrameDecoder();
    const stream =
      measure(() => {
        d.write(chunk);
        for (let m = d.read(); m !== undefined; m = d.read()) sink += m.payload.length;
      }, MS) / perChunk;
    if (sink === 42) console.log('');
    const r = tsRuns.get(name) ?? { enc: [], dec: [], stream: [] };
    r.enc.push(enc);
    r.dec.push(dec);
    r.stream.push(stream);
    tsRuns.set(name, r);
  }
}

for (const [name, r] of tsRuns) {
  const goEnc = median(goRuns.map((g) => g.find((x) => x.name === name)!.encodeNsPerOp));
  const goDec = median(goRuns.map((g) => g.find((x) => x.name === name)!.decodeNsPerOp));
  const tsEnc = median(r.enc);
  const tsDec = median(r.dec);
  const tsStream = median(r.stream);
  rows.push({
    frame: `${name} (${frames[name]!.length / 2} B)`,
    'Go encode/s': Math.round(1e9 / goEnc),
    'TS encode/s': Math.round(1e9 / tsEnc),
    'encode TS/Go': +(goEnc / tsEnc).toFixed(2),
    'Go decode/s': Math.round(1e9 / goDec),
    'TS decode/s': Math.round(1e9 / tsDec),
    'decode TS/Go': +(goDec / tsDec).toFixed(2),
    'TS stream decode/s': Math.round(1e9 / tsStream),
    'stream TS/Go': +(goDec / tsStream).toFixed(2),
  });
}
console.log(`rpcx protocol benchmark: ${REPS} interleaved repetitions, medians; Go with GOMAXPROCS=1; node ${process.version}`);
console.table(rows);
for (const r of rows) {
  console.log(`${r['frame']}: encode TS/Go = ${r['encode TS/Go']}, decode TS/Go = ${r['decode TS/Go']}, stream decode TS/Go = ${r['stream TS/Go']}`);
}
