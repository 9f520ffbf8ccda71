// Issue 15 point 6: server plugin hooks may wait (Go's hooks may block, e.g. the blocking mode of
// its request rate limiter). preHandleRequest / preCall / postCall returning a Promise pause their
// own request only; postReadRequest returning one pauses its connection's reading (Go runs it on
// the connection's reader goroutine); other connections go on.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { afterEach, describe, it } from 'node:test';
import { Client } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { ErrReqReachLimit, createServer, rateLimitPlugin, type RpcxServer, type ServerPlugin } from '../../src/server/index.js';

function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => (open = r));
  return { wait, open };
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('async server plugin hooks', () => {
  const servers: RpcxServer[] = [];
  const clients: Client[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close({ graceful: false });
    for (const s of servers.splice(0)) await s.close();
  });

  async function start(plugins: ServerPlugin[], calls?: string[]): Promise<string> {
    const s = createServer({ plugins });
    s.registerFunction('S', (a: unknown) => {
      calls?.push('Slow');
      return a;
    }, 'Slow');
    s.registerFunction('S', (a: unknown) => {
      calls?.push('Fast');
      return a;
    }, 'Fast');
    servers.push(s);
    return s.serve('tcp', '127.0.0.1:0');
  }
  async function connect(addr: string): Promise<Client> {
    const c = await Client.connect(addr);
    clients.push(c);
    return c;
  }

  it('preCall: a Promise pauses that request only; its value replaces the args; a rejection fails the call', async () => {
    const g = gate();
    const calls: string[] = [];
    const addr = await start(
      [
        {
          preCall(_ctx, _svc, method, args) {
            if (method === 'Slow') return g.wait.then(() => ({ replaced: args }));
            if ((args as { fail?: boolean }).fail) return Promise.reject(new Error('preCall said no'));
            return undefined;
          },
        },
      ],
      calls,
    );
    const c = await connect(addr);
    let slowDone = false;
    const slow = c.call('S', 'Slow', { n: 1 }).finally(() => (slowDone = true));
    // the same connection's next request is not held behind the waiting one
    assert.deepEqual(await c.call('S', 'Fast', { n: 2 }), { n: 2 });
    assert.equal(slowDone, false, 'Slow still waits for its preCall');
    assert.deepEqual(calls, ['Fast'], 'the Slow handler has not run yet');
    g.open();
    assert.deepEqual(await slow, { replaced: { n: 1 } });
    await assert.rejects(c.call('S', 'Fast', { fail: true }), (e: unknown) => e instanceof ServiceError && e.message === 'preCall said no');
    assert.deepEqual(calls, ['Fast', 'Slow'], 'a rejected preCall runs no handler');
  });

  it('postCall: a Promise delays that reply and may replace it; a rejection is the call error', async () => {
    const addr = await start([
      {
        async postCall(_ctx, _svc, method, _args, reply) {
          await new Promise((r) => setImmediate(r));
          if (method === 'Slow') throw new Error('postCall said no');
          return { wrapped: reply };
        },
      },
    ]);
    const c = await connect(addr);
    assert.deepEqual(await c.call('S', 'Fast', { n: 3 }), { wrapped: { n: 3 } });
    await assert.rejects(c.call('S', 'Slow', {}), { message: 'postCall said no' });
  });

  it('preHandleRequest: awaited; its rejection ignored, as Go ignores its error', async () => {
    const seen: string[] = [];
    const addr = await start([
      {
        async preHandleRequest(ctx) {
          await new Promise((r) => setImmediate(r));
          seen.push(`pre ${ctx.serviceMethod}`);
          if (ctx.serviceMethod === 'Slow') throw new Error('ignored');
        },
      },
      {
        preHandleRequest(ctx) {
          seen.push(`second ${ctx.serviceMethod}`); // runs after the first one settled
        },
      },
    ]);
    const c = await connect(addr);
    assert.deepEqual(await c.call('S', 'Slow', 1), 1);
    assert.deepEqual(seen, ['pre Slow', 'second Slow']);
  });

  it('postReadRequest: a Promise holds its connection (as Go\'s reader goroutine), not others; resolving to ErrReqReachLimit refuses', async () => {
    const g = gate();
    const calls: string[] = [];
    let held = 0;
    const addr = await start(
      [
        {
          postReadRequest(_conn, req) {
            if (req.serviceMethod === 'Slow') {
              held++;
              return g.wait;
            }
            if ((req.metadata.get('limit') ?? '') !== '') return Promise.resolve(ErrReqReachLimit);
            return undefined;
          },
        },
      ],
      calls,
    );
    const c1 = await connect(addr);
    const c2 = await connect(addr);
    const slow = c1.call('S', 'Slow', 1);
    await until(() => held === 1, 'the hook to hold Slow');
    const fastSame = c1.call('S', 'Fast', 2); // read only after the hold ends
    assert.deepEqual(await c2.call('S', 'Fast', 3), 3, 'another connection goes on');
    assert.deepEqual(calls, ['Fast'], 'only the other connection ran');
    g.open();
    assert.deepEqual(await slow, 1);
    assert.deepEqual(await fastSame, 2);
    assert.deepEqual(calls, ['Fast', 'Slow', 'Fast'], 'in read order after the hold');
    await assert.rejects(c2.call('S', 'Fast', 4, { metadata: { limit: '1' } }), { message: 'request reached rate limit' });
    assert.deepEqual(await c2.call('S', 'Fast', 5), 5, 'the connection stays');
  });

  it('aroundCall (beyond Go): wraps methods, functions and raw handlers, first plugin outermost, over TCP and the HTTP gateway', async () => {
    const log: string[] = [];
    const store = new AsyncLocalStorage<string>();
    const around = (name: string): ServerPlugin => ({
      aroundCall(ctx, run) {
        log.push(`${name} in ${ctx.servicePath}.${ctx.serviceMethod}`);
        const out = name === 'outer' ? store.run(`ctx of ${ctx.serviceMethod}`, run) : run();
        log.push(`${name} out`);
        return out;
      },
    });
    const s = createServer({ plugins: [around('outer'), around('inner')] });
    s.registerFunction('W', async () => {
      log.push('handler');
      await new Promise((r) => setTimeout(r, 1));
      return { Seen: store.getStore() ?? 'none' };
    }, 'Fn');
    s.registerFunction('W', () => {
      throw new ServiceError('thrown inside');
    }, 'Throw');
    s.addHandler('Raw', 'Echo', (ctx) => ctx.write({ Seen: store.getStore() ?? 'none' }));
    servers.push(s);
    const addr = await s.serve('tcp', '127.0.0.1:0');
    const c = await connect(addr);
    assert.deepEqual(await c.call('W', 'Fn', {}, { serializeType: 1 }), { Seen: 'ctx of Fn' }, 'the async context set by aroundCall reaches past an await');
    assert.deepEqual(log, ['outer in W.Fn', 'inner in W.Fn', 'handler', 'inner out', 'outer out']);
    await assert.rejects(c.call('W', 'Throw', {}, { serializeType: 1 }), (e: unknown) => e instanceof ServiceError && e.message === 'thrown inside');
    assert.deepEqual(await c.call('Raw', 'Echo', {}, { serializeType: 1 }), { Seen: 'ctx of Echo' }, 'raw handlers too');
    log.length = 0;
    const res = await fetch(`http://${addr.slice(addr.indexOf('@') + 1)}/`, { method: 'POST', headers: { 'X-RPCX-ServicePath': 'W', 'X-RPCX-ServiceMethod': 'Fn', 'X-RPCX-SerializeType': '1' }, body: '{}' });
    assert.equal(await res.text(), '{"Seen":"ctx of Fn"}', 'the HTTP gateway runs it too');
    assert.deepEqual(log, ['outer in W.Fn', 'inner in W.Fn', 'handler', 'inner out', 'outer out']);
  });

  it('rateLimitPlugin({ block: true }): requests over the limit wait for their token instead of failing', async () => {
    const addr = await start([rateLimitPlugin({ ratePerSecond: 50, burst: 1, block: true })]);
    const c = await connect(addr);
    const t0 = performance.now();
    const replies = await Promise.all([1, 2, 3, 4].map((n) => c.call('S', 'Fast', n)));
    const took = performance.now() - t0;
    assert.deepEqual(replies, [1, 2, 3, 4]);
    assert.ok(took >= 55, `3 tokens at 50/s take >= 60 ms, took ${took.toFixed(1)} ms`);
    // without block the same burst is refused
    const addr2 = await start([rateLimitPlugin({ ratePerSecond: 1, burst: 1 })]);
    const c2 = await connect(addr2);
    const outcomes = await Promise.allSettled([1, 2].map((n) => c2.call('S', 'Fast', n)));
    assert.equal(outcomes.filter((o) => o.status === 'rejected').length, 1);
  });
});
