// Stream throughput (issue 11 part 6): MB/s through the stream service's byte stream (16 MiB
// echoed, timed until the echo is back) and message-stream messages/s (Example.Endless, server
// to caller) at 100 B and 4 KiB, for every client/server pair of TS and Go on loopback. Servers
// run as their own processes (Go: interop/go/bin/server -stream; TS: build/bench/stream-server.js);
// the Go client is interop/go/bin/streambench. Best of `--runs` (default 3).
//
//   npm run build && node scripts/build-go.mjs && node build/bench/stream.js [--runs 3] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
const RUNS = Number(arg('--runs', '3'));
const SIZE = 16 * 1024 * 1024;
const MSGS: readonly { size: number; count: number }[] = [
  { size: 100, count: 200_000 },
  { size: 4096, count: 50_000 },
];

async function startServer(cmd: string, argv: string[]): Promise<{ key: string; stop: () => void }> {
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
  return { key, stop: () => p.kill('SIGKILL') };
}

async function tsBytes(key: string): Promise<number> {
  const c = new Client(key);
  const data = new Uint8Array(SIZE).fill(1);
  let best = 0;
  try {
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const s = await c.stream();
      let got = 0;
      const done = new Promise<void>((resolve, reject) => {
        s.on('data', (b: Buffer) => (got += b.length));
        s.on('end', () => resolve());
        s.on('error', reject);
      });
      for (let i = 0; i < SIZE; i += 256 * 1024) {
        if (!s.write(data.subarray(i, i + 256 * 1024))) await new Promise((r2) => s.once('drain', r2));
      }
      s.end();
      await done;
      s.destroy();
      if (got !== SIZE + 8) throw new Error(`echo ${got} bytes`);
      best = Math.max(best, SIZE / (1024 * 1024) / ((performance.now() - t0) / 1000));
    }
  } finally {
    await c.close();
  }
  return best;
}

async function tsMsgs(key: string, size: number, count: number): Promise<number> {
  const c = new Client(key);
  let best = 0;
  try {
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const s = await c.openStream<{ Count: number; Size: number }, { N: unknown }>('Example', 'Endless');
      await s.send({ Count: count, Size: size });
      await s.end();
      let n = 0;
      for await (const _ of s) n++;
      if (n !== count) throw new Error(`got ${n} messages`);
      best = Math.max(best, count / ((performance.now() - t0) / 1000));
    }
  } finally {
    await c.close();
  }
  return best;
}

function goRun(key: string, mode: 'bytes' | 'msgs', size: number, count = 0): number {
  const r = spawnSync(goBin('streambench'), ['-addr', key, '-mode', mode, '-size', String(size), '-count', String(count), '-runs', String(RUNS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streambench: ${r.stderr}`);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { mbps?: number; msgsPerSec?: number });
  return Math.max(...lines.map((l) => (mode === 'bytes' ? l.mbps! : l.msgsPerSec!)));
}

const go = await startServer(goBin('server'), ['-stream']);
const ts = await startServer(process.execPath, [join(root, 'build', 'bench', 'stream-server.js')]);
const results: Record<string, number> = {};
try {
  const pairs: [string, 'ts' | 'go', string][] = [
    ['TS->TS', 'ts', ts.key],
    ['TS->Go', 'ts', go.key],
    ['Go->TS', 'go', ts.key],
    ['Go->Go', 'go', go.key],
  ];
  for (const [name, client, key] of pairs) {
    results[`bytes ${name} MB/s`] = client === 'ts' ? await tsBytes(key) : goRun(key, 'bytes', SIZE);
    for (const m of MSGS) {
      results[`msgs ${m.size}B ${name} msg/s`] = client === 'ts' ? await tsMsgs(key, m.size, m.count) : goRun(key, 'msgs', m.size, m.count);
    }
  }
} finally {
  go.stop();
  ts.stop();
}
for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(28)} ${v.toFixed(0)}`);
const out = arg('--json', '');
if (out !== '') writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), runs: RUNS, results }, null, 2));
