// The browser client's connection life (src/browser/client.ts), run in Node with the `ws`
// package's WebSocket in the browser's place (the page test, case 76 in test/gateway/browser.test.ts,
// runs it in headless Chromium) against a real TS server on the `ws` network, stopped and
// started again on the same port: calls in flight fail with CONNECTION and are not resent, the
// next call dials again (as Go's XClient and the Node Client), `reconnect` re-dials in the
// background, push listeners stay, `close()` is final, oneway sends, and a frame that can not be
// encoded fails its call alone.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { BrowserClient, BrowserXClient, ErrorCode, FailMode, RpcxError, SelectMode, ServiceError, XCLIENT_NO_SERVER, type BrowserClientStatus, type BrowserWebSocketConstructor } from '../src/browser/index.js';
import { createServer, type RpcxServer } from '../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../src/server/demo/services.js';
import { waitFor } from './support/system-server.js';
import { build } from 'esbuild';
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
    assert.throws(() => new BrowserXClient('Arith', [], { failMode: FailMode.Failbackup }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    assert.throws(() => new BrowserXClient('Arith', [], { selectMode: SelectMode.ConsistentHash }), rpcxCode(ErrorCode.INVALID_ARGUMENT));
    for (const x of [ff, ft, none]) x.close();
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
