// Calls in both directions, with handlers that answer, throw, or hang, while the connection is cut
// at a random moment: every call settles (once: a promise cannot settle twice, so the check is
// that none is left hanging and each failure is a typed RpcxError), and nothing stays behind
// (pending calls on both sides, server connections, tags). Seeded, bounded rounds.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/client/client.js';
import { ErrorCode, RpcxError } from '../../src/errors.js';
import { createServer, type RequestContext, type ServerConnection } from '../../src/server/index.js';
import { until, within } from '../support/tg.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const TYPED = new Set<string>([ErrorCode.CONNECTION, ErrorCode.TIMEOUT, ErrorCode.CANCELLED, ErrorCode.SERVICE]);

describe('bidirectional calls under random connection cuts', { timeout: 120_000 }, () => {
  const server = createServer({ peerCallTimeoutMs: 2_000 });
  let latest: ServerConnection | undefined;
  server.on('connect', (c) => (latest = c));
  const behave = (mode: number, ctx: RequestContext, v: number): unknown => {
    if (mode < 0.4) return v;
    if (mode < 0.6) throw new Error('nope');
    if (mode < 0.8) return new Promise((r) => setTimeout(() => r(v), Math.floor(mode * 20)));
    return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
  };
  server.registerFunction('S', (a: { M: number; V: number }, ctx: RequestContext) => {
    ctx.connection.tag('stress');
    return behave(a.M, ctx, a.V);
  }, 'Do');
  after(() => server.close());

  it('200 rounds x 40 calls each way', async () => {
    const address = await server.serve('tcp', '127.0.0.1:0');
    const rand = rng(13);
    let ok = 0;
    let failed = 0;
    for (let round = 0; round < 200; round++) {
      const client = new Client(address, { spinUs: 0 });
      client.registerFunction('C', (a: { M: number; V: number }, ctx: RequestContext) => behave(a.M, ctx, a.V), 'Do');
      await client.connect();
      await client.call('S', 'Do', { M: 0, V: 0 });
      const conn = latest!;
      // Each outcome is recorded as it happens (no rejection waits unhandled).
      const all: Promise<PromiseSettledResult<unknown>>[] = [];
      const settle = (p: Promise<unknown>): void => {
        all.push(p.then((value) => ({ status: 'fulfilled' as const, value }), (reason: unknown) => ({ status: 'rejected' as const, reason })));
      };
      for (let i = 0; i < 40; i++) {
        settle(client.call('S', 'Do', { M: rand(), V: i }, { timeoutMs: 2_000 }));
        settle(conn.call('C', 'Do', { M: rand(), V: i }, rand() < 0.2 ? { signal: AbortSignal.timeout(5) } : {}));
      }
      const cutAfter = Math.floor(rand() * 6);
      for (let t = 0; t < cutAfter; t++) await new Promise((r) => setImmediate(r));
      if (rand() < 0.5) client.socket?.destroy();
      else conn.destroy();
      const settled = await within(Promise.all(all), 10_000, `round ${round}: every call settles`);
      for (const r of settled) {
        if (r.status === 'fulfilled') ok++;
        else {
          failed++;
          assert.ok(r.reason instanceof RpcxError, `round ${round}: ${String(r.reason)}`);
          assert.ok(TYPED.has(r.reason.code), `round ${round}: code ${r.reason.code}: ${r.reason.message}`);
        }
      }
      assert.equal(client.pendingCalls, 0);
      assert.equal(conn.pendingPeerCalls, 0);
      await client.close({ graceful: false });
      await until(() => !conn.isOpen, 5_000, 'server side closed');
    }
    await until(() => server.connections.size === 0 && server.connectionsTagged('stress').size === 0, 5_000, 'nothing left on the server');
    assert.ok(ok > 0 && failed > 0, `ok ${ok} failed ${failed}`);
  });
});
