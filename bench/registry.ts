// Registry benchmark (issue 10 §8): how long after a server registers (or leaves) every one of 10
// clients sees it, TS discoveries next to Go's discoveries on the same store in the same run; and
// how long listing 1,000 services x 3 servers takes at start-up (one discovery cloned 999 times,
// sharing its connection, as Go's Clone does; Go's Redis and ZooKeeper side clones Go's
// NewXxxDiscoveryTemplate instead, 1,000 times: their Clone of a service's discovery appends the
// new service to the old one's path). Results and analysis: BENCHMARKS.md, Registries.
//
//   npm run build && node scripts/build-go.mjs && node build/bench/registry.js [--reps 20] [--only etcd,redis,zk] [--services 1000] [--watchers 10] [--per-process] [--no-share]
//
// Real servers from Debian packages (etcd-server, redis-server, zookeeper) on loopback; a registry
// whose server is not installed is skipped with a notice. Times are wall-clock: a server's
// `serve()` (which writes its entries) or `shutdown()` starting, to each watcher's update; the TS
// watchers run in a process of their own (bench/registry-watch.ts) as the Go watchers do
// (`regpeer watch`), both stamping events with CLOCK_REALTIME. By default each side's 10
// discoveries share one process: the TS ones share one registry connection and one watch (the
// library's default, `shareConnection`), Go's each have their own; `--no-share` gives each TS
// discovery its own connection too (`shareConnection: false`). `--per-process` runs every
// watcher, TS and Go alike, in a process of its own, as 10 clients of a deployment are.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createServer, type RpcxServer } from '../src/index.js';
import type { RegistryDiscovery, RegistryPlugin } from '../src/discovery/common.js';
import { discoveryFor, registerPluginFor, type RegistryTarget } from '../src/cli/registry.js';
import { findBinary } from '../test/support/system-server.js';
import { ETCD_CANDIDATES, launchEtcd } from '../test/support/etcd.js';
import { REDIS_CANDIDATES, launchRedis } from '../test/support/redis.js';
import { ZK_CANDIDATES, launchZooKeeper } from '../test/support/zookeeper.js';
import { join } from 'node:path';
import { goBin, parseArgs, root } from './common.js';

/** Watchers per side (`--watchers`, default 10: the "every one of 10 clients"). */
let WATCHERS = 10;
/**
 * `--per-process`: each watcher in a process of its own, TS and Go alike (10 clients of a
 * deployment are 10 processes). Default: the WATCHERS discoveries of a side share one process.
 */
let PER_PROCESS = false;
/** `--no-share`: the TS discoveries of a process each with a connection of their own (`shareConnection: false`), as Go's. */
let NO_SHARE = false;

interface Store {
  scheme: RegistryTarget['scheme'];
  url: string;
  close(): Promise<void>;
}

async function startStore(scheme: RegistryTarget['scheme']): Promise<Store | undefined> {
  if (scheme === 'etcd') {
    const bin = findBinary(ETCD_CANDIDATES);
    if (bin === undefined) return undefined;
    const e = await launchEtcd(bin, 1);
    return { scheme, url: `etcd://${e.hosts.join(',')}`, close: () => e.close() };
  }
  if (scheme === 'redis') {
    const bin = findBinary(REDIS_CANDIDATES);
    if (bin === undefined) return undefined;
    const r = await launchRedis(bin);
    return { scheme, url: r.url, close: () => r.stop() };
  }
  const jar = findBinary(ZK_CANDIDATES);
  const java = findBinary(['java']);
  if (jar === undefined || java === undefined) return undefined;
  const z = await launchZooKeeper(java, jar);
  return { scheme, url: `zk://${z.hostPort}`, close: () => z.dispose() };
}

const nowNs = (): number => Math.round((performance.timeOrigin + performance.now()) * 1e6);

/** Waits for servers-count events: `seen(count)` resolves with each watcher's first time at that count after `since`. */
class Watchers {
  /** Per watcher: [time ns, server count] of every update. */
  readonly events: Array<Array<[number, number]>> = [];
  constructor(n: number) {
    for (let i = 0; i < n; i++) this.events.push([]);
  }
  record(i: number, t: number, count: number): void {
    this.events[i]!.push([t, count]);
  }
  /** Each watcher's first event at `count` after `since`, or undefined if not (yet). */
  firstAt(count: number, since: number): Array<number | undefined> {
    return this.events.map((ev) => ev.find(([t, c]) => t >= since && c === count)?.[0]);
  }
  async waitAll(count: number, since: number, timeoutMs: number): Promise<number[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.firstAt(count, since);
      if (f.every((x) => x !== undefined)) return f as number[];
      if (Date.now() > deadline) throw new Error(`watchers did not all see ${count} server(s) in ${timeoutMs} ms: ${f.filter((x) => x !== undefined).length}/${f.length}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
}

/**
 * Starts the watchers of one side (`regpeer watch` or bench/registry-watch.js) and collects their
 * events: one process with all WATCHERS discoveries, or with `--per-process` WATCHERS processes of
 * one discovery each. `args(n)` is the command line for a process of `n` discoveries.
 */
/**
 * CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat (clock ticks of
 * 10 ms: Linux's USER_HZ is 100); NaN where /proc is not available.
 */
function cpuMsOf(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return NaN;
  }
}

async function spawnWatchers(command: string, args: (n: number) => readonly string[]): Promise<{ w: Watchers; cpuMs(): number; close(): Promise<void> }> {
  const w = new Watchers(WATCHERS);
  const procs = PER_PROCESS ? Array.from({ length: WATCHERS }, (_, k) => ({ n: 1, offset: k })) : [{ n: WATCHERS, offset: 0 }];
  const started = await Promise.all(
    procs.map(async ({ n, offset }) => {
      const p = spawn(command, [...args(n)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const exited = new Promise((r) => p.once('exit', r));
      await new Promise<void>((resolve, reject) => {
        p.once('exit', (code) => reject(new Error(`${command} watch exited with ${code}`)));
        createInterface({ input: p.stdout }).on('line', (line) => {
          if (!line.startsWith('{')) return;
          const e = JSON.parse(line) as { t: number; i: number; n: number };
          if (e.i < 0) resolve();
          else w.record(offset + e.i, e.t, e.n);
        });
      });
      return { p, exited };
    }),
  );
  return {
    w,
    cpuMs: () => started.reduce((sum, { p }) => sum + cpuMsOf(p.pid), 0),
    close: async () => {
      for (const { p } of started) p.stdin.end();
      await Promise.all(started.map((x) => x.exited));
    },
  };
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
}

interface Row {
  registry: string;
  event: 'join' | 'leave';
  side: 'TS' | 'Go';
  /** ms until every one of the 10 watchers saw the change, per repetition */
  all: number[];
  /** ms per watcher and repetition */
  each: number[];
  /** repetitions in which some watcher never saw the change (10 s): Go's ZooKeeper discovery can miss one */
  missed: number;
}

async function latency(store: Store, reps: number): Promise<{ rows: Row[]; cpu: { TS: number; Go: number } }> {
  const service = 'Who';
  const target: RegistryTarget = { scheme: store.scheme, hosts: store.url.replace(/^\w+:\/\//, '').split(','), basePath: `/bench_${store.scheme}` };
  // One server stays registered throughout: Go's Redis and ZooKeeper discoveries refuse to start
  // on an empty service. Joins are therefore seen as 2 servers, leaves as 1.
  const anchor = createServer({ plugins: [await registerPluginFor(target, { updateIntervalMs: 10_000 })] });
  anchor.registerFunction(service, () => ({ Name: 'anchor' }), 'Name');
  await anchor.serve('tcp', '127.0.0.1:0');
  const common = (n: number): string[] => ['-registry', store.url, '-base-path', target.basePath, '-service', service, '-n', String(n)];
  const ts = await spawnWatchers(process.execPath, (n) => [join(root, 'build', 'bench', 'registry-watch.js'), ...common(n).map((a) => a.replace(/^-/, '--')), ...(NO_SHARE ? ['--no-share'] : [])]);
  const go = await spawnWatchers(goBin('regpeer'), (n) => ['watch', ...common(n)]);
  const rows: Row[] = [];
  const row = (event: Row['event'], side: Row['side']): Row => {
    let r = rows.find((x) => x.event === event && x.side === side);
    if (r === undefined) rows.push((r = { registry: store.scheme, event, side, all: [], each: [], missed: 0 }));
    return r;
  };
  const cpu0 = { TS: ts.cpuMs(), Go: go.cpuMs() };
  for (let i = 0; i < reps; i++) {
    const plugin: RegistryPlugin = await registerPluginFor(target, { updateIntervalMs: 10_000 });
    const server: RpcxServer = createServer({ plugins: [plugin] });
    server.registerFunction(service, () => ({ Name: 'bench' }), 'Name');
    const t0 = nowNs();
    await server.serve('tcp', '127.0.0.1:0');
    for (const [side, w] of [['TS', ts.w], ['Go', go.w]] as const) {
      // A watcher that misses the change is counted, not waited for: rpcx-zookeeper (libkv) re-arms
      // its child watch only after re-listing, so a leave right after a join can go unseen.
      const seen = await w.waitAll(2, t0, 10_000).catch((err: Error) => {
        console.error(`${store.scheme} join ${i}, ${side} watchers: ${err.message}; last events: ${JSON.stringify(w.events.map((ev) => ev.slice(-4)))}`);
        return undefined;
      });
      if (seen === undefined) {
        row('join', side).missed++;
        continue;
      }
      const ms = seen.map((t) => (t - t0) / 1e6);
      row('join', side).each.push(...ms);
      row('join', side).all.push(Math.max(...ms));
    }
    const t1 = nowNs();
    await server.shutdown({ timeoutMs: 5000 });
    for (const [side, w] of [['TS', ts.w], ['Go', go.w]] as const) {
      const seen = await w.waitAll(1, t1, 10_000).catch((err: Error) => {
        console.error(`${store.scheme} leave ${i}, ${side} watchers: ${err.message}; last events: ${JSON.stringify(w.events.map((ev) => ev.slice(-4)))}`);
        return undefined;
      });
      if (seen === undefined) {
        row('leave', side).missed++;
        continue;
      }
      const ms = seen.map((t) => (t - t1) / 1e6);
      row('leave', side).each.push(...ms);
      row('leave', side).all.push(Math.max(...ms));
    }
  }
  // CPU of the watcher process(es) per change seen (a join or a leave), all discoveries of the side together.
  const cpu = { TS: (ts.cpuMs() - cpu0.TS) / (2 * reps), Go: (go.cpuMs() - cpu0.Go) / (2 * reps) };
  await ts.close();
  await go.close();
  await anchor.shutdown({ timeoutMs: 5000 });
  return { rows, cpu };
}

/** 3 servers x `n` services registered, then the time for one discovery + n-1 clones to list them all, TS and Go. */
async function listing(store: Store, n: number): Promise<{ registerMs: number; tsMs: number; goMs: number; tsServers: number; goServers: number }> {
  const target: RegistryTarget = { scheme: store.scheme, hosts: store.url.replace(/^\w+:\/\//, '').split(','), basePath: `/bench_list_${store.scheme}` };
  const servers: RpcxServer[] = [];
  const t0 = performance.now();
  for (let s = 0; s < 3; s++) {
    const server = createServer({ plugins: [await registerPluginFor(target, { updateIntervalMs: 60_000 })] });
    for (let i = 0; i < n; i++) server.registerFunction(`Svc${i}`, () => ({}), 'Name');
    await server.serve('tcp', '127.0.0.1:0');
    servers.push(server);
  }
  const registerMs = performance.now() - t0;
  const t1 = performance.now();
  const first = await discoveryFor(target, 'Svc0');
  const ds = [first, ...Array.from({ length: n - 1 }, (_, i) => first.clone(`Svc${i + 1}`) as RegistryDiscovery)];
  let tsServers = 0;
  await Promise.all(
    ds.map(async (d) => {
      const deadline = Date.now() + 60_000;
      let got = (await d.getServices()).length;
      while (got < 3 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 5));
        got = (await d.getServices()).length;
      }
      tsServers += got;
    }),
  );
  const tsMs = performance.now() - t1;
  for (const d of ds) d.close();
  const go = await new Promise<{ ms: number; servers: number }>((resolve, reject) => {
    const p = spawn(goBin('regpeer'), ['list', '-registry', store.url, '-base-path', target.basePath, '-service-prefix', 'Svc', '-n', String(n), '-expect', '3'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('{"ms"'));
      if (code !== 0 || line === undefined) reject(new Error(`regpeer list exited with ${code}: ${out}`));
      else resolve(JSON.parse(line) as { ms: number; servers: number });
    });
  });
  await Promise.all(servers.map((s) => s.shutdown({ timeoutMs: 20_000 })));
  return { registerMs, tsMs, goMs: go.ms, tsServers, goServers: go.servers };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const reps = Number(args.get('reps') ?? 20);
  const services = Number(args.get('services') ?? 1000);
  const only = (args.get('only') ?? 'etcd,redis,zk').split(',') as Array<RegistryTarget['scheme']>;
  WATCHERS = Number(args.get('watchers') ?? 10);
  PER_PROCESS = args.has('per-process');
  NO_SHARE = args.has('no-share');
  const out: string[] = [];
  const shape = (PER_PROCESS ? `each in a process of its own (${WATCHERS} + ${WATCHERS} processes)` : 'each side in one process') + (NO_SHARE ? ', TS shareConnection: false' : ', TS connections shared (default)');
  out.push(`registry benchmark: ${reps} joins and leaves, ${WATCHERS} TS and ${WATCHERS} Go watchers, ${shape}; listing ${services} services x 3 servers`);
  out.push('');
  out.push(`| registry | event | side | all ${WATCHERS} saw it: p50 ms | p99 ms | each watcher: p50 ms | p99 ms | TS/Go p50 (all) | TS/Go p99 (all) | missed |`);
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|');
  const listRows: string[] = [];
  const cpuRows: string[] = [];
  for (const scheme of only) {
    const store = await startStore(scheme);
    if (store === undefined) {
      out.push(`| ${scheme} | skipped: server not installed | | | | | | | | |`);
      continue;
    }
    try {
      const { rows, cpu } = await latency(store, reps);
      for (const r of rows) {
        const other = rows.find((x) => x.event === r.event && x.side !== r.side)!;
        const ratio = (p: number): string => (r.side === 'TS' ? (pct(r.all, p) / pct(other.all, p)).toFixed(2) : '');
        out.push(`| ${r.registry} | ${r.event} | ${r.side} | ${pct(r.all, 50).toFixed(1)} | ${pct(r.all, 99).toFixed(1)} | ${pct(r.each, 50).toFixed(1)} | ${pct(r.each, 99).toFixed(1)} | ${ratio(50)} | ${ratio(99)} | ${r.missed} |`);
      }
      cpuRows.push(`| ${scheme} | ${cpu.TS.toFixed(2)} | ${cpu.Go.toFixed(2)} | ${(cpu.TS / cpu.Go).toFixed(2)} |`);
      console.log(out.splice(0).join('\n'));
      const l = await listing(store, services).catch((err: unknown) => {
        listRows.push(`| ${scheme} | failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)} | | | |`);
        return undefined;
      });
      if (l !== undefined) listRows.push(`| ${scheme} | ${l.registerMs.toFixed(0)} | ${l.tsMs.toFixed(0)} (${l.tsServers}) | ${l.goMs.toFixed(0)} (${l.goServers}) | ${(l.tsMs / l.goMs).toFixed(2)} |`);
    } finally {
      await store.close();
    }
    console.error(`${scheme} done`);
  }
  out.push('');
  out.push(`| registry | watcher CPU per change, TS (${PER_PROCESS ? WATCHERS + ' processes' : '1 process'}), ms | Go, ms | TS/Go |`);
  out.push('|---|---:|---:|---:|');
  out.push(...cpuRows);
  out.push('');
  out.push(`| registry | 3 TS servers register ${services} services, ms | TS: list all (servers found), ms | Go: list all (servers found), ms | TS/Go |`);
  out.push('|---|---:|---:|---:|---:|');
  out.push(...listRows);
  console.log(out.join('\n'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
