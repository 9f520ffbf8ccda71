// Wire-level tests of the Node rpcx server: raw sockets (FrameDecoder + encodeMessage) against a
// server on 127.0.0.1:0, checking Go rpcx v1.9.4's dispatch rules, texts and frames.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ServiceError, RpcxError, ErrorCode } from '../../src/errors.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { JsonCodec } from '../../src/codec/json.js';
import { createMessage, encodeMessage, heartbeatRequest, pushMessage } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { createServer, type RpcxServer, type ServerOptions, type RequestContext, tokenAuth, rateLimitPlugin } from '../../src/server/index.js';
import { registerDemoServices, demoCodecs } from '../../src/server/demo/services.js';
import { RawClient, enc, dec, sleep } from './support.js';
import { until } from '../support/tg.js';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose_gc'); // for the memory bound of the dropped-connections test

const mp = new MsgpackCodec({ bigint: 'int64' });
const json = new JsonCodec();
const ERR = '__rpcx_error__';

async function start(options: ServerOptions = {}, setup?: (s: RpcxServer) => void): Promise<{ server: RpcxServer; address: string }> {
  const server = createServer({ codecs: demoCodecs(), ...options });
  registerDemoServices(server);
  setup?.(server);
  const address = await server.serve('tcp', '127.0.0.1:0');
  return { server, address };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

describe('dispatch rules and Go texts', () => {
  let server: RpcxServer;
  let address: string;
  let c: RawClient;
  before(async () => {
    ({ server, address } = await start({}, (s) => {
      s.registerFunction('Fn', function double(args: { X: number }) {
        return { Y: args.X * 2 };
      });
      s.registerFunction('Arith', function Sub(args: { A: number; B: number }) {
        return { C: args.A - args.B };
      });
      s.registerFunction('Arith', function Mul() {
        return { C: -999 }; // shadowed by the method Arith.Mul (methods before functions)
      });
      s.register(
        {
          Meta(_a: unknown, ctx: RequestContext) {
            ctx.setResponseMetadata('x', 'y');
            return {};
          },
          MetaErr(_a: unknown, ctx: RequestContext) {
            ctx.setResponseMetadata('x', 'y');
            ctx.setResponseMetadata(ERR, 'not this');
            throw new Error('the error');
          },
          ThrowString() {
            throw 'just a string'; // eslint-disable-line no-throw-literal
          },
          ThrowNumber() {
            return Promise.reject(42);
          },
          ThrowUndefined() {
            throw undefined; // eslint-disable-line no-throw-literal
          },
          Void() {
            return undefined;
          },
        },
        { name: 'T' },
      );
    }));
    c = await RawClient.connect(address);
  });
  after(async () => {
    c.close();
    await server.close();
  });

  test('the worked example of rpcx-protocol.md 1.1 gives Go\'s exact reply bytes', async () => {
    const req = Buffer.from(
      '080000100000000000000001000000310000000541726974680000000' + '34d756c0000000a000000016100000001620000000f7b2241223a31302c2242223a32307d',
      'hex',
    );
    c.write(req);
    await c.waitFor(1);
    assert.equal(hex(c.frames[0]!), '080080100000000000000001000000210000000541726974680000000' + '34d756c00000000000000097b2243223a3230307d');
    c.messages.length = 0;
    c.frames.length = 0;
  });

  test('unknown service, method, codec: Go\'s texts, status Error, no payload, request metadata not echoed', async () => {
    let r = await c.call({ servicePath: 'Nope', serviceMethod: 'Mul', serializeType: 3, metadata: { a: 'b' }, payload: mp.encode({ A: 1 }) });
    assert.equal(r.messageType, 1);
    assert.equal(r.messageStatusType, 1);
    assert.deepEqual([...r.metadata], [[ERR, "rpcx: can't find service Nope"]]);
    assert.equal(r.payload.length, 0);
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'mul', serializeType: 3, payload: mp.encode({ A: 1 }) });
    assert.equal(r.metadata.get(ERR), "rpcx: can't find method mul");
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 9, payload: mp.encode({ A: 1 }) });
    assert.equal(r.metadata.get(ERR), 'can not find codec for 9');
    // Go checks the service before the codec.
    r = await c.call({ servicePath: 'Nope', serviceMethod: 'Mul', serializeType: 9 });
    assert.equal(r.metadata.get(ERR), "rpcx: can't find service Nope");
    // Empty path and method without the heartbeat flag are an unknown service "".
    r = await c.call({ serializeType: 3 });
    assert.equal(r.metadata.get(ERR), "rpcx: can't find service ");
  });

  test('lookup order: raw handler, then method, then function', async () => {
    let r = await c.call({ servicePath: 'Echo', serviceMethod: 'Via', serializeType: 3, payload: mp.encode({}) });
    assert.deepEqual(mp.decode(r.payload), { Via: 'handler' });
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 6, B: 7 }) });
    assert.deepEqual(mp.decode(r.payload), { C: 42 });
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Sub', serializeType: 1, payload: json.encode({ A: 6, B: 7 }) });
    assert.equal(dec.decode(r.payload), '{"C":-1}');
    r = await c.call({ servicePath: 'Fn', serviceMethod: 'double', serializeType: 1, payload: enc.encode('{"X":21}') });
    assert.equal(dec.decode(r.payload), '{"Y":42}');
  });

  test('handler errors: message verbatim, String(x) for non-Errors, ServiceError reply as payload', async () => {
    const text = 'tab\there\r\nnewline \u00e9\u{1F600} e\u0301';
    let r = await c.call({ servicePath: 'Echo', serviceMethod: 'Error', serializeType: 3, payload: mp.encode({ Text: text }) });
    assert.equal(r.messageStatusType, 1);
    assert.equal(r.metadata.get(ERR), text);
    assert.equal(hex(r.payload), '80'); // Go sends the encoded Empty{} reply with a method error
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Div', serializeType: 3, payload: mp.encode({ A: 1, B: 0 }) });
    assert.equal(r.metadata.get(ERR), 'divide by zero');
    assert.deepEqual(mp.decode(r.payload), { C: -1 });
    r = await c.call({ servicePath: 'RawArith', serviceMethod: 'Div', serializeType: 3, payload: mp.encode({ A: 1, B: 0 }) });
    assert.equal(r.metadata.get(ERR), 'divide by zero');
    assert.equal(r.payload.length, 0); // raw handler errors carry no payload
    for (const [m, want] of [
      ['ThrowString', 'just a string'],
      ['ThrowNumber', '42'],
      ['ThrowUndefined', 'undefined'],
    ] as const) {
      r = await c.call({ servicePath: 'T', serviceMethod: m, serializeType: 3, payload: mp.encode({}) });
      assert.equal(r.metadata.get(ERR), want, m);
    }
    r = await c.call({ servicePath: 'T', serviceMethod: 'Void', serializeType: 0 });
    assert.equal(r.messageStatusType, 0);
    assert.equal(r.payload.length, 0);
  });

  test('bad args: the codec error text; the connection stays usable', async () => {
    let r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: new Uint8Array(0) });
    assert.equal(r.metadata.get(ERR), 'EOF');
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: Uint8Array.of(0xc1) });
    assert.equal(r.messageStatusType, 1);
    assert.notEqual(r.metadata.get(ERR) ?? '', '');
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 'x', B: 1 }) });
    assert.equal(r.metadata.get(ERR), 'msgpack: invalid code=a1 decoding int64');
    r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 2, B: 3 }) });
    assert.deepEqual(mp.decode(r.payload), { C: 6 });
  });

  test('response metadata: set by the handler; on an error it never replaces __rpcx_error__', async () => {
    let r = await c.call({ servicePath: 'T', serviceMethod: 'Meta', serializeType: 3, metadata: { q: 'r' }, payload: mp.encode({}) });
    assert.deepEqual([...r.metadata], [['x', 'y']]);
    r = await c.call({ servicePath: 'T', serviceMethod: 'MetaErr', serializeType: 3, payload: mp.encode({}) });
    assert.deepEqual(Object.fromEntries(r.metadata), { [ERR]: 'the error', x: 'y' });
    r = await c.call({ servicePath: 'Echo', serviceMethod: 'Metadata', serializeType: 3, metadata: { a: '1', '': '' }, payload: mp.encode({}) });
    assert.deepEqual(Object.fromEntries(r.metadata), { a: '1', '': '' });
  });

  test('gzip: a reply is compressed only if the request was and the reply is > 1024 bytes', async () => {
    const big = new Uint8Array(1025).fill(7);
    let r = await c.call({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: 0, compressType: 1, payload: big });
    assert.equal(r.compressType, 1);
    assert.deepEqual(Buffer.from(r.payload), Buffer.from(big));
    r = await c.call({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: 0, compressType: 1, payload: big.subarray(0, 1024) });
    assert.equal(r.compressType, 0);
    r = await c.call({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: 0, payload: big });
    assert.equal(r.compressType, 0);
  });

  test('a Response frame sent to the server is dispatched like a request (Go ignores the type bit)', async () => {
    const r = await c.call({ messageType: 1, servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 2 }) });
    assert.deepEqual(mp.decode(r.payload), { C: 3 });
  });

  test('seq above 2^53 is echoed exactly', async () => {
    const r = await c.call({ seq: (1n << 64n) - 2n, servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 2 }) });
    assert.equal(r.seq, (1n << 64n) - 2n);
  });
});

describe('heartbeat, oneway, auth', () => {
  test('heartbeat reply is the request echoed with the response bit, oneway too, without auth', async () => {
    const { server, address } = await start({ authFunc: tokenAuth('secret') });
    const c = await RawClient.connect(address);
    try {
      const hb = heartbeatRequest(5n, 1234567890123456789n);
      hb.metadata.set('k', 'v');
      const frame = encodeMessage(hb);
      c.write(frame);
      const oneway = encodeMessage({ ...heartbeatRequest(6n, 42n), oneway: true });
      c.write(oneway);
      await c.waitFor(2);
      const want1 = Buffer.from(frame);
      want1[2] = want1[2]! | 0x80;
      const want2 = Buffer.from(oneway);
      want2[2] = want2[2]! | 0x80;
      assert.equal(hex(c.frames[0]!), hex(want1));
      assert.equal(want1[2], 0xc0);
      assert.equal(hex(c.frames[1]!), hex(want2));
      assert.equal(want2[2], 0xe0);
      assert.equal(c.isClosed, false);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('oneway: the handler runs and nothing is written', async () => {
    const { server, address } = await start();
    const c = await RawClient.connect(address);
    try {
      c.send({ oneway: true, servicePath: 'Echo', serviceMethod: 'Count', serializeType: 3, payload: mp.encode({ Key: 'ow' }) });
      c.send({ oneway: true, servicePath: 'Nope', serviceMethod: 'X', serializeType: 3 }); // no error reply either
      const r = await c.call({ servicePath: 'Echo', serviceMethod: 'GetCount', serializeType: 3, payload: mp.encode({ Key: 'ow' }) });
      assert.deepEqual(mp.decode(r.payload), { Count: 1n });
      await sleep(50);
      assert.equal(c.messages.length, 1);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('auth: right token passes; a wrong one gets the text, then the connection closes', async () => {
    const seen: string[] = [];
    const { server, address } = await start({
      authFunc: (_ctx, _req, token) => {
        seen.push(token);
        return token === 'secret' ? undefined : new Error('invalid token');
      },
    });
    const ok = await RawClient.connect(address);
    const bad = await RawClient.connect(address);
    const bad2 = await RawClient.connect(address);
    try {
      const r = await ok.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, metadata: { __AUTH: 'secret' }, payload: mp.encode({ A: 2, B: 3 }) });
      assert.deepEqual(mp.decode(r.payload), { C: 6 });
      const seq = bad.send({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 2, B: 3 }) });
      bad.send({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, metadata: { __AUTH: 'secret' }, payload: mp.encode({ A: 2, B: 3 }) });
      await bad.closed;
      assert.equal(bad.messages.length, 1);
      assert.equal(bad.messages[0]!.seq, seq);
      assert.equal(bad.messages[0]!.metadata.get(ERR), 'invalid token');
      // A rejected oneway request: no reply, still closed.
      bad2.send({ oneway: true, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({}) });
      await bad2.closed;
      assert.equal(bad2.messages.length, 0);
      assert.deepEqual(seen.slice(0, 2), ['secret', '']);
      // The good connection is unaffected.
      const r2 = await ok.call({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, metadata: { __AUTH: 'secret' }, payload: mp.encode({ A: 2, B: 3 }) });
      assert.deepEqual(mp.decode(r2.payload), { C: 5 });
    } finally {
      ok.close();
      bad.close();
      bad2.close();
      await server.close();
    }
  });

  test('rate limit: Go\'s "request reached rate limit" reply, connection kept', async () => {
    const { server, address } = await start({ plugins: [rateLimitPlugin({ ratePerSecond: 0.001, burst: 1 })] });
    const c = await RawClient.connect(address);
    try {
      let r = await c.call({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 1 }) });
      assert.equal(r.messageStatusType, 0);
      r = await c.call({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 1 }) });
      assert.deepEqual([...r.metadata], [[ERR, 'request reached rate limit']]);
      assert.equal(r.payload.length, 0);
      c.write(encodeMessage(heartbeatRequest(99n, 1n)));
      await c.waitFor(3);
      assert.equal(c.messages[2]!.heartbeat, true);
      assert.equal(c.isClosed, false);
    } finally {
      c.close();
      await server.close();
    }
  });
});

describe('deadlines, concurrency, pushes', () => {
  test('__ServerTimeout aborts ctx.signal with "context deadline exceeded"; a close aborts it too', async () => {
    let closedReason: unknown;
    let noSignalTimers = -1;
    const { server, address } = await start({}, (s) => {
      s.register(
        {
          Wait(_a: unknown, ctx: RequestContext) {
            return new Promise((_resolve, reject) => {
              ctx.signal.addEventListener('abort', () => {
                closedReason = ctx.signal.reason;
                reject(ctx.signal.reason);
              });
            });
          },
          Deadline(_a: unknown, ctx: RequestContext) {
            noSignalTimers = ctx.deadline === undefined ? 0 : 1;
            return { left: Math.round(ctx.remainingMs ?? -1) };
          },
        },
        { name: 'W' },
      );
    });
    const c = await RawClient.connect(address);
    try {
      const t0 = Date.now();
      const r = await c.call({ servicePath: 'W', serviceMethod: 'Wait', serializeType: 3, metadata: { __ServerTimeout: '60' }, payload: mp.encode({}) });
      const took = Date.now() - t0;
      assert.equal(r.metadata.get(ERR), 'context deadline exceeded');
      assert.ok(took >= 55 && took < 1000, `took ${took} ms`);
      const d = await c.call({ servicePath: 'W', serviceMethod: 'Deadline', serializeType: 3, metadata: { __ServerTimeout: '5000' }, payload: mp.encode({}) });
      const left = (mp.decode(d.payload) as { left: number }).left;
      assert.ok(left > 4900 && left <= 5000, String(left));
      assert.equal(noSignalTimers, 1);
      // Invalid values mean no deadline (strconv.ParseInt fails).
      await c.call({ servicePath: 'W', serviceMethod: 'Deadline', serializeType: 3, metadata: { __ServerTimeout: '5s' }, payload: mp.encode({}) });
      assert.equal(noSignalTimers, 0);
      closedReason = undefined;
      c.send({ servicePath: 'W', serviceMethod: 'Wait', serializeType: 3, payload: mp.encode({}) });
      await sleep(30);
      c.close();
      for (let i = 0; i < 100 && closedReason === undefined; i++) await sleep(10);
      assert.ok(closedReason instanceof RpcxError);
      assert.equal((closedReason as RpcxError).message, 'context canceled');
    } finally {
      c.close();
      await server.close();
    }
  });

  test('a close aborts the signals of the handlers still running only, after many finished ones reused their slots', async () => {
    const finished: AbortSignal[] = [];
    const running: AbortSignal[] = [];
    const { server, address } = await start({}, (s) => {
      s.register(
        {
          Quick(a: { N: number }, ctx: RequestContext) {
            finished.push(ctx.signal);
            return { N: a.N };
          },
          async Slow(_a: unknown, ctx: RequestContext) {
            running.push(ctx.signal);
            await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
            return {};
          },
        },
        { name: 'K' },
      );
    });
    const c = await RawClient.connect(address);
    try {
      for (let round = 0; round < 3; round++) {
        // some handlers hold a slot while many others take and free theirs
        c.send({ servicePath: 'K', serviceMethod: 'Slow', serializeType: 3, payload: mp.encode({}) });
        await Promise.all(Array.from({ length: 50 }, (_, i) => c.call({ servicePath: 'K', serviceMethod: 'Quick', serializeType: 3, payload: mp.encode({ N: i }) })));
      }
      await until(() => running.length === 3, 2_000, 'slow handlers');
      assert.equal(finished.length, 150);
      c.close();
      await until(() => running.every((sig) => sig.aborted), 2_000, 'running handlers aborted');
      assert.equal(finished.filter((sig) => sig.aborted).length, 0, 'a finished handler\'s signal is never aborted');
    } finally {
      c.close();
      await server.close();
    }
  });

  test('1,000 concurrent requests on one connection are answered out of order, each matched', async () => {
    const { server, address } = await start();
    const c = await RawClient.connect(address);
    try {
      const n = 1000;
      const sent: bigint[] = [];
      for (let i = 0; i < n; i++) {
        sent.push(c.send({ servicePath: 'Echo', serviceMethod: 'Sleep', serializeType: 3, payload: mp.encode({ Ms: (i * 37) % 50 }) }));
      }
      await c.waitFor(n, 10_000);
      assert.equal(c.messages.length, n);
      const got = c.messages.map((m) => m.seq);
      assert.deepEqual([...got].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), sent);
      assert.notDeepEqual(got, sent, 'replies should not all be in send order');
      for (const m of c.messages) {
        const i = Number(m.seq);
        const r = mp.decode(m.payload) as { SleptMs: bigint };
        assert.ok(r.SleptMs >= BigInt((i * 37) % 50), `seq ${i}`);
      }
    } finally {
      c.close();
      await server.close();
    }
  });

  test('the per-connection in-flight bound pauses reading and resumes', async () => {
    let running = 0;
    let peak = 0;
    const { server, address } = await start({ maxInFlightPerConnection: 4 }, (s) => {
      s.registerFunction('S', async function slow() {
        running++;
        peak = Math.max(peak, running);
        await sleep(20);
        running--;
        return new Uint8Array(0);
      });
    });
    const c = await RawClient.connect(address);
    try {
      for (let i = 0; i < 20; i++) c.send({ servicePath: 'S', serviceMethod: 'slow', serializeType: 0 });
      await c.waitFor(20, 5000);
      assert.equal(c.messages.length, 20);
      assert.ok(peak <= 4, `peak ${peak}`);
    } finally {
      c.close();
      await server.close();
    }
  });

  test('pushes: Go\'s frame, server-wide seq from 1, in order; sendMessage to a closed connection rejects', async () => {
    const { server, address } = await start();
    const c = await RawClient.connect(address);
    const c2 = await RawClient.connect(address);
    try {
      await c.call({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 1 }) });
      await c2.call({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 1 }) });
      const conns = [...server.connections];
      assert.equal(conns.length, 2);
      const target = conns.find((x) => x.remoteAddress.endsWith(`:${c.socket.localPort}`))!;
      const n = 2000;
      const all: Promise<void>[] = [];
      for (let i = 0; i < n; i++) {
        const data = Buffer.alloc(4);
        data.writeUInt32BE(i);
        all.push(server.sendMessage(target, 'P', 'M', { k: 'v' }, data));
      }
      await Promise.all(all);
      await c.waitFor(n + 1);
      const pushes = c.messages.slice(1);
      assert.equal(pushes.length, n);
      pushes.forEach((m, i) => {
        assert.equal(m.seq, BigInt(i + 1));
        assert.equal(Buffer.from(m.payload).readUInt32BE(0), i);
      });
      const data0 = Buffer.alloc(4);
      assert.equal(hex(c.frames[1]!), hex(encodeMessage(pushMessage(1n, 'P', 'M', new Map([['k', 'v']]), data0))));
      assert.equal(c.frames[1]![2], 0x20);
      assert.equal(c.frames[1]![3], 0x00);
      // broadcast reaches both; seq keeps counting server-wide
      const b = await server.broadcast('B', 'C');
      assert.deepEqual(b, { sent: 2, failed: 0 });
      await c2.waitFor(2);
      assert.ok([BigInt(n + 1), BigInt(n + 2)].includes(c2.messages[1]!.seq));
      // closed connection
      const disconnected = new Promise((r) => server.once('disconnect', r));
      c.close();
      await disconnected;
      await assert.rejects(server.sendMessage(target, 'P', 'M'), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION);
      assert.equal(server.connections.size, 1);
    } finally {
      c.close();
      c2.close();
      await server.close();
    }
  });
});

describe('graceful shutdown', () => {
  /**
   * A server with Slow.Sleep, which counts its starts: a test shuts down once all its requests
   * were read (one still in the socket buffer when reading stops gets no reply, as in Go). The
   * sleep ends early when the connection is cut, so no timer outlives the test.
   */
  async function startCounting(): Promise<{ server: RpcxServer; address: string; started: () => number }> {
    let started = 0;
    const { server, address } = await start({}, (s) => {
      s.register(
        {
          async Sleep(a: { Ms: number }, ctx: RequestContext) {
            started++;
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, a.Ms);
              ctx.signal.addEventListener('abort', () => {
                clearTimeout(t);
                resolve();
              });
            });
            return {};
          },
        },
        { name: 'Slow' },
      );
    });
    return { server, address, started: () => started };
  }

  test('calls in flight get their replies; then connections close and new ones are refused', async () => {
    const { server, address, started } = await startCounting();
    const c = await RawClient.connect(address);
    const n = 50;
    for (let i = 0; i < n; i++) c.send({ servicePath: 'Slow', serviceMethod: 'Sleep', serializeType: 3, payload: mp.encode({ Ms: 100 + i }) });
    await until(() => started() === n, 5_000, 'all requests read');
    const t0 = Date.now();
    await server.shutdown({ timeoutMs: 5000 });
    assert.ok(Date.now() - t0 >= 90);
    await c.waitFor(n, 2000);
    assert.equal(c.messages.length, n);
    assert.ok(c.messages.every((m) => m.messageStatusType === 0));
    await c.closed;
    await assert.rejects(RawClient.connect(address));
    c.close();
  });

  test('shutdown past its timeout closes everything and rejects with TIMEOUT', async () => {
    const { server, address, started } = await startCounting();
    const c = await RawClient.connect(address);
    c.send({ servicePath: 'Slow', serviceMethod: 'Sleep', serializeType: 3, payload: mp.encode({ Ms: 5000 }) });
    await until(() => started() === 1, 5_000, 'the request read');
    await assert.rejects(server.shutdown({ timeoutMs: 100 }), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.TIMEOUT);
    await c.closed;
  });
});

describe('bad input closes only that connection', () => {
  let server: RpcxServer;
  let address: string;
  before(async () => {
    ({ server, address } = await start({ maxMessageLength: 1024, readTimeoutMs: 300 }));
  });
  after(async () => {
    await server.close();
  });

  async function healthy(c: RawClient): Promise<void> {
    const r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 3, B: 5 }) });
    assert.deepEqual(mp.decode(r.payload), { C: 15 });
  }

  for (const [name, bytes] of [
    ['garbage bytes', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['wrong magic', Buffer.from('09000030000000000000000100000010' + '00'.repeat(16), 'hex')],
    ['oversize frame', Buffer.from('08000030000000000000000100100000', 'hex')],
    ['bad inner length (Go would dispatch a half-parsed frame; we close)', Buffer.from('0800003000000000000000010000001000000fff' + '00'.repeat(12), 'hex')],
    ['gzip flag on an empty payload', encodeMessage(createMessage({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3 })).fill(0x04, 2, 3)],
  ] as const) {
    test(name, async () => {
      const good = await RawClient.connect(address);
      const bad = await RawClient.connect(address);
      bad.write(bytes);
      await bad.closed;
      assert.equal(bad.messages.length, 0);
      await healthy(good);
      good.close();
    });
  }

  test('a truncated frame followed by silence is closed by the read timeout', async () => {
    const good = await RawClient.connect(address);
    const bad = await RawClient.connect(address);
    const frame = encodeMessage(createMessage({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 1, B: 2 }) }));
    bad.write(frame.subarray(0, 20));
    const t0 = Date.now();
    // keep the good one busy meanwhile
    for (let i = 0; i < 5; i++) {
      await healthy(good);
      await sleep(50);
    }
    await bad.closed;
    assert.ok(Date.now() - t0 < 2000);
    await healthy(good);
    good.close();
  });

  test('10,000 connections opened and dropped leave the server healthy and its memory bounded', async () => {
    const total = 10_000;
    const batch = 100; // under the listen backlog, or SYNs get dropped and retried a second later
    const port = Number(address.split(':').pop());
    const heap = (): number => process.memoryUsage().heapUsed;
    const gc = runInNewContext('gc') as () => void;
    gc();
    const before = heap();
    for (let i = 0; i < total; i += batch) {
      await Promise.all(
        Array.from({ length: batch }, (_, j) =>
          new Promise<void>((resolve) => {
            const s = connect({ host: '127.0.0.1', port });
            s.on('error', () => resolve());
            s.on('connect', () => {
              if ((i + j) % 3 === 0) s.write(Uint8Array.of(0x08, 0, 0)); // half a header
              s.destroy();
              resolve();
            });
          }),
        ),
      );
    }
    for (let i = 0; i < 100 && server.connections.size > 0; i++) await sleep(20);
    assert.equal(server.connections.size, 0, 'every dropped connection is gone from the server');
    let grown = Infinity;
    for (let i = 0; i < 10 && grown > 8 * 1024 * 1024; i++) {
      gc();
      grown = heap() - before;
      if (grown > 8 * 1024 * 1024) await sleep(50);
    }
    assert.ok(grown < 8 * 1024 * 1024, `heap grew ${(grown / 1048576).toFixed(1)} MiB over 10,000 dropped connections`);
    const c = await RawClient.connect(address);
    await healthy(c);
    c.close();
  });
});

describe('plugins, registration, transports', () => {
  test('preCall/postCall transform args and reply; postConnAccept can reject', async () => {
    const events: string[] = [];
    let reject = false;
    const { server, address } = await start({
      plugins: [
        {
          postConnAccept: () => !reject,
          preCall: (_ctx, s, m, args) => {
            events.push(`pre ${s}.${m}`);
            return { ...(args as object), B: 10 };
          },
          postCall: (_ctx, _s, _m, _a, reply) => {
            events.push('post');
            return { C: (reply as { C: number }).C + 1 };
          },
          postWriteResponse: (_ctx, res) => events.push(`written ${res.seq}`),
        },
      ],
    });
    const c = await RawClient.connect(address);
    try {
      const r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 3, B: 5 }) });
      assert.deepEqual(mp.decode(r.payload), { C: 31 });
      await sleep(10);
      assert.deepEqual(events, ['pre Arith.Mul', 'post', 'written 0']);
      reject = true;
      const d = await RawClient.connect(address);
      await d.closed;
    } finally {
      c.close();
      await server.close();
    }
  });

  test('register: class name, case-sensitive methods, whitelist', async () => {
    class Greeter {
      Hello(a: { Name: string }) {
        return { Text: `hi ${a.Name}` };
      }
      hello() {
        return { Text: 'lower' };
      }
      _private() {
        return 1;
      }
    }
    const s = createServer();
    assert.equal(s.register(new Greeter()), 'Greeter');
    assert.deepEqual([...s.registry.services.get('Greeter')!.methods.keys()], ['Hello', 'hello']);
    s.register(new Greeter(), { name: 'G2', methods: ['Hello'] });
    assert.deepEqual([...s.registry.services.get('G2')!.methods.keys()], ['Hello']);
    assert.throws(() => s.register({ X() {} }), /no service name/);
    assert.throws(() => s.register(new Greeter(), { methods: ['Nope'] }), /not found/);
    const address = await s.serve('tcp', '127.0.0.1:0');
    const c = await RawClient.connect(address);
    const r = await c.call({ servicePath: 'Greeter', serviceMethod: 'hello', serializeType: 1, payload: enc.encode('{}') });
    assert.equal(dec.decode(r.payload), '{"Text":"lower"}');
    const r2 = await c.call({ servicePath: 'G2', serviceMethod: 'hello', serializeType: 1, payload: enc.encode('{}') });
    assert.equal(r2.metadata.get(ERR), "rpcx: can't find method hello");
    c.close();
    await s.close();
  });

  test('unix socket and the http CONNECT transport', async () => {
    const path = `/tmp/rpcx-server-test-${process.pid}.sock`;
    const s = createServer({ codecs: demoCodecs() });
    registerDemoServices(s);
    const a = await s.serve('unix', path);
    assert.equal(a, `unix@${path}`);
    const c = await RawClient.connect(a);
    const r = await c.call({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: mp.encode({ A: 4, B: 5 }) });
    assert.deepEqual(mp.decode(r.payload), { C: 20 });
    c.close();
    await s.close();

    const h = createServer({ codecs: demoCodecs() });
    registerDemoServices(h);
    const ha = await h.serve('http', '127.0.0.1:0');
    assert.match(ha, /^http@127\.0\.0\.1:\d+$/);
    const port = Number(ha.split(':').pop());
    const raw = (text: string, frame?: Uint8Array): Promise<Buffer> =>
      new Promise((resolve) => {
        const chunks: Buffer[] = [];
        const sock = connect({ host: '127.0.0.1', port }, () => {
          sock.write(text);
          if (frame) sock.write(frame); // pipelined right behind the CONNECT head
        });
        const done = (): void => resolve(Buffer.concat(chunks));
        sock.on('data', (d) => {
          chunks.push(d);
          if (frame && Buffer.concat(chunks).includes(Buffer.from('Arith'))) {
            sock.destroy();
            done();
          }
        });
        sock.on('close', done);
        sock.on('error', done);
      });
    const frame = encodeMessage(createMessage({ seq: 1n, servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: mp.encode({ A: 1, B: 2 }) }));
    const ok = await raw('CONNECT /_rpcx_ HTTP/1.0\n\n', frame);
    const prefix = 'HTTP/1.0 200 Connected to rpcx\n\n';
    assert.ok(ok.toString('latin1').startsWith(prefix));
    const reply = ok.subarray(prefix.length);
    assert.equal(reply[2], 0x80);
    assert.equal(hex(reply.subarray(reply.length - 4)), '81a14303'); // {C: 3}
    const get = await raw('GET /_rpcx_ HTTP/1.0\r\n\r\n');
    assert.match(get.toString('latin1'), /^HTTP\/1\.[01] 405 /);
    assert.ok(get.toString('latin1').endsWith('405 must CONNECT\n'));
    await h.close();
  });

  test('ServiceError thrown by a function also carries its reply', async () => {
    const s = createServer();
    s.registerFunction('F', function f() {
      throw new ServiceError('with reply', undefined, { C: 1 });
    });
    const a = await s.serve('tcp', '127.0.0.1:0');
    const c = await RawClient.connect(a);
    const r = await c.call({ servicePath: 'F', serviceMethod: 'f', serializeType: 1, payload: enc.encode('{}') });
    assert.equal(r.metadata.get(ERR), 'with reply');
    assert.equal(dec.decode(r.payload), '{"C":1}');
    c.close();
    await s.close();
  });

  test('server.serve reports a busy port; maxMessageLength is per server', async () => {
    const a = createServer({ maxMessageLength: 64 });
    a.registerFunction('E', function e(x: Uint8Array) {
      return x;
    });
    const b = createServer();
    b.registerFunction('E', function e(x: Uint8Array) {
      return x;
    });
    const aa = await a.serve('tcp', '127.0.0.1:0');
    const ba = await b.serve('tcp', '127.0.0.1:0');
    await assert.rejects(createServer().serve('tcp', aa.slice(4)), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.CONNECTION);
    const ca = await RawClient.connect(aa);
    const cb = await RawClient.connect(ba);
    const big = new Uint8Array(200);
    const r = await cb.call({ servicePath: 'E', serviceMethod: 'e', payload: big });
    assert.equal(r.payload.length, 200);
    ca.send({ servicePath: 'E', serviceMethod: 'e', payload: big });
    await ca.closed;
    assert.equal(ca.messages.length, 0);
    cb.close();
    await a.close();
    await b.close();
  });
});

void defaultCompressors;
