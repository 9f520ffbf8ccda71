// TG interop cases 47-52 (shared/interop-cases.md) and XClient behaviour against real Go rpcx
// v1.9.4 servers (interop/go/cmd/server), plus agreement with Go's own selectors through
// interop/go/cmd/hashcheck (a real Go client.XClient's selector; see its doc comment).
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { ErrorCode, RpcxError, ServiceError } from '../../src/errors.js';
import {
  Client,
  ConsistentHashSelector,
  FailMode,
  MultiError,
  MultipleServersDiscovery,
  SelectMode,
  WeightedRoundRobinSelector,
  createBidirectionalXClient,
  createXClient,
  goSprintV,
  type KVPair,
  type Selector,
  type XClient,
} from '../../src/client/index.js';
import { MetaKey, type Message } from '../../src/protocol/index.js';
import { goJsonLines, requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { sleep, until, within } from '../support/tg.js';

interface ArithReply {
  C: number | bigint;
}

const log = process.env['RPCX_TEST_VERBOSE'] === '1';
const addr = (key: string): string => key.slice(key.indexOf('@') + 1);

async function servers(t: TestContext, n: number, args: string[][] = []): Promise<GoServer[]> {
  const list = await Promise.all(Array.from({ length: n }, (_, i) => startGoServer(args[i] ?? [])));
  t.after(() => Promise.all(list.map((s) => s.kill())));
  return list;
}

function discovery(list: readonly (GoServer | string)[], meta: readonly string[] = []): MultipleServersDiscovery {
  return new MultipleServersDiscovery(list.map((s, i) => ({ key: typeof s === 'string' ? s : s.address, value: meta[i] ?? '' })));
}

/** Echo.GetCount of `key` on one server, through a fresh plain Client. */
async function countOn(server: string, key: string): Promise<number> {
  const c = new Client(server);
  try {
    const r = await c.call<{ Count: number | bigint }>('Echo', 'GetCount', { Key: key }, { timeoutMs: 5_000 });
    return Number(r.Count);
  } finally {
    await c.close({ graceful: false });
  }
}

interface TcpProxy {
  key: string;
  connections: number;
  close(): void;
}

/**
 * A loopback TCP proxy to `target`: the first `failFirst` connections are dropped as soon as a
 * request arrives (a connection error after the call was sent), later ones are forwarded.
 */
async function flakyProxy(target: string, failFirst: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const p = { key: '', connections: 0, close: () => {} };
  const [host, port] = [addr(target).slice(0, addr(target).lastIndexOf(':')), Number(addr(target).slice(addr(target).lastIndexOf(':') + 1))];
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    const n = ++p.connections;
    if (n <= failFirst) {
      s.once('data', () => s.destroy());
      return;
    }
    const up = connect({ host, port });
    sockets.add(up);
    up.on('error', () => s.destroy());
    up.on('close', () => s.destroy());
    s.on('close', () => up.destroy());
    s.pipe(up);
    up.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  p.key = `tcp@127.0.0.1:${(server.address() as { port: number }).port}`;
  p.close = () => {
    for (const s of sockets) s.destroy();
    server.close();
  };
  return p;
}

// one of two Go servers dies, calls keep succeeding
test('TG failover_two_servers', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b] = await servers(t, 2);
  const xc = createXClient('Arith', { discovery: discovery([a!, b!]), failMode: FailMode.Failover, selectMode: SelectMode.RoundRobin });
  t.after(() => xc.close());
  for (let i = 0; i < 10; i++) assert.equal(Number((await xc.call<ArithReply>('Mul', { A: i, B: 3 })).C), i * 3);
  assert.equal(xc.connectedServers.length, 2);
  await a!.kill();
  for (let i = 0; i < 30; i++) {
    const r = await within(xc.call<ArithReply>('Mul', { A: i, B: 7 }, { timeoutMs: 5_000 }), 5_000, `call ${i}`);
    assert.equal(Number(r.C), i * 7);
  }
  assert.deepEqual(xc.connectedServers, [b!.address], "the dead server's connection was dropped");
  // a ServiceError is not retried: it comes back as Go's text
  await assert.rejects(xc.call('Div', { A: 1, B: 0 }), (e: unknown) => e instanceof ServiceError && e.message === 'divide by zero');
});

// retries go to the same server
test('TG failtry_same_server', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b] = await servers(t, 2);
  // A is behind a proxy that drops its first connection after the request arrives.
  const flaky = await flakyProxy(a!.address, 1);
  t.after(() => flaky.close());
  const key = `failtry-${Date.now()}`;
  const xc = createXClient('Echo', { discovery: discovery([flaky.key, b!]), failMode: FailMode.Failtry, selectMode: SelectMode.RoundRobin, retries: 3 });
  t.after(() => xc.close());
  await xc.whenReady();
  // RoundRobin goes through the sorted keys: make the flaky server the next pick
  if ([...xc.serverMap.keys()][0] !== flaky.key) await xc.call('GetCount', { Key: 'warm-up' });
  const r = await xc.call<{ Count: number | bigint }>('Count', { Key: key });
  assert.equal(Number(r.Count), 1);
  assert.equal(flaky.connections, 2, 'the retry dialled the same server again');
  assert.equal(await countOn(a!.address, key), 1, 'A ran the call once (the dropped attempt never reached it)');
  assert.equal(await countOn(b!.address, key), 0, 'B was never tried');

  // a server that always fails: Failtry spends all attempts on it; Failover moves to B
  const dead = await flakyProxy(a!.address, 1_000);
  t.after(() => dead.close());
  for (const mode of [FailMode.Failtry, FailMode.Failover] as const) {
    const x = createXClient('Echo', { discovery: discovery([dead.key]), failMode: mode, retries: 2 });
    const before = dead.connections;
    await assert.rejects(x.call('Count', { Key: key }), (e: RpcxError) => e.code === ErrorCode.CONNECTION);
    assert.equal(dead.connections - before, 3, `${mode}: retries + 1 attempts`);
    await x.close();
  }
  const both = createXClient('Echo', { discovery: discovery([dead.key, b!]), failMode: FailMode.Failtry, selectMode: SelectMode.RoundRobin, retries: 2 });
  t.after(() => both.close());
  await both.whenReady();
  if ([...both.serverMap.keys()][0] !== dead.key) await both.call('GetCount', { Key: 'warm-up' });
  const before = dead.connections;
  await assert.rejects(both.call('Count', { Key: key }), (e: RpcxError) => e.code === ErrorCode.CONNECTION);
  assert.equal(dead.connections - before, 3);
  assert.equal(await countOn(b!.address, key), 0, 'Failtry never moved to B');
  const over = createXClient('Echo', { discovery: discovery([dead.key, b!]), failMode: FailMode.Failover, selectMode: SelectMode.RoundRobin, retries: 2 });
  t.after(() => over.close());
  await over.whenReady();
  if ([...over.serverMap.keys()][0] !== dead.key) await over.call('GetCount', { Key: 'warm-up' });
  assert.equal(Number((await over.call<{ Count: number }>('Count', { Key: key })).Count), 1);
  assert.equal(await countOn(b!.address, key), 1, 'Failover moved to B');
});

// a slow first server triggers the backup; the first reply wins
test('TG failbackup_latency', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b] = await servers(t, 2);
  const sorted = [a!, b!].sort((x, y) => Buffer.compare(Buffer.from(x.address), Buffer.from(y.address)));
  const slow = sorted[0]!;
  const fast = sorted[1]!;
  const key = `backup-${Date.now()}`;

  // Fast first server: no backup is sent within a generous backup latency.
  const calm = createXClient('Echo', { discovery: discovery([a!, b!]), failMode: FailMode.Failbackup, selectMode: SelectMode.RoundRobin, backupLatencyMs: 2_000 });
  t.after(() => calm.close());
  assert.equal(Number((await calm.call<{ Count: number }>('Count', { Key: `${key}-calm` })).Count), 1);
  assert.equal((await countOn(a!.address, `${key}-calm`)) + (await countOn(b!.address, `${key}-calm`)), 1, 'one request only');

  // Echo.Sleep on both: the first request (to `slow`) sleeps past the 10 ms backup latency, so a
  // backup goes out; both sleep the same, so the first reply (the first request's) wins.
  const xc = createXClient('Echo', { discovery: discovery([a!, b!]), failMode: FailMode.Failbackup, selectMode: SelectMode.RoundRobin });
  t.after(() => xc.close());
  const t0 = performance.now();
  const slept = await xc.call<{ SleptMs: number | bigint }>('Sleep', { Ms: 150 });
  const took = performance.now() - t0;
  assert.ok(Number(slept.SleptMs) >= 150 && took < 1_000, `took ${took} ms`);

  // A frozen first server (a fresh RoundRobin XClient picks the first sorted key first): the
  // backup to the other server answers long before it would.
  const frozen = createXClient('Echo', { discovery: discovery([a!, b!]), failMode: FailMode.Failbackup, selectMode: SelectMode.RoundRobin });
  t.after(() => frozen.close());
  await slow.freeze();
  try {
    const t1 = performance.now();
    const r = await within(frozen.call<{ Count: number }>('Count', { Key: key }), 5_000, 'failbackup call');
    const ms = performance.now() - t1;
    assert.equal(Number(r.Count), 1);
    assert.ok(ms < 1_000, `took ${ms} ms`);
    assert.equal(await countOn(fast.address, key), 1, 'the backup server answered');
  } finally {
    slow.proc.kill('SIGCONT');
  }
  // the frozen server got the first request too and runs it once resumed
  let slowCount = 0;
  for (let i = 0; i < 50 && slowCount === 0; i++) {
    slowCount = await countOn(slow.address, key);
    if (slowCount === 0) await sleep(20);
  }
  assert.equal(slowCount, 1, 'the first request reached the slow server');

  // no server for the backup: the first request still decides (Go would report success without a reply)
  let picks = 0;
  const once = createXClient('Echo', {
    discovery: discovery([fast]),
    failMode: FailMode.Failbackup,
    selectMode: SelectMode.SelectByUser,
    selector: { select: () => (picks++ === 0 ? fast.address : ''), updateServer: () => {} },
  });
  t.after(() => once.close());
  const lone = await once.call<{ SleptMs: number | bigint }>('Sleep', { Ms: 60 });
  assert.ok(Number(lone.SleptMs) >= 60);
  assert.equal(picks, 2, 'a backup was attempted');
});

// fan-out success rules match Go over three servers
test('TG broadcast_fork_inform', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b, c, d] = await servers(t, 4, [[], [], [], ['-auth', 'secret']]);
  const key = `fan-${Date.now()}`;
  const good = createXClient('Echo', { discovery: discovery([a!, b!, c!]) });
  t.after(() => good.close());

  const reply = await good.broadcast<{ Count: number }>('Count', { Key: key });
  assert.equal(Number(reply.Count), 1);
  for (const s of [a!, b!, c!]) assert.equal(await countOn(s.address, key), 1, 'every server got the broadcast');
  assert.equal(Number((await good.fork<{ Count: number }>('GetCount', { Key: key })).Count), 1);
  const receipts = await good.inform<{ Count: number }>('Count', { Key: key });
  assert.deepEqual(receipts.map((r) => r.address).sort(), [a!, b!, c!].map((s) => addr(s.address)).sort());
  for (const r of receipts) {
    assert.equal(r.error, undefined);
    assert.equal(Number(r.reply!.Count), 2);
  }

  // one failing server (D wants a token): broadcast fails, fork succeeds, inform reports it
  const mixed = createXClient('Arith', { discovery: discovery([a!, b!, d!]) });
  t.after(() => mixed.close());
  await assert.rejects(mixed.broadcast('Mul', { A: 2, B: 3 }), (e: unknown) => e instanceof MultiError && e.errors.some((x) => x.message === 'invalid token'));
  assert.equal(Number((await mixed.fork<ArithReply>('Mul', { A: 2, B: 3 })).C), 6);
  // Go's server closes a connection after refusing its token: let the client see that close,
  // or the next call on it fails with CONNECTION instead of the server's text
  await sleep(100);
  const rs = await mixed.inform<ArithReply>('Mul', { A: 2, B: 3 });
  assert.equal(rs.length, 3);
  const bad = rs.filter((r) => r.error !== undefined);
  assert.equal(bad.length, 1);
  assert.equal(bad[0]!.address, addr(d!.address));
  assert.ok(bad[0]!.error instanceof ServiceError && bad[0]!.error.message === 'invalid token');
  for (const r of rs.filter((x) => x.error === undefined)) assert.equal(Number(r.reply!.C), 6);
  // all failing: fork rejects with every error
  await assert.rejects(mixed.fork('Div', { A: 1, B: 0 }), (e: unknown) => e instanceof MultiError && e.errors.length === 3);

  // a dead server is skipped, as Go skips servers it cannot connect to
  await c!.kill();
  await sleep(50);
  assert.equal(Number((await good.broadcast<{ Count: number }>('Count', { Key: `${key}-2` })).Count), 1);
  assert.equal((await good.inform('GetCount', { Key: key })).length, 2);
});

/**
 * Keeps a selector in Go's server order: the XClient hands every selector its servers sorted
 * (setSelector calls updateServer), and Go's order is random map order printed by hashcheck.
 */
function keepGoOrder(order: readonly string[], inner: Selector): Selector {
  const rank = new Map(order.map((k, i) => [k, i]));
  return {
    select: (p, m, a, c) => inner.select(p, m, a, c),
    updateServer: (servers) => inner.updateServer(new Map([...servers].sort((x, y) => (rank.get(x[0]) ?? 1e9) - (rank.get(y[0]) ?? 1e9)))),
  };
}

/** A Go value description for hashcheck and the JS value that stands for it. */
type Shape = [go: Record<string, unknown>, js: unknown];

function shapes(i: number): Shape {
  const u = `ключ-${i} 🔑`;
  switch (i % 12) {
    case 0:
      return [{ t: 'args', A: i, B: i * 3 }, { A: i, B: i * 3 }];
    case 1:
      return [{ t: 'str', v: `key ${i}` }, `key ${i}`];
    case 2:
      return [{ t: 'int', v: i * 7919 - 5000 }, i * 7919 - 5000];
    case 3:
      return [{ t: 'float', v: i / 8 + 0.001 }, i / 8 + 0.001];
    case 4:
      return [{ t: 'bytes', v: [i & 255, (i >> 8) & 255, 0, 255] }, new Uint8Array([i & 255, (i >> 8) & 255, 0, 255])];
    case 5:
      return [{ t: 'ints', v: [i, -i, 3] }, [i, -i, 3]];
    case 6:
      return [{ t: 'smap', v: { b: `${i}`, a: u, Z: 'z' } }, new Map([['b', `${i}`], ['a', u], ['Z', 'z']])];
    case 7:
      return [{ t: 'imap', v: { [`k${i}`]: i, k: 1 } }, new Map([[`k${i}`, i], ['k', 1]])];
    case 8:
      return [
        { t: 'nested', Name: u, In: { t: 'args', A: i, B: 1 }, Tags: i % 2 ? ['x', 'y'] : null, M: { m: i } },
        { Name: u, In: { A: i, B: 1 }, Tags: i % 2 ? ['x', 'y'] : [], M: new Map([['m', i]]) },
      ];
    case 9:
      return [{ t: 'int64', v: (9007199254740993n + BigInt(i)).toString() }, 9007199254740993n + BigInt(i)];
    case 10:
      return [{ t: 'intmap', v: { [String(i)]: 'a', '-1': 'b', '10': 'c' } }, new Map([[i, 'a'], [-1, 'b'], [10, 'c']])];
    default:
      return [{ t: 'strs', v: [u, 'plain'] }, [u, 'plain']];
  }
}

// 1,000 keys pick the same servers as Go
test('TG consistent_hash_agrees_with_go', { timeout: 60_000 }, async (t) => {
  if (!requireGo(t, ['hashcheck', 'server'])) return;
  const servers5 = Array.from({ length: 5 }, (_, i) => ({ key: `tcp@10.0.0.${i + 1}:8972`, value: `weight=${i}` }));
  const calls = Array.from({ length: 1000 }, (_, i) => ({ path: i % 3 ? 'Arith' : 'Echo', method: i % 2 ? 'Mul' : 'Add', s: shapes(i) }));
  const ptrCalls = Array.from({ length: 200 }, (_, i) => ({ path: 'Arith', method: 'Mul', s: [{ t: 'pargs', A: i, B: i + 1 }, { A: i, B: i + 1 }] as Shape }));
  const update = [servers5[0]!, servers5[2]!, servers5[4]!, { key: 'tcp@10.0.0.9:8972', value: '' }];
  const [fmtRes, plain, ptr] = await goJsonLines<{ out?: string[]; order: string[]; picks: string[]; orderAfter?: string[]; picksAfter?: string[]; error?: string }>('hashcheck', [
    { op: 'fmt', values: calls.map((c) => c.s[0]) },
    { op: 'hash', servers: servers5, calls: calls.map((c) => ({ path: c.path, method: c.method, args: c.s[0] })), update, callsAfter: calls.map((c) => ({ path: c.path, method: c.method, args: c.s[0] })) },
    { op: 'hash', servers: servers5, calls: ptrCalls.map((c) => ({ path: c.path, method: c.method, args: c.s[0] })) },
  ]);
  assert.equal(fmtRes!.error, undefined);
  // Go's %v of every argument, first: the key strings must agree
  const mismatches = calls.map((c, i) => [goSprintV(c.s[1]), fmtRes!.out![i]]).filter(([x, y]) => x !== y);
  assert.deepEqual(mismatches, []);

  const inGoOrder = (order: readonly string[]): Map<string, string> => new Map(order.map((k) => [k, servers5.find((s) => s.key === k)?.value ?? '']));
  const sel = new ConsistentHashSelector(inGoOrder(plain!.order));
  const picks = calls.map((c) => sel.select(c.path, c.method, c.s[1]));
  assert.equal(picks.filter((p, i) => p !== plain!.picks[i]).length, 0, 'every key on the same server as Go');
  assert.equal(new Set(picks).size, 5);
  // Go's UpdateServer: adds (map order; one new server here) then removes (sorted)
  sel.updateServer(new Map(update.map((s) => [s.key, s.value])));
  assert.deepEqual(sel.nodes(), plain!.orderAfter);
  const after = calls.map((c) => sel.select(c.path, c.method, c.s[1]));
  assert.equal(after.filter((p, i) => p !== plain!.picksAfter![i]).length, 0, 'same servers as Go after an update');

  const psel = new ConsistentHashSelector(inGoOrder(ptr!.order), { pointer: true });
  assert.deepEqual(ptrCalls.map((c) => psel.select(c.path, c.method, c.s[1])), ptr!.picks, '&Args{} with { pointer: true }');

  // End to end: a real Go XClient and the TS XClient call three Go servers; the same server answers.
  const gs = await servers(t, 3);
  const pairs: KVPair[] = gs.map((s) => ({ key: s.address, value: '' }));
  const e2e = Array.from({ length: 60 }, (_, i) => ({ A: i, B: i * i }));
  const [goCall] = await goJsonLines<{ order: string[]; picks: string[]; error?: string }>('hashcheck', [
    { op: 'call', selectMode: SelectMode.ConsistentHash, servers: pairs, calls: e2e.map((a) => ({ path: 'Echo', method: 'Metadata', args: { t: 'args', ...a } })) },
  ]);
  assert.equal(goCall!.error, undefined);
  const xc = createXClient('Echo', {
    discovery: new MultipleServersDiscovery(pairs),
    selectMode: SelectMode.SelectByUser,
    selector: keepGoOrder(goCall!.order, new ConsistentHashSelector(new Map(goCall!.order.map((k) => [k, ''])))),
  });
  t.after(() => xc.close());
  const answered: string[] = [];
  for (const [i, a] of e2e.entries()) {
    const r = await xc.callWithMetadata('Metadata', a, { metadata: { i: String(i) } });
    answered.push(r.metadata.get('__ServerAddress') ?? '');
  }
  assert.deepEqual(answered, goCall!.picks);
  // the built-in ConsistentHash mode (sorted server order) is stable across calls
  const own = createXClient('Echo', { discovery: new MultipleServersDiscovery(pairs), selectMode: SelectMode.ConsistentHash });
  t.after(() => own.close());
  const first = (await own.callWithMetadata('Metadata', e2e[5], { metadata: { x: '1' } })).metadata.get('__ServerAddress');
  for (let i = 0; i < 5; i++) assert.equal((await own.callWithMetadata('Metadata', e2e[5], { metadata: { x: '1' } })).metadata.get('__ServerAddress'), first);
});

// weights 1, 2, 3 give Go selection sequence
test('TG weighted_round_robin_agrees_with_go', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['hashcheck', 'server'])) return;
  const pairs = [
    { key: 'tcp@10.0.0.1:1', value: 'weight=1' },
    { key: 'tcp@10.0.0.2:2', value: 'weight=2' },
    { key: 'tcp@10.0.0.3:3', value: 'weight=3&group=x' },
  ];
  const runs = await goJsonLines<{ order: string[]; weights: number[]; picks: string[]; error?: string }>(
    'hashcheck',
    Array.from({ length: 6 }, () => ({ op: 'wrr', servers: pairs, n: 24 })),
  );
  const orders = new Set<string>();
  for (const run of runs) {
    assert.equal(run.error, undefined);
    orders.add(run.order.join(','));
    const sel = new WeightedRoundRobinSelector(new Map(run.order.map((k) => [k, pairs.find((p) => p.key === k)!.value])));
    assert.deepEqual(Array.from({ length: 24 }, () => sel.select()), run.picks, `Go order ${run.order.join(',')}`);
  }
  if (log) console.log(`Go used ${orders.size} server orders in 6 runs`);

  // End to end with weights on three Go servers
  const gs = await servers(t, 3);
  const live = gs.map((s, i) => ({ key: s.address, value: `weight=${i + 1}` }));
  const [goCall] = await goJsonLines<{ order: string[]; picks: string[]; error?: string }>('hashcheck', [
    { op: 'call', selectMode: SelectMode.WeightedRoundRobin, servers: live, calls: Array.from({ length: 12 }, () => ({ path: 'Echo', method: 'Metadata', args: { t: 'imap', v: {} } })) },
  ]);
  assert.equal(goCall!.error, undefined);
  const xc = createXClient('Echo', {
    discovery: new MultipleServersDiscovery(live),
    selectMode: SelectMode.SelectByUser,
    selector: keepGoOrder(goCall!.order, new WeightedRoundRobinSelector(new Map())),
  });
  t.after(() => xc.close());
  const seq: string[] = [];
  for (let i = 0; i < 12; i++) seq.push((await xc.callWithMetadata('Metadata', new Map(), { metadata: { i: String(i) } })).metadata.get('__ServerAddress')!);
  assert.deepEqual(seq, goCall!.picks);
  // the built-in mode: 1:2:3 per cycle of 6
  const own = createXClient('Echo', { discovery: new MultipleServersDiscovery(live), selectMode: SelectMode.WeightedRoundRobin });
  t.after(() => own.close());
  const counts = new Map<string, number>();
  for (let i = 0; i < 12; i++) {
    const s = (await own.callWithMetadata('Metadata', new Map(), { metadata: { i: String(i) } })).metadata.get('__ServerAddress')!;
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  assert.deepEqual(live.map((p) => counts.get(addr(p.key))), [2, 4, 6]);
});
// __ServerTimeout and __AUTH reach Go; typed proxy; oneshot
test('TG xclient_deadline_auth_proxy', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [plain, authed] = await servers(t, 2, [[], ['-auth', 'tok']]);
  const xc = createXClient('Echo', { discovery: discovery([plain!]), failMode: FailMode.Failfast });
  t.after(() => xc.close());
  const r = await xc.callWithMetadata('Metadata', {}, { timeoutMs: 3_000, metadata: { a: 'b' } });
  const st = Number(r.metadata.get(MetaKey.ServerTimeout));
  assert.ok(st > 2_500 && st <= 3_000, `__ServerTimeout ${st}`);
  assert.equal(r.metadata.get('a'), 'b');
  const s = await xc.call<{ HasDeadline: boolean; RemainingMs: number | bigint }>('Sleep', { Ms: 1 }, { timeoutMs: 2_000 });
  assert.equal(s.HasDeadline, true);
  assert.ok(Number(s.RemainingMs) > 1_500);
  // the client's timer or the Go handler's ctx (from __ServerTimeout) ends it, whichever is first
  await assert.rejects(
    xc.call('Sleep', { Ms: 2_000 }, { timeoutMs: 100 }),
    (e: RpcxError) => e.code === ErrorCode.TIMEOUT || (e instanceof ServiceError && e.message === 'context deadline exceeded'),
  );

  const ax = createXClient('Arith', { discovery: discovery([authed!]), failMode: FailMode.Failover });
  t.after(() => ax.close());
  await assert.rejects(ax.call('Mul', { A: 1, B: 2 }), (e: unknown) => e instanceof ServiceError && e.message === 'invalid token');
  ax.auth('tok');
  interface Arith {
    Mul(args: { A: number; B: number }): ArithReply;
    Div(args: { A: number; B: number }): ArithReply;
  }
  const arith = ax.proxy<Arith>();
  assert.equal(Number((await arith.Mul({ A: 6, B: 7 })).C), 42);
  await assert.rejects(arith.Div({ A: 1, B: 0 }), (e: unknown) => e instanceof ServiceError && e.message === 'divide by zero' && Number((e.reply as ArithReply).C) === -1);

  const key = `oneshot-${Date.now()}`;
  await xc.oneshot('Count', { Key: key });
  let n = 0;
  for (let i = 0; i < 50 && n === 0; i++) {
    n = await countOn(plain!.address, key);
    if (n === 0) await sleep(10);
  }
  assert.equal(n, 1);
});

// pushes from every server merged; a dying server is reported
test('TG bidirectional_xclient', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b] = await servers(t, 2);
  const xc = createBidirectionalXClient('Push', { discovery: discovery([a!, b!]) });
  t.after(() => xc.close());
  const got: Message[] = [];
  const done = (async () => {
    for await (const m of xc.messages()) {
      got.push(m);
      if (got.length === 11) return;
    }
  })();
  const sent = await xc.broadcast<{ Sent: number }>('Start', {
    Path: 'N',
    Method: 'Note',
    Metadata: { k: 'v' },
    Payload: new Uint8Array([1]),
    Count: 5,
    BeforeReply: true,
  });
  assert.equal(Number(sent.Sent), 5);
  await until(() => got.length >= 10, 5_000, 'ten pushes');
  assert.ok(got.every((m) => m.servicePath === 'N' && m.serviceMethod === 'Note' && m.metadata.get('k') === 'v'));
  await a!.kill();
  await within(done, 5_000, 'the disconnect message');
  const last = got[10]!;
  assert.ok(last.metadata.has(MetaKey.ServiceError));
  assert.equal(last.metadata.get(MetaKey.Server), addr(a!.address));
});

// a raw message through the XClient
test('TG xclient_sendraw', { timeout: 20_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a] = await servers(t, 1);
  const xc: XClient = createXClient('Echo', { discovery: discovery([a!]), failMode: FailMode.Failover });
  t.after(() => xc.close());
  xc.auth('ignored-by-this-server');
  const { createMessage, SerializeType } = await import('../../src/protocol/index.js');
  const msg = createMessage({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: SerializeType.SerializeNone, payload: new Uint8Array([9, 8, 7]), seq: 1_000_000n });
  const r = await xc.sendRaw(msg, { timeoutMs: 2_000 });
  assert.deepEqual([...r.payload], [9, 8, 7]);
  assert.equal(msg.metadata.size, 0, "the caller's message is not modified");
  assert.ok(RpcxError);
});

// Option.Sticky keeps the selected server until it fails; WeightedICMP (TCP connect time here) works end to end
test('TG xclient_sticky_weighted_rtt', { timeout: 30_000 }, async (t) => {
  if (!requireGo(t, ['server'])) return;
  const [a, b] = await servers(t, 2);
  const xc = createXClient('Echo', { discovery: discovery([a!, b!]), selectMode: SelectMode.RoundRobin, sticky: true, failMode: FailMode.Failover });
  t.after(() => xc.close());
  const who = async (i: number): Promise<string> => (await xc.callWithMetadata('Metadata', {}, { metadata: { i: String(i) } })).metadata.get('__ServerAddress')!;
  const first = await who(0);
  for (let i = 1; i < 6; i++) assert.equal(await who(i), first, 'sticky');
  const stuck = [a!, b!].find((s) => addr(s.address) === first)!;
  const other = [a!, b!].find((s) => s !== stuck)!;
  await stuck.kill();
  await sleep(50);
  assert.equal(await who(6), addr(other.address), 'failed over');
  for (let i = 7; i < 10; i++) assert.equal(await who(i), addr(other.address), 'sticks to the new server');

  const [c, d] = await servers(t, 2);
  const rtt = createXClient('Echo', { discovery: discovery([c!, d!]), selectMode: SelectMode.WeightedICMP });
  t.after(() => rtt.close());
  const seen = new Set<string>();
  for (let i = 0; i < 6; i++) seen.add((await rtt.callWithMetadata('Metadata', {}, { metadata: { i: String(i) } })).metadata.get('__ServerAddress')!);
  assert.equal(seen.size, 2, 'loopback servers both get weight 191');
});
