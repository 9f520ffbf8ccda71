// Stream throughput (issue 11 part 6): MB/s through the stream service's byte stream (16 MiB
// echoed, timed until the echo is back) and message-stream messages/s (Example.Endless, server
// to caller) at 100 B and 4 KiB, for every client/server pair of TS and Go on loopback. Servers
// run as their own processes (Go: interop/go/bin/server -stream; TS: build/bench/stream-server.js);
// the Go client is interop/go/bin/streambench. `--runs` rounds (default 5), each running every
// pair once in turn (interleaved); medians, with the ratios of our side to Go's. For the byte
// echo it also reads the server process's CPU time (all its threads, from
// /proc/<pid>/task/*/schedstat; Linux only) before and after each run and reports the server's
// CPU ms per MiB echoed, summed over the rounds, and the client's (TS: process.cpuUsage of this
// process; Go: streambench's getrusage). `--warmup` rounds (default 3) go first, run the same
// way for every pair and are not recorded; the order of the pairs rotates every round. `--only
// bytes` or `--only msgs` runs one kind. `--read` picks how the TS client reads the echo (below).
//
//   npm run build && node scripts/build-go.mjs && node build/bench/stream.js [--runs 3] [--warmup 3] [--only bytes|msgs] [--read data,1048576] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/client/client.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const goBin = (n: string): string => join(root, 'interop', 'go', 'bin', n);
const args = process.argv.slice(2);
const arg = (k: string, d: string): string => {
  const i = args.indexOf(k);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : d;
};
const RUNS = Number(arg('--runs', '5'));
const ONLY = arg('--only', '');
const WARMUP = Number(arg('--warmup', '3'));
// How the TS client reads the echo: `data` ('data' events) or an `onread` buffer size in bytes
// (default 1 MiB: `stream()`'s onread option, one reused buffer, as Go's streambench reads),
// optionally `/<write size>` (default 256 KiB per write); several, comma-separated, run as
// separate pairs in the same rounds (TS[<read>]->..., TS[<read>/w<write>]->...).
interface Variant {
  read: number;
  write: number;
  name: string;
}
const size = (n: number): string => (n >= 1 << 20 ? `${n / (1 << 20)}M` : `${n / 1024}K`);
const READ_ARGS = arg('--read', String(1 << 20)).split(',');
// How the Go client reads: 0 is `io.Copy(io.Discard, conn)` (a pooled 8 KiB buffer, the
// baseline Go->Go), a size is conn.Read into one reused buffer of that size (streambench -readbuf).
const GO_READS = arg('--go-read', '0').split(',').map(Number);
const goName = (r: number): string => (r === 0 ? 'Go' : `Go[${size(r)}]`);
const READS: Variant[] = READ_ARGS.map((v) => {
  const [r = 'data', w] = v.split('/');
  const read = r === 'data' ? 0 : Number(r);
  const write = w === undefined ? 256 * 1024 : Number(w);
  if (!Number.isInteger(read) || read < 0 || !Number.isInteger(write) || write <= 0) throw new Error(`bad --read ${v}`);
  const name = READ_ARGS.length === 1 ? 'TS' : `TS[${read === 0 ? 'data' : size(read)}${w === undefined ? '' : `/w${size(write)}`}]`;
  return { read, write, name };
});
const SIZE = 16 * 1024 * 1024;
const MSGS: readonly { size: number; count: number }[] = [
  { size: 100, count: 200_000 },
  { size: 4096, count: 50_000 },
];

/** CPU time of process `pid` in ns, all live threads (schedstat); undefined where /proc has none. */
function cpuNs(pid: number): number | undefined {
  try {
    let ns = 0;
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // the thread exited meanwhile
      }
    }
    return ns;
  } catch {
    return undefined;
  }
}

async function startServer(cmd: string, argv: string[]): Promise<{ key: string; pid: number; stop: () => void }> {
  const p = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  const rl = createInterface({ input: p.stdout! });
  const key = await new Promise<string>((resolve, reject) => {
    rl.once('line', (l) => {
      const m = /^listening (\S+)$/.exec(l);
      if (m) resolve(m[1]!);
      else reject(new Error(`unexpected: ${l}`));
    });
    p.once('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
  });
  return { key, pid: p.pid!, stop: () => p.kill('SIGKILL') };
}

/** The 16 MiB source, allocated once (as the Go client does before it starts timing). */
const DATA = new Uint8Array(SIZE).fill(1);

/** The `onread` buffers of the TS client, one per size, allocated once and reused (as Go's). */
const readBuffers = new Map<number, Buffer>();

/**
 * One byte echo through `stream()`: MB/s, and this process's CPU time meanwhile (all threads).
 * `read` 0 reads `'data'` events; a size reads through the `onread` option into one reused
 * buffer of that size (Go's streambench: `io.Copy(io.Discard, conn)`, one reused buffer too).
 */
async function tsBytes(key: string, { read, write }: Variant): Promise<{ rate: number; cpuMs: number }> {
  const c = new Client(key);
  try {
    let got = 0;
    let buf: Buffer | undefined;
    if (read > 0) {
      buf = readBuffers.get(read);
      if (buf === undefined) readBuffers.set(read, (buf = Buffer.alloc(read)));
    }
    const u0 = process.cpuUsage();
    const t0 = performance.now();
    const s = await c.stream(undefined, buf === undefined ? {} : { onread: { buffer: buf, callback: (n) => void (got += n) } });
    const done = new Promise<void>((resolve, reject) => {
      if (buf === undefined) s.on('data', (b: Buffer) => (got += b.length));
      s.on('end', () => resolve());
      s.on('error', reject);
    });
    for (let i = 0; i < SIZE; i += write) {
      if (!s.write(DATA.subarray(i, i + write))) await new Promise((r2) => s.once('drain', r2));
    }
    s.end();
    await done;
    s.destroy();
    const rate = SIZE / (1024 * 1024) / ((performance.now() - t0) / 1000);
    const u = process.cpuUsage(u0);
    if (got !== SIZE + 8) throw new Error(`echo ${got} bytes`);
    return { rate, cpuMs: (u.user + u.system) / 1000 };
  } finally {
    await c.close();
  }
}

async function tsMsgs(key: string, size: number, count: number): Promise<number> {
  const c = new Client(key);
  try {
    {
      const t0 = performance.now();
      const s = await c.openStream<{ Count: number; Size: number }, { N: unknown }>('Example', 'Endless');
      await s.send({ Count: count, Size: size });
      await s.end();
      let n = 0;
      for await (const _ of s) n++;
      if (n !== count) throw new Error(`got ${n} messages`);
      return count / ((performance.now() - t0) / 1000);
    }
  } finally {
    await c.close();
  }
}

function goRun(key: string, mode: 'bytes' | 'msgs', size: number, count = 0, readBuf = 0): { rate: number; cpuMs: number } {
  const r = spawnSync(goBin('streambench'), ['-addr', key, '-mode', mode, '-size', String(size), '-count', String(count), '-runs', '1', '-readbuf', String(readBuf)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streambench: ${r.stderr}`);
  const l = JSON.parse(r.stdout.trim().split('\n')[0]!) as { mbps?: number; msgsPerSec?: number; cpuMs?: number };
  return { rate: mode === 'bytes' ? l.mbps! : l.msgsPerSec!, cpuMs: l.cpuMs ?? Number.NaN };
}

const go = await startServer(goBin('server'), ['-stream']);
const ts = await startServer(process.execPath, [join(root, 'build', 'bench', 'stream-server.js')]);
const samples: Record<string, number[]> = {};
const serverCpu: Record<string, { ns: number; mib: number }> = {};
const clientCpu: Record<string, { ms: number; mib: number }> = {};
const add = (k: string, v: number): void => {
  (samples[k] ??= []).push(v);
};
try {
  const pairs: [string, 'ts' | 'go', { key: string; pid: number }, Variant][] = [
    ...READS.map((r): [string, 'ts', { key: string; pid: number }, Variant] => [`${r.name}->TS`, 'ts', ts, r]),
    ...READS.map((r): [string, 'ts', { key: string; pid: number }, Variant] => [`${r.name}->Go`, 'ts', go, r]),
    ...GO_READS.map((r): [string, 'go', { key: string; pid: number }, Variant] => [`${goName(r)}->TS`, 'go', ts, { read: r, write: 0, name: goName(r) }]),
    ...GO_READS.map((r): [string, 'go', { key: string; pid: number }, Variant] => [`${goName(r)}->Go`, 'go', go, { read: r, write: 0, name: goName(r) }]),
  ];
  // Rounds below 0 are warm-up, run the same way and not recorded: Node's JIT needs a few runs
  // (the TS server's per-chunk functions reach optimized code only after several 16 MiB echoes),
  // Go's binaries are compiled ahead of time.
  for (let r = -WARMUP; r < RUNS; r++) {
    const record = r >= 0;
    // The order rotates every round, so no pair always runs first or after the same pair.
    const order = pairs.map((_, i) => pairs[(i + r + WARMUP) % pairs.length]!);
    for (const [name, client, { key, pid }, read] of order) {
      if (ONLY !== 'msgs') {
        const c0 = cpuNs(pid);
        const b = client === 'ts' ? await tsBytes(key, read) : goRun(key, 'bytes', SIZE, 0, read.read);
        const c1 = cpuNs(pid);
        if (record) {
          add(`bytes ${name} MB/s`, b.rate);
          const mib = SIZE / (1024 * 1024);
          const cc = (clientCpu[name] ??= { ms: 0, mib: 0 });
          cc.ms += b.cpuMs;
          cc.mib += mib;
          if (c0 !== undefined && c1 !== undefined) {
            const sc = (serverCpu[name] ??= { ns: 0, mib: 0 });
            sc.ns += c1 - c0;
            sc.mib += mib;
          }
        }
      }
      if (ONLY === 'bytes' || (client === 'ts' && read !== READS[0]) || (client === 'go' && read.read !== GO_READS[0])) continue;
      for (const m of MSGS) {
        const v = client === 'ts' ? await tsMsgs(key, m.size, m.count) : goRun(key, 'msgs', m.size, m.count).rate;
        if (record) add(`msgs ${m.size}B ${name} msg/s`, v);
      }
    }
  }
} finally {
  go.stop();
  ts.stop();
}
const median = (xs: readonly number[]): number => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2;
};
const results: Record<string, number> = {};
for (const [k, v] of Object.entries(samples)) {
  results[k] = median(v);
  console.log(`${k.padEnd(28)} median ${median(v).toFixed(0).padStart(8)}   min ${Math.min(...v).toFixed(0).padStart(8)}   max ${Math.max(...v).toFixed(0).padStart(8)}`);
}
const serverCpuMsPerMiB: Record<string, number> = {};
const clientCpuMsPerMiB: Record<string, number> = {};
for (const [k, v] of Object.entries(serverCpu)) {
  serverCpuMsPerMiB[k] = v.ns / 1e6 / v.mib;
  clientCpuMsPerMiB[k] = clientCpu[k]!.ms / clientCpu[k]!.mib;
  console.log(`bytes ${k.padEnd(7)} CPU ms/MiB: server ${serverCpuMsPerMiB[k]!.toFixed(2)}, client ${clientCpuMsPerMiB[k]!.toFixed(2)}`);
}
const kinds = ONLY === 'bytes' ? ['bytes'] : ONLY === 'msgs' ? MSGS.map((m) => `msgs ${m.size}B`) : ['bytes', ...MSGS.map((m) => `msgs ${m.size}B`)];
for (const kind of kinds) {
  const unit = kind === 'bytes' ? 'MB/s' : 'msg/s';
  const g = results[`${kind} Go->Go ${unit}`]!;
  const ratio = (pair: string): string => (results[`${kind} ${pair} ${unit}`]! / g).toFixed(2);
  const rs = kind === 'bytes' ? READS : [READS[0]!];
  const per = (srv: string): string => rs.map((r) => r.name).map((n) => `${n}->${srv} ${ratio(`${n}->${srv}`)}`).join(', ');
  console.log(`${kind}: TS server (Go->TS / Go->Go) ${ratio('Go->TS')}, TS client (/ Go->Go) ${per('Go')}, both (/ Go->Go) ${per('TS')}`);
  if (kind === 'bytes') {
    for (const gr of GO_READS.filter((r) => r !== 0)) {
      const gn = goName(gr);
      const g2 = results[`bytes ${gn}->Go MB/s`]!;
      const r2 = (pair: string): string => (results[`bytes ${pair} MB/s`]! / g2).toFixed(2);
      console.log(`bytes vs ${gn}->Go (Go client reading into a reused ${size(gr)} buffer): ${gn}->Go / Go->Go ${ratio(`${gn}->Go`)}, ${gn}->TS ${r2(`${gn}->TS`)}, ${READS.map((v) => `${v.name}->Go ${r2(`${v.name}->Go`)}, ${v.name}->TS ${r2(`${v.name}->TS`)}`).join(', ')}`);
    }
  }
}
const out = arg('--json', '');
if (out !== '') writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, warmup: WARMUP, medians: results, serverCpuMsPerMiB, clientCpuMsPerMiB, samples }, null, 2));
