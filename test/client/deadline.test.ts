// Deadlines the way JavaScript expresses them, and Go's `__ServerAddress`, against the Go server
// peer (interop/go/cmd/server: Echo.Metadata echoes the request metadata as response metadata,
// Echo.Sleep reports the handler ctx's deadline) and small loopback servers.
//   - A signal aborted with a TimeoutError (AbortSignal.timeout) rejects with TIMEOUT, not
//     CANCELLED; it cannot say when it fires, so it sends no __ServerTimeout.
//   - `deadline` (Date or epoch ms) acts as timeoutMs of the time left: __ServerTimeout included,
//     the earlier of deadline and timeoutMs wins.
//   - Client.callWithMetadata puts __ServerAddress (Go: Conn.RemoteAddr().String()) into
//     non-empty response metadata, as Go's client.Client.call does, not only XClient.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '../../src/client/client.js';
import { FailMode, MultipleServersDiscovery, createXClient } from '../../src/client/index.js';
import { RpcxError, ServiceError } from '../../src/errors.js';
import { FrameDecoder, MetaKey, encodeMessage, responseFor } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { TestClients } from '../support/clients.js';
import { goReady, rejectsWith, until, type SleepReply } from '../support/tg.js';

const hostPort = (key: string): string => key.slice(key.indexOf('@') + 1);

describe('deadlines and __ServerAddress against the Go server', { timeout: 60_000 }, () => {
  let go: GoServer | undefined;
  const clients = new TestClients();
  let c: Client;

  before(async () => {
    if (!goReady()) return;
    go = await startGoServer();
    c = await clients.open(go.address);
  });

  after(async () => {
    await clients.closeAll();
    await go?.kill();
  });

  it('AbortSignal.timeout(ms) rejects with TIMEOUT (was CANCELLED) and the late reply is dropped', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const err = await rejectsWith(c.call('Echo', 'Sleep', { Ms: 2_000 }, { signal: AbortSignal.timeout(100) }), 'TIMEOUT');
    assert.ok(err.cause instanceof DOMException && err.cause.name === 'TimeoutError', 'the signal reason is the cause');
    // A plain abort is still CANCELLED, and an RpcxError reason is passed through.
    const ac = new AbortController();
    const p = c.call('Echo', 'Sleep', { Ms: 2_000 }, { signal: ac.signal });
    ac.abort();
    await rejectsWith(p, 'CANCELLED');
    const ac2 = new AbortController();
    const p2 = c.call('Echo', 'Sleep', { Ms: 2_000 }, { signal: ac2.signal });
    ac2.abort(new RpcxError('LIMIT', 'mine'));
    assert.equal((await rejectsWith(p2, 'LIMIT')).message, 'mine');
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 4 }), { C: 8 }, 'the connection stays usable');
  });

  it('a signal already timed out rejects with TIMEOUT before sending', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const s = AbortSignal.timeout(1);
    await until(() => s.aborted, 2_000, 'AbortSignal.timeout(1) fired');
    await rejectsWith(c.call('Arith', 'Mul', { A: 1, B: 1 }, { signal: s }), 'TIMEOUT', 'call');
    await rejectsWith(c.callWithMetadata('Arith', 'Mul', { A: 1, B: 1 }, { signal: s }), 'TIMEOUT', 'callWithMetadata');
  });

  it('a signal sends no __ServerTimeout (it cannot say when it fires); timeoutMs and deadline do', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const viaSignal = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { k: 'v' }, signal: AbortSignal.timeout(5_000) });
    assert.equal(viaSignal.metadata.has(MetaKey.ServerTimeout), false);
    const s = await c.call<SleepReply>('Echo', 'Sleep', { Ms: 1 }, { signal: AbortSignal.timeout(5_000) });
    assert.equal(s.HasDeadline, false);
  });

  it('deadline (epoch ms or Date) sends __ServerTimeout in ms, as timeoutMs does', async (t) => {
    if (!requireGo(t, ['server'])) return;
    for (const deadline of [Date.now() + 1_234, new Date(Date.now() + 1_234)]) {
      const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { deadline });
      const st = Number(metadata.get(MetaKey.ServerTimeout));
      assert.ok(st > 1_000 && st <= 1_234, `__ServerTimeout ${metadata.get(MetaKey.ServerTimeout)} for a ${typeof deadline} deadline`);
    }
    const r = await c.call<SleepReply>('Echo', 'Sleep', { Ms: 1 }, { deadline: Date.now() + 3_000 });
    assert.equal(r.HasDeadline, true, 'the Go handler sees a ctx deadline');
    assert.ok(Number(r.RemainingMs) > 2_500 && Number(r.RemainingMs) <= 3_000, `remaining ${r.RemainingMs} ms`);
  });

  it('deadline and timeoutMs together: the earlier wins', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const a = await c.callWithMetadata('Echo', 'Metadata', {}, { timeoutMs: 5_000, deadline: Date.now() + 1_000 });
    const sa = Number(a.metadata.get(MetaKey.ServerTimeout));
    assert.ok(sa > 800 && sa <= 1_000, `deadline earlier: ${sa}`);
    const b = await c.callWithMetadata('Echo', 'Metadata', {}, { timeoutMs: 500, deadline: new Date(Date.now() + 10_000) });
    const sb = Number(b.metadata.get(MetaKey.ServerTimeout));
    assert.ok(sb > 300 && sb <= 500, `timeoutMs earlier: ${sb}`);
  });

  it('a deadline that passes rejects with TIMEOUT; a bad deadline with INVALID_ARGUMENT', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const started = Date.now();
    await rejectsWith(c.call('Echo', 'Sleep', { Ms: 3_000 }, { deadline: Date.now() + 150 }), 'TIMEOUT');
    assert.ok(Date.now() - started < 2_000, 'at the deadline, not at the end of the sleep');
    await rejectsWith(c.call('Arith', 'Mul', { A: 1, B: 1 }, { deadline: new Date('not a date') }), 'INVALID_ARGUMENT');
  });

  it('Client.callWithMetadata: __ServerAddress is the server address in non-empty response metadata, as Go\'s client.Client', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { x: '1' } });
    assert.equal(metadata.get(MetaKey.ServerAddress), hostPort(go!.address));
    assert.equal(metadata.get('x'), '1');
    // Empty response metadata stays empty (Go: `len(call.ResMetadata) > 0`).
    const empty = await c.callWithMetadata('Arith', 'Mul', { A: 2, B: 2 });
    assert.equal(empty.metadata.size, 0);
    // An error reply has metadata (__rpcx_error__): Go fills the caller's map then too.
    const err = await rejectsWith(c.callWithMetadata('Echo', 'Error', { Text: 'boom' }), 'SERVICE');
    assert.ok(err instanceof ServiceError);
    assert.equal(err.metadata.get(MetaKey.ServerAddress), hostPort(go!.address));
    // `call` has no metadata map to fill.
    const err0 = await rejectsWith(c.call('Echo', 'Error', { Text: 'boom' }), 'SERVICE');
    assert.equal((err0 as ServiceError).metadata.has(MetaKey.ServerAddress), false);
  });

  it('XClient: deadline and AbortSignal.timeout as for Client; __ServerAddress as Go\'s (from the Client)', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const xc = createXClient('Echo', { discovery: new MultipleServersDiscovery([{ key: go!.address, value: '' }]), failMode: FailMode.Failover, retries: 3 });
    t.after(() => xc.close());
    const r = await xc.callWithMetadata('Metadata', {}, { deadline: Date.now() + 2_000, metadata: { a: 'b' } });
    const st = Number(r.metadata.get(MetaKey.ServerTimeout));
    assert.ok(st > 1_500 && st <= 2_000, `__ServerTimeout ${st}`);
    assert.equal(r.metadata.get(MetaKey.ServerAddress), hostPort(go!.address));
    const started = Date.now();
    await rejectsWith(xc.call('Sleep', { Ms: 3_000 }, { signal: AbortSignal.timeout(150) }), 'TIMEOUT');
    assert.ok(Date.now() - started < 2_000, 'a timeout is not retried by Failover');
    await rejectsWith(xc.call('Sleep', { Ms: 3_000 }, { deadline: Date.now() + 150 }), 'TIMEOUT');
  });
});

describe('deadlines and __ServerAddress against small loopback servers', { timeout: 30_000 }, () => {
  const clients = new TestClients();
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  let dir: string | undefined;
  const track = (s: Server): Server => {
    servers.push(s);
    s.on('connection', (socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return s;
  };

  after(async () => {
    await clients.closeAll();
    // A dial still in progress (the silent server) is not closed by the client: end it here.
    for (const socket of sockets) socket.destroy();
    for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** Echoes the request metadata as response metadata, as Go's Echo.Metadata does. */
  const echoServer = (): Server => {
    const msgpack = new MsgpackCodec();
    const s = createServer((socket) => {
      socket.on('error', () => {});
      const decoder = new FrameDecoder({ compressors: defaultCompressors });
      socket.on('data', (chunk: Buffer) => {
        for (const m of decoder.push(chunk)) {
          if (!m.heartbeat) socket.write(encodeMessage({ ...responseFor(m), metadata: m.metadata, payload: msgpack.encode({}) }));
        }
      });
    });
    return track(s);
  };

  it('AbortSignal.timeout while the connection is still being made: TIMEOUT', async () => {
    // A plain TCP server that never answers the TLS handshake: the dial hangs.
    const silent = track(createServer((s) => s.on('error', () => {})));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const c = clients.add(new Client(`tcp@127.0.0.1:${port}`, { tls: {}, connectTimeoutMs: 10_000 }));
    await rejectsWith(c.call('S', 'M', {}, { signal: AbortSignal.timeout(100) }), 'TIMEOUT');
    await rejectsWith(c.call('S', 'M', {}, { deadline: Date.now() + 100 }), 'TIMEOUT');
  });

  it('__ServerAddress is the address connected to (Go: RemoteAddr), not the name dialed', async () => {
    const s = echoServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as { port: number }).port;
    const c = await clients.open(`tcp@localhost:${port}`);
    const { metadata } = await c.callWithMetadata('S', 'M', {}, { metadata: { k: 'v' } });
    assert.equal(metadata.get(MetaKey.ServerAddress), `127.0.0.1:${port}`);
  });

  it('__ServerAddress of a unix socket is its path, as Go prints a UnixAddr', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rpcx-addr-'));
    const path = join(dir, 's.sock');
    const s = echoServer();
    await new Promise<void>((resolve) => s.listen(path, resolve));
    const c = await clients.open(`unix@${path}`);
    const { metadata } = await c.callWithMetadata('S', 'M', {}, { metadata: { k: 'v' } });
    assert.equal(metadata.get(MetaKey.ServerAddress), path);
  });
});
