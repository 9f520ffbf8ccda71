// Issue 15 point 3: OneClient / BidirectionalOneClient and the pools (XClientPool,
// BidirectionalXClientPool, OneClientPool, BidirectionalOneClientPool) with Go's semantics,
// against the Go server peer (and the TS `rpcx serve` for comparison): the calls of the official
// oneclient and pool examples (rpcxio/rpcx-examples oneclient/client, pool/client).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  FailMode,
  MultipleServersDiscovery,
  Peer2PeerDiscovery,
  SelectMode,
  createBidirectionalOneClient,
  createBidirectionalOneClientPool,
  createBidirectionalXClientPool,
  createOneClient,
  createOneClientPool,
  createXClientPool,
  type Selector,
  type ServerMap,
  type XClient,
} from '../../src/client/index.js';
import type { Message } from '../../src/protocol/index.js';
import { RpcxError } from '../../src/errors.js';
import { peerName, peerReady, requirePeer, startPeerServer, type PeerKind, type PeerServer } from '../support/peer.js';
import { pushIndex, type PushArgs } from '../support/tg.js';

/** Collects `n` pushes from `stream` (the iterator is obtained at once: the consumer is attached). */
function collect(stream: AsyncIterable<Message>, n: number): { done: Promise<Message[]> } {
  const it = stream[Symbol.asyncIterator]();
  const done = (async () => {
    const out: Message[] = [];
    while (out.length < n) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
    await it.return?.();
    return out;
  })();
  return { done };
}

const pushArgs = (path: string, count: number): PushArgs => ({ Path: path, Method: 'Tick', Metadata: {}, Payload: new Uint8Array([7]), Count: count, BeforeReply: true });

for (const kind of ['go', 'ts'] as const satisfies readonly PeerKind[]) {
  describe(`OneClient and pools: TS -> ${peerName(kind)} server`, { timeout: 60_000 }, () => {
    let srv: PeerServer | undefined;
    const opts = () => ({ discovery: new Peer2PeerDiscovery(srv!.address, ''), failMode: FailMode.Failtry, selectMode: SelectMode.RandomSelect });

    before(async () => {
      if (peerReady(kind)) srv = await startPeerServer(kind);
    });
    after(async () => {
      await srv?.kill();
    });

    it('OneClient: the oneclient example — two services through one client', async (t) => {
      if (!requirePeer(t, kind)) return;
      const oc = createOneClient(opts());
      const statuses: string[] = [];
      oc.onStatus((s) => statuses.push(`${s.servicePath} ${s.type} ${s.address}`));
      try {
        assert.deepEqual(await oc.call('Arith', 'Mul', { A: 10, B: 20 }), { C: 200 });
        const bytes = new Uint8Array([104, 101, 108, 108, 111]);
        assert.deepEqual(await oc.call('Echo', 'Bytes', bytes), bytes);
        assert.deepEqual(await oc.proxy<{ Add(a: { A: number; B: number }): { C: number } }>('Arith').Add({ A: 1, B: 2 }), { C: 3 });
        assert.deepEqual(oc.servicePaths, ['Arith', 'Echo']);
        // As Go: one XClient per service, each with its own connection to the server.
        assert.deepEqual(oc.xclient('Arith').connectedServers, [srv!.address]);
        assert.deepEqual(oc.xclient('Echo').connectedServers, [srv!.address]);
        assert.notEqual(oc.xclient('Arith'), oc.xclient('Echo'));
        assert.equal(oc.xclient('Arith'), oc.xclient('Arith'), 'created once');
        const a = srv!.address;
        assert.deepEqual(statuses, [`Arith connecting ${a}`, `Arith connected ${a}`, `Echo connecting ${a}`, `Echo connected ${a}`], 'the status of every service, merged');
        // A server error is the server's text, as through an XClient.
        await assert.rejects(oc.call('Arith', 'Div', { A: 1, B: 0 }), { message: 'divide by zero' });
      } finally {
        await oc.close();
      }
      await assert.rejects(oc.call('Arith', 'Mul', { A: 1, B: 1 }), (e: RpcxError) => e.code === 'CONNECTION');
    });

    it('OneClient: setSelector per service, auth and geo for services made later', async (t) => {
      if (!requirePeer(t, kind)) return;
      const picks: string[] = [];
      let servers: ServerMap = new Map();
      const mine: Selector = {
        select: (path, method) => {
          picks.push(`${path}.${method}`);
          return [...servers.keys()][0] ?? '';
        },
        updateServer: (s) => {
          servers = s;
        },
      };
      const oc = createOneClient({ ...opts(), selectMode: SelectMode.SelectByUser });
      try {
        oc.setSelector('Arith', mine); // before the Arith XClient exists
        oc.auth('token-1');
        assert.deepEqual(await oc.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
        assert.deepEqual(picks, ['Arith.Mul']);
        // Echo has no selector: SelectByUser without one fails, for that service only
        await assert.rejects(oc.call('Echo', 'Metadata', {}), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
        oc.setSelector('Echo', mine);
        const { metadata } = await oc.callWithMetadata('Echo', 'Metadata', {});
        assert.equal(metadata.get('__AUTH'), 'token-1', 'the auth token reaches a service made after auth()');
        oc.configGeoSelector(0, 0); // Closest for every service; the peer's server has no position
        await assert.rejects(oc.call('Echo', 'Metadata', {}, { timeoutMs: 5_000 }), { message: 'can not found any server' });
      } finally {
        await oc.close();
      }
      assert.throws(() => createOneClient({ ...opts(), selector: mine }), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
    });

    it('XClientPool: the pool example — 10 XClients, Get round robin, 100 calls', async (t) => {
      if (!requirePeer(t, kind)) return;
      const pool = createXClientPool(10, 'Arith', opts());
      try {
        const seen: XClient[] = [];
        for (let i = 0; i < 100; i++) {
          const xc = pool.get();
          seen.push(xc);
          assert.deepEqual(await xc.call('Mul', { A: 10, B: 20 }), { C: 200 });
        }
        assert.equal(new Set(seen).size, 10, 'every member used');
        for (let i = 10; i < 100; i++) assert.equal(seen[i], seen[i - 10], 'round robin with period 10');
        for (const xc of new Set(seen)) assert.deepEqual(xc.connectedServers, [srv!.address], 'each member its own connection');
      } finally {
        await pool.close();
      }
      assert.throws(() => pool.get(), (e: RpcxError) => e.code === 'CONNECTION');
      for (const bad of [0, -1, 1.5, Number.NaN]) assert.throws(() => createXClientPool(bad, 'Arith', opts()), (e: RpcxError) => e.code === 'INVALID_ARGUMENT');
    });

    it('OneClientPool: Get round robin over OneClients', async (t) => {
      if (!requirePeer(t, kind)) return;
      const pool = createOneClientPool(3, opts());
      try {
        const first = pool.get();
        for (let i = 0; i < 5; i++) assert.deepEqual(await pool.get().call('Arith', 'Mul', { A: i, B: 2 }), { C: i * 2 });
        assert.equal(pool.get(), first, 'the 7th get() is the 1st member again: period 3');
        assert.equal(pool.size, 3);
      } finally {
        await pool.close();
      }
    });

    it('BidirectionalOneClient: pushes of every service merged into one stream', async (t) => {
      if (!requirePeer(t, kind)) return;
      const oc = createBidirectionalOneClient(opts());
      try {
        const got = collect(oc.messages(), 3);
        assert.deepEqual(await oc.call('Push', 'Start', pushArgs('N', 3)), { Sent: 3 });
        const msgs = await got.done;
        assert.deepEqual(msgs.map((m) => `${m.servicePath}.${m.serviceMethod} ${pushIndex(m.payload)}`), ['N.Tick 0', 'N.Tick 1', 'N.Tick 2']);
        assert.equal(oc.droppedMessages, 0);
      } finally {
        await oc.close();
      }
      for await (const _ of oc.messages()) assert.fail('the stream ends at close()');
    });

    it('BidirectionalXClientPool and BidirectionalOneClientPool: pushes of every member merged', async (t) => {
      if (!requirePeer(t, kind)) return;
      const pool = createBidirectionalXClientPool(2, 'Push', opts());
      const opool = createBidirectionalOneClientPool(2, opts());
      try {
        const got = collect(pool.messages(), 4);
        await pool.get().call('Burst', pushArgs('A', 2));
        await pool.get().call('Burst', pushArgs('B', 2));
        assert.deepEqual((await got.done).map((m) => m.servicePath).sort(), ['A', 'A', 'B', 'B']);
        const got2 = collect(opool.messages(), 4);
        await opool.get().call('Push', 'Burst', pushArgs('C', 2));
        await opool.get().call('Push', 'Burst', pushArgs('D', 2));
        assert.deepEqual((await got2.done).map((m) => m.servicePath).sort(), ['C', 'C', 'D', 'D']);
      } finally {
        await pool.close();
        await opool.close();
      }
    });
  });
}

describe('OneClient: discovery clone per service', () => {
  it('clones the discovery for each service path (Go: newXClient → discovery.Clone)', async () => {
    const clones: string[] = [];
    const base = new MultipleServersDiscovery([]);
    const d = Object.assign(Object.create(base) as MultipleServersDiscovery, {
      clone: async (p: string) => {
        clones.push(p);
        return base;
      },
    });
    const oc = createOneClient({ discovery: d, failMode: FailMode.Failfast });
    await assert.rejects(oc.call('S1', 'M', {}), { message: 'can not found any server' });
    await assert.rejects(oc.call('S2', 'M', {}), { message: 'can not found any server' });
    await assert.rejects(oc.call('S1', 'M', {}), { message: 'can not found any server' });
    assert.deepEqual(clones, ['S1', 'S2']);
    await oc.close();
  });
});
