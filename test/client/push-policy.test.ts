// Server pushes nobody reads must not stall calls (Go's client discards pushes when no channel is
// registered, and drops them when the channel is full unless Option.BidirectionalBlock): against
// the Go server peer (interop/go/cmd/server) and the TS `rpcx serve`, for Client, XClient and
// BidirectionalXClient. Push.Burst with BeforeReply writes every push before its reply, so the
// reply can only arrive if the client kept reading past the pushes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type ClientOptions } from '../../src/client/client.js';
import { MultipleServersDiscovery, createBidirectionalXClient, createXClient, type XClient } from '../../src/client/index.js';
import type { Message } from '../../src/protocol/index.js';
import { peerName, peerReady, requirePeer, startPeerServer, type PeerKind, type PeerServer } from '../support/peer.js';
import { pushIndex, until, within, type PushArgs } from '../support/tg.js';

const burst = (count: number, payload = new Uint8Array(16)): PushArgs => ({ Path: 'P', Method: 'M', Metadata: {}, Payload: payload, Count: count, BeforeReply: true });

for (const kind of ['go', 'ts'] as const satisfies readonly PeerKind[]) {
  describe(`push policy against the ${peerName(kind)} server`, { timeout: 60_000 }, () => {
    let srv: PeerServer | undefined;
    const clients: Client[] = [];
    const xclients: XClient[] = [];
    const open = async (options: ClientOptions = {}): Promise<Client> => {
      const c = await Client.connect(srv!.address, options);
      clients.push(c);
      return c;
    };
    const ready = async (t: Parameters<typeof requirePeer>[0]): Promise<boolean> => requirePeer(t, kind);

    before(async () => {
      if (peerReady(kind)) srv = await startPeerServer(kind);
    });

    after(async () => {
      for (const c of clients) await c.close({ graceful: false });
      for (const x of xclients) await x.close();
      await srv?.kill();
    });

    it('Client with no consumer: 5,000 pushes are discarded and counted, calls go on', async (t) => {
      if (!(await ready(t))) return;
      const c = await open(); // default options: the case of the issue
      const r = await c.call<{ Sent: number }>('Push', 'Burst', burst(5_000), { timeoutMs: 15_000 });
      assert.equal(r.Sent, 5_000, 'the reply behind 5,000 unread pushes arrived');
      assert.equal(c.discardedMessages, 5_000, 'every push discarded for want of a consumer');
      assert.equal(c.droppedMessages, 5_000, 'droppedMessages includes the discarded pushes');
      assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }, { timeoutMs: 5_000 }), { C: 42 });
      assert.equal(c.socket?.isPaused(), false);
    });

    it('Client with onMessage: every push delivered, none counted', async (t) => {
      if (!(await ready(t))) return;
      const c = await open();
      const seen: number[] = [];
      c.onMessage((m) => seen.push(pushIndex(m.payload)));
      const r = await c.call<{ Sent: number }>('Push', 'Burst', burst(5_000), { timeoutMs: 15_000 });
      assert.equal(r.Sent, 5_000);
      assert.equal(seen.length, 5_000);
      assert.ok(seen.every((v, i) => v === i), 'in order');
      assert.equal(c.droppedMessages, 0);
    });

    it('Client default policy is drop: a stalled consumer loses the overflow, counted, and calls go on', async (t) => {
      if (!(await ready(t))) return;
      const cap = 100;
      const N = 3_000;
      const c = await open({ pushBufferSize: cap });
      const it = c.messages()[Symbol.asyncIterator](); // attached, but reads nothing yet
      const r = await c.call<{ Sent: number }>('Push', 'Burst', burst(N), { timeoutMs: 15_000 });
      assert.equal(r.Sent, N);
      assert.equal(c.droppedMessages, N - cap, 'the overflow is dropped and counted');
      assert.equal(c.discardedMessages, 0, 'a consumer was attached');
      for (let i = 0; i < cap; i++) {
        const next = await within(it.next(), 1_000, `buffered push ${i}`);
        assert.equal(next.done, false);
        assert.equal(pushIndex(next.value.payload), i, 'the buffer kept the first pushes, in order');
      }
      assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }, { timeoutMs: 5_000 }), { C: 6 });
    });

    it('Client with block: a consumer that stalls then resumes loses nothing; replies wait behind the pushes', async (t) => {
      if (!(await ready(t))) return;
      const N = 3_000;
      const c = await open({ pushPolicy: 'block', pushBufferSize: 64 });
      const it = c.messages()[Symbol.asyncIterator]();
      let settled = false;
      const call = c.call<{ Sent: number }>('Push', 'Burst', burst(N, new Uint8Array(200)), { timeoutMs: 30_000 });
      void call.then(
        () => (settled = true),
        () => (settled = true),
      );
      // The consumer stalls: the buffer fills and the client stops reading the socket.
      await until(() => c.socket?.isPaused() === true, 10_000, 'socket paused while the consumer stalls');
      assert.equal(settled, false, 'the reply waits behind the unread pushes (the documented cost of block)');
      // The consumer resumes.
      for (let i = 0; i < N; i++) {
        const next = await within(it.next(), 5_000, `push ${i}`);
        assert.equal(next.done, false);
        assert.equal(pushIndex(next.value.payload), i, 'in order, none lost');
      }
      assert.equal((await within(call, 10_000, 'the burst reply')).Sent, N);
      assert.equal(c.droppedMessages, 0);
      assert.equal(c.socket?.isPaused(), false, 'reading resumed');
      assert.deepEqual(await c.call('Arith', 'Mul', { A: 3, B: 3 }, { timeoutMs: 5_000 }), { C: 9 });
    });

    it('Client with block: a consumer that stops iterating detaches; the paused socket resumes and later pushes are discarded', async (t) => {
      if (!(await ready(t))) return;
      const cap = 16;
      const N = 1_000;
      const c = await open({ pushPolicy: 'block', pushBufferSize: cap });
      const it = c.messages()[Symbol.asyncIterator]();
      const call = c.call<{ Sent: number }>('Push', 'Burst', burst(N), { timeoutMs: 15_000 });
      await until(() => c.socket?.isPaused() === true, 10_000, 'socket paused');
      await it.return!(); // e.g. `break` out of a for-await
      assert.equal((await call).Sent, N, 'the reply arrives once the consumer is gone');
      assert.equal(c.discardedMessages, N - cap, 'the pushes after the buffer were discarded');
      assert.equal(c.droppedMessages, N - cap);
      // What the buffer held is still there for the next consumer.
      const it2 = c.messages()[Symbol.asyncIterator]();
      for (let i = 0; i < cap; i++) assert.equal(pushIndex((await within(it2.next(), 1_000, `buffered push ${i}`)).value!.payload), i);
    });

    it('XClient (no push consumer possible): 5,000 pushes do not stall later calls', async (t) => {
      if (!(await ready(t))) return;
      const xc = createXClient('Push', { discovery: new MultipleServersDiscovery([{ key: srv!.address, value: '' }]) });
      xclients.push(xc);
      const r = await xc.call<{ Sent: number }>('Burst', burst(5_000), { timeoutMs: 15_000 });
      assert.equal(r.Sent, 5_000);
      assert.equal((await xc.call<{ Sent: number }>('Burst', burst(1), { timeoutMs: 5_000 })).Sent, 1);
    });

    it('BidirectionalXClient: no consumer discards and counts; a stalled consumer drops the overflow by default', async (t) => {
      if (!(await ready(t))) return;
      const cap = 50;
      const N = 5_000;
      const xc = createBidirectionalXClient('Push', { discovery: new MultipleServersDiscovery([{ key: srv!.address, value: '' }]), pushBufferSize: cap });
      xclients.push(xc);
      assert.equal((await xc.call<{ Sent: number }>('Burst', burst(N), { timeoutMs: 15_000 })).Sent, N);
      // The pushes reach the merged stream asynchronously (through the per-connection Client).
      await until(() => xc.droppedMessages === N, 10_000, `all ${N} pushes counted`);
      assert.equal(xc.discardedMessages, N);

      const it = xc.messages()[Symbol.asyncIterator](); // attached, reads nothing yet
      assert.equal((await xc.call<{ Sent: number }>('Burst', burst(N), { timeoutMs: 15_000 })).Sent, N);
      await until(() => xc.droppedMessages === N + N - cap, 10_000, 'the overflow counted');
      assert.equal(xc.discardedMessages, N, 'nothing more discarded once a consumer is attached');
      const got: Message[] = [];
      for (let i = 0; i < cap; i++) got.push((await within(it.next(), 1_000, `buffered push ${i}`)).value!);
      assert.deepEqual(
        got.map((m) => pushIndex(m.payload)),
        Array.from({ length: cap }, (_, i) => i),
      );
    });
  });
}
