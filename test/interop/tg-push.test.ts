// TG and TT interop cases: server pushes from the Go server peer (Server.SendMessage via
// Push.Start / Push.Burst) or the TS `rpcx serve` (server.sendMessage) to the TS Client's push
// stream — basic fields, a 10,000-push burst under the blocking policy, pushes sent before the
// reply, a slow consumer under the drop policy; TT also pushes to a closed connection and
// broadcasts. Directions from ../support/cases.ts.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Client } from '../../src/client/client.js';
import { CompressType, MessageStatusType, MessageType, SerializeType, type Message } from '../../src/protocol/index.js';
import { createServer, type RpcxServer, type ServerConnection } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { caseTest, peerName, peerOf, peerReady, startPeerServer, type PeerServer } from '../support/peer.js';
import { pushIndex, pushPayload, rejectsWith, sleep, until, utf8, within, type PushArgs } from '../support/tg.js';

for (const dir of ['TG', 'TT'] as const) describe(`${dir} server pushes (${peerName(peerOf(dir))} server -> TS Client)`, { timeout: 60_000 }, () => {
  let srv: PeerServer | undefined;
  const servers: PeerServer[] = [];
  const inProcess: RpcxServer[] = [];
  const clients: Client[] = [];
  const open = async (options: Parameters<typeof Client.connect>[1] = {}): Promise<Client> => {
    const c = await Client.connect(srv!.address, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    if (!peerReady(peerOf(dir))) return;
    srv = await startPeerServer(peerOf(dir));
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await srv?.kill();
    await Promise.all(servers.map((s) => s.kill()));
    await Promise.all(inProcess.map((s) => s.close()));
  });

  caseTest(dir, 'push_basic', async (t) => {
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

  caseTest(dir, 'push_burst_in_order', async (t) => {
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

  caseTest(dir, 'push_before_reply', async (t) => {
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

    // The same through the async iterable (attached first: until a consumer is, pushes are
    // discarded, as Go's client discards them with no channel): buffered when the call resolves.
    const c2 = await open();
    const it2 = c2.messages()[Symbol.asyncIterator]();
    const r2 = await c2.call<{ Sent: number }>('Push', 'Burst', { Path: 'P', Method: 'M', Metadata: {}, Payload: new Uint8Array(1), Count: 3, BeforeReply: true } satisfies PushArgs);
    assert.equal(r2.Sent, 3);
    for (let i = 0; i < 3; i++) {
      const next = await Promise.race([it2.next(), sleep(0).then(() => undefined)]);
      assert.ok(next !== undefined && next.done !== true, `push ${i} was already buffered`);
      assert.equal(pushIndex(next.value.payload), i);
    }
  });

  caseTest(dir, 'push_slow_consumer', async (t) => {
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
    // A consumer is attached but reads nothing while the server writes N pushes (N x 8 KiB =
    // 32 MiB) before its reply.
    const it2 = c.messages()[Symbol.asyncIterator]();
    const reply = await c.call<{ Sent: number }>(
      'Push',
      'Burst',
      { Path: 'S', Method: 'M', Metadata: {}, Payload: new Uint8Array(size), Count: N, BeforeReply: true } satisfies PushArgs,
      { timeoutMs: 20_000 },
    );
    assert.equal(reply.Sent, N, 'the server wrote every push; the client kept reading (drop never blocks)');
    // Freed ArrayBuffer memory is returned off the main thread after a GC; on a busy machine
    // that lags, so measure again a few times (bounded) before judging.
    let grown = Infinity;
    for (let i = 0; i < 10 && grown >= 16 * 1024 * 1024; i++) {
      gc();
      grown = mem() - before;
      if (grown >= 16 * 1024 * 1024) await sleep(50);
    }
    t.diagnostic(`memory grew ${(grown / 1048576).toFixed(1)} MiB for ${(N * size) / 1048576} MiB pushed`);
    assert.equal(c.droppedMessages, N - cap, 'overflow is dropped and counted');
    assert.equal(c.discardedMessages, 0, 'a consumer was attached: nothing discarded for want of one');
    assert.ok(grown < 16 * 1024 * 1024, `memory stays bounded: grew ${(grown / 1048576).toFixed(1)} MiB for ${(N * size) / 1048576} MiB pushed`);
    // The buffer holds the first `cap` pushes, in order.
    const indexes: number[] = [];
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

  caseTest(dir, 'push_to_closed_connection', async () => {
    // In process, to reach the server's connections: the demo services on createServer.
    const server = createServer({ codecs: demoCodecs() });
    registerDemoServices(server);
    inProcess.push(server);
    const conns: ServerConnection[] = [];
    const gone = new Set<ServerConnection>();
    server.on('connect', (conn) => conns.push(conn));
    server.on('disconnect', (conn) => gone.add(conn));
    const address = await server.serve('tcp', '127.0.0.1:0');

    // 1. The client goes away while the server keeps pushing (Push.Start every 5 ms).
    const c = await Client.connect(address);
    clients.push(c);
    const statuses: string[] = [];
    c.onStatus((st) => statuses.push(st.type));
    const it1 = c.messages()[Symbol.asyncIterator]();
    await c.call('Push', 'Start', { Path: 'P', Method: 'Tick', Metadata: {}, Payload: new Uint8Array(0), Count: 100_000, IntervalMs: 5 } satisfies PushArgs);
    for (let i = 0; i < 3; i++) {
      const next = await within(it1.next(), 5_000, `push ${i}`);
      assert.ok(next.done !== true);
      assert.equal(next.value.serviceMethod, 'Tick');
      assert.equal(pushIndex(next.value.payload), i);
    }
    assert.equal(conns.length, 1);
    const conn = conns[0]!;
    await c.close();
    // The client saw its close event: the `closed` status, and its push stream ends.
    assert.deepEqual(statuses, ['closed']);
    for (let i = 0; i < 1_000; i++) {
      const next = await within(it1.next(), 1_000, 'push stream end');
      if (next.done === true) break;
      assert.ok(i < 999, 'the push stream ended');
    }
    await until(() => gone.has(conn), 2_000, 'server saw the close');
    assert.equal(conn.isOpen, false);
    const err = await rejectsWith(server.sendMessage(conn, 'P', 'Late', { k: 'v' }, new Uint8Array([1])), 'CONNECTION', 'push to the gone connection');
    assert.match(err.message, /closed/);
    const b = await server.broadcast('P', 'All', {}, new Uint8Array(0));
    assert.deepEqual(b, { sent: 0, failed: 0 }, 'the gone connection is no longer a target');

    // 2. The server drops the connection: the client sees `disconnected` and, as Go's client
    // injects into its push channel, one error message naming the server.
    const c2 = await Client.connect(address);
    clients.push(c2);
    const st2: string[] = [];
    c2.onStatus((st) => st2.push(st.type));
    const pushes: Message[] = [];
    c2.onMessage((m) => pushes.push(m));
    assert.deepEqual(await c2.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
    const conn2 = conns[1]!;
    conn2.destroy();
    await until(() => st2.includes('disconnected'), 2_000, 'client saw the server close');
    await until(() => pushes.length > 0, 1_000, 'close event on the push stream');
    assert.equal(pushes[0]!.messageStatusType, MessageStatusType.Error);
    assert.equal(pushes[0]!.metadata.get('server'), address.slice(address.indexOf('@') + 1));
    await rejectsWith(server.sendMessage(conn2, 'P', 'Late'), 'CONNECTION', 'push after the server closed it');

    // The server keeps serving: the next call (a new connection) works.
    await sleep(50);
    assert.deepEqual(await c2.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
  });

  caseTest(dir, 'push_broadcast', async () => {
    // Its own server, so that exactly these connections are open.
    const own = await startPeerServer(peerOf(dir));
    servers.push(own);
    const n = 3;
    const cs = await Promise.all(Array.from({ length: n }, () => Client.connect(own.address)));
    clients.push(...cs);
    // A call on each first: the server has registered every connection once it replied.
    for (const c of cs) assert.deepEqual(await c.call('Arith', 'Mul', { A: 1, B: 1 }), { C: 1 });
    const got = cs.map(() => [] as Message[]);
    cs.forEach((c, i) => c.onMessage((m) => got[i]!.push(m)));
    const prefix = utf8('all');
    const r = await cs[0]!.call<{ Sent: number }>('Push', 'Broadcast', { Path: 'B', Method: 'Cast', Metadata: { k: 'v' }, Payload: prefix, Count: 2 } satisfies PushArgs);
    assert.equal(Number(r.Sent), n * 2, 'one write per connection per push');
    await until(() => got.every((g) => g.length === 2), 5_000, 'every client got both pushes');
    got.forEach((g, i) => {
      g.forEach((m, j) => {
        assert.equal(m.servicePath, 'B', `client ${i}`);
        assert.equal(m.serviceMethod, 'Cast');
        assert.equal(m.oneway, true);
        assert.deepEqual(Object.fromEntries(m.metadata), { k: 'v' });
        assert.deepEqual(Buffer.from(m.payload), Buffer.from(pushPayload(prefix, j)));
      });
    });
    // Each write is a sendMessage (Go's SendMessage): its own seq from the server-wide counter.
    assert.equal(new Set(got.flatMap((g) => g.map((m) => m.seq))).size, n * 2);
  });
});
