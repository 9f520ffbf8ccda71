// Cases 67-70 (interop-cases.md): message streams over the stream service, TS caller against the
// Go server peer (TG: internal/streams handlers on protocol.Read/WriteTo) and a TS server (TT:
// streamRouter with the same handlers).
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { Client, createXClient, Peer2PeerDiscovery } from '../../src/client/index.js';
import { RpcxError, ServiceError } from '../../src/errors.js';
import { SerializeType } from '../../src/protocol/index.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { requireGo } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { content, startTsStreamServer, type Payload, type RouteNote } from './support.js';

interface Peer {
  key: string;
  /** Resolves once a server Endless handler has ended because its caller went away (count > before). */
  endlessEnded(before: number): Promise<void>;
  endlessEndedCount(): Promise<number>;
  /** Messages the running Endless handler has written so far. */
  endlessSent(): Promise<number>;
}

const note = (lat: number, lng: number, msg: string): RouteNote => ({ Location: { Latitude: lat, Longitude: lng }, Message: msg });

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; ; i++) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(100, 5 * (i + 1))));
  }
}

function suite(dir: 'TG' | 'TT', start: () => Promise<{ peer: Peer; stop: () => Promise<void> }>): void {
  describe(`${dir} message streams`, () => {
    let peer: Peer;
    let stop: (() => Promise<void>) | undefined;
    let client: Client;
    before(async () => {
      if (dir === 'TG' && !goReady()) return;
      ({ peer, stop } = await start());
      client = new Client(peer.key);
    });
    after(async () => {
      await client?.close();
      await stop?.();
    });
    const need = (t: TestContext): boolean => (dir === 'TG' ? requireGo(t, ['server']) : true);

    test(`${dir} message_stream_bidi`, async (t) => {
      if (!need(t)) return;
      // gRPC RouteChat, MsgPack, on Client.
      const chat = await client.openStream<RouteNote, RouteNote>('RouteGuide', 'RouteChat');
      const received: RouteNote[] = [];
      let firstReply!: () => void;
      const gotFirst = new Promise<void>((r) => (firstReply = r));
      const reader = (async () => {
        for await (const n of chat) {
          received.push(n);
          if (received.length === 1) firstReply();
        }
        return 'end-of-stream';
      })();
      const sent: RouteNote[] = [];
      // Two notes at one place: the server answers the second with the first...
      for (const n of [note(1, 1, 'm0'), note(1, 1, 'm1')]) {
        sent.push(n);
        await chat.send(n);
      }
      // ...which arrives while this side is still sending: both directions at once.
      await gotFirst;
      assert.deepEqual(received[0], note(1, 1, 'm0'));
      for (let i = 2; i < 20; i++) {
        const n = note(i % 4, i % 4 === 0 ? 0 : -(i % 4), `m${i}`); // not -0: that is a float64 to Go
        sent.push(n);
        await chat.send(n);
      }
      await chat.end(); // CloseSend
      assert.equal(await reader, 'end-of-stream', 'close-send ends the reader with end-of-stream');
      // Expected: for each note, every earlier note at the same place.
      const expected: RouteNote[] = [];
      for (let i = 0; i < sent.length; i++) for (let j = 0; j < i; j++) if (JSON.stringify(sent[j]!.Location) === JSON.stringify(sent[i]!.Location)) expected.push(sent[j]!);
      assert.deepEqual(received, expected);
      await assert.rejects(chat.send(note(0, 0, 'late')), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');

      // go-micro PingPong (BidirectionalStream), JSON, on an XClient of _streamservice.
      const x = createXClient('_streamservice', { discovery: new Peer2PeerDiscovery(peer.key) });
      try {
        const pp = await x.openStream<{ Stroke: number }, { Stroke: number }>('Example', 'PingPong', { codec: SerializeType.JSON });
        const it = pp[Symbol.asyncIterator]();
        for (let i = 1; i <= 10; i++) {
          await pp.send({ Stroke: i });
          const r = await it.next();
          assert.deepEqual(r, { done: false, value: { Stroke: i } });
        }
        await pp.end();
        assert.equal((await it.next()).done, true);
      } finally {
        await x.close();
      }
    });

    test(`${dir} message_stream_server`, async (t) => {
      if (!need(t)) return;
      const s = await client.openStream<{ Count: number }, { Count: number | bigint }>('Example', 'Stream', { metadata: { case: 'message_stream_server' } });
      await s.send({ Count: 100 });
      await s.end();
      const got: number[] = [];
      for await (const r of s) got.push(Number(r.Count));
      assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i));
    });

    test(`${dir} message_stream_error_and_cancel`, async (t) => {
      if (!need(t)) return;
      // A handler error ends the stream with the handler's text.
      const f = await client.openStream<{ Count: number }, { Count: number }>('Example', 'Fail');
      await f.send({ Count: 3 });
      await f.end();
      const got: number[] = [];
      await assert.rejects(
        (async () => {
          for await (const r of f) got.push(Number(r.Count));
        })(),
        (e: unknown) => e instanceof ServiceError && e.code === 'SERVICE' && e.message === 'stream failed after 3 replies',
      );
      assert.deepEqual(got, [0, 1, 2]);
      // An unknown method: Go's dispatch text.
      const u = await client.openStream('Example', 'Nope');
      await u.end();
      await assert.rejects(
        (async () => {
          for await (const _ of u) assert.fail('no message expected');
        })(),
        (e: unknown) => e instanceof ServiceError && e.message === "rpcx: can't find method Nope",
      );
      // A caller abort ends the server's handler.
      const before = await peer.endlessEndedCount();
      const ac = new AbortController();
      const e = await client.openStream<{ Count: number; Size: number }, Payload>('Example', 'Endless', { signal: ac.signal });
      await e.send({ Count: 0, Size: 100 });
      let n = 0;
      await assert.rejects(
        (async () => {
          for await (const p of e) {
            assert.equal(Number(p.N), n++);
            if (n === 50) ac.abort();
          }
        })(),
        (err: RpcxError) => err.code === 'CANCELLED',
      );
      await peer.endlessEnded(before);
    });

    test(`${dir} message_stream_backpressure`, async (t) => {
      if (!need(t)) return;
      // 20,000 messages of 4 KiB (80 MiB) from the server; this reader stalls 2 s after the first.
      const M = 20_000;
      const s = await client.openStream<{ Count: number; Size: number }, Payload>('Example', 'Endless');
      await s.send({ Count: M, Size: 4096 });
      await s.end();
      const data = content(4096);
      const it = s[Symbol.asyncIterator]();
      const first = await it.next();
      assert.equal(Number(first.value!.N), 0);
      const base = process.memoryUsage().arrayBuffers;
      await new Promise((r) => setTimeout(r, 2000)); // the stall under test
      const grown = process.memoryUsage().arrayBuffers - base;
      // Without backpressure the 80 MiB would pile up here; socket buffers hold a few MiB.
      assert.ok(grown < 16 * 1024 * 1024, `buffered ${grown} bytes while stalled`);
      // The writer was held back too, not just our buffers.
      const written = await peer.endlessSent();
      assert.ok(written < M / 4, `server wrote ${written} of ${M} while the reader stalled`);
      let n = 1;
      for (let r = await it.next(); r.done !== true; r = await it.next()) {
        assert.equal(Number(r.value.N), n++, 'in order, nothing lost');
        if (n % 997 === 0) assert.ok(Buffer.from(r.value.Data).equals(data));
      }
      assert.equal(n, M);
    });
  });
}

suite('TG', async () => {
  const go: GoServer = await startGoServer(['-stream']);
  const probe = new Client(go.address);
  const stats = (): Promise<{ EndlessEnded: number | bigint; EndlessSent: number | bigint }> => probe.call('StreamProbe', 'Stats', {});
  const count = async (): Promise<number> => Number((await stats()).EndlessEnded);
  return {
    peer: {
      key: go.address,
      endlessEndedCount: count,
      endlessSent: async () => Number((await stats()).EndlessSent),
      endlessEnded: (before) => waitFor('the Go Endless handler to end', async () => (await count()) > before),
    },
    stop: async () => {
      await probe.close();
      await go.kill();
    },
  };
});

suite('TT', async () => {
  const ts = await startTsStreamServer();
  return {
    peer: {
      key: ts.key,
      endlessEndedCount: async () => ts.stats.endlessEnded,
      endlessSent: async () => ts.stats.endlessSent,
      endlessEnded: (before) => (ts.stats.endlessEnded > before ? Promise.resolve() : new Promise<void>((r) => ts.stats.endlessEndedWaiters.push(r))),
    },
    stop: () => ts.server.close(),
  };
});
