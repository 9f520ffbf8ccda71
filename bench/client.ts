// Bench clients of the side-by-side benchmark (issue 5), one per process, pinned by bench/run.ts.
//   --kind rpcx   the rpcx TS Client (one Client per connection) calling Echo.Bytes / Bench.Echo
//   --kind grpc   an @grpc/grpc-js client of bench/grpc-echo.proto
//   --kind echo   a raw `net` client of 4-byte length-prefixed frames (the Node ceiling)
// Closed loop: --c calls in flight over --conns connections; --warmup ms, then --duration ms
// measured. Every reply is verified. Prints one JSON ClientResult (as interop/go/cmd/benchclient).
// --pending N (rpcx): send N calls to a server that never answers, then report RSS.
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as hdr from 'hdr-histogram-js';
import { Client } from '../src/client/client.js';
import { CodecRegistry } from '../src/codec/registry.js';
import { RawCodec } from '../src/codec/none.js';
import { ProtobufCodec } from '../src/codec/protobuf.js';
import { SerializeType } from '../src/protocol/constants.js';
import { FRAME_BYTES, benchmarkMessage, benchmarkType, parseArgs, procCpuUs, procRss, raw100, root, type ClientResult, type PayloadKind } from './common.js';

const args = parseArgs(process.argv.slice(2));
const kind = args.get('kind') ?? 'rpcx';
const addr = args.get('addr') ?? '';
const payload = (args.get('payload') ?? 'raw100') as PayloadKind;
const conc = Number(args.get('c') ?? 16);
const conns = Number(args.get('conns') ?? 1);
const warmupMs = Number(args.get('warmup') ?? 1000);
const durationMs = Number(args.get('duration') ?? 3000);
const serverPid = Number(args.get('server-pid') ?? 0);
const pendingN = Number(args.get('pending') ?? 0);
/** --spin-us N: the Client's `spinUs` (default: the library's). */
const spinUs = args.has('spin-us') ? Number(args.get('spin-us')) : undefined;
const [host, portText] = [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)];
const port = Number(portText);
if (!(conns >= 1 && conc >= conns)) throw new Error('need 1 <= --conns <= --c');

const hist = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
let measuring = false;
let stopping = false;
let calls = 0;
/** Verified replies since the start, warm-up included. */
let seen = 0;
let errors = 0;
let firstError: string | undefined;

function fail(err: unknown): void {
  errors++;
  firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

function record(t0: number): void {
  calls++;
  seen++;
  const us = Math.round((performance.now() - t0) * 1000);
  hist.recordValue(us < 1 ? 1 : us);
}

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);

/** A closed-loop worker over an async call function: one call in flight at a time. */
async function worker(call: () => Promise<unknown>, verify: (r: unknown) => boolean): Promise<void> {
  while (!stopping) {
    const t0 = performance.now();
    let ok: boolean;
    try {
      ok = verify(await call());
      if (!ok) fail(new Error('reply failed verification'));
    } catch (err) {
      if (!stopping) fail(err);
      continue;
    }
    if (measuring && ok) record(t0);
    else if (ok) seen++;
  }
}

interface Caller {
  calls: Array<() => Promise<unknown>>;
  verify: (r: unknown) => boolean;
  close: () => Promise<void> | void;
}

async function rpcxCaller(): Promise<Caller> {
  const codecs = new CodecRegistry([new RawCodec(), new ProtobufCodec()]);
  const clients = await Promise.all(Array.from({ length: conns }, () => Client.connect(addr, { codecs, serializeType: SerializeType.SerializeNone, ...(spinUs === undefined ? {} : { spinUs }) })));
  if (payload === 'raw100') {
    const data = raw100();
    const opts = { serializeType: SerializeType.SerializeNone };
    return {
      calls: clients.map((c) => () => c.call('Echo', 'Bytes', data, opts)),
      verify: (r) => r instanceof Uint8Array && bytesEqual(r, data),
      close: async () => void (await Promise.all(clients.map((c) => c.close({ graceful: false })))),
    };
  }
  const type = benchmarkType();
  const msg = benchmarkMessage();
  const opts = { serializeType: SerializeType.ProtoBuffer, argsCodec: { type }, replyCodec: { type } };
  return {
    calls: clients.map((c) => () => c.call('Bench', 'Echo', msg, opts)),
    verify: (r) => (r as Record<string, unknown>).field1 === 'OK' && (r as Record<string, unknown>).field2 === 100,
    close: async () => void (await Promise.all(clients.map((c) => c.close({ graceful: false })))),
  };
}

async function grpcCaller(): Promise<Caller> {
  const g = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const def = await loader.load(join(root, 'bench', 'grpc-echo.proto'), { keepCase: true, includeDirs: [join(root, 'interop', 'proto')] });
  type Unary = (req: unknown, cb: (err: Error | null, res: unknown) => void) => void;
  type Stub = { Bytes: Unary; Bench: Unary; close(): void; waitForReady(deadline: number, cb: (err?: Error) => void): void };
  const pkg = g.loadPackageDefinition(def) as unknown as { rpcxbench: { EchoService: new (a: string, c: unknown, o?: object) => Stub } };
  // distinct channels: grpc-js shares a subchannel between identical channels unless told not to
  const stubs = Array.from({ length: conns }, (_, i) => new pkg.rpcxbench.EchoService(addr, g.credentials.createInsecure(), { 'grpc.local_subchannel_pool': 1, 'bench.conn': i }));
  await Promise.all(stubs.map((s) => new Promise<void>((resolve, reject) => s.waitForReady(Date.now() + 5000, (e) => (e ? reject(e) : resolve())))));
  const promisify = (s: Stub, m: 'Bytes' | 'Bench', req: unknown) => () =>
    new Promise<unknown>((resolve, reject) => s[m](req, (err, res) => (err ? reject(err) : resolve(res))));
  if (payload === 'raw100') {
    const data = Buffer.from(raw100());
    return {
      calls: stubs.map((s) => promisify(s, 'Bytes', { data })),
      verify: (r) => bytesEqual((r as { data: Uint8Array }).data, data),
      close: () => stubs.forEach((s) => s.close()),
    };
  }
  const msg = benchmarkMessage();
  msg.field22 = 100000; // proto-loader's plain objects take a number for int64
  return {
    calls: stubs.map((s) => promisify(s, 'Bench', msg)),
    verify: (r) => (r as Record<string, unknown>).field1 === 'OK' && (r as Record<string, unknown>).field2 === 100,
    close: () => stubs.forEach((s) => s.close()),
  };
}

/**
 * The raw echo: each connection keeps its share of frames in flight; replies come back in order,
 * so send times sit in a ring. New frames go out in one write per 'data' event.
 */
async function runEcho(): Promise<() => void> {
  const size = FRAME_BYTES[payload];
  const frame = Buffer.alloc(size);
  frame.writeUInt32BE(size - 4, 0);
  for (let i = 4; i < size; i++) frame[i] = (i * 7) & 0xff;
  const sockets: Socket[] = [];
  for (let k = 0; k < conns; k++) {
    const inflight = Math.floor(conc / conns) + (k < conc % conns ? 1 : 0);
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect(port, host, () => resolve(s));
      s.once('error', reject);
    });
    sock.setNoDelay(true);
    sockets.push(sock);
    const sent = new Float64Array(inflight);
    let head = 0;
    let rest: Buffer | undefined;
    sock.on('data', (chunk: Buffer) => {
      const buf = rest === undefined ? chunk : Buffer.concat([rest, chunk]);
      let p = 0;
      let n = 0;
      while (buf.length - p >= size) {
        if (buf.readUInt32BE(p) !== size - 4 || buf[p + size - 1] !== frame[size - 1] || !buf.subarray(p, p + size).equals(frame)) {
          fail(new Error('echo reply differs'));
          sock.destroy();
          return;
        }
        const t0 = sent[head]!;
        if (measuring) record(t0);
        else seen++;
        n++;
        head = head + 1 === inflight ? 0 : head + 1;
        p += size;
      }
      rest = p === buf.length ? undefined : Buffer.from(buf.subarray(p));
      if (n > 0 && !stopping) {
        const now = performance.now();
        // the slots just freed are the n before head (mod inflight), in order
        for (let i = 0, s = (head - n + inflight) % inflight; i < n; i++, s = s + 1 === inflight ? 0 : s + 1) sent[s] = now;
        const out = Buffer.allocUnsafe(n * size);
        for (let i = 0; i < n; i++) frame.copy(out, i * size);
        sock.write(out);
      }
    });
    sock.on('error', (e) => {
      if (!stopping) fail(e);
    });
    const now = performance.now();
    sent.fill(now);
    const out = Buffer.allocUnsafe(inflight * size);
    for (let i = 0; i < inflight; i++) frame.copy(out, i * size);
    sock.write(out);
  }
  return () => sockets.forEach((s) => s.destroy());
}

async function runPending(): Promise<ClientResult> {
  const codecs = new CodecRegistry([new RawCodec(), new ProtobufCodec()]);
  const client = await Client.connect(addr, { codecs, serializeType: SerializeType.SerializeNone, maxPendingCalls: pendingN + 1 });
  const data = raw100();
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const base = procRss('self');
  const opts = { serializeType: SerializeType.SerializeNone };
  for (let i = 0; i < pendingN; i++) client.call('Echo', 'Bytes', data, opts).catch(() => {});
  await sleep(500);
  gc?.();
  await sleep(50);
  const rss = procRss('self');
  const pending = client.pendingCalls;
  await client.close({ graceful: false });
  return {
    calls: 0,
    errors: pending === pendingN ? 0 : 1,
    ...(pending === pendingN ? {} : { firstError: `${pending} calls pending, want ${pendingN}` }),
    durationNs: 0,
    latencyUs: { p50: 0, p99: 0, p999: 0, max: 0, mean: 0 },
    clientCpuUs: 0,
    serverCpuUs: 0,
    rssBytes: rss,
    baseRssBytes: base,
    pending,
  };
}

async function main(): Promise<ClientResult> {
  if (pendingN > 0) return runPending();
  let close: () => Promise<void> | void;
  const workers: Promise<void>[] = [];
  if (kind === 'echo') {
    close = await runEcho();
  } else {
    const caller = kind === 'rpcx' ? await rpcxCaller() : kind === 'grpc' ? await grpcCaller() : undefined;
    if (caller === undefined) throw new Error(`unknown --kind ${kind}`);
    close = caller.close;
    for (let w = 0; w < conc; w++) workers.push(worker(caller.calls[w % conns]!, caller.verify));
  }
  await sleep(warmupMs);
  // the warm-up lasts at least until the first reply (a slow starter, grpc-js at c = 256 on a busy machine)
  for (let i = 0; i < 1000 && seen === 0 && errors === 0; i++) await sleep(10);
  const cpu0 = process.cpuUsage();
  const srv0 = procCpuUs(serverPid);
  const t0 = process.hrtime.bigint();
  measuring = true;
  calls = 0;
  await sleep(durationMs);
  measuring = false;
  const n = calls;
  const elapsed = process.hrtime.bigint() - t0;
  const cpu = process.cpuUsage(cpu0);
  const srv1 = procCpuUs(serverPid);
  stopping = true;
  const settled = await Promise.race([Promise.all(workers).then(() => true), sleep(10_000).then(() => false)]);
  if (!settled) fail(new Error('calls still in flight 10 s after the window'));
  await close();
  return {
    calls: n,
    errors,
    ...(firstError === undefined ? {} : { firstError }),
    durationNs: Number(elapsed),
    latencyUs: {
      p50: hist.getValueAtPercentile(50),
      p99: hist.getValueAtPercentile(99),
      p999: hist.getValueAtPercentile(99.9),
      max: hist.maxValue,
      mean: hist.mean,
    },
    clientCpuUs: cpu.user + cpu.system,
    serverCpuUs: srv1 - srv0,
  };
}

main().then(
  (r) => {
    process.stdout.write(JSON.stringify(r) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`bench client: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
