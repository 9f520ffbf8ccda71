// Client plugins (src/client/plugins.ts, Go rpcx client/plugin.go): preCall adds request
// metadata that reaches a Go and a TS server (Echo.Metadata echoes it back), postCall sees the
// reply or the error and the values preCall left, a preCall that throws refuses the call before
// anything is sent, an XClient runs them around each attempt (Go's wrapCall), and
// clientBeforeEncode / clientAfterDecode see each request (seq set) and each message read.
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client } from '../../src/client/client.js';
import { FailMode, MultipleServersDiscovery, SelectMode, createXClient, type ClientCallContext, type ClientPlugin } from '../../src/client/index.js';
import { ErrorCode, RpcxError, ServiceError } from '../../src/errors.js';
import { MessageType, createMessage, type Message } from '../../src/protocol/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady } from '../support/tg.js';

/** Records what each hook saw; preCall sets `x-trace` to a counter and keeps a value for postCall. */
function recorder(): { plugin: ClientPlugin; calls: string[] } {
  const calls: string[] = [];
  let n = 0;
  const key = Symbol('started');
  const plugin: ClientPlugin = {
    preCall(ctx: ClientCallContext, path, method, args) {
      n++;
      ctx.metadata.set('x-trace', `t${n}`);
      ctx.values.set(key, n);
      calls.push(`pre ${path}.${method} ${JSON.stringify(args)} ${ctx.address}`);
    },
    postCall(ctx, path, method, _args, reply, err) {
      calls.push(`post ${path}.${method} #${String(ctx.values.get(key))} ${err === undefined ? `reply ${JSON.stringify(reply)}` : `error ${err.code} ${err.message}`}`);
    },
  };
  return { plugin, calls };
}

describe('client plugins (Go client/plugin.go)', { timeout: 60_000 }, () => {
  let ts: RpcxServer;
  let tsKey: string;
  let go: GoServer | undefined;
  const clients: Client[] = [];

  before(async () => {
    ts = createServer({ codecs: demoCodecs() });
    registerDemoServices(ts);
    tsKey = await ts.serve('tcp', '127.0.0.1:0');
    if (goReady()) go = await startGoServer();
  });
  after(async () => {
    for (const c of clients) await c.close();
    await ts.close();
    await go?.kill();
  });

  for (const side of ['TS', 'Go'] as const) {
    it(`${side} server: preCall's metadata is sent; postCall sees the reply, the error and preCall's values`, async (t) => {
      const key = side === 'TS' ? tsKey : go?.address;
      if (key === undefined) return t.skip('Go peers not built');
      const { plugin, calls } = recorder();
      const c = new Client(key, { plugins: [plugin] });
      clients.push(c);
      const r = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { mine: 'kept' } });
      assert.equal(r.metadata.get('x-trace'), 't1', 'the metadata preCall set reached the server');
      assert.equal(r.metadata.get('mine'), 'kept', "the caller's own metadata too");
      assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
      await assert.rejects(c.call('Echo', 'Error', { Text: 'boom' }), (e: unknown) => e instanceof ServiceError && e.message === 'boom');
      const addr = key.includes('@') ? key : `tcp@${key}`;
      assert.deepEqual(calls, [
        `pre Echo.Metadata {} ${addr}`,
        'post Echo.Metadata #1 reply {}',
        `pre Arith.Mul {"A":6,"B":7} ${addr}`,
        'post Arith.Mul #2 reply {"C":42}',
        `pre Echo.Error {"Text":"boom"} ${addr}`,
        'post Echo.Error #3 error SERVICE boom',
      ]);
    });
  }

  it('a preCall that throws refuses the call before it is sent; an async preCall is awaited; postCall errors are ignored', async () => {
    const seen: Message[] = [];
    const c = new Client(tsKey, {
      plugins: [
        {
          async preCall(ctx, _p, method) {
            await new Promise((r) => setImmediate(r));
            if (method === 'Forbidden') throw new RpcxError(ErrorCode.UNAUTHENTICATED, 'not you');
            ctx.metadata.set('late', 'yes');
          },
          postCall() {
            throw new Error('ignored');
          },
          clientBeforeEncode: (m) => seen.push(m),
        },
      ],
    });
    clients.push(c);
    await assert.rejects(c.call('Arith', 'Forbidden', {}), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.UNAUTHENTICATED && e.message === 'not you');
    assert.equal(seen.length, 0, 'nothing was encoded for the refused call');
    const r = await c.callWithMetadata('Echo', 'Metadata', {});
    assert.equal(r.metadata.get('late'), 'yes', 'metadata set after an await is sent');
    await c.oneway('Echo', 'Count', {});
    assert.equal(seen.length, 2);
    assert.ok(seen[1]!.oneway, 'oneway requests go through the plugins too');
  });

  it('a preCall that never settles is bounded by the call\'s timeout and signal: the call still settles once', async () => {
    let postCalls = 0;
    const c = new Client(tsKey, { plugins: [{ preCall: () => new Promise<void>(() => {}), postCall: () => void postCalls++ }] });
    clients.push(c);
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }, { timeoutMs: 30 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.TIMEOUT);
    const ac = new AbortController();
    const p = c.call('Arith', 'Mul', { A: 1, B: 1 }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p, (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CANCELLED);
    await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }, { deadline: Date.now() + 30 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.TIMEOUT);
    assert.equal(postCalls, 0, 'a refused call runs no postCall');
  });

  it('clientBeforeEncode sees each request with its seq; clientAfterDecode each message read, pushes included', async () => {
    const before: string[] = [];
    const afterDecode: string[] = [];
    const c = new Client(tsKey, {
      plugins: [
        {
          clientBeforeEncode: (m) => before.push(`${m.servicePath}.${m.serviceMethod} seq=${m.seq}`),
          clientAfterDecode: (m) => afterDecode.push(m.messageType === MessageType.Response ? `response seq=${m.seq}` : `push ${m.servicePath}.${m.serviceMethod}`),
        },
      ],
    });
    clients.push(c);
    const pushes: Message[] = [];
    c.onMessage((m) => pushes.push(m));
    await c.call('Arith', 'Mul', { A: 1, B: 2 });
    await c.call('Push', 'Start', { Path: 'News', Method: 'Tick', Payload: new Uint8Array([1]), Count: 2, IntervalMs: 1 });
    const deadline = Date.now() + 5_000;
    while (pushes.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.equal(pushes.length, 2);
    assert.deepEqual(before, ['Arith.Mul seq=0', 'Push.Start seq=1']);
    assert.deepEqual(afterDecode.filter((x) => x.startsWith('response')), ['response seq=0', 'response seq=1']);
    assert.deepEqual(afterDecode.filter((x) => x.startsWith('push')), ['push News.Tick', 'push News.Tick']);
  });

  it("sendRaw runs them as Go's XClient.SendRaw: the payload as args, no reply, the message's own metadata wins", async () => {
    const seen: string[] = [];
    const c = new Client(tsKey, {
      plugins: [
        {
          preCall: (ctx, p, m, args) => {
            ctx.metadata.set('x-plugin', 'set');
            ctx.metadata.set('x-both', 'plugin');
            seen.push(`pre ${p}.${m} ${(args as Uint8Array).length} bytes`);
          },
          postCall: (_ctx, p, m, _a, reply, err) => void seen.push(`post ${p}.${m} ${String(reply)} ${err?.code ?? 'ok'}`),
        },
      ],
    });
    clients.push(c);
    const msg = createMessage({ messageType: MessageType.Request, serializeType: 1, servicePath: 'Echo', serviceMethod: 'Metadata', metadata: { 'x-both': 'message' } });
    msg.payload = new TextEncoder().encode('{}');
    msg.seq = 5n;
    const r = await c.sendRaw(msg);
    assert.equal(r.metadata.get('x-plugin'), 'set', "the plugin's metadata went with the message");
    assert.equal(r.metadata.get('x-both'), 'message', "the message's own metadata wins");
    assert.deepEqual(seen, ['pre Echo.Metadata 2 bytes', 'post Echo.Metadata undefined ok']);
  });

  it('metadata clientBeforeEncode adds is sent, and stays with its client (a call without metadata shares no map)', async () => {
    const tagged = new Client(tsKey, { serializeType: 1, plugins: [{ clientBeforeEncode: (m) => void m.metadata.set('x-encoded', 'yes') }] });
    const plain = new Client(tsKey, { serializeType: 1 });
    clients.push(tagged, plain);
    await tagged.call('Arith', 'Mul', { A: 1, B: 1 }); // no metadata of its own
    assert.equal((await tagged.callWithMetadata('Echo', 'Metadata', {})).metadata.get('x-encoded'), 'yes');
    assert.equal((await plain.callWithMetadata('Echo', 'Metadata', {})).metadata.has('x-encoded'), false, "another client's calls do not carry it");
  });

  it('an XClient runs them around each attempt (Go wrapCall): a Failover past a server that drops the call is two pre/post pairs', async () => {
    // Accepts the connection, then drops it when the request arrives: the attempt fails after it
    // was sent. (A server that cannot be dialed fails before any attempt: Go runs no plugin then.)
    const dropper = createNetServer((sock) => sock.once('data', () => sock.destroy()));
    await new Promise<void>((r) => dropper.listen(0, '127.0.0.1', r));
    const deadKey = `tcp@127.0.0.1:${(dropper.address() as AddressInfo).port}`;
    const { plugin, calls } = recorder();
    let picks = 0;
    const xc = createXClient('Arith', {
      discovery: new MultipleServersDiscovery([{ key: deadKey, value: '' }, { key: tsKey, value: '' }]),
      failMode: FailMode.Failover,
      selectMode: SelectMode.SelectByUser,
      // the dead server first, then the live one
      selector: { select: () => (picks++ === 0 ? deadKey : tsKey), updateServer: () => {} },
      plugins: [plugin],
    });
    try {
      assert.deepEqual(await xc.call('Mul', { A: 2, B: 3 }), { C: 6 });
    } finally {
      await xc.close();
      dropper.close();
    }
    assert.equal(calls.length, 4, calls.join('\n'));
    assert.equal(calls[0], `pre Arith.Mul {"A":2,"B":3} ${deadKey}`);
    assert.match(calls[1]!, /^post Arith.Mul #1 error CONNECTION /);
    assert.equal(calls[2], `pre Arith.Mul {"A":2,"B":3} ${tsKey}`);
    assert.equal(calls[3], 'post Arith.Mul #2 reply {"C":6}');
  });
});
