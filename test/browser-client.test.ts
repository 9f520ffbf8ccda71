// The browser client's connection life (src/browser/client.ts), run in Node with the `ws`
// package's WebSocket in the browser's place (the page test, case 76 in test/gateway/browser.test.ts,
// runs it in headless Chromium) against a real TS server on the `ws` network, stopped and
// started again on the same port: calls in flight fail with CONNECTION and are not resent, the
// next call dials again (as Go's XClient and the Node Client), `reconnect` re-dials in the
// background, push listeners stay, `close()` is final, oneway sends, and a frame that can not be
// encoded fails its call alone.
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { after, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import {
  BrowserClient,
  BrowserXClient,
  ConsistentHashSelector,
  ErrorCode,
  FailMode,
  MultiError,
  RpcxError,
  SelectMode,
  ServiceError,
  XCLIENT_NO_SERVER,
  type BrowserClientStatus,
  type BrowserWebSocketConstructor,
  type Selector,
} from '../src/browser/index.js';
import { createServer, type RpcxServer } from '../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../src/server/demo/services.js';
import { waitFor } from './support/system-server.js';
import { build } from 'esbuild';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { openTelemetryClientPlugin, openTelemetryServerPlugin } from '../src/otel/index.js';
import { join } from 'node:path';
import { repoRoot } from './support/go.js';

/** `ws` as the browser's WebSocket: the browser sends Origin by itself, which the server requires. */
class NodeWebSocket extends WebSocket {
  constructor(url: string) {
    super(url, { origin: 'http://127.0.0.1' });
  }
}
const WS = NodeWebSocket as unknown as BrowserWebSocketConstructor;
const rpcxCode = (code: ErrorCode) => (e: unknown) => e instanceof RpcxError && e.code === code;

const servers = new Set<RpcxServer>();
after(async () => {
  await Promise.all([...servers].map((s) => s.close()));
});

/** A TS server with the demo services on `ws`, on `port` (0: a free one); returns its key. */
async function serve(port = 0): Promise<{ server: RpcxServer; key: string; port: number }> {
  const server = createServer({ codecs: demoCodecs() });
  registerDemoServices(server);
  servers.add(server);
  const key = await server.serve('ws', `127.0.0.1:${port}`);
  return { server, key, port: Number(key.slice(key.lastIndexOf(':') + 1)) };
}

async function stop(server: RpcxServer): Promise<void> {
  servers.delete(server);
  await server.close();
}

describe('BrowserClient connection life (ws package in the browser\'s place)', () => {
  test('a call in flight when the WebSocket drops rejects with CONNECTION; the next call dials again', async () => {
    const a = await serve();
    const c = await BrowserClient.connect(a.key, { WebSocket: WS, timeoutMs: 10_000 });
    const seen: string[] = [];
    c.onStatus((s) => seen.push(s.type));
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    const sleeping = c.call('Echo', 'Sleep', { Ms: 5_000 });
    const rejected = assert.rejects(sleeping, rpcxCode(ErrorCode.CONNECTION));
    await stop(a.server);
    await rejected;
    await waitFor(() => !c.connected, 'the client sees the drop', 5_000);
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }), rpcxCode(ErrorCode.CONNECTION), 'no server: the dial fails');
    const b = await serve(a.port);
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 3, B: 5 }), { C: 15 }, 'the next call dials the server again');
    assert.deepEqual(seen, ['disconnected', 'connected']);
    c.close();
    await stop(b.server);
  });

  test('reconnect: re-dials in the background with backoff; push listeners hear the new connection', async () => {
    const a = await serve();
    const c = await BrowserClient.connect(a.key, { WebSocket: WS, timeoutMs: 10_000, reconnect: { initialDelayMs: 20, maxDelayMs: 100 } });
    const seen: BrowserClientStatus[] = [];
    c.onStatus((s) => seen.push(s));
    const pushes: number[] = [];
    c.onMessage((m) => pushes.push(m.payload[m.payload.length - 1]!));
    await stop(a.server);
    await waitFor(() => seen.filter((s) => s.type === 'reconnecting').length >= 2, 'two background attempts while the server is down', 10_000);
    const b = await serve(a.port);
    await waitFor(() => c.connected, 'connected again without a call', 10_000);
    const types = seen.map((s) => s.type);
    assert.equal(types[0], 'disconnected');
    assert.equal(types.at(-1), 'connected');
    const attempts = seen.flatMap((s) => (s.type === 'reconnecting' ? [s] : []));
    assert.deepEqual(attempts.map((s) => s.attempt), attempts.map((_, i) => i + 1), 'attempts count up');
    assert.ok(attempts.every((s) => s.delayMs <= 120), 'delays stay within maxDelayMs (+20 % jitter)');
    await c.call('Push', 'Start', { Path: 'News', Method: 'Tick', Payload: new Uint8Array([1, 2]), Count: 3, IntervalMs: 10 });
    await waitFor(() => pushes.length === 3, 'three pushes on the new connection', 5_000);
    assert.deepEqual(pushes, [0, 1, 2]);
    c.close();
    assert.equal(seen.at(-1)?.type, 'closed');
    await stop(b.server);
  });

  test('close() is final: calls reject with CONNECTION, no background dial follows', async () => {
    const a = await serve();
    const c = await BrowserClient.connect(a.key, { WebSocket: WS, reconnect: { initialDelayMs: 10 } });
    const seen: string[] = [];
    c.onStatus((s) => seen.push(s.type));
    c.close();
    c.close();
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 2 }), rpcxCode(ErrorCode.CONNECTION));
    await assert.rejects(c.oneway('Echo', 'Count', { Key: 'x' }), rpcxCode(ErrorCode.CONNECTION));
    await assert.rejects(c.open(), rpcxCode(ErrorCode.CONNECTION));
    // A later probe call on the server path proves the server is still there; the client stays closed.
    const probe = await BrowserClient.connect(a.key, { WebSocket: WS });
    assert.deepEqual(await probe.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
    probe.close();
    assert.deepEqual(seen, ['closed']);
    assert.equal(c.connected, false);
    await stop(a.server);
  });

  test('connect() to nothing rejects with CONNECTION; a client made with new dials on its first call', async () => {
    const a = await serve();
    const port = a.port;
    await stop(a.server);
    await assert.rejects(BrowserClient.connect(`ws@127.0.0.1:${port}`, { WebSocket: WS }), rpcxCode(ErrorCode.CONNECTION));
    const b = await serve(port);
    const c = new BrowserClient(b.key, { WebSocket: WS });
    assert.equal(c.connected, false);
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 4, B: 5 }), { C: 20 });
    assert.equal(c.connected, true);
    c.close();
    await stop(b.server);
  });

  test('oneway: the server runs it and answers nothing; a frame that can not be encoded fails its call alone', async () => {
    const a = await serve();
    const c = await BrowserClient.connect(a.key, { WebSocket: WS, timeoutMs: 10_000, serializeType: 1 });
    for (let i = 0; i < 3; i++) await c.oneway('Echo', 'Count', { Key: 'browser-oneway' });
    await waitFor(async () => ((await c.call<{ Count: number }>('Echo', 'GetCount', { Key: 'browser-oneway' })).Count === 3), 'three oneway counts', 5_000);
    // Arguments the codec can not encode (JSON of a cycle): that call fails, the connection stays.
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assert.rejects(c.call('Arith', 'Mul', cyclic), (e: unknown) => e instanceof RpcxError);
    assert.equal(c.connected, true, 'the connection stays');
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
    c.close();
    await stop(a.server);
  });

  test('service<T>(path): a typed proxy whose methods are calls, options included', async () => {
    const a = await serve();
    const c = new BrowserClient(a.key, { WebSocket: WS, serializeType: 1 });
    interface Arith {
      Mul(args: { A: number; B: number }): { C: number };
    }
    interface Echo {
      Sleep(args: { Ms: number }): unknown;
    }
    const arith = c.service<Arith>('Arith');
    assert.deepEqual(await arith.Mul({ A: 6, B: 7 }), { C: 42 });
    assert.equal((arith as unknown as { then?: unknown }).then, undefined, 'not mistaken for a promise');
    await assert.rejects(c.service<Echo>('Echo').Sleep({ Ms: 2_000 }, { timeoutMs: 50 }), rpcxCode(ErrorCode.TIMEOUT), 'the options reach the call');
    c.close();
    await stop(a.server);
  });

  test('heartbeats: answered ones keep the connection; a peer that answers nothing is dropped after maxWaitForHeartbeatMs', async () => {
    const a = await serve();
    const live = await BrowserClient.connect(a.key, { WebSocket: WS, heartbeatIntervalMs: 10, maxWaitForHeartbeatMs: 2_000, timeoutMs: 10_000 });
    const liveSeen: string[] = [];
    live.onStatus((st) => liveSeen.push(st.type));
    // ~2.4 s of calls with a heartbeat every 10 ms: any heartbeat left unanswered for 2 s would drop it.
    for (let i = 0; i < 40; i++) await live.call('Echo', 'Sleep', { Ms: 60 });
    assert.deepEqual(liveSeen, [], 'no drop while the server answers heartbeats');
    live.close();
    await stop(a.server);
    // A frozen peer: a WebSocket server that accepts and never answers (not an rpcx server).
    const frozen = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((r) => frozen.once('listening', () => r()));
    const port = (frozen.address() as { port: number }).port;
    try {
      const c = await BrowserClient.connect(`ws@127.0.0.1:${port}`, { WebSocket: WS, heartbeatIntervalMs: 20, maxWaitForHeartbeatMs: 200 });
      const seen: BrowserClientStatus[] = [];
      c.onStatus((st) => seen.push(st));
      const call = c.call('Arith', 'Mul', { A: 1, B: 2 });
      await assert.rejects(call, (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION && /no heartbeat reply/.test(e.message));
      assert.equal(seen[0]?.type, 'disconnected');
      assert.equal(c.connected, false);
      c.close();
    } finally {
      for (const ws of frozen.clients) ws.terminate();
      await new Promise((r) => frozen.close(r));
    }
  });

  test('plugins: preCall metadata reaches the server, postCall sees the outcome; rpcx/otel carries the trace over ws', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const otel = { tracer: provider.getTracer('browser-test'), propagator: new W3CTraceContextPropagator() };
    const server = createServer({ codecs: demoCodecs(), plugins: [openTelemetryServerPlugin(otel)] });
    registerDemoServices(server);
    servers.add(server);
    const key = await server.serve('ws', '127.0.0.1:0');
    const seen: string[] = [];
    const c = new BrowserClient(key, {
      WebSocket: WS,
      serializeType: 1,
      plugins: [
        {
          preCall: (ctx, _p, method) => void ctx.metadata.set('x-page', method),
          postCall: (_ctx, _p, method, _a, _r, err) => void seen.push(`${method} ${err?.code ?? 'ok'}`),
          clientAfterDecode: () => {
            throw new Error('ignored, as Go ignores it');
          },
        },
        openTelemetryClientPlugin(otel),
      ],
    });
    try {
      const r = await c.callWithMetadata('Echo', 'Metadata', {});
      assert.equal(r.metadata.get('x-page'), 'Metadata');
      assert.ok(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(r.metadata.get('traceparent') ?? ''), 'the trace context went with the call');
      await assert.rejects(c.call('Echo', 'Error', { Text: 'no' }), (e: unknown) => e instanceof ServiceError);
      assert.deepEqual(seen, ['Metadata ok', 'Error SERVICE']);
      const client = exporter.getFinishedSpans().find((sp) => sp.name === 'rpcx.client.Echo.Metadata');
      await waitFor(() => exporter.getFinishedSpans().some((sp) => sp.name === 'rpcx.service.Echo.Metadata'), 'the server span ended', 5_000);
      const srv = exporter.getFinishedSpans().find((sp) => sp.name === 'rpcx.service.Echo.Metadata');
      assert.equal(srv?.parentSpanContext?.spanId, client?.spanContext().spanId, 'the server span is the child of the browser client span');
    } finally {
      c.close();
      await stop(server);
    }
  });

  test('a call that waits for a dial is bounded by its signal', async () => {
    const a = await serve();
    const c = new BrowserClient(a.key, { WebSocket: WS });
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }, { signal: ac.signal }), rpcxCode(ErrorCode.CANCELLED));
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 1, B: 9 }), { C: 9 });
    c.close();
    await stop(a.server);
  });
});

test('a bundle of rpcx/browser without protobuf leaves protobufjs out; rpcx/browser/protobuf brings it', async () => {
  const browserDir = join(repoRoot, 'build', 'src', 'browser');
  const bundle = async (contents: string): Promise<{ inputs: string[]; bytes: number }> => {
    const r = await build({ stdin: { contents, resolveDir: browserDir }, bundle: true, minify: true, format: 'esm', platform: 'browser', write: false, metafile: true, logLevel: 'silent' });
    return { inputs: Object.keys(r.metafile.inputs), bytes: r.outputFiles[0]!.contents.length };
  };
  const plain = await bundle("import { BrowserClient, ThriftCodec } from './index.js'; console.log(BrowserClient, ThriftCodec);");
  assert.ok(!plain.inputs.some((i) => i.includes('node_modules/protobufjs') || i.includes('node_modules/long')), 'no protobufjs in a bundle without protobuf');
  assert.ok(!plain.inputs.some((i) => i.includes('/codec/protobuf.js')));
  assert.ok(plain.bytes < 120_000, `${plain.bytes} bytes minified`);
  const withPb = await bundle("import { BrowserClient } from './index.js'; import { ProtobufCodec } from './protobuf.js'; console.log(BrowserClient, ProtobufCodec);");
  assert.ok(withPb.inputs.some((i) => i.includes('node_modules/protobufjs')), 'rpcx/browser/protobuf brings protobufjs');
});

describe('BrowserXClient (ws package in the browser\'s place)', () => {
  /** The WebSocket, counting the dials per URL. */
  const dials: string[] = [];
  class CountingWebSocket extends NodeWebSocket {
    constructor(url: string) {
      super(url);
      dials.push(url);
    }
  }
  const CWS = CountingWebSocket as unknown as BrowserWebSocketConstructor;

  /** A TS server with the demo services and `Flaky.Fail` (counts, then fails with a service error). */
  async function flakyServer(): Promise<{ server: RpcxServer; key: string; fails: () => number }> {
    const s = await serve();
    let fails = 0;
    s.server.registerFunction('Echo', () => {
      fails++;
      throw new ServiceError('no luck');
    }, 'Fail');
    return { ...s, fails: () => fails };
  }
  /** The key of a port nobody listens on any more. */
  async function deadKey(): Promise<string> {
    const s = await serve();
    await stop(s.server);
    return s.key;
  }

  test('Failover: a server that can not be reached is skipped; RoundRobin spreads calls; a service error is not retried', async () => {
    const dead = await deadKey();
    const a = await flakyServer();
    const b = await flakyServer();
    dials.length = 0;
    const xc = new BrowserXClient('Arith', [dead, a.key, b.key], { WebSocket: CWS, selectMode: SelectMode.RoundRobin, timeoutMs: 10_000 });
    const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => xc.call('Mul', { A: i, B: 2 })));
    assert.deepEqual(replies, Array.from({ length: 6 }, (_, i) => ({ C: i * 2 })));
    assert.ok(dials.some((u) => u.includes(dead.slice(3))), 'the dead server was tried');
    assert.ok(a.server.connections.size === 1 && b.server.connections.size === 1, 'both live servers got calls');
    const echo = new BrowserXClient('Echo', [a.key], { WebSocket: CWS, retries: 5 });
    await assert.rejects(echo.call('Fail', {}), (e: unknown) => e instanceof ServiceError && e.message === 'no luck');
    assert.equal(a.fails(), 1, 'a service error is not retried');
    await assert.rejects(echo.call('Sleep', { Ms: 2_000 }, { timeoutMs: 50 }), rpcxCode(ErrorCode.TIMEOUT));
    xc.close();
    echo.close();
    await assert.rejects(xc.call('Mul', { A: 1, B: 1 }), rpcxCode(ErrorCode.CONNECTION));
    await stop(a.server);
    await stop(b.server);
  });

  test('Failfast tries once; Failtry retries the same server retries more times; no server is Go\'s error', async () => {
    const dead = await deadKey();
    dials.length = 0;
    const ff = new BrowserXClient('Arith', [dead], { WebSocket: CWS, failMode: FailMode.Failfast });
    await assert.rejects(ff.call('Mul', { A: 1, B: 1 }), rpcxCode(ErrorCode.CONNECTION));
    assert.equal(dials.length, 1);
    dials.length = 0;
    const ft = new BrowserXClient('Arith', [dead], { WebSocket: CWS, failMode: FailMode.Failtry, retries: 2 });
    await assert.rejects(ft.call('Mul', { A: 1, B: 1 }), rpcxCode(ErrorCode.CONNECTION));
    assert.equal(dials.length, 3, 'one try and two retries');
    const none = new BrowserXClient('Arith', [], { WebSocket: CWS });
    await assert.rejects(none.call('Mul', { A: 1, B: 1 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION && e.message === XCLIENT_NO_SERVER);
    assert.throws(() => new BrowserXClient('Arith', [], { selectMode: SelectMode.WeightedICMP }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new BrowserXClient('Arith', [], { selectMode: SelectMode.SelectByUser }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new BrowserXClient('Arith', [], { selectMode: SelectMode.Closest }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new BrowserXClient('Arith', [], { failMode: 9 as FailMode }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    for (const x of [ff, ft, none]) x.close();
  });

  /**
   * A TS server whose `Id` service tells which server answered: `Who` returns its key, `Slow`
   * waits until `release()` when the server is made slow, `Fail` fails when it is made failing.
   */
  async function idServer(opts: { slow?: boolean; fail?: boolean } = {}): Promise<{ server: RpcxServer; key: string; calls: () => number; release: () => void; opts: { slow?: boolean; fail?: boolean } }> {
    const s = await serve();
    let calls = 0;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    s.server.registerFunction('Id', () => {
      calls++;
      return { Key: s.key };
    }, 'Who');
    s.server.registerFunction('Id', async () => {
      calls++;
      if (opts.slow) await released;
      return { Key: s.key };
    }, 'Slow');
    s.server.registerFunction('Id', () => {
      calls++;
      if (opts.fail) throw new ServiceError(`${s.key} fails`);
      return { Key: s.key };
    }, 'Fail');
    return { ...s, calls: () => calls, release, opts };
  }
  const keyOf = (r: unknown): string => (r as { Key: string }).Key;

  test('WeightedRoundRobin by metadata weight; state=inactive and group filter servers out, as Go does', async () => {
    const a = await idServer();
    const b = await idServer();
    const c = await idServer();
    const xc = new BrowserXClient('Id', new Map([[a.key, 'weight=3&group=blue'], [b.key, 'weight=1&group=blue'], [c.key, 'weight=5&state=inactive&group=blue']]), {
      WebSocket: CWS,
      selectMode: SelectMode.WeightedRoundRobin,
      timeoutMs: 10_000,
    });
    assert.deepEqual([...xc.servers].sort(), [a.key, b.key].sort(), 'the inactive server is left out');
    const who: string[] = [];
    for (let i = 0; i < 8; i++) who.push(keyOf(await xc.call('Who', {})));
    assert.equal(who.filter((k) => k === a.key).length, 6, `weight 3 of 4: ${who.join(' ')}`);
    assert.equal(who.filter((k) => k === b.key).length, 2);
    assert.equal(c.calls(), 0);
    // group: a record of servers this time
    const green = new BrowserXClient('Id', { [a.key]: 'group=blue', [b.key]: 'group=green&group=blue' }, { WebSocket: CWS, group: 'green' });
    for (let i = 0; i < 4; i++) assert.equal(keyOf(await green.call('Who', {})), b.key);
    // setServers re-filters: c active now, a and b gone
    xc.setServers(new Map([[c.key, 'weight=1']]));
    assert.equal(keyOf(await xc.call('Who', {})), c.key);
    for (const x of [xc, green]) x.close();
    for (const s of [a, b, c]) await stop(s.server);
  });

  test('ConsistentHash picks the server Go\'s selector picks for the args; SelectByUser; Closest by latitude/longitude', async () => {
    const ss = [await idServer(), await idServer(), await idServer()];
    const keys = ss.map((s) => s.key);
    const xc = new BrowserXClient('Id', keys, { WebSocket: CWS, selectMode: SelectMode.ConsistentHash, timeoutMs: 10_000 });
    const reference = new ConsistentHashSelector(new Map([...keys].sort().map((k) => [k, ''])));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const got = keyOf(await xc.call('Who', { N: i }));
      assert.equal(got, reference.select('Id', 'Who', { N: i }), `args ${i}`);
      assert.equal(keyOf(await xc.call('Who', { N: i })), got, 'the same args go to the same server');
      seen.add(got);
    }
    assert.ok(seen.size >= 2, 'different args spread over servers');
    const picks: string[] = [];
    const byUser: Selector = {
      select: (_p, m, _a, ctx) => {
        picks.push(`${m}:${ctx?.metadata?.get('route') ?? ''}`);
        return keys[2]!;
      },
      updateServer: () => {},
    };
    const user = new BrowserXClient('Id', keys, { WebSocket: CWS, selectMode: SelectMode.SelectByUser, selector: byUser });
    assert.equal(keyOf(await user.call('Who', {}, { metadata: { route: 'x' } })), keys[2]);
    assert.deepEqual(picks, ['Who:x'], 'the selector sees the method and the call metadata');
    const geo = new BrowserXClient('Id', new Map([[keys[0]!, 'latitude=48.85&longitude=2.35'], [keys[1]!, 'latitude=35.68&longitude=139.69']]), {
      WebSocket: CWS,
      selectMode: SelectMode.Closest,
      geo: { latitude: 51.5, longitude: -0.12 },
    });
    assert.equal(keyOf(await geo.call('Who', {})), keys[0], 'London is closer to Paris than to Tokyo');
    for (const x of [xc, user, geo]) x.close();
    for (const s of ss) await stop(s.server);
  });

  test('Failbackup: a slow first server is backed up by a second request, the first answer wins; a quick answer sends no backup', async () => {
    const servers2 = [await idServer(), await idServer()];
    // RoundRobin over the keys sorted (as Go's XClient sorts them): the first request goes to the first key; make it the slow one
    const [slow, quick] = servers2[0]!.key < servers2[1]!.key ? servers2 : [servers2[1]!, servers2[0]!];
    slow!.opts.slow = true;
    const xc = new BrowserXClient('Id', [quick!.key, slow!.key], { WebSocket: CWS, failMode: FailMode.Failbackup, selectMode: SelectMode.RoundRobin, backupLatencyMs: 20, timeoutMs: 20_000 });
    assert.equal(keyOf(await xc.call('Slow', {})), quick!.key, 'the backup on the other server answered');
    assert.equal(slow!.calls(), 1);
    assert.equal(quick!.calls(), 1);
    slow!.release();
    const once = new BrowserXClient('Id', [quick!.key], { WebSocket: CWS, failMode: FailMode.Failbackup, backupLatencyMs: 60_000 });
    assert.equal(keyOf(await once.call('Who', {})), quick!.key);
    assert.equal(quick!.calls(), 2, 'no backup request for a quick answer');
    for (const x of [xc, once]) x.close();
    for (const s of servers2) await stop(s.server);
  });

  test('broadcast, fork and inform call every server; an unreachable one is skipped; Go\'s error rules', async () => {
    const dead = await deadKey();
    const a = await idServer();
    const b = await idServer({ fail: true });
    const xc = new BrowserXClient('Id', [dead, a.key, b.key], { WebSocket: CWS, timeoutMs: 10_000 });
    const bc = keyOf(await xc.broadcast('Who', {}));
    assert.ok(bc === a.key || bc === b.key);
    assert.equal(a.calls(), 1);
    assert.equal(b.calls(), 1);
    await assert.rejects(xc.broadcast('Fail', {}), (e: unknown) => e instanceof MultiError && e.message === `[${b.key} fails]`);
    assert.equal(keyOf(await xc.fork('Fail', {})), a.key, 'fork: the first success');
    const receipts = await xc.inform('Fail', {});
    assert.deepEqual(
      receipts.map((r) => [r.address, r.error?.message ?? 'ok']).sort(),
      [[a.key.slice(3), 'ok'], [b.key.slice(3), `${b.key} fails`]].sort(),
    );
    const onlyFailing = new BrowserXClient('Id', [b.key], { WebSocket: CWS });
    await assert.rejects(onlyFailing.fork('Fail', {}), (e: unknown) => e instanceof MultiError && e.errors.length === 1);
    const nobody = new BrowserXClient('Id', [dead], { WebSocket: CWS });
    await assert.rejects(nobody.broadcast('Who', {}), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION && e.message === XCLIENT_NO_SERVER);
    for (const x of [xc, onlyFailing, nobody]) x.close();
    await stop(a.server);
    await stop(b.server);
  });

  test('connectTimeoutMs: a server that never completes the WebSocket handshake fails the dial; broadcast skips it', async () => {
    // Accepts TCP and never answers the upgrade request.
    const held: Socket[] = [];
    const silent = createNetServer((sock) => void held.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const silentKey = `ws@127.0.0.1:${(silent.address() as AddressInfo).port}`;
    const a = await idServer();
    try {
      const c = new BrowserClient(silentKey, { WebSocket: CWS, connectTimeoutMs: 150 });
      await assert.rejects(c.open(), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION && /not open after 150 ms/.test(e.message));
      c.close();
      const xc = new BrowserXClient('Id', [silentKey, a.key], { WebSocket: CWS, connectTimeoutMs: 150, timeoutMs: 10_000 });
      assert.equal(keyOf(await xc.broadcast('Who', {})), a.key, 'the silent server was skipped');
      xc.close();
    } finally {
      for (const s of held) s.destroy();
      silent.close();
      await stop(a.server);
    }
  });

  test('pushes of every server reach onMessage with their server; setServers closes the connections it drops; the typed proxy', async () => {
    const a = await serve();
    const b = await serve();
    const xc = new BrowserXClient('Push', [a.key, b.key], { WebSocket: CWS, selectMode: SelectMode.RoundRobin, timeoutMs: 10_000 });
    const got: string[] = [];
    xc.onMessage((m, server) => got.push(`${server}:${m.payload[m.payload.length - 1]!}`));
    await xc.call('Start', { Path: 'News', Method: 'Tick', Payload: new Uint8Array([7]), Count: 2, IntervalMs: 5 });
    await xc.call('Start', { Path: 'News', Method: 'Tick', Payload: new Uint8Array([7]), Count: 2, IntervalMs: 5 });
    await waitFor(() => got.length === 4, 'two pushes from each server', 5_000);
    assert.deepEqual(got.sort(), [`${a.key}:0`, `${a.key}:1`, `${b.key}:0`, `${b.key}:1`].sort());
    xc.setServers([b.key]);
    await waitFor(() => a.server.connections.size === 0, 'the connection to the dropped server closes', 5_000);
    const arith = new BrowserXClient('Arith', [b.key], { WebSocket: CWS });
    assert.deepEqual(await arith.service<{ Mul(a: { A: number; B: number }): { C: number } }>().Mul({ A: 5, B: 5 }), { C: 25 });
    xc.close();
    arith.close();
    await stop(a.server);
    await stop(b.server);
  });
});
