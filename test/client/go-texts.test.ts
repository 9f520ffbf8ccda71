// Issue 15 point 5: client-side error messages start with Go's text for the same condition
// (rpcx v1.9.4 client/client.go, client/xclient.go, Go's context and net errors), followed by our
// detail; the codes are unchanged.
import assert from 'node:assert/strict';
import { createServer as netServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Client, MultipleServersDiscovery, createXClient } from '../../src/client/index.js';
import { RpcxError } from '../../src/errors.js';

async function expectError(p: Promise<unknown>, code: string): Promise<RpcxError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RpcxError, String(e));
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail('resolved');
}

describe("client errors in Go's words", () => {
  // A loopback server that reads requests and, per connection, does what `mode` says.
  let mode: 'silent' | 'reset' | 'end' = 'silent';
  let server: Server;
  let key: string;
  const sockets: Socket[] = [];

  before(async () => {
    server = netServer((s) => {
      sockets.push(s);
      s.on('error', () => {});
      s.on('data', () => {
        if (mode === 'reset') s.resetAndDestroy();
        else if (mode === 'end') s.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    key = `tcp@127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('timeout: context deadline exceeded, then the milliseconds', async () => {
    mode = 'silent';
    const c = await Client.connect(key);
    try {
      const e = await expectError(c.call('A', 'B', {}, { timeoutMs: 30 }), 'TIMEOUT');
      assert.equal(e.message, 'context deadline exceeded (call timed out after 30 ms)');
      const s = await expectError(c.call('A', 'B', {}, { signal: AbortSignal.timeout(30) }), 'TIMEOUT');
      assert.match(s.message, /^context deadline exceeded \(call timed out: /);
      const ac = new AbortController();
      const p = c.call('A', 'B', {}, { signal: ac.signal });
      ac.abort();
      assert.equal((await expectError(p, 'CANCELLED')).message, 'context canceled (call cancelled)');
    } finally {
      await c.close({ graceful: false });
    }
  });

  it('connection refused: Go\'s dial error', async () => {
    const probe = netServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const e = await expectError(Client.connect(`tcp@127.0.0.1:${port}`), 'CONNECTION');
    assert.equal(e.message, `dial tcp 127.0.0.1:${port}: connect: connection refused (ECONNREFUSED)`);
  });

  it('connection reset by peer: what Go\'s client.go gives pending calls', async () => {
    mode = 'reset';
    const c = await Client.connect(key);
    try {
      const e = await expectError(c.call('A', 'B', {}, { timeoutMs: 5_000 }), 'CONNECTION');
      assert.match(e.message, /^net\.OpError: read: connection reset by peer \(ECONNRESET, 127\.0\.0\.1:\d+\)$/);
    } finally {
      await c.close({ graceful: false });
    }
  });

  it('the server closing the connection: unexpected EOF', async () => {
    mode = 'end';
    const c = await Client.connect(key);
    try {
      const e = await expectError(c.call('A', 'B', {}, { timeoutMs: 5_000 }), 'CONNECTION');
      assert.match(e.message, /^unexpected EOF \(connection closed by peer, 127\.0\.0\.1:\d+\)$/);
    } finally {
      await c.close({ graceful: false });
    }
  });

  it('a call on a closed client: connection is shut down (ErrShutdown)', async () => {
    mode = 'silent';
    const c = await Client.connect(key);
    const pending = c.call('A', 'B', {});
    await c.close({ graceful: false });
    assert.equal((await expectError(pending, 'CONNECTION')).message, `connection is shut down (client for ${key} is closed)`);
    assert.equal((await expectError(c.call('A', 'B', {}), 'CONNECTION')).message, `connection is shut down (client for ${key} is closed)`);
  });

  it('XClient: can not found any server, xClient is shut down', async () => {
    const xc = createXClient('A', { discovery: new MultipleServersDiscovery([]) });
    assert.equal((await expectError(xc.call('B', {}), 'CONNECTION')).message, 'can not found any server');
    await xc.close();
    assert.equal((await expectError(xc.call('B', {}), 'CONNECTION')).message, 'xClient is shut down');
  });
});
