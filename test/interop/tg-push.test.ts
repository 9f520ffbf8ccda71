// TG interop cases: server pushes from the Go server peer (Server.SendMessage via Push.Start /
// Push.Burst) to the TS Client's push stream — basic fields, a 10,000-push burst under the
// blocking policy, pushes sent before the reply, and a slow consumer under the drop policy.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from '../../src/client/client.js';
import { CompressType, MessageType, SerializeType, type Message } from '../../src/protocol/index.js';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { goReady, pushIndex, pushPayload, sleep, utf8, within, type PushArgs } from '../support/tg.js';

describe('TG server pushes (Go server -> TS Client)', { timeout: 60_000 }, () => {
  let go: GoServer | undefined;
  const clients: Client[] = [];
  const open = async (options: Parameters<typeof Client.connect>[1] = {}): Promise<Client> => {
    const c = await Client.connect(go!.address, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    if (!goReady()) return;
    go = await startGoServer();
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await go?.kill();
  });

  it('TG push_basic', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const c = await open();
    const prefix = utf8('hello \u{1F600}');
    const args: PushArgs = { Path: 'IoT', Method: 'Notify', Metadata: { device: 'd1', 'ключ': 'значение', empty: '' }, Payload: prefix, Count: 3, IntervalMs: 20 };
    const got: Message[] = [];
    const reading = (async () => {
      for await (const m of c.messages()) {
        got.push(m);
        if (got.length === 3) break;
      }
    })();
    const reply = await c.call<{ Sent: number }>('Push', 'Start', args);
    assert.equal(reply.Sent, 0, 'Start replies at once and pushes in the background');
    await within(reading, 5_000, 'three pushes');
    let lastSeq = 0n;
    got.forEach((m, i) => {
      assert.equal(m.messageType, MessageType.Request);
      assert.equal(m.oneway, true);
      assert.equal(m.heartbeat, false);
      assert.equal(m.serializeType, SerializeType.SerializeNone);
      assert.equal(m.compressType, CompressType.None);
      assert.equal(m.servicePath, 'IoT');
      assert.equal(m.serviceMethod, 'Notify');
      assert.deepEqual(Object.fromEntries(m.metadata), args.Metadata);
      assert.deepEqual(Buffer.from(m.payload), Buffer.from(pushPayload(prefix, i)));
      assert.ok(m.seq > lastSeq, 'push seqs come from the server-wide counter, increasing');
      lastSeq = m.seq;
    });
    // Calls keep working next to pushes.
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 21 }), { C: 42 });
  });

  it('TG push_burst_in_order', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const N = 10_000;
    const c = await open({ pushPolicy: 'block', pushBufferSize: 8 });
    const prefix = new Uint8Array(200).fill(0x5a);
    let received = 0;
    let pausedSeen = 0;
    const reading = (async () => {
      for await (const m of c.messages()) {
        assert.equal(pushIndex(m.payload), received, 'in order, none lost');
        assert.equal(m.payload.length, prefix.length + 8);
        received++;
        if (received % 1000 === 0) {
          // A slow moment: the buffer fills, the client stops reading the socket (Go's
          // BidirectionalBlock), and the Go server's writes back up instead of being dropped.
          await sleep(30);
          if (c.socket?.isPaused() === true) pausedSeen++;
        }
        if (received === N) break;
      }
    })();
    const reply = await c.call<{ Sent: number }>('Push', 'Burst', { Path: 'B', Method: 'M', Metadata: {}, Payload: prefix, Count: N } satisfies PushArgs);
    assert.equal(reply.Sent, 0);
    await within(reading, 30_000, `${N} pushes`);
    assert.equal(received, N);
    assert.equal(c.droppedMessages, 0);
    t.diagnostic(`socket seen paused at ${pausedSeen} of 10 slow moments`);
    assert.ok(pausedSeen > 0, 'the blocking policy paused the socket while the consumer lagged');
    assert.equal(c.socket?.isPaused(), false, 'reading resumed');
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
  });

  it('TG push_before_reply', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const c = await open();
    const seen: number[] = [];
    c.onMessage((m) => seen.push(pushIndex(m.payload)));
    const reply = await c.call<{ Sent: number }>('Push', 'Start', {
      Path: 'P',
      Method: 'BeforeReply',
      Metadata: {},
      Payload: new Uint8Array(0),
      Count: 5,
      BeforeReply: true,
    } satisfies PushArgs);
    assert.equal(reply.Sent, 5);
    assert.deepEqual(seen, [0, 1, 2, 3, 4], 'every push sent before the reply was delivered before the call resolved');

    // The same through the async iterable: already buffered when the call resolves.
    const c2 = await open();
    const r2 = await c2.call<{ Sent: number }>('Push', 'Burst', { Path: 'P', Method: 'M', Metadata: {}, Payload: new Uint8Array(1), Count: 3, BeforeReply: true } satisfies PushArgs);
    assert.equal(r2.Sent, 3);
    const it2 = c2.messages()[Symbol.asyncIterator]();
    for (let i = 0; i < 3; i++) {
      const next = await Promise.race([it2.next(), sleep(0).then(() => undefined)]);
      assert.ok(next !== undefined && next.done !== true, `push ${i} was already buffered`);
      assert.equal(pushIndex(next.value.payload), i);
    }
  });

  it('TG push_slow_consumer', async (t) => {
    if (!requireGo(t, ['server'])) return;
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const N = 4_000;
    const size = 8 * 1024;
    const cap = 100;
    const c = await open({ pushPolicy: 'drop', pushBufferSize: cap });
    gc();
    const mem = (): number => {
      const u = process.memoryUsage();
      return u.heapUsed + u.arrayBuffers;
    };
    const before = mem();
    // Nobody consumes while the server writes N pushes (N x 8 KiB = 32 MiB) before its reply.
    const reply = await c.call<{ Sent: number }>(
      'Push',
      'Burst',
      { Path: 'S', Method: 'M', Metadata: {}, Payload: new Uint8Array(size), Count: N, BeforeReply: true } satisfies PushArgs,
      { timeoutMs: 20_000 },
    );
    assert.equal(reply.Sent, N, 'the server wrote every push; the client kept reading (drop never blocks)');
    gc();
    const grown = mem() - before;
    t.diagnostic(`memory grew ${(grown / 1048576).toFixed(1)} MiB for ${(N * size) / 1048576} MiB pushed`);
    assert.equal(c.droppedMessages, N - cap, 'overflow is dropped and counted');
    assert.ok(grown < 16 * 1024 * 1024, `memory stays bounded: grew ${(grown / 1048576).toFixed(1)} MiB for ${(N * size) / 1048576} MiB pushed`);
    // The buffer holds the first `cap` pushes, in order.
    const indexes: number[] = [];
    const it2 = c.messages()[Symbol.asyncIterator]();
    for (let i = 0; i < cap; i++) {
      const next = await within(it2.next(), 1_000, 'buffered push');
      assert.ok(next.done !== true);
      indexes.push(pushIndex(next.value.payload));
    }
    assert.deepEqual(indexes, Array.from({ length: cap }, (_, i) => i));
    // With room again, new pushes are delivered.
    await c.call('Push', 'Burst', { Path: 'S', Method: 'M', Metadata: {}, Payload: new Uint8Array(0), Count: 1, BeforeReply: true } satisfies PushArgs);
    const more = await within(it2.next(), 1_000, 'push after draining');
    assert.equal(more.done, false);
    assert.equal(c.droppedMessages, N - cap);
  });
});
