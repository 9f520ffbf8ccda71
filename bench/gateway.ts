// Gateway and WebSocket throughput, TS server against the Go server on the same requests
// (issue 12 §5): HTTP gateway requests/s and JSON-RPC requests/s over HTTP/1.1 keep-alive, and
// rpcx calls/s over `ws` with the TS Client, plus each server's CPU time per request (utime+stime
// of its process from /proc over the measured window), the comparison that holds on a shared
// machine. Each server runs in its own process (Go: interop/go/bin/server, rpcx v1.9.4; TS: the
// `rpcx serve` CLI), pinned to cpu 1 when taskset is there, Go with GOMAXPROCS=1. The HTTP load
// comes from a third process, interop/go/bin/httpload (Go, GOMAXPROCS=1, pinned to cpu 0): N
// keep-alive connections, one request in flight on each, every answer checked. The ws load is a
// TS Client in this process. TS and Go runs interleave (the order alternating per repetition);
// the table shows medians. Usage:
//   node build/bench/gateway.js [--seconds 3] [--warmup 1] [--concurrency 16] [--reps 5] [--only gateway,jsonrpc,ws]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from '../src/client/index.js';
import { goBin, root } from './common.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '16' },
    reps: { type: 'string', default: '5' },
    only: { type: 'string', default: 'gateway,jsonrpc,ws' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const concurrency = Number(values.concurrency);
const reps = Number(values.reps);
const only = new Set(values.only.split(','));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0 && cpus().length >= 2;
const LOAD_CORE = '0';
const SERVER_CORE = '1';
const pin = (core: string, cmd: string, argv: string[]): [string, string[]] => (pinned ? ['taskset', ['-c', core, cmd, ...argv]] : [cmd, argv]);
const goEnv = { ...process.env, GOMAXPROCS: '1' };

interface Server {
  key: string;
  proc: ChildProcess;
}

async function start(cmd: string, args: string[]): Promise<Server> {
  const [c, a] = pin(SERVER_CORE, cmd, args);
  const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'], env: goEnv });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
  return { key: line.replace(/^listening /, ''), proc };
}

async function stop(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((r) => s.proc.once('exit', r));
  s.proc.kill();
  await exited;
}

const goServer = (network: string) => start(goBin('server'), ['-network', network]);
const tsServer = (network: string) => start(process.execPath, [join(root, 'build', 'src', 'cli', 'rpcx.js'), 'serve', '--quiet', '--network', network, '--addr', '127.0.0.1:0']);

/** utime+stime of a process in µs (USER_HZ = 100). */
function cpuUs(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
}

interface Run {
  rate: number;
  cpuPerReq: number;
  p50: number;
  p99: number;
}

interface HttpLoad {
  requests: number;
  errors: number;
  firstError?: string;
  reqPerSec: number;
  p50Us: number;
  p99Us: number;
  serverCpuUsPerReq: number;
}

async function httpRun(s: Server, mode: 'gateway' | 'jsonrpc'): Promise<Run> {
  const hp = s.key.slice(s.key.indexOf('@') + 1);
  const [c, a] = pin(LOAD_CORE, goBin('httpload'), ['-addr', hp, '-mode', mode, '-c', String(concurrency), '-warmup', `${warmup}s`, '-duration', `${seconds}s`, '-server-pid', String(s.proc.pid)]);
  const proc = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'], env: goEnv });
  let out = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const code = await new Promise<number | null>((r) => proc.once('exit', r));
  if (code !== 0) throw new Error(`httpload exited ${code}`);
  const r = JSON.parse(out) as HttpLoad;
  if (r.errors > 0 || r.requests === 0) throw new Error(`httpload ${mode}: ${r.errors} errors of ${r.requests} (${r.firstError ?? ''})`);
  return { rate: r.reqPerSec, cpuPerReq: r.serverCpuUsPerReq, p50: r.p50Us, p99: r.p99Us };
}

async function wsRun(s: Server): Promise<Run> {
  const client = new Client(s.key);
  let measuring = false;
  let n = 0;
  const lat: number[] = [];
  let end = performance.now() + (warmup + seconds) * 1000;
  const loops = Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        const reply = (await client.call('Arith', 'Mul', { A: 3, B: 4 })) as { C?: number };
        if (reply.C !== 12) throw new Error(`ws: wrong reply ${JSON.stringify(reply)}`);
        if (measuring && performance.now() < end) {
          n++;
          lat.push((performance.now() - t0) * 1000);
        }
      }
    }),
  );
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const cpu0 = cpuUs(s.proc.pid!);
  const t0 = performance.now();
  measuring = true;
  end = t0 + seconds * 1000;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const cpu1 = cpuUs(s.proc.pid!);
  const elapsed = (performance.now() - t0) / 1000;
  await loops;
  await client.close();
  lat.sort((a, b) => a - b);
  return { rate: n / elapsed, cpuPerReq: (cpu1 - cpu0) / n, p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

const measures = [
  { name: 'gateway', label: 'gateway req/s', network: 'tcp', run: (s: Server) => httpRun(s, 'gateway') },
  { name: 'jsonrpc', label: 'JSON-RPC req/s', network: 'tcp', run: (s: Server) => httpRun(s, 'jsonrpc') },
  { name: 'ws', label: 'ws calls/s', network: 'ws', run: wsRun },
].filter((m) => only.has(m.name));

const results = new Map<string, { go: Run[]; ts: Run[] }>(measures.map((m) => [m.name, { go: [], ts: [] }]));
const fmt = (r: Run): string => `${Math.round(r.rate)}/s ${r.cpuPerReq.toFixed(1)} µs/req p50 ${Math.round(r.p50)} µs`;
for (let rep = 0; rep < reps; rep++) {
  for (const m of measures) {
    const order: ('go' | 'ts')[] = rep % 2 === 0 ? ['go', 'ts'] : ['ts', 'go'];
    for (const side of order) {
      const s = side === 'go' ? await goServer(m.network) : await tsServer(m.network);
      try {
        const r = await m.run(s);
        results.get(m.name)![side].push(r);
        console.error(`rep ${rep + 1}/${reps} ${m.name} ${side}: ${fmt(r)}`);
      } finally {
        await stop(s);
      }
    }
  }
}

const pinning = pinned ? `servers on cpu ${SERVER_CORE}, load on cpu ${LOAD_CORE} (taskset)` : 'NOT pinned (no taskset or one core)';
console.log(`${concurrency} connections/calls in flight, ${warmup} s warm-up + ${seconds} s window per run, median of ${reps} interleaved runs; ${pinning}; Go GOMAXPROCS=1; HTTP load: interop/go/bin/httpload; ws load: TS Client in the bench process; node ${process.version}`);
console.log('| measure | Go | TS | TS/Go | Go CPU µs/req | TS CPU µs/req | Go/TS CPU | Go p50/p99 µs | TS p50/p99 µs |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const m of measures) {
  const { go, ts } = results.get(m.name)!;
  const g = median(go.map((r) => r.rate));
  const t = median(ts.map((r) => r.rate));
  const gc = median(go.map((r) => r.cpuPerReq));
  const tc = median(ts.map((r) => r.cpuPerReq));
  const lat = (rs: Run[]): string => `${Math.round(median(rs.map((r) => r.p50)))}/${Math.round(median(rs.map((r) => r.p99)))}`;
  console.log(`| ${m.label} | ${Math.round(g)} | ${Math.round(t)} | ${(t / g).toFixed(2)} | ${gc.toFixed(1)} | ${tc.toFixed(1)} | ${(gc / tc).toFixed(2)} | ${lat(go)} | ${lat(ts)} |`);
}
