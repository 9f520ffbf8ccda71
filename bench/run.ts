// npm run bench / npm run bench:quick: the side-by-side benchmark of issue 5.
//
// Cells (client -> server): G Go rpcx -> Go rpcx (the anchor), A TS -> Go, B Go -> TS, T TS -> TS,
// R @grpc/grpc-js -> @grpc/grpc-js (unary echo of the same payload), E raw Node `net` echo of
// same-size length-prefixed frames (the ceiling for Node). Payloads raw100 (Echo.Bytes,
// SerializeNone) and benchmark581 (Bench.Echo, protobuf BenchmarkMessage). Closed loop at
// c = 1, 16, 64, 256 on one connection and 256 over 4 connections. Every cell runs once per
// repetition, cells interleaved (their order rotates per repetition); client and server are
// pinned to separate cores with taskset, Go runs with GOMAXPROCS=1. A cell with any error is void.
//
// Writes bench/results/<date>[-quick].json and .svg and (unless --no-md) the generated section of
// BENCHMARKS.md. --quick: 2 repetitions, 400 ms warm-up (a fresh Node client needs that much JIT
// warm-up; shorter penalises the TS clients), 250 ms windows. Options: --quick, --smoke (tiny counts, for test/bench-smoke.test.ts), --reps N,
// --warmup MS, --duration MS, --configs 16x1,256x4, --out DIR, --no-md, --no-memory.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { connect, type Socket } from 'node:net';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createMessage, encodeMessage, MessageType, SerializeType } from '../src/protocol/index.js';
import { PAYLOADS, goBin, parseArgs, procRss, raw100, root, type ClientResult, type PayloadKind } from './common.js';

type CellId = 'G' | 'A' | 'B' | 'T' | 'R' | 'E';
type ServerKind = 'go' | 'rpcx' | 'grpc' | 'echo' | 'blackhole';
type ClientKind = 'go' | 'rpcx' | 'grpc' | 'echo';

const CELLS: ReadonlyArray<{ id: CellId; client: ClientKind; server: ServerKind; what: string }> = [
  { id: 'G', client: 'go', server: 'go', what: 'Go rpcx client -> Go rpcx server' },
  { id: 'A', client: 'rpcx', server: 'go', what: 'TS client -> Go server' },
  { id: 'B', client: 'go', server: 'rpcx', what: 'Go client -> TS server' },
  { id: 'T', client: 'rpcx', server: 'rpcx', what: 'TS client -> TS server' },
  { id: 'R', client: 'grpc', server: 'grpc', what: '@grpc/grpc-js client -> @grpc/grpc-js server' },
  { id: 'E', client: 'echo', server: 'echo', what: 'raw Node net echo, length-prefixed frames' },
];

interface Config {
  c: number;
  conns: number;
}
const label = (k: Config): string => (k.conns === 1 ? `c=${k.c}` : `c=${k.c}x${k.conns}`);

const args = parseArgs(process.argv.slice(2));
const smoke = args.has('smoke');
const quick = args.has('quick') || smoke;
const mode = smoke ? 'smoke' : quick ? 'quick' : 'full';
const REPS = Number(args.get('reps') ?? (smoke ? 1 : quick ? 2 : 3));
const WARMUP = Number(args.get('warmup') ?? (smoke ? 100 : quick ? 400 : 1000));
const DURATION = Number(args.get('duration') ?? (smoke ? 200 : quick ? 250 : 3000));
const CONFIGS: Config[] = (args.get('configs') ?? (smoke ? '16x1,64x4' : '1x1,16x1,64x1,256x1,256x4')).split(',').map((s) => {
  const [c, n] = s.split('x').map(Number);
  return { c: c!, conns: n ?? 1 };
});
const PENDING = smoke ? 200 : 10_000;
const IDLE_CONNS = smoke ? 20 : quick ? 300 : 1000;
const outDir = args.get('out') ?? join(root, 'bench', 'results');
const writeMd = !args.has('no-md') && !smoke;

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const CLIENT_CORE = '0';
const SERVER_CORE = cpus().length > 1 ? '1' : '0';
const nodeBench = (f: string): string => join(root, 'build', 'bench', f);

function pinned(core: string, cmd: string, argv: string[]): [string, string[]] {
  return hasTaskset ? ['taskset', ['-c', core, cmd, ...argv]] : [cmd, argv];
}

const children = new Set<ChildProcess>();
function cleanup(): void {
  for (const c of children) c.kill('SIGKILL');
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });

// ---- servers ----

interface Server {
  kind: ServerKind;
  pid: number;
  addr: string;
  proc: ChildProcess;
}

async function startServer(kind: ServerKind): Promise<Server> {
  const [cmd, argv] =
    kind === 'go'
      ? pinned(SERVER_CORE, goBin('server'), ['-addr', '127.0.0.1:0'])
      : pinned(SERVER_CORE, process.execPath, [nodeBench('server.js'), '--kind', kind]);
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GOMAXPROCS: '1' } });
  children.add(proc);
  proc.on('exit', () => children.delete(proc));
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()).length > 4000 && (err = err.slice(-2000)));
  const addr = await new Promise<string>((resolve, reject) => {
    let out = '';
    const t = setTimeout(() => reject(new Error(`${kind} server did not start: ${err}`)), 15_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening (?:tcp@)?(\S+)\n/.exec(out);
      if (m !== null) {
        clearTimeout(t);
        resolve(m[1]!);
      }
    });
    proc.on('exit', (code) => reject(new Error(`${kind} server exited (${code}): ${err}`)));
  });
  return { kind, pid: proc.pid!, addr, proc };
}

async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode !== null || s.proc.signalCode !== null) return;
  const exited = new Promise((resolve) => s.proc.once('exit', resolve));
  s.proc.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(3000).then(() => false)])) === false) {
    s.proc.kill('SIGKILL');
    await exited;
  }
}

// ---- clients ----

function runClient(kind: ClientKind, extra: string[], timeoutMs: number, nodeFlags: string[] = []): Promise<ClientResult> {
  const [cmd, argv] =
    kind === 'go'
      ? pinned(CLIENT_CORE, goBin('benchclient'), extra)
      : pinned(CLIENT_CORE, process.execPath, [...nodeFlags, nodeBench('client.js'), '--kind', kind, ...extra]);
  return new Promise((resolve) => {
    const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GOMAXPROCS: '1' } });
    children.add(proc);
    let out = '';
    let err = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(proc);
      const line = out.trim().split('\n').pop() ?? '';
      try {
        if (code !== 0) throw new Error(`exit ${code ?? signal}`);
        resolve(JSON.parse(line) as ClientResult);
      } catch (e) {
        resolve({
          calls: 0,
          errors: 1,
          firstError: `client ${kind} failed (${(e as Error).message}): ${err.trim().slice(-500)}`,
          durationNs: 0,
          latencyUs: { p50: 0, p99: 0, p999: 0, max: 0, mean: 0 },
          clientCpuUs: 0,
          serverCpuUs: 0,
        });
      }
    });
  });
}

function measureArgs(kind: ClientKind, s: Server, payload: PayloadKind, k: Config): string[] {
  if (kind === 'go') {
    return ['-addr', s.addr, '-kind', payload, '-c', String(k.c), '-conns', String(k.conns), '-warmup', `${WARMUP}ms`, '-duration', `${DURATION}ms`, '-server-pid', String(s.pid)];
  }
  return ['--addr', s.addr, '--payload', payload, '--c', String(k.c), '--conns', String(k.conns), '--warmup', String(WARMUP), '--duration', String(DURATION), '--server-pid', String(s.pid)];
}

// ---- the run ----

interface Sample {
  rep: number;
  payload: PayloadKind;
  config: string;
  c: number;
  conns: number;
  cell: CellId;
  void: boolean;
  error?: string;
  calls: number;
  callsPerSec: number;
  latencyUs: ClientResult['latencyUs'];
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
}

const samples: Sample[] = [];
const started = new Date();
const load0 = loadavg();
const log = (s: string): void => void process.stderr.write(s + '\n');
const serverOf: Record<CellId, ServerKind> = Object.fromEntries(CELLS.map((c) => [c.id, c.server])) as Record<CellId, ServerKind>;

log(`bench (${mode}): ${REPS} reps, warm-up ${WARMUP} ms, window ${DURATION} ms, configs ${CONFIGS.map(label).join(' ')}, pinning ${hasTaskset ? `client cpu ${CLIENT_CORE} / server cpu ${SERVER_CORE}` : 'OFF (no taskset)'}`);
for (let rep = 0; rep < REPS; rep++) {
  const servers = new Map<ServerKind, Server>();
  for (const k of ['go', 'rpcx', 'grpc', 'echo'] as const) servers.set(k, await startServer(k));
  const order = CELLS.map((_, i) => CELLS[(i + rep) % CELLS.length]!);
  for (const payload of PAYLOADS) {
    for (const k of CONFIGS) {
      for (const cell of order) {
        const s = servers.get(serverOf[cell.id])!;
        const r = await runClient(cell.client, measureArgs(cell.client, s, payload, k), WARMUP + DURATION + 30_000);
        const voided = r.errors > 0 || r.calls === 0;
        const sample: Sample = {
          rep,
          payload,
          config: label(k),
          c: k.c,
          conns: k.conns,
          cell: cell.id,
          void: voided,
          ...(r.firstError !== undefined ? { error: r.firstError } : voided ? { error: 'no calls' } : {}),
          calls: r.calls,
          callsPerSec: r.durationNs > 0 ? r.calls / (r.durationNs / 1e9) : 0,
          latencyUs: r.latencyUs,
          clientCpuUsPerCall: r.calls > 0 ? r.clientCpuUs / r.calls : 0,
          serverCpuUsPerCall: r.calls > 0 ? r.serverCpuUs / r.calls : 0,
        };
        samples.push(sample);
        log(
          `rep ${rep + 1}/${REPS} ${payload.padEnd(12)} ${label(k).padEnd(8)} ${cell.id}: ${voided ? `VOID (${sample.error})` : `${Math.round(sample.callsPerSec)} calls/s, p50 ${r.latencyUs.p50} us, cpu/call client ${sample.clientCpuUsPerCall.toFixed(2)} us server ${sample.serverCpuUsPerCall.toFixed(2)} us`}`,
        );
        // a server that died voids the rest of the repetition's cells on it; restart it
        if (s.proc.exitCode !== null || s.proc.signalCode !== null) servers.set(s.kind, await startServer(s.kind));
      }
    }
  }
  for (const s of servers.values()) await stopServer(s);
}

// ---- memory ----

interface Memory {
  pendingCalls: number;
  clientPending: Record<'go' | 'ts', { rssBytes: number; baseRssBytes: number; bytesPerPendingCall: number; error?: string }>;
  idleConnections: number;
  serverIdle: Record<'go' | 'ts', { rssBefore: number; rssAfter: number; bytesPerConnection: number; error?: string }>;
}

function requestFrame(seq: number): Buffer {
  const msg = createMessage({ messageType: MessageType.Request, serializeType: SerializeType.SerializeNone, servicePath: 'Echo', serviceMethod: 'Bytes', payload: raw100() });
  msg.seq = BigInt(seq);
  return Buffer.from(encodeMessage(msg));
}

/** Opens `n` connections to `addr`, makes one Echo.Bytes call on each (raw frames) and leaves them open. */
async function openIdle(addr: string, n: number): Promise<Socket[]> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  const socks: Socket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, j) => {
        return new Promise<Socket>((resolve, reject) => {
          const s = connect(port, host, () => s.write(requestFrame(i + j + 1)));
          let got = 0;
          const t = setTimeout(() => reject(new Error('no reply on an idle-connection probe')), 10_000);
          s.on('data', (d: Buffer) => {
            got += d.length;
            if (got >= 141) {
              clearTimeout(t);
              resolve(s);
            }
          });
          s.on('error', reject);
        });
      }),
    );
    socks.push(...batch);
  }
  return socks;
}

async function measureMemory(): Promise<Memory> {
  const mem: Memory = {
    pendingCalls: PENDING,
    clientPending: {} as Memory['clientPending'],
    idleConnections: IDLE_CONNS,
    serverIdle: {} as Memory['serverIdle'],
  };
  const hole = await startServer('blackhole');
  try {
    for (const side of ['go', 'ts'] as const) {
      const r =
        side === 'go'
          ? await runClient('go', ['-addr', hole.addr, '-kind', 'raw100', '-pending', String(PENDING)], 30_000)
          : await runClient('rpcx', ['--addr', hole.addr, '--payload', 'raw100', '--pending', String(PENDING)], 30_000, ['--expose-gc']);
      const rss = r.rssBytes ?? 0;
      const base = r.baseRssBytes ?? 0;
      mem.clientPending[side] = { rssBytes: rss, baseRssBytes: base, bytesPerPendingCall: (rss - base) / PENDING, ...(r.errors > 0 ? { error: r.firstError ?? 'error' } : {}) };
    }
  } finally {
    await stopServer(hole);
  }
  for (const side of ['go', 'ts'] as const) {
    const s = await startServer(side === 'go' ? 'go' : 'rpcx');
    try {
      (await openIdle(s.addr, 1)).forEach((x) => x.destroy()); // first connection: lazy init out of the way
      await sleep(300);
      const before = procRss(s.pid);
      const socks = await openIdle(s.addr, IDLE_CONNS);
      await sleep(1000);
      const after = procRss(s.pid);
      socks.forEach((x) => x.destroy());
      mem.serverIdle[side] = { rssBefore: before, rssAfter: after, bytesPerConnection: (after - before) / IDLE_CONNS };
    } catch (e) {
      mem.serverIdle[side] = { rssBefore: 0, rssAfter: 0, bytesPerConnection: 0, error: (e as Error).message };
    } finally {
      await stopServer(s);
    }
  }
  return mem;
}

const memory = args.has('no-memory') ? undefined : await measureMemory();
const load1 = loadavg();

// ---- aggregation ----

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface CellSummary {
  payload: PayloadKind;
  config: string;
  c: number;
  conns: number;
  cell: CellId;
  valid: number;
  voids: number;
  errors: string[];
  callsPerSec: { median: number; min: number; max: number };
  latencyUs: { p50: number; p99: number; p999: number };
  clientCpuUsPerCall: number;
  serverCpuUsPerCall: number;
}

const summaries: CellSummary[] = [];
for (const payload of PAYLOADS)
  for (const k of CONFIGS)
    for (const cell of CELLS) {
      const all = samples.filter((s) => s.payload === payload && s.config === label(k) && s.cell === cell.id);
      const ok = all.filter((s) => !s.void);
      const cps = ok.map((s) => s.callsPerSec);
      summaries.push({
        payload,
        config: label(k),
        c: k.c,
        conns: k.conns,
        cell: cell.id,
        valid: ok.length,
        voids: all.length - ok.length,
        errors: all.filter((s) => s.void).map((s) => s.error ?? ''),
        callsPerSec: { median: median(cps), min: Math.min(...cps), max: Math.max(...cps) },
        latencyUs: { p50: median(ok.map((s) => s.latencyUs.p50)), p99: median(ok.map((s) => s.latencyUs.p99)), p999: median(ok.map((s) => s.latencyUs.p999)) },
        clientCpuUsPerCall: median(ok.map((s) => s.clientCpuUsPerCall)),
        serverCpuUsPerCall: median(ok.map((s) => s.serverCpuUsPerCall)),
      });
    }

/** Ratios: calls/s of the two cells, and CPU per call of the side being compared. */
const RATIOS: ReadonlyArray<{ name: string; a: CellId; b: CellId; cpu: 'client' | 'server' | 'total' }> = [
  { name: 'A/G', a: 'A', b: 'G', cpu: 'client' },
  { name: 'B/G', a: 'B', b: 'G', cpu: 'server' },
  { name: 'T/R', a: 'T', b: 'R', cpu: 'total' },
  { name: 'T/E', a: 'T', b: 'E', cpu: 'total' },
];
const cpuOf = (s: Sample, which: 'client' | 'server' | 'total'): number =>
  which === 'client' ? s.clientCpuUsPerCall : which === 'server' ? s.serverCpuUsPerCall : s.clientCpuUsPerCall + s.serverCpuUsPerCall;

interface RatioSummary {
  name: string;
  payload: PayloadKind;
  config: string;
  c: number;
  cpuSide: string;
  perRep: Array<{ rep: number; callsPerSec: number; cpuPerCall: number }>;
  callsPerSec: number;
  cpuPerCall: number;
}
const ratios: RatioSummary[] = [];
for (const rdef of RATIOS)
  for (const payload of PAYLOADS)
    for (const k of CONFIGS) {
      const perRep: RatioSummary['perRep'] = [];
      for (let rep = 0; rep < REPS; rep++) {
        const find = (id: CellId): Sample | undefined => samples.find((s) => s.rep === rep && s.payload === payload && s.config === label(k) && s.cell === id && !s.void);
        const a = find(rdef.a);
        const b = find(rdef.b);
        if (a === undefined || b === undefined) continue;
        perRep.push({ rep, callsPerSec: a.callsPerSec / b.callsPerSec, cpuPerCall: cpuOf(a, rdef.cpu) / cpuOf(b, rdef.cpu) });
      }
      ratios.push({
        name: rdef.name,
        payload,
        config: label(k),
        c: k.c,
        cpuSide: rdef.cpu,
        perRep,
        callsPerSec: median(perRep.map((p) => p.callsPerSec)),
        cpuPerCall: median(perRep.map((p) => p.cpuPerCall)),
      });
    }

// ---- output ----

const day = started.toISOString().slice(0, 10);
const base = mode === 'full' ? day : `${day}-${mode}`;
mkdirSync(outDir, { recursive: true });
const jsonPath = join(outDir, `${base}.json`);
const svgPath = join(outDir, `${base}.svg`);
const command = mode === 'full' ? 'npm run bench' : mode === 'quick' ? 'npm run bench:quick' : 'node build/bench/run.js --smoke';
const machine = {
  node: process.version,
  go: (spawnSync('go', ['version'], { encoding: 'utf8' }).stdout ?? '').trim(),
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model ?? '',
  pinned: hasTaskset,
  loadavgStart: load0,
  loadavgEnd: load1,
};
writeFileSync(
  jsonPath,
  JSON.stringify({ started: started.toISOString(), finished: new Date().toISOString(), mode, command, reps: REPS, warmupMs: WARMUP, durationMs: DURATION, machine, cells: CELLS, summaries, ratios, memory, samples }, null, 1) + '\n',
);
writeFileSync(svgPath, chart());
log(`wrote ${relative(root, jsonPath)} and ${relative(root, svgPath)}`);

const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const kib = (b: number): string => `${(b / 1024).toFixed(1)} KiB`;
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

function ratioLines(): string[] {
  const lines: string[] = [];
  for (const r of ratios) {
    const reps = r.perRep.map((p) => f(p.callsPerSec)).join(', ');
    lines.push(
      `${r.name} = ${f(r.callsPerSec)}   ${r.payload.padEnd(12)} ${r.config.padEnd(8)} calls/s (reps: ${reps || 'none'});  cpu/call (${r.cpuSide}) ${r.name} = ${f(r.cpuPerCall)}`,
    );
  }
  return lines;
}

function table(): string[] {
  const rows = [
    '| payload | conc | cell | calls/s median (min-max) | p50 / p99 / p99.9 us | client us/call | server us/call | void |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const s of summaries) {
    const cps = s.valid > 0 ? `${Math.round(s.callsPerSec.median)} (${Math.round(s.callsPerSec.min)}-${Math.round(s.callsPerSec.max)})` : 'void';
    rows.push(
      `| ${s.payload} | ${s.config} | ${s.cell} | ${cps} | ${s.latencyUs.p50} / ${s.latencyUs.p99} / ${s.latencyUs.p999} | ${f(s.clientCpuUsPerCall)} | ${f(s.serverCpuUsPerCall)} | ${s.voids} |`,
    );
  }
  return rows;
}

function memoryLines(): string[] {
  if (memory === undefined) return ['(memory not measured)'];
  const p = memory.clientPending;
  const i = memory.serverIdle;
  return [
    `| memory | Go rpcx | TS rpcx |`,
    `|---|---|---|`,
    `| client RSS with ${memory.pendingCalls} pending calls (raw100) | ${mib(p.go.rssBytes)} (+${mib(p.go.rssBytes - p.go.baseRssBytes)}, ${f(p.go.bytesPerPendingCall, 0)} B/call) | ${mib(p.ts.rssBytes)} (+${mib(p.ts.rssBytes - p.ts.baseRssBytes)}, ${f(p.ts.bytesPerPendingCall, 0)} B/call) |`,
    `| server RSS per idle connection (${memory.idleConnections} connections, one call each) | ${kib(i.go.bytesPerConnection)} | ${kib(i.ts.bytesPerConnection)} |`,
  ];
}

function chart(): string {
  const colors: Record<CellId, string> = { G: '#1f77b4', A: '#ff7f0e', B: '#2ca02c', T: '#d62728', R: '#9467bd', E: '#7f7f7f' };
  const W = 460;
  const H = 320;
  const M = { l: 64, r: 16, t: 34, b: 44 };
  const all = summaries.filter((s) => s.valid > 0).map((s) => s.callsPerSec.median);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...all)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(10, ...all))));
  const y = (v: number): number => M.t + (H - M.t - M.b) * (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)));
  const x = (i: number): number => M.l + ((W - M.l - M.r) * (i + 0.5)) / CONFIGS.length;
  const parts: string[] = [];
  PAYLOADS.forEach((payload, pi) => {
    const ox = pi * W;
    const g: string[] = [`<g transform="translate(${ox},0)">`, `<text x="${W / 2}" y="20" text-anchor="middle" font-weight="bold">${payload}: calls/s (log scale) vs concurrency</text>`];
    for (let d = lo; d <= hi; d *= 10) {
      g.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
      g.push(`<text x="${M.l - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1e6 ? `${d / 1e6}M` : d >= 1e3 ? `${d / 1e3}k` : d}</text>`);
    }
    CONFIGS.forEach((k, i) => g.push(`<text x="${x(i)}" y="${H - M.b + 18}" text-anchor="middle">${label(k).replace('c=', '')}</text>`));
    g.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 8}" text-anchor="middle">concurrency (xN = over N connections)</text>`);
    for (const cell of CELLS) {
      const pts = CONFIGS.map((k, i) => {
        const s = summaries.find((z) => z.payload === payload && z.config === label(k) && z.cell === cell.id);
        return s !== undefined && s.valid > 0 ? `${x(i).toFixed(1)},${y(s.callsPerSec.median).toFixed(1)}` : undefined;
      }).filter((p): p is string => p !== undefined);
      if (pts.length === 0) continue;
      g.push(`<polyline fill="none" stroke="${colors[cell.id]}" stroke-width="2" points="${pts.join(' ')}"/>`);
      for (const p of pts) {
        const [px, py] = p.split(',');
        g.push(`<circle cx="${px}" cy="${py}" r="3" fill="${colors[cell.id]}"/>`);
      }
    }
    g.push('</g>');
    parts.push(g.join('\n'));
  });
  const legendY = H + 8;
  const legend = CELLS.map(
    (c, i) =>
      `<g transform="translate(${20 + (i % 3) * 300},${legendY + Math.floor(i / 3) * 18})"><rect width="12" height="12" fill="${colors[c.id]}"/><text x="18" y="11">${c.id}: ${c.what.replace(/->/g, '→').replace(/&/g, '&amp;')}</text></g>`,
  );
  const totalH = H + 50;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W * PAYLOADS.length}" height="${totalH}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    ...legend,
    `</svg>`,
    '',
  ].join('\n');
}

if (writeMd) {
  const mdPath = join(root, 'BENCHMARKS.md');
  const START = '<!-- bench:side-by-side:start (generated by bench/run.ts; edit the code, not this) -->';
  const END = '<!-- bench:side-by-side:end -->';
  const loadNote =
    Math.max(...load0, ...load1) > 0.5
      ? `Load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}: the machine was shared (other engineers running tests), so calls/s is noisy; CPU per call is steadier.`
      : `Load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}, at end ${load1.map((l) => l.toFixed(2)).join(' ')}.`;
  const section = [
    START,
    `### Results (${mode} run of ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC)`,
    '',
    `Command: \`${command}\` (${REPS} repetitions, ${WARMUP} ms warm-up, ${DURATION} ms window per cell). ` +
      `${machine.node}, ${machine.go}, ${machine.cpus} cores (${machine.cpuModel}); ${hasTaskset ? `client on cpu ${CLIENT_CORE}, server on cpu ${SERVER_CORE} (taskset)` : 'NOT pinned (no taskset)'}. ${loadNote}`,
    `Raw data: [${relative(root, jsonPath)}](${relative(root, jsonPath)}). Chart: [${relative(root, svgPath)}](${relative(root, svgPath)}).`,
    '',
    `![throughput vs concurrency](${relative(root, svgPath)})`,
    '',
    'Ratios, median of the per-repetition ratios (calls/s: higher is better for the first cell; cpu/call: lower is better, A/G compares the clients, B/G the servers, T/R and T/E client+server):',
    '',
    '```',
    ...ratioLines(),
    '```',
    '',
    ...table(),
    '',
    ...memoryLines(),
    END,
  ].join('\n');
  let md = readFileSync(mdPath, 'utf8');
  const a = md.indexOf(START);
  const b = md.indexOf(END);
  if (a >= 0 && b > a) md = md.slice(0, a) + section + md.slice(b + END.length);
  else md = md.trimEnd() + '\n\n' + section + '\n';
  writeFileSync(mdPath, md);
  log('updated BENCHMARKS.md');
}

const voids = summaries.filter((s) => s.voids > 0);
for (const v of voids) log(`void: ${v.payload} ${v.config} ${v.cell}: ${v.errors.join(' | ')}`);
for (const line of ratioLines()) log(line);
process.exit(0);
