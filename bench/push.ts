// npm run bench:push (issue 13): server pushes per second and server-to-client calls per second.
//
// Pushes: a client asks the server for an endless stream of 100-byte pushes on each of its
// connections (demo `Push.Burst` in the background: the server calls SendMessage/sendMessage in a
// loop) and counts what arrives in a window. Cells: Go server -> Go client (the anchor), TS server
// -> Go client, TS server -> TS client, Go server -> TS client; 1 and 100 connections. The Go
// client is interop/go/cmd/pushbench (BidirectionalBlock, so nothing is dropped); the TS client is
// this file with --push-client (pushPolicy 'block'). Server-to-client calls: a TS server calls a
// handler the TS client registered (100-byte raw payload, 16 calls in flight per connection) for
// a window; calls/s. Client and server are separate processes pinned to separate cores (taskset)
// when possible, Go with GOMAXPROCS=1. Cells interleave across repetitions.
//
// node build/bench/push.js [--reps 3] [--warmup 500] [--duration 2000] [--cells G1,B1,...] [--out bench/results]
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/client/client.js';
import { createServer, type RequestContext } from '../src/server/index.js';
import { SerializeType } from '../src/protocol/index.js';
import { goBin, parseArgs, root } from './common.js';

const args = parseArgs(process.argv.slice(2));
const self = fileURLToPath(import.meta.url);
const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const twoCores = cpus().length >= 2;
const pin = (core: string, cmd: string, argv: string[]): [string, string[]] => (hasTaskset && twoCores ? ['taskset', ['-c', core, cmd, ...argv]] : [cmd, argv]);
const CLIENT_CORE = '0';
const SERVER_CORE = '1';

interface PushResult {
  pushes: number;
  durationNs: number;
  firstError?: string;
}

// ---- child modes ----

if (args.has('push-client')) {
  // TS push counter: --push-client ADDR --conns N --warmup MS --duration MS
  const addr = args.get('push-client')!;
  const conns = Number(args.get('conns') ?? '1');
  let pushes = 0;
  let firstError: string | undefined;
  // Connect every client first, then ask for all the push loops at once (see pushbench).
  const clients: Client[] = [];
  for (let i = 0; i < conns; i++) {
    const c = new Client(addr, { pushPolicy: 'block', pushBufferSize: 1024 });
    c.onMessage((m) => {
      if (m.messageStatusType === 0) pushes++;
    });
    try {
      await c.connect();
    } catch (err) {
      firstError ??= String(err);
    }
    clients.push(c);
  }
  await Promise.all(
    clients.map((c) =>
      c.call('Push', 'Burst', { Path: 'Bench', Method: 'Push', Payload: new Uint8Array(92), Count: 2 ** 40 }).catch((err: unknown) => {
        firstError ??= String(err);
      }),
    ),
  );
  await new Promise((r) => setTimeout(r, Number(args.get('warmup') ?? '500')));
  const p0 = pushes;
  const t0 = process.hrtime.bigint();
  await new Promise((r) => setTimeout(r, Number(args.get('duration') ?? '2000')));
  const r: PushResult = { pushes: pushes - p0, durationNs: Number(process.hrtime.bigint() - t0) };
  if (firstError !== undefined) r.firstError = firstError;
  // The result first: the harness kills the server, which ends the push loops.
  console.log(JSON.stringify(r));
  process.exit(0);
}

if (args.has('s2c-server')) {
  // A TS server whose Loop handler calls the calling client back with `c` calls in flight for
  // `durationMs` and answers the number of calls made after `warmupMs`.
  const server = createServer();
  const payload = new Uint8Array(100).fill(7);
  server.registerFunction('Bench', async (a: { C: number; WarmupMs: number; DurationMs: number }, ctx: RequestContext) => {
    const conn = ctx.connection;
    let counting = false;
    let calls = 0;
    let stop = false;
    let failure: string | undefined;
    const worker = async (): Promise<void> => {
      while (!stop) {
        try {
          await conn.call('Calc', 'Echo', payload, { serializeType: SerializeType.SerializeNone, timeoutMs: 10_000 });
          if (counting) calls++;
        } catch (err) {
          failure ??= String(err);
          return;
        }
      }
    };
    const workers = Array.from({ length: a.C }, worker);
    await new Promise((r) => setTimeout(r, a.WarmupMs));
    counting = true;
    const t0 = process.hrtime.bigint();
    await new Promise((r) => setTimeout(r, a.DurationMs));
    counting = false;
    const ns = Number(process.hrtime.bigint() - t0);
    stop = true;
    await Promise.all(workers);
    return { Calls: calls, DurationNs: ns, Error: failure ?? '' };
  }, 'Loop');
  console.log(`listening ${await server.serve('tcp', '127.0.0.1:0')}`);
  await new Promise(() => {});
}

if (args.has('s2c-client')) {
  // --s2c-client ADDR --conns N --c C --warmup MS --duration MS: every connection runs Bench.Loop at once.
  const addr = args.get('s2c-client')!;
  const conns = Number(args.get('conns') ?? '1');
  const c = Number(args.get('c') ?? '16');
  const clients = await Promise.all(
    Array.from({ length: conns }, async () => {
      const cl = new Client(addr);
      cl.registerFunction('Calc', (x: Uint8Array) => x, 'Echo');
      await cl.connect();
      return cl;
    }),
  );
  const results = await Promise.all(
    clients.map((cl) => cl.call<{ Calls: number; DurationNs: number; Error: string }>('Bench', 'Loop', { C: c, WarmupMs: Number(args.get('warmup') ?? '500'), DurationMs: Number(args.get('duration') ?? '2000') }, { timeoutMs: 60_000 })),
  );
  for (const cl of clients) await cl.close({ graceful: false });
  const calls = results.reduce((s, r) => s + r.Calls, 0);
  const ns = Math.max(...results.map((r) => r.DurationNs));
  const err = results.find((r) => r.Error !== '')?.Error;
  console.log(JSON.stringify({ calls, durationNs: ns, ...(err === undefined ? {} : { firstError: err }) }));
  process.exit(0);
}

// ---- harness ----

const REPS = Number(args.get('reps') ?? '3');
const WARMUP = args.get('warmup') ?? '500';
const DURATION = args.get('duration') ?? '2000';
const OUT = args.get('out') ?? join(root, 'bench', 'results');

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

async function startServer(kind: 'go' | 'ts' | 's2c'): Promise<{ address: string; proc: ChildProcess }> {
  const [cmd, argv] =
    kind === 'go'
      ? pin(SERVER_CORE, goBin('server'), ['-addr', '127.0.0.1:0'])
      : kind === 'ts'
        ? pin(SERVER_CORE, process.execPath, [join(root, 'build', 'src', 'cli', 'rpcx.js'), 'serve', '--addr', '127.0.0.1:0'])
        : pin(SERVER_CORE, process.execPath, [self, '--s2c-server']);
  // stderr ignored: the Go peer logs every push loop the harness ends by killing the client.
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, GOMAXPROCS: '1' } });
  const rl = createInterface({ input: proc.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    rl.once('line', (line) => {
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve(m[1]!);
      else reject(new Error(`${kind} server: ${line}`));
    });
    proc.once('exit', (code) => reject(new Error(`${kind} server exited ${code}`)));
  });
  rl.on('line', () => {});
  return { address, proc };
}

function runClient(cmd: string, argv: string[]): Promise<Record<string, number | string>> {
  const [c, a] = pin(CLIENT_CORE, cmd, argv);
  return new Promise((resolve, reject) => {
    const p = spawn(c, a, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GOMAXPROCS: '1' } });
    let out = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '') as Record<string, number | string>);
      } catch {
        reject(new Error(`client ${cmd} exited ${code}: ${out}`));
      }
    });
  });
}

type Cell = { id: string; server: 'go' | 'ts' | 's2c'; client: 'go' | 'ts'; what: string; conns: number; c?: number };
const CELLS: Cell[] = [];
for (const conns of [1, 100]) {
  CELLS.push({ id: `G${conns}`, server: 'go', client: 'go', what: 'Go server -> Go client pushes', conns });
  CELLS.push({ id: `B${conns}`, server: 'ts', client: 'go', what: 'TS server -> Go client pushes', conns });
  CELLS.push({ id: `T${conns}`, server: 'ts', client: 'ts', what: 'TS server -> TS client pushes', conns });
  CELLS.push({ id: `A${conns}`, server: 'go', client: 'ts', what: 'Go server -> TS client pushes', conns });
  CELLS.push({ id: `S${conns}`, server: 's2c', client: 'ts', what: 'TS server -> TS client calls (16 in flight per connection)', conns, c: 16 });
}

const only = args.get('cells')?.split(',');
if (only !== undefined) CELLS.splice(0, CELLS.length, ...CELLS.filter((c) => only.includes(c.id)));
const samples = new Map<string, number[]>();
const errors: string[] = [];
log(`bench:push: ${REPS} reps, warm-up ${WARMUP} ms, window ${DURATION} ms, ${hasTaskset && twoCores ? `client cpu ${CLIENT_CORE} / server cpu ${SERVER_CORE}` : 'NOT pinned'}`);
for (let rep = 0; rep < REPS; rep++) {
  const order = CELLS.map((_, i) => CELLS[(i + rep * 3) % CELLS.length]!);
  for (const cell of order) {
    const srv = await startServer(cell.server);
    try {
      let rate: number;
      let err: string | undefined;
      if (cell.server === 's2c') {
        const r = await runClient(process.execPath, [self, '--s2c-client', srv.address, '--conns', String(cell.conns), '--c', String(cell.c), '--warmup', WARMUP, '--duration', DURATION]);
        rate = (Number(r['calls']) / Number(r['durationNs'])) * 1e9;
        err = r['firstError'] as string | undefined;
      } else if (cell.client === 'go') {
        const r = await runClient(goBin('pushbench'), ['-addr', srv.address, '-conns', String(cell.conns), '-warmup', `${WARMUP}ms`, '-duration', `${DURATION}ms`]);
        rate = (Number(r['pushes']) / Number(r['durationNs'])) * 1e9;
        err = r['firstError'] as string | undefined;
      } else {
        const r = await runClient(process.execPath, [self, '--push-client', srv.address, '--conns', String(cell.conns), '--warmup', WARMUP, '--duration', DURATION]);
        rate = (Number(r['pushes']) / Number(r['durationNs'])) * 1e9;
        err = r['firstError'] as string | undefined;
      }
      if (err !== undefined) {
        errors.push(`${cell.id} rep ${rep}: ${err}`);
        log(`${cell.id}: void (${err})`);
      } else {
        samples.set(cell.id, [...(samples.get(cell.id) ?? []), rate]);
        log(`${cell.id} (${cell.what}, ${cell.conns} conn): ${Math.round(rate)}/s`);
      }
    } finally {
      srv.proc.kill('SIGKILL');
    }
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const rows = CELLS.map((c) => ({ ...c, median: Math.round(median(samples.get(c.id) ?? [])), samples: (samples.get(c.id) ?? []).map(Math.round) }));
const ratio = (a: string, b: string): number => Math.round((median(samples.get(a) ?? []) / median(samples.get(b) ?? [])) * 100) / 100;
const ratios = {
  'TS server / Go server, Go client, 1 conn': ratio('B1', 'G1'),
  'TS server / Go server, Go client, 100 conns': ratio('B100', 'G100'),
  'TS server+client / Go server+client, 1 conn': ratio('T1', 'G1'),
  'TS server+client / Go server+client, 100 conns': ratio('T100', 'G100'),
};
const date = new Date().toISOString().slice(0, 10);
mkdirSync(OUT, { recursive: true });
const file = join(OUT, `${date}-push.json`);
writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), reps: REPS, warmupMs: Number(WARMUP), durationMs: Number(DURATION), pinned: hasTaskset && twoCores, node: process.version, rows, ratios, errors }, null, 2) + '\n');
console.log('| cell | what | conns | median /s | samples |');
console.log('|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.id} | ${r.what} | ${r.conns} | ${r.median} | ${r.samples.join(', ')} |`);
console.log('');
for (const [k, v] of Object.entries(ratios)) console.log(`- ${k}: ${v}`);
log(`wrote ${file}`);
