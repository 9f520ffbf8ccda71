// Gateway and WebSocket throughput, TS server against the Go server on the same requests
// (issue 12): HTTP gateway requests/s and JSON-RPC requests/s over HTTP/1.1 keep-alive, and rpcx
// calls/s over `ws` with the TS Client. Each server runs in its own process (Go:
// interop/go/bin/server, TS: the `rpcx serve` CLI); the load comes from this process, the same
// for both. Usage: node build/bench/gateway.js [--seconds 3] [--concurrency 16]
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Client } from '../src/client/index.js';
import { goBin, root } from './common.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' }, concurrency: { type: 'string', default: '16' }, reps: { type: 'string', default: '3' } } });
const seconds = Number(values.seconds);
const concurrency = Number(values.concurrency);
const reps = Number(values.reps);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function start(cmd: string, args: string[]): Promise<{ key: string; proc: ChildProcess }> {
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (c) => reject(new Error(`${cmd} exited ${c}`)));
  });
  return { key: line.replace(/^listening /, ''), proc };
}

const goServer = (network: string) => start(goBin('server'), ['-network', network]);
const tsServer = (network: string) => start(process.execPath, [join(root, 'build', 'src', 'cli', 'rpcx.js'), 'serve', '--quiet', '--network', network, '--addr', '127.0.0.1:0']);

function post(agent: Agent, host: string, port: number, path: string, headers: Record<string, string>, body: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method: 'POST', path, agent, headers: { ...headers, 'Content-Length': String(body.length) } }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function httpRate(key: string, jsonrpc: boolean): Promise<number> {
  const hp = key.slice(key.indexOf('@') + 1);
  const host = hp.slice(0, hp.lastIndexOf(':'));
  const port = Number(hp.slice(hp.lastIndexOf(':') + 1));
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      while (performance.now() < end) {
        if (jsonrpc) await post(agent, host, port, '/', { 'X-JSONRPC-2.0': 'true' }, '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":3,"B":4},"id":1}');
        else await post(agent, host, port, '/Arith', { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '1' }, '{"A":3,"B":4}');
        n++;
      }
      agent.destroy();
    }),
  );
  return n / seconds;
}

async function wsRate(key: string): Promise<number> {
  const client = new Client(key);
  const end = performance.now() + seconds * 1000;
  let n = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await client.call('Arith', 'Mul', { A: 3, B: 4 });
        n++;
      }
    }),
  );
  await client.close();
  return n / seconds;
}

const rows: [string, number, number][] = [];
for (const [name, network, run] of [
  ['gateway req/s', 'tcp', (k: string) => httpRate(k, false)],
  ['JSON-RPC req/s', 'tcp', (k: string) => httpRate(k, true)],
  ['ws calls/s', 'ws', wsRate],
] as const) {
  // Interleaved repetitions, medians: the machine is shared, single runs vary by 2x.
  const goRates: number[] = [];
  const tsRates: number[] = [];
  for (let r = 0; r < reps; r++) {
    const go = await goServer(network);
    goRates.push(await run(go.key));
    go.proc.kill();
    const ts = await tsServer(network);
    tsRates.push(await run(ts.key));
    ts.proc.kill();
  }
  rows.push([name, median(goRates), median(tsRates)]);
}
console.log(`concurrency ${concurrency}, ${seconds} s per run, median of ${reps} interleaved runs, Node client load in one process`);
console.log('| measure | Go | TS | TS/Go |\n|---|---|---|---|');
for (const [name, g, t] of rows) console.log(`| ${name} | ${Math.round(g)} | ${Math.round(t)} | ${(t / g).toFixed(2)} |`);
