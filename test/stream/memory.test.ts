// Message streams over the in-memory transport pair (the transport seam): exact tests without
// sockets — frames in every split (STYLE.md 10), flow control, aborts, once-only rules.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultCodecRegistry } from '../../src/codec/defaults.js';
import { RpcxError, ServiceError } from '../../src/errors.js';
import { SerializeType } from '../../src/protocol/index.js';
import { memoryTransportPair, messageStreamOver, serveTransport, StreamMetaKey, type MessageStreamRoutes, type Transport } from '../../src/stream/index.js';
import { exampleRoutes, type StreamStats } from './support.js';

const codecs = defaultCodecRegistry();
const msgpack = codecs.get(SerializeType.MsgPack);

/** Wraps a transport so every send is cut into pieces by `cut` (sizes), or held and coalesced. */
function splitting(t: Transport, cut: (len: number) => number[]): Transport {
  return {
    ...t,
    [Symbol.asyncIterator]: () => t[Symbol.asyncIterator](),
    send: async (data) => {
      let off = 0;
      for (const n of cut(data.length)) {
        // A view with a non-zero byteOffset into a larger buffer.
        const host = new Uint8Array(n + 3);
        host.set(data.subarray(off, off + n), 3);
        await t.send(host.subarray(3));
        off += n;
      }
      assert.equal(off, data.length);
    },
    closeWrite: () => t.closeWrite(),
    close: (r) => t.close(r),
  };
}

function coalescing(t: Transport): Transport {
  let held: Uint8Array[] = [];
  const flush = async (): Promise<void> => {
    if (held.length === 0) return;
    const all = Buffer.concat(held);
    held = [];
    await t.send(all);
  };
  return {
    ...t,
    [Symbol.asyncIterator]: () => t[Symbol.asyncIterator](),
    send: async (data) => {
      held.push(data.slice());
      if (held.length === 3) await flush();
    },
    closeWrite: async () => {
      await flush();
      await t.closeWrite();
    },
    close: (r) => t.close(r),
  };
}

let seed = 42;
const rand = (n: number): number => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};

const SPLITS: Record<string, (len: number) => number[]> = {
  whole: (len) => [len],
  'one byte at a time': (len) => Array.from({ length: len }, () => 1),
  random: (len) => {
    const out: number[] = [];
    for (let left = len; left > 0; ) {
      const n = Math.min(left, 1 + rand(40));
      out.push(n);
      left -= n;
    }
    return out;
  },
};

function pair(routes: MessageStreamRoutes, path: string, method: string, wrap: (t: Transport) => Transport = (t) => t, hwm?: number) {
  const [a, b] = memoryTransportPair(hwm === undefined ? {} : { highWaterMark: hwm });
  const meta = new Map([
    [StreamMetaKey.Path, path],
    [StreamMetaKey.Method, method],
    [StreamMetaKey.Serialize, '3'],
    ['who', 'memory'],
  ]);
  const served = serveTransport(wrap(b), meta, routes, { codecs });
  return { stream: messageStreamOver<unknown, unknown>(wrap(a), path, method, msgpack), served };
}

const stats = (): StreamStats => ({ endlessEnded: 0, endlessSent: 0, endlessEndedWaiters: [] });

describe('message streams over the in-memory transport', () => {
  for (const [name, cut] of Object.entries(SPLITS)) {
    test(`PingPong with frames split ${name}`, async () => {
      const { stream, served } = pair(exampleRoutes(stats()), 'Example', 'PingPong', (t) => splitting(t, cut));
      const it = stream[Symbol.asyncIterator]();
      for (let i = 1; i <= 20; i++) {
        await stream.send({ Stroke: i, Pad: 'x'.repeat(i * 7) });
        assert.deepEqual(await it.next(), { done: false, value: { Stroke: i } });
      }
      await stream.end();
      assert.equal((await it.next()).done, true);
      await served;
    });
  }

  test('frames coalesced several to a chunk', async () => {
    const { stream, served } = pair(exampleRoutes(stats()), 'Example', 'Stream', coalescing);
    await stream.send({ Count: 50 });
    await stream.end();
    const got: number[] = [];
    for await (const r of stream) got.push(Number((r as { Count: number }).Count));
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
    await served;
  });

  test('a client-streaming handler (read all, yield one) and ctx.metadata', async () => {
    let seen: string | undefined;
    const { stream, served } = pair(
      {
        Sum: {
          Add: async function* (incoming: AsyncIterable<number>, ctx) {
            seen = ctx.metadata.get('who');
            assert.equal(ctx.metadata.has(StreamMetaKey.Path), false);
            let sum = 0;
            for await (const n of incoming) sum += n;
            yield sum;
          },
        },
      },
      'Sum',
      'Add',
    );
    for (let i = 1; i <= 100; i++) await stream.send(i);
    await stream.end();
    const out: unknown[] = [];
    for await (const v of stream) out.push(v);
    assert.deepEqual(out, [5050]);
    assert.equal(seen, 'memory');
    await served;
  });

  test('flow control: a stalled reader holds the handler at a yield; nothing is lost', async () => {
    const st = stats();
    const { stream, served } = pair(exampleRoutes(st), 'Example', 'Endless', undefined, 16 * 1024);
    await stream.send({ Count: 5000, Size: 1000 });
    await stream.end();
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    // Give the server every chance to run ahead: it cannot, the pipe holds 16 KiB.
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    assert.ok(st.endlessSent < 40, `server ran ahead to ${st.endlessSent}`);
    let n = 1;
    for (let r = await it.next(); r.done !== true; r = await it.next()) assert.equal(Number((r.value as { N: number }).N), n++);
    assert.equal(n, 5000);
    await served;
  });

  test('a caller abort ends the handler (its finally runs) and its signal', async () => {
    let aborted: unknown;
    let finallyRan = false;
    const ac = new AbortController();
    const [a, b] = memoryTransportPair();
    const meta = new Map([
      [StreamMetaKey.Path, 'Forever'],
      [StreamMetaKey.Method, 'Tick'],
    ]);
    const served = serveTransport(b, meta, {
      Forever: {
        Tick: async function* (_incoming, ctx) {
          ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
          try {
            for (let i = 0; ; i++) yield i;
          } finally {
            finallyRan = true;
          }
        },
      },
    }, { codecs });
    const s = messageStreamOver<unknown, number>(a, 'Forever', 'Tick', msgpack, { signal: ac.signal });
    await assert.rejects(
      (async () => {
        for await (const i of s) if (i === 10) ac.abort();
      })(),
      (e: RpcxError) => e.code === 'CANCELLED',
    );
    await served;
    assert.equal(finallyRan, true);
    assert.ok(aborted instanceof RpcxError);
  });

  test('handler errors, unknown routes and codecs are error frames; send after end and a second iteration are refused', async () => {
    const { stream } = pair(exampleRoutes(stats()), 'Example', 'Fail');
    await stream.send({ Count: 0 });
    await stream.end();
    await assert.rejects(stream.send({}), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(
      (async () => {
        for await (const _ of stream) assert.fail();
      })(),
      (e: unknown) => e instanceof ServiceError && e.message === 'stream failed after 0 replies',
    );
    await assert.rejects(
      (async () => {
        for await (const _ of stream) assert.fail();
      })(),
      (e: RpcxError) => e.code === 'INVALID_ARGUMENT',
    );
    const nf = pair(exampleRoutes(stats()), 'Nope', 'X');
    await nf.stream.end();
    await assert.rejects(nf.stream[Symbol.asyncIterator]().next(), (e: unknown) => e instanceof ServiceError && e.message === "rpcx: can't find service Nope");
    const [a, b] = memoryTransportPair();
    void serveTransport(b, new Map([[StreamMetaKey.Path, 'Example'], [StreamMetaKey.Method, 'PingPong'], [StreamMetaKey.Serialize, '9']]), exampleRoutes(stats()), { codecs });
    const bad = messageStreamOver(a, 'Example', 'PingPong', msgpack);
    await bad.end();
    await assert.rejects(bad[Symbol.asyncIterator]().next(), (e: unknown) => e instanceof ServiceError && e.message === 'can not find codec for 9');
  });

  test('a gzipped frame from a Go peer (SetCompressType(Gzip)) is read', async () => {
    const { encodeMessage, createMessage, MessageType: MT, CompressType } = await import('../../src/protocol/index.js');
    const { defaultCompressors } = await import('../../src/node/gzip.js');
    const [a, b] = memoryTransportPair();
    const s = messageStreamOver<unknown, string>(a, 'G', 'Z', msgpack);
    const big = 'z'.repeat(5000);
    const frame = encodeMessage(createMessage({ messageType: MT.Response, compressType: CompressType.Gzip, serializeType: 3, servicePath: 'G', serviceMethod: 'Z', payload: msgpack.encode(big) }), { compressors: defaultCompressors });
    assert.ok(frame.length < 1000, 'really compressed');
    await b.send(frame);
    await b.closeWrite();
    const got: string[] = [];
    for await (const v of s) got.push(v);
    assert.deepEqual(got, [big]);
  });
});
