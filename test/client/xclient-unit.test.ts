// XClient unit tests without Go: discovery update/watch, group/inactive filtering, breaker,
// shutdown, proxies. Loopback listeners stand in for servers where only a connection matters.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import {
  BREAKER_OPEN,
  ConsecCircuitBreaker,
  FailMode,
  MultipleServersDiscovery,
  Peer2PeerDiscovery,
  SelectMode,
  XCLIENT_NO_SERVER,
  XCLIENT_SHUTDOWN,
  createProxy,
  createXClient,
  type KVPair,
  type Selector,
  type ServiceProxy,
} from '../../src/client/index.js';

interface Listener {
  key: string;
  sockets: Socket[];
  closed: number;
  server: Server;
  close(): Promise<void>;
}

/** A loopback listener that accepts and holds connections (never answers). */
async function listen(): Promise<Listener> {
  const l: Partial<Listener> & { sockets: Socket[]; closed: number } = { sockets: [], closed: 0 };
  const server = createServer((s) => {
    l.sockets.push(s);
    s.on('close', () => l.closed++);
    s.on('error', () => {});
    s.resume(); // consume the requests, so the peer's FIN is seen
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return Object.assign(l, {
    key: `tcp@127.0.0.1:${port}`,
    server,
    close: async () => {
      for (const s of l.sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  }) as Listener;
}

async function closedPort(): Promise<string> {
  const l = await listen();
  await l.close();
  return l.key;
}

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('group and state=inactive filtering, also after a discovery update', async () => {
  const d = new MultipleServersDiscovery([
    { key: 'tcp@127.0.0.1:1', value: 'group=g1' },
    { key: 'tcp@127.0.0.1:2', value: 'group=g2' },
    { key: 'tcp@127.0.0.1:3', value: 'group=g1&state=inactive' },
    { key: 'tcp@127.0.0.1:4', value: 'group=g2&group=g1&weight=3' },
  ]);
  const xc = createXClient('Arith', { discovery: d, group: 'g1' });
  await xc.whenReady();
  assert.deepEqual([...xc.serverMap.keys()], ['tcp@127.0.0.1:1', 'tcp@127.0.0.1:4']);
  d.update({ 'tcp@127.0.0.1:5': 'group=g1', 'tcp@127.0.0.1:6': 'state=inactive&group=g1', 'tcp@127.0.0.1:7': '' });
  await tick();
  assert.deepEqual([...xc.serverMap.keys()], ['tcp@127.0.0.1:5']);
  const all = createXClient('Arith', { discovery: d });
  await all.whenReady();
  assert.deepEqual([...all.serverMap.keys()], ['tcp@127.0.0.1:5', 'tcp@127.0.0.1:7']);
  await xc.close();
  await all.close();
});

test('discovery update: connections to removed servers are closed, one cached connection per server', async () => {
  const a = await listen();
  const b = await listen();
  const d = new MultipleServersDiscovery([
    { key: a.key, value: '' },
    { key: b.key, value: '' },
  ]);
  const xc = createXClient('Svc', { discovery: d, failMode: FailMode.Failfast, selectMode: SelectMode.RoundRobin });
  // the listeners never answer: each call times out, which keeps its connection (not retried, not dropped)
  for (let i = 0; i < 4; i++) {
    await assert.rejects(xc.call('M', {}, { timeoutMs: 30 }), (e: RpcxError) => e.code === ErrorCode.TIMEOUT);
  }
  assert.deepEqual(xc.connectedServers.sort(), [a.key, b.key].sort());
  assert.equal(a.sockets.length, 1);
  assert.equal(b.sockets.length, 1);
  d.update([{ key: a.key, value: '' }]);
  await tick(50);
  assert.deepEqual(xc.connectedServers, [a.key]);
  assert.equal(b.closed, 1, 'the removed server saw its connection close');
  assert.equal(a.closed, 0);
  await xc.close();
  await tick(50);
  assert.equal(a.closed, 1);
  await assert.rejects(xc.call('M', {}), { message: XCLIENT_SHUTDOWN });
  await a.close();
  await b.close();
});

test('MultipleServersDiscovery: watchers get the newest list; close ends them; onChange', async () => {
  const d = new MultipleServersDiscovery({ 'tcp@h:1': '' });
  const it = d.watch()[Symbol.asyncIterator]();
  const seen: (readonly KVPair[])[] = [];
  const off = d.onChange((p) => seen.push(p));
  d.update({ 'tcp@h:2': '' });
  d.update({ 'tcp@h:3': 'weight=2' });
  const r = await it.next();
  assert.deepEqual(r.value, [{ key: 'tcp@h:3', value: 'weight=2' }], 'a slow watcher gets the latest list');
  assert.equal(seen.length, 2);
  off();
  const pending = it.next();
  d.close();
  assert.equal((await pending).done, true);
  assert.deepEqual(d.getServices(), [{ key: 'tcp@h:3', value: 'weight=2' }]);
  assert.equal(d.clone(), d);
  const p2p = new Peer2PeerDiscovery('tcp@127.0.0.1:9', 'weight=1');
  assert.deepEqual(p2p.getServices(), [{ key: 'tcp@127.0.0.1:9', value: 'weight=1' }]);
  assert.equal(p2p.watch(), undefined);
});

test('no server, Closest without a position, SelectByUser', async () => {
  const empty = createXClient('Svc', { discovery: new MultipleServersDiscovery([]), failMode: FailMode.Failover });
  await assert.rejects(empty.call('M', {}), { message: XCLIENT_NO_SERVER });
  await assert.rejects(empty.broadcast('M', {}), { message: XCLIENT_NO_SERVER });
  await empty.close();

  const l = await listen();
  const geo = createXClient('Svc', { discovery: new Peer2PeerDiscovery(l.key, 'latitude=1&longitude=2'), selectMode: SelectMode.Closest, failMode: FailMode.Failfast });
  await assert.rejects(geo.call('M', {}), (e: RpcxError) => e.code === ErrorCode.INVALID_ARGUMENT);
  geo.configGeoSelector(0, 0);
  await assert.rejects(geo.call('M', {}, { timeoutMs: 20 }), (e: RpcxError) => e.code === ErrorCode.TIMEOUT);
  assert.equal(l.sockets.length, 1);
  await geo.close();

  const calls: string[] = [];
  const mine: Selector = {
    select: (path, method, args, ctx) => {
      calls.push(`${path}.${method} ${JSON.stringify(args)} ${ctx?.metadata?.get('who') ?? ''}`);
      return l.key;
    },
    updateServer: () => {},
  };
  const byUser = createXClient('Svc', { discovery: new Peer2PeerDiscovery(l.key), selectMode: SelectMode.SelectByUser, selector: mine, failMode: FailMode.Failfast });
  await assert.rejects(byUser.call('M', { x: 1 }, { timeoutMs: 20, metadata: { who: 'me' } }), (e: RpcxError) => e.code === ErrorCode.TIMEOUT);
  assert.deepEqual(calls, ['Svc.M {"x":1} me']);
  await byUser.close();
  await l.close();
});

test('ConsecCircuitBreaker: Go semantics with a fake clock', async () => {
  let now = 0;
  const b = new ConsecCircuitBreaker(2, 1000, () => now);
  assert.equal(b.ready(), true);
  b.fail();
  now = 10;
  assert.equal(b.ready(), true);
  b.fail();
  assert.equal(b.ready(), false, 'two consecutive failures within the window open it');
  now = 1011;
  assert.equal(b.ready(), true, 'the window since the last failure passed: reset');
  b.fail();
  b.success();
  b.fail();
  assert.equal(b.ready(), true, 'a success resets the count');
  await assert.rejects(b.call(async () => Promise.reject(new Error('x'))), /x/);
  await assert.rejects(b.call(async () => 1), { message: BREAKER_OPEN });
  now = 5000;
  assert.equal(await b.call(async () => 7), 7);
  await assert.rejects(b.call(() => new Promise((r) => setTimeout(r, 200)), 20), { message: 'breaker time out' });
});

test('XClient breaker: dial failures open it, then `breaker open` without dialing', async () => {
  const dead = await closedPort();
  const xc = createXClient('Svc', {
    discovery: new Peer2PeerDiscovery(dead),
    failMode: FailMode.Failfast,
    genBreaker: () => new ConsecCircuitBreaker(2, 60_000),
  });
  const errs: string[] = [];
  for (let i = 0; i < 4; i++) {
    try {
      await xc.call('M', {});
    } catch (e) {
      errs.push((e as RpcxError).message);
    }
  }
  assert.equal(errs.length, 4);
  assert.notEqual(errs[0], BREAKER_OPEN);
  assert.notEqual(errs[1], BREAKER_OPEN);
  assert.deepEqual(errs.slice(2), [BREAKER_OPEN, BREAKER_OPEN]);
  await xc.close();
});

test('Failover without live servers tries retries+1 times and gives the last error', async () => {
  const dead = await closedPort();
  const xc = createXClient('Svc', { discovery: new Peer2PeerDiscovery(dead), failMode: FailMode.Failover, retries: 2, retryIntervalMs: 30 });
  const t0 = performance.now();
  await assert.rejects(xc.call('M', {}), (e: RpcxError) => e.code === ErrorCode.CONNECTION);
  assert.ok(performance.now() - t0 >= 55, 'two retry intervals');
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  const slow = createXClient('Svc', { discovery: new Peer2PeerDiscovery(dead), failMode: FailMode.Failover, retries: 10, retryIntervalMs: 1000 });
  await assert.rejects(slow.call('M', {}, { signal: ac.signal }), (e: RpcxError) => e.code === ErrorCode.CANCELLED);
  await xc.close();
  await slow.close();
});

interface Arith {
  Mul(args: { A: number; B: number }): { C: number };
  Add(args: { A: number; B: number }): Promise<{ C: number }>;
  Ping(): string;
}

test('typed proxies: method name = property, args and options passed through', async () => {
  const seen: unknown[] = [];
  const arith: ServiceProxy<Arith> = createProxy<Arith>({
    call: async (method, args, options) => {
      seen.push([method, args, options?.timeoutMs]);
      return { C: 6 };
    },
  });
  const r: { C: number } = await arith.Mul({ A: 2, B: 3 }, { timeoutMs: 5 });
  assert.equal(r.C, 6);
  await arith.Add({ A: 1, B: 2 });
  await arith.Ping();
  assert.deepEqual(seen, [
    ['Mul', { A: 2, B: 3 }, 5],
    ['Add', { A: 1, B: 2 }, undefined],
    ['Ping', undefined, undefined],
  ]);
  assert.equal((arith as unknown as { then?: unknown }).then, undefined, 'not a thenable');
  // @ts-expect-error wrong argument shape is a type error
  void (() => arith.Mul({ A: 'x', B: 3 }));
  // @ts-expect-error unknown method is a type error
  void (() => arith.Div({ A: 1, B: 2 }));
  const xc = createXClient('Arith', { discovery: new MultipleServersDiscovery([]) });
  const p = xc.proxy<Arith>();
  await assert.rejects(p.Mul({ A: 1, B: 2 }), { message: XCLIENT_NO_SERVER });
  await xc.close();
});

test('dropping a removed server while calls run leaves no pending dials', async () => {
  const a = await listen();
  const d = new MultipleServersDiscovery([{ key: a.key, value: '' }]);
  const xc = createXClient('Svc', { discovery: d, failMode: FailMode.Failfast });
  const p = xc.call('M', {}, { timeoutMs: 50 });
  d.update([]);
  await assert.rejects(p, (e: RpcxError) => e.code === ErrorCode.TIMEOUT || e.code === ErrorCode.CONNECTION);
  await assert.rejects(xc.call('M', {}), { message: XCLIENT_NO_SERVER });
  await xc.close();
  await a.close();
  assert.ok(RpcxError);
});
