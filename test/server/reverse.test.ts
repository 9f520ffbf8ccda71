// Serving and calling over a connection you already have (server.serveConnection, Client.fromDuplex,
// duplexPair), reverse RPC (case 77 reverse_rpc, TT: dialAndServe + acceptClients), and a user id
// with 10,000 connections.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Client } from '../../src/client/client.js';
import { acceptClients, type ClientAcceptor } from '../../src/client/reverse.js';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import { duplexPair } from '../../src/node/duplex-pair.js';
import { createServer, dialAndServe, type OutboundServing, type OutboundStatus, type RequestContext, type RpcxServer, type ServerConnection } from '../../src/server/index.js';
import { until, within } from '../support/tg.js';

class Arith {
  Mul(a: { A: number; B: number }): { C: number } {
    return { C: a.A * a.B };
  }
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof RpcxError && e.code === code);
}

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('serving and calling over a given connection', { timeout: 60_000 }, () => {
  const servers: RpcxServer[] = [];
  const clients: Client[] = [];
  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    for (const s of servers) await s.close();
  });

  it('server.serveConnection + Client.fromDuplex over an in-memory pair: calls, pushes, server-to-client calls', async () => {
    const server = createServer();
    servers.push(server);
    server.register(new Arith());
    server.registerFunction('Ping', async (_a: unknown, ctx: RequestContext) => {
      await ctx.server.sendMessage(ctx.connection, 'P', 'M', {}, new Uint8Array([1, 2, 3]));
      return ctx.connection.call('Local', 'Echo', 'hi');
    }, 'Run');
    const [a, b] = duplexPair();
    const conn = server.serveConnection(a);
    assert.ok(conn !== undefined);
    assert.equal(server.connections.size, 1);
    const client = Client.fromDuplex(b, { address: 'tcp@memory:0' });
    clients.push(client);
    const pushes: number[][] = [];
    client.onMessage((m) => pushes.push([...m.payload]));
    client.registerFunction('Local', (s: string) => `${s} back`, 'Echo');
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    assert.equal(await client.call('Ping', 'Run', null), 'hi back');
    assert.deepEqual(pushes, [[1, 2, 3]]);
    // Large payloads cross the pair with backpressure.
    const big = new Uint8Array(4 << 20).fill(7);
    server.registerFunction('Big', (x: Uint8Array) => x, 'Echo');
    const back = await client.call<Uint8Array>('Big', 'Echo', big);
    assert.equal(back.length, big.length);
    // Closing one end: calls pending both ways fail, the client does not redial.
    const pendingDown = conn.call('Local', 'Never', null, { timeoutMs: 30_000 });
    client.registerFunction('Local', () => new Promise(() => {}), 'Never');
    server.registerFunction('Slow', () => new Promise(() => {}), 'Never');
    const pendingUp = client.call('Slow', 'Never', null);
    await until(() => conn.pendingPeerCalls === 1 && client.pendingCalls === 1, 5_000, 'pending both ways');
    a.destroy();
    await within(rejectsWith(pendingDown, ErrorCode.CONNECTION), 5_000, 'server call fails');
    await within(rejectsWith(pendingUp, ErrorCode.CONNECTION), 5_000, 'client call fails');
    await rejectsWith(client.call('Arith', 'Mul', { A: 1, B: 1 }), ErrorCode.CONNECTION);
    await until(() => server.connections.size === 0, 5_000, 'connection gone');
  });

  it('a user id with 10,000 connections: one push reaches each, and nothing stays after they close', async () => {
    const server = createServer();
    servers.push(server);
    const N = 10_000;
    const peers: import('node:stream').Duplex[] = [];
    let bytes = 0;
    const conns: ServerConnection[] = [];
    for (let i = 0; i < N; i++) {
      const [a, b] = duplexPair();
      b.on('data', (d: Buffer) => (bytes += d.length));
      b.on('error', () => {});
      const c = server.serveConnection(a)!;
      c.tag('crowd');
      if (i % 2 === 0) c.tag('even');
      conns.push(c);
      peers.push(b);
    }
    assert.equal(server.connectionsTagged('crowd').size, N);
    const heapBefore = process.memoryUsage().heapUsed;
    const r = await server.sendMessageToTag('crowd', 'Note', 'All', { k: 'v' }, new Uint8Array(100));
    assert.deepEqual(r, { sent: N, failed: 0 });
    await until(() => bytes >= N * 100, 10_000, 'every push delivered');
    const even = await server.sendMessageToTag('even', 'Note', 'Half');
    assert.deepEqual(even, { sent: N / 2, failed: 0 });
    // Calls to a crowd that never answers: each one settles once, with TIMEOUT.
    const calls = conns.slice(0, 1_000).map((c) => c.call('X', 'Y', null, { timeoutMs: 100 }).then(() => 'ok', (e: unknown) => (e as RpcxError).code));
    const outcomes = await within(Promise.all(calls), 10_000, 'calls settle');
    assert.deepEqual(new Set(outcomes), new Set([ErrorCode.TIMEOUT]));
    for (const p of peers) p.destroy();
    await until(() => server.connections.size === 0, 10_000, 'all connections gone');
    assert.equal(server.connectionsTagged('crowd').size, 0);
    assert.equal(server.connectionsTagged('even').size, 0);
    for (const c of conns) assert.equal(c.tags.size, 0);
    assert.ok(process.memoryUsage().heapUsed < heapBefore + 256 * 1024 * 1024, 'heap stays bounded');
  });
});

describe('case reverse_rpc (TT): the provider dials out and serves; the caller gets a client per connection', { timeout: 60_000 }, () => {
  const toClose: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const x of toClose.reverse()) await x.close();
  });

  // Two providers behind a "firewall" (no listener) dial in; the caller calls each; a broken
  // connection is redialled; the provider calls the caller back over the same connection.
  it('TT reverse_rpc', async () => {
    const port = await freePort();
    // Providers start first: the caller is not listening yet, so they back off and retry.
    const providers: { server: RpcxServer; out: OutboundServing; statuses: OutboundStatus['type'][] }[] = [];
    for (const name of ['p1', 'p2']) {
      const server = createServer();
      server.registerFunction('Provider', () => name, 'Name');
      server.register(new Arith());
      const out = dialAndServe(server, `tcp@127.0.0.1:${port}`, { backoff: { initialDelayMs: 20, maxDelayMs: 200 } });
      const statuses: OutboundStatus['type'][] = [];
      out.onStatus = (s) => statuses.push(s.type);
      providers.push({ server, out, statuses });
      toClose.push(server, out);
    }
    await until(() => providers.every((p) => p.statuses.includes('waiting')), 5_000, 'providers back off while nobody listens');
    assert.equal(providers[0]!.server.address, undefined, 'a provider has no listener');

    const acceptor: ClientAcceptor = await acceptClients('tcp', `127.0.0.1:${port}`, { reconnect: true });
    toClose.push(acceptor);
    const it = acceptor[Symbol.asyncIterator]();
    const got = new Map<string, Client>();
    for (let i = 0; i < 2; i++) {
      const r = await within(it.next(), 5_000, 'a provider dials in');
      assert.equal(r.done, false);
      const c = r.value as Client;
      got.set(await c.call<string>('Provider', 'Name', null), c);
    }
    assert.deepEqual([...got.keys()].sort(), ['p1', 'p2']);
    for (const c of got.values()) assert.deepEqual(await c.call('Arith', 'Mul', { A: 3, B: 5 }), { C: 15 });

    // The caller's side of p1 breaks: p1 dials again and a new client arrives.
    const p1 = got.get('p1')!;
    const first = await providers[0]!.out.connected();
    p1.socket!.destroy();
    await rejectsWith(p1.call('Provider', 'Name', null), ErrorCode.CONNECTION);
    const r = await within(it.next(), 5_000, 'p1 redials');
    const again = r.value as Client;
    assert.equal(await again.call('Provider', 'Name', null), 'p1');
    const second = await providers[0]!.out.connected();
    assert.notEqual(second, first);

    // The provider can also call the caller over the same connection (server-to-client call).
    again.registerFunction('Caller', () => 'caller here', 'Who');
    assert.equal(await second.call('Caller', 'Who', null), 'caller here');

    // Closing a provider stops its redialling; closing the acceptor ends the iteration.
    await providers[0]!.out.close();
    assert.equal(providers[0]!.statuses.at(-1), 'closed');
    await until(() => !again.isConnected, 5_000, 'caller sees the provider leave');
    await acceptor.close();
    assert.deepEqual(await it.next(), { value: undefined, done: true });
    // p2's connection went with the acceptor; it keeps trying until closed.
    const p2conn = await providers[1]!.out.connected().catch(() => undefined);
    await p2conn?.closed();
    await providers[1]!.out.close();
    await rejectsWith(providers[1]!.out.connected(), ErrorCode.CONNECTION);
  });

  it('dialAndServe stops when its server closes', async () => {
    const acceptor = await acceptClients('tcp', '127.0.0.1:0');
    toClose.push(acceptor);
    const server = createServer();
    server.registerFunction('P', () => 1, 'One');
    const statuses: string[] = [];
    const out = dialAndServe(server, acceptor.address, { backoff: { initialDelayMs: 5 }, onStatus: (s) => statuses.push(s.type) });
    await out.connected();
    await server.close();
    await within(out.done, 5_000, 'serving ends with the server');
    assert.equal(statuses.at(-1), 'closed');
    assert.equal(statuses.filter((s) => s === 'connecting').length, 1, statuses.join(' '));
  });

  it('dialAndServe gives up after maxAttempts failed dials', async () => {
    const port = await freePort();
    const server = createServer();
    toClose.push(server);
    const out = dialAndServe(server, `127.0.0.1:${port}`, { backoff: { initialDelayMs: 5, maxAttempts: 3 } });
    await rejectsWith(within(out.done, 5_000, 'gives up'), ErrorCode.CONNECTION);
    await rejectsWith(out.connected(), ErrorCode.CONNECTION);
  });
});
