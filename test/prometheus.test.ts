// Prometheus metrics (src/prometheus, `rpcx/prometheus`) on a real server and client, read back
// from a prom-client registry: started/handled counters by method and outcome code, the
// handling-time histogram, the connection gauge, each XClient attempt counted, oneway calls.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { repoRoot } from './support/go.js';
import { Client } from '../src/client/client.js';
import { FailMode, MultipleServersDiscovery, SelectMode, createXClient } from '../src/client/index.js';
import { ErrorCode, RpcxError, ServiceError } from '../src/errors.js';
import { prometheusClientPlugin, prometheusServerPlugin } from '../src/prometheus/index.js';
import { createServer, type RpcxServer } from '../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../src/server/demo/services.js';

/** The value of `name` with exactly these labels, from the registry's JSON. */
async function value(reg: Registry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await reg.getMetricsAsJSON()).find((m) => m.name === name);
  const v = (metric?.values as { labels: Record<string, string | number>; value: number; metricName?: string }[] | undefined)?.find(
    (x) => (x.metricName === undefined || x.metricName === name) && Object.keys(labels).length === Object.keys(x.labels).length && Object.entries(labels).every(([k, l]) => x.labels[k] === l),
  );
  return v?.value;
}

/** Waits (bounded) until `f` gives `want`. */
async function eventually(f: () => Promise<number | undefined>, want: number): Promise<number | undefined> {
  const deadline = Date.now() + 5_000;
  let v = await f();
  while (v !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 5));
    v = await f();
  }
  return v;
}

describe('rpcx/prometheus: server and client metrics', { timeout: 60_000 }, () => {
  const reg = new Registry();
  let server: RpcxServer;
  let key: string;

  before(async () => {
    server = createServer({ codecs: demoCodecs(), plugins: [prometheusServerPlugin({ registry: reg })] });
    registerDemoServices(server);
    key = await server.serve('tcp', '127.0.0.1:0');
  });
  after(async () => {
    await server.close();
  });

  it('counts started and handled calls by outcome on both sides, and times them', async () => {
    const c = new Client(key, { plugins: [prometheusClientPlugin({ registry: reg })] });
    try {
      for (let i = 0; i < 3; i++) assert.deepEqual(await c.call('Arith', 'Mul', { A: i, B: 2 }), { C: 2 * i });
      await assert.rejects(c.call('Echo', 'Error', { Text: 'no' }), (e: unknown) => e instanceof ServiceError);
      await assert.rejects(c.call('Echo', 'Sleep', { Ms: 2_000 }, { timeoutMs: 20 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.TIMEOUT);
      await assert.rejects(c.call('Nope', 'Nothing', {}), (e: unknown) => e instanceof ServiceError);
      const mul = { rpcx_service: 'Arith', rpcx_method: 'Mul' };
      assert.equal(await value(reg, 'rpcx_client_started_total', mul), 3);
      assert.equal(await value(reg, 'rpcx_client_handled_total', { ...mul, rpcx_code: 'OK' }), 3);
      assert.equal(await eventually(() => value(reg, 'rpcx_server_handled_total', { ...mul, rpcx_code: 'OK' }), 3), 3);
      assert.equal(await value(reg, 'rpcx_server_started_total', mul), 3);
      assert.equal(await value(reg, 'rpcx_client_handled_total', { rpcx_service: 'Echo', rpcx_method: 'Error', rpcx_code: 'SERVICE' }), 1);
      assert.equal(await eventually(() => value(reg, 'rpcx_server_handled_total', { rpcx_service: 'Echo', rpcx_method: 'Error', rpcx_code: 'SERVICE' }), 1), 1);
      assert.equal(await value(reg, 'rpcx_client_handled_total', { rpcx_service: 'Echo', rpcx_method: 'Sleep', rpcx_code: 'TIMEOUT' }), 1);
      assert.equal(await eventually(() => value(reg, 'rpcx_server_handled_total', { rpcx_service: 'Nope', rpcx_method: 'Nothing', rpcx_code: 'SERVICE' }), 1), 1, 'an unknown service counts too');
      const hist = (await reg.getMetricsAsJSON()).find((m) => m.name === 'rpcx_server_handling_seconds');
      const count = (hist?.values as { labels: Record<string, string>; value: number; metricName?: string }[]).find((v) => v.metricName === 'rpcx_server_handling_seconds_count' && v.labels['rpcx_method'] === 'Mul');
      assert.equal(count?.value, 3, 'three Mul observations in the histogram');
      assert.equal(await value(reg, 'rpcx_server_connections', {}), 1);
      await c.oneway('Echo', 'Count', {});
      assert.equal(await eventually(() => value(reg, 'rpcx_server_handled_total', { rpcx_service: 'Echo', rpcx_method: 'Count', rpcx_code: 'OK' }), 1), 1, 'a oneway call is counted when its method returns');
    } finally {
      await c.close();
    }
    assert.equal(await eventually(() => value(reg, 'rpcx_server_connections', {}), 0), 0, 'the gauge goes down when the connection closes');
  });

  it('made-up service names are bounded: past maxMethods they count as (other)', async () => {
    const reg3 = new Registry();
    const s = createServer({ codecs: demoCodecs(), plugins: [prometheusServerPlugin({ registry: reg3, maxMethods: 3 })] });
    registerDemoServices(s);
    const c = new Client(await s.serve('tcp', '127.0.0.1:0'));
    try {
      for (let i = 0; i < 20; i++) await assert.rejects(c.call(`Made${i}`, 'Up', {}), (e: unknown) => e instanceof ServiceError);
      await eventually(() => value(reg3, 'rpcx_server_handled_total', { rpcx_service: '(other)', rpcx_method: '(other)', rpcx_code: 'SERVICE' }), 17);
      const handled = (await reg3.getMetricsAsJSON()).find((m) => m.name === 'rpcx_server_handled_total');
      assert.equal(handled?.values.length, 4, 'three named pairs and (other)');
      assert.equal(await value(reg3, 'rpcx_server_started_total', { rpcx_service: '(other)', rpcx_method: '(other)' }), 17);
    } finally {
      await c.close();
      await s.close();
    }
  });

  it('an XClient counts each attempt; a second plugin on the same registry shares the metrics', async () => {
    const dropper = createNetServer((sock) => sock.once('data', () => sock.destroy()));
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    const dropKey = `tcp@127.0.0.1:${(dropper.address() as AddressInfo).port}`;
    const reg2 = new Registry();
    let picks = 0;
    const xc = createXClient('Arith', {
      discovery: new MultipleServersDiscovery([{ key: dropKey, value: '' }, { key, value: '' }]),
      failMode: FailMode.Failover,
      selectMode: SelectMode.SelectByUser,
      selector: { select: () => (picks++ === 0 ? dropKey : key), updateServer: () => {} },
      plugins: [prometheusClientPlugin({ registry: reg2 }), prometheusClientPlugin({ registry: reg2 })],
    });
    try {
      assert.deepEqual(await xc.call('Mul', { A: 2, B: 5 }), { C: 10 });
    } finally {
      await xc.close();
      dropper.close();
    }
    const mul = { rpcx_service: 'Arith', rpcx_method: 'Mul' };
    // two plugins on one registry: every event counted twice, no "already registered" error
    assert.equal(await value(reg2, 'rpcx_client_started_total', mul), 4);
    assert.equal(await value(reg2, 'rpcx_client_handled_total', { ...mul, rpcx_code: 'CONNECTION' }), 2);
    assert.equal(await value(reg2, 'rpcx_client_handled_total', { ...mul, rpcx_code: 'OK' }), 2);
  });
});

it('rpcx serve --metrics serves the server metrics at /metrics', { timeout: 30_000 }, async () => {
  const proc = spawn(process.execPath, [join(repoRoot, 'build', 'src', 'cli', 'rpcx.js'), 'serve', '--addr', '127.0.0.1:0', '--metrics', '127.0.0.1:0', '--quiet'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const lines: string[] = [];
    const rl = createInterface({ input: proc.stdout! });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no metrics line: ${lines.join(' | ')}`)), 20_000);
      rl.on('line', (l) => {
        lines.push(l);
        if (l.startsWith('metrics ')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const key = lines.find((l) => l.startsWith('listening '))!.slice('listening '.length);
    const url = lines.find((l) => l.startsWith('metrics '))!.slice('metrics '.length);
    const c = new Client(key);
    try {
      assert.deepEqual(await c.call('Arith', 'Mul', { A: 4, B: 5 }), { C: 20 });
    } finally {
      await c.close();
    }
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^rpcx_server_handled_total\{rpcx_service="Arith",rpcx_method="Mul",rpcx_code="OK"\} 1$/m);
    assert.match(text, /^rpcx_server_started_total\{rpcx_service="Arith",rpcx_method="Mul"\} 1$/m);
    assert.equal((await fetch(url.replace('/metrics', '/other'))).status, 404);
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => (proc.exitCode !== null ? r(undefined) : proc.once('exit', r)));
  }
});
