// Issue 15 point 4: XClient.status() / onStatus — the status changes of every connection the
// XClient opens, merged into one feed, each event naming its server. Against in-process TS
// servers (one of them stopped and restarted on its port) and against the Go server peer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FailMode, MultipleServersDiscovery, Peer2PeerDiscovery, SelectMode, createXClient, type XClientStatus } from '../../src/client/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { requirePeer, startPeerServer } from '../support/peer.js';

async function arith(addr = '127.0.0.1:0'): Promise<{ server: RpcxServer; key: string }> {
  const server = createServer();
  server.registerFunction('Arith', (a: { A: number; B: number }) => ({ C: a.A * a.B }), 'Mul');
  return { server, key: await server.serve('tcp', addr) };
}

async function waitFor(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const brief = (s: XClientStatus): string => `${s.type} ${s.address}`;

describe('XClient status feed', () => {
  it('merges the connections of every server; a drop and a return; ends at close()', async () => {
    const a = await arith();
    let b = await arith();
    const xc = createXClient('Arith', {
      discovery: new MultipleServersDiscovery([{ key: a.key, value: '' }, { key: b.key, value: '' }]),
      selectMode: SelectMode.RoundRobin,
      failMode: FailMode.Failfast,
    });
    const viaCallback: XClientStatus[] = [];
    const unsubscribe = xc.onStatus((s) => viaCallback.push(s));
    const viaIterator: XClientStatus[] = [];
    const iterated = (async () => {
      for await (const s of xc.status()) viaIterator.push(s);
    })();
    try {
      await xc.call('Mul', { A: 2, B: 3 });
      await xc.call('Mul', { A: 2, B: 3 }); // round robin: both servers now connected
      assert.deepEqual(viaCallback.map(brief).sort(), [`connected ${a.key}`, `connected ${b.key}`, `connecting ${a.key}`, `connecting ${b.key}`].sort());

      // server b goes away: its connection's drop is reported with b's address
      await b.server.close();
      await waitFor(() => viaCallback.some((s) => s.type === 'disconnected' && s.address === b.key), 'b disconnected');
      const drop = viaCallback.find((s) => s.type === 'disconnected')!;
      assert.equal(drop.address, b.key);

      // it comes back on the same port; the next call that selects it dials again
      b = await arith(b.key.slice('tcp@'.length));
      for (let i = 0; i < 2; i++) await xc.call('Mul', { A: 1, B: 1 }).catch(() => undefined);
      await waitFor(() => viaCallback.filter((s) => s.type === 'connected' && s.address === b.key).length === 2, 'b connected again');
      assert.ok(viaCallback.some((s) => s.type === 'closed' && s.address === b.key), 'the broken connection was dropped');
    } finally {
      await xc.close();
    }
    await iterated; // the async iterable ends at close()
    assert.deepEqual(viaIterator.map(brief), viaCallback.map(brief), 'both forms see the same events');
    assert.ok(viaCallback.slice(-2).every((s) => s.type === 'closed'), 'close() closes every connection');
    unsubscribe();
    for await (const _ of xc.status()) assert.fail('a feed obtained after close() is already ended');
    await a.server.close();
    await b.server.close();
  });

  it('against the Go server peer: connected, then disconnected when it dies', async (t) => {
    if (!requirePeer(t, 'go')) return;
    const srv = await startPeerServer('go');
    const xc = createXClient('Arith', { discovery: new Peer2PeerDiscovery(srv.address), failMode: FailMode.Failfast });
    const seen: XClientStatus[] = [];
    xc.onStatus((s) => seen.push(s));
    try {
      assert.deepEqual(await xc.call('Mul', { A: 6, B: 7 }), { C: 42 });
      assert.deepEqual(seen.map(brief), [`connecting ${srv.address}`, `connected ${srv.address}`]);
      await srv.kill();
      await waitFor(() => seen.some((s) => s.type === 'disconnected'), 'disconnected');
      const d = seen.find((s) => s.type === 'disconnected')!;
      assert.equal(d.address, srv.address);
      assert.ok(d.type === 'disconnected' && d.error !== undefined);
    } finally {
      await xc.close();
      await srv.kill();
    }
  });
});
