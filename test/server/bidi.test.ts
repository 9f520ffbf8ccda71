// TT direction of the bidirectional cases (interop-cases.md 78-80) and the bad input:
// per-connection state and tags (push_by_user), server-to-client calls (server_calls_client),
// Watch (watch_long_poll); a client that never answers, a reply for an unknown seq, a connection
// closing with calls pending both ways.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/client/client.js';
import { MultipleServersDiscovery } from '../../src/client/discovery.js';
import { SelectMode, createXClient } from '../../src/client/index.js';
import { ErrorCode, RpcxError, ServiceError } from '../../src/errors.js';
import { MessageType, MetaKey, SerializeType, createMessage, type Message } from '../../src/protocol/index.js';
import { PEER_CALL_SEQ_BASE, connectionKey, createServer, type RequestContext, type RpcxServer, type ServerConnection } from '../../src/server/index.js';
import { registerBidiServices, type KV } from '../../src/server/demo/bidi-services.js';
import { RawClient, enc } from './support.js';
import { until, within } from '../support/tg.js';

const dec = new TextDecoder();

async function expectCode(p: Promise<unknown>, code: string, what: string): Promise<RpcxError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof RpcxError, `${what}: not an RpcxError: ${String(err)}`);
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return err;
  }
  assert.fail(`${what}: resolved, want ${code}`);
}

/** Collects a client's pushes. */
function pushesOf(c: Client): Message[] {
  const got: Message[] = [];
  c.onMessage((m) => got.push(m));
  return got;
}

describe('bidirectional (TT)', { timeout: 60_000 }, () => {
  let server: RpcxServer;
  let address: string;
  let kv: KV;
  const clients: Client[] = [];
  const open = async (): Promise<Client> => {
    const c = await Client.connect(address);
    clients.push(c);
    return c;
  };
  /** The server side of the last connection accepted. */
  let lastConn: ServerConnection | undefined;
  const Hits = connectionKey<number>('hits');

  before(async () => {
    server = createServer({ peerCallTimeoutMs: 5_000 });
    ({ kv } = registerBidiServices(server));
    server.registerFunction('Test', (_args: unknown, ctx: RequestContext) => {
      const n = (ctx.connection.get(Hits) ?? 0) + 1;
      ctx.connection.set(Hits, n);
      return n;
    }, 'Hit');
    // A handler that calls the client back and waits for it (the nested, symmetric case).
    server.registerFunction('Test', async (args: { N: number }, ctx: RequestContext) => {
      const r = await ctx.connection.call<number>('Calc', 'Double', args.N, { timeoutMs: 3_000 });
      return r + 1;
    }, 'DoubleViaClient');
    server.on('connect', (c) => (lastConn = c));
    address = await server.serve('tcp', '127.0.0.1:0');
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await server.close();
  });

  it('per-connection state: set by one call, seen by later calls on that connection only', async () => {
    const a = await open();
    const b = await open();
    assert.equal(await a.call('Test', 'Hit', null), 1);
    assert.equal(await a.call('Test', 'Hit', null), 2);
    assert.equal(await b.call('Test', 'Hit', null), 1);
    assert.deepEqual(await a.call('Session', 'Whoami', {}), { User: '' });
    await a.call('Session', 'Login', { User: 'ann' });
    assert.deepEqual(await a.call('Session', 'Whoami', {}), { User: 'ann' });
    assert.deepEqual(await b.call('Session', 'Whoami', {}), { User: '' });
  });

  // A push to a user reaches all and only that user's connections; tags go on close.
  it('TT push_by_user', async () => {
    const alice1 = await open();
    const alice2 = await open();
    const bob = await open();
    const anon = await open();
    const got = [alice1, alice2, bob, anon].map(pushesOf);
    await alice1.call('Session', 'Login', { User: 'alice' });
    await alice2.call('Session', 'Login', { User: 'alice' });
    await bob.call('Session', 'Login', { User: 'bob' });
    assert.equal(server.connectionsTagged('alice').size, 2);
    const r = await anon.call<{ Sent: number; Connections: number }>('Session', 'Notify', { User: 'alice', Path: 'Note', Method: 'Hello', Payload: enc.encode('for alice') });
    assert.deepEqual(r, { Sent: 2, Connections: 2 });
    await bob.call('Session', 'Notify', { User: 'bob', Path: 'Note', Method: 'Hello', Payload: enc.encode('for bob') });
    await until(() => got[0]!.length === 1 && got[1]!.length === 1 && got[2]!.length === 1, 5_000, 'pushes');
    for (const i of [0, 1]) {
      const m = got[i]![0]!;
      assert.equal(dec.decode(m.payload), 'for alice');
      assert.equal(m.metadata.get('user'), 'alice');
      assert.equal(m.servicePath, 'Note');
      assert.equal(m.oneway, true);
    }
    assert.equal(dec.decode(got[2]![0]!.payload), 'for bob');
    assert.equal(got[3]!.length, 0);
    // Login again as someone else: the old tag goes.
    await alice2.call('Session', 'Login', { User: 'carol' });
    assert.equal(server.connectionsTagged('alice').size, 1);
    await alice1.close();
    await until(() => server.connectionsTagged('alice').size === 0, 5_000, 'tag cleared on close');
    const none = await anon.call<{ Sent: number }>('Session', 'Notify', { User: 'alice', Path: 'Note', Method: 'Hello' });
    assert.equal(none.Sent, 0);
  });

  it('tags are bounded per connection (LIMIT)', async () => {
    const c = await open();
    await c.call('Test', 'Hit', null);
    const conn = lastConn!;
    for (let i = 0; i < 16; i++) conn.tag(`t${i}`);
    assert.throws(() => conn.tag('one-too-many'), (e: unknown) => e instanceof RpcxError && e.code === ErrorCode.LIMIT);
    conn.tag('t0'); // already there: no error
    await c.close();
    await until(() => !conn.isOpen && server.connectionsTagged('t0').size === 0, 5_000, 'tags cleared');
    assert.equal(conn.tags.size, 0);
  });

  // The server calls a handler the client registered and gets its reply (nested and unprompted).
  it('TT server_calls_client', async () => {
    const c = await open();
    let seen: Message | undefined;
    c.registerFunction('Calc', (n: number, ctx: RequestContext) => {
      seen = ctx.request;
      return n * 2;
    }, 'Double');
    // From a handler of a call the client made (nested both ways).
    assert.equal(await c.call('Test', 'DoubleViaClient', { N: 20 }), 41);
    assert.equal(seen!.messageType, MessageType.Request);
    assert.equal(seen!.oneway, false);
    assert.ok(seen!.seq >= PEER_CALL_SEQ_BASE, `seq ${seen!.seq} in the peer-call space`);
    assert.ok(Number(seen!.metadata.get(MetaKey.ServerTimeout)) > 0, '__ServerTimeout travels');
    // Unprompted, from outside any handler, many at once (multiplexed with the client's own calls).
    const conn = lastConn!;
    const calls = Array.from({ length: 200 }, (_, i) => conn.call<number>('Calc', 'Double', i));
    const own = Array.from({ length: 200 }, () => c.call('Test', 'Hit', null));
    assert.deepEqual(await Promise.all(calls), Array.from({ length: 200 }, (_, i) => i * 2));
    await Promise.all(own);
    assert.equal(conn.pendingPeerCalls, 0);
    // Via the demo service, and errors: a thrown error, an unknown service on the client.
    c.registerFunction('Calc', () => {
      throw new Error('no thanks');
    }, 'Fail');
    const r1 = await c.call<{ Reply: unknown; Error: string; Code: string }>('Session', 'CallMe', { Path: 'Calc', Method: 'Double', Args: 5 });
    assert.deepEqual(r1, { Reply: 10, Error: '', Code: '' });
    const r2 = await c.call<{ Error: string; Code: string }>('Session', 'CallMe', { Path: 'Calc', Method: 'Fail', Args: 5 });
    assert.deepEqual([r2.Error, r2.Code], ['no thanks', ErrorCode.SERVICE]);
    const e = await expectCode(conn.call('Nope', 'X', 1), ErrorCode.SERVICE, 'unknown service');
    assert.ok(e instanceof ServiceError);
    assert.equal(e.message, "rpcx: can't find service Nope");
    // A client that registered nothing answers too (Go's error text), so the call does not hang.
    const bare = await open();
    await bare.call('Test', 'Hit', null);
    await expectCode(lastConn!.call('Calc', 'Double', 1), ErrorCode.SERVICE, 'bare client');
  });

  it('the client handler sees its ctx: connection state, signal, and can call the server back', async () => {
    const c = await open();
    c.registerFunction('Calc', async (n: number, ctx: RequestContext) => {
      // Symmetric: the client's handler calls the server over the same connection.
      const hits = await ctx.connection.call<number>('Test', 'Hit', null);
      return n + hits * 1000;
    }, 'PlusHits');
    await c.call('Test', 'Hit', null);
    const conn = lastConn!;
    assert.equal(await conn.call('Calc', 'PlusHits', 1), 2001);
    assert.equal(conn.get(Hits), 2);
  });

  it('bad input: a client that never answers -> TIMEOUT; signal -> CANCELLED; each settles once', async () => {
    const c = await open();
    let started = 0;
    c.registerFunction('Calc', () => {
      started++;
      return new Promise(() => {});
    }, 'Hang');
    await c.call('Test', 'Hit', null);
    const conn = lastConn!;
    const t0 = Date.now();
    await expectCode(conn.call('Calc', 'Hang', 1, { timeoutMs: 200 }), ErrorCode.TIMEOUT, 'hanging client');
    assert.ok(Date.now() - t0 >= 190);
    const ac = new AbortController();
    const p = conn.call('Calc', 'Hang', 1, { signal: ac.signal });
    await until(() => started === 2, 5_000, 'second call reached the client');
    ac.abort();
    await expectCode(p, ErrorCode.CANCELLED, 'aborted');
    assert.equal(conn.pendingPeerCalls, 0);
    // A raw peer that reads and never answers (what a Go client does).
    const raw = await RawClient.connect(address);
    await raw.call({ servicePath: 'Test', serviceMethod: 'Hit', serializeType: SerializeType.MsgPack, payload: new Uint8Array([0xc0]) });
    const rawConn = lastConn!;
    await expectCode(rawConn.call('Calc', 'Double', 1, { timeoutMs: 150 }), ErrorCode.TIMEOUT, 'silent raw peer');
    const frame = raw.messages.find((m) => m.messageType === MessageType.Request)!;
    assert.equal(frame.oneway, false);
    assert.ok(frame.seq >= PEER_CALL_SEQ_BASE);
    // A reply for an unknown seq (in and out of the peer-call space) is dropped; the connection goes on.
    raw.send({ messageType: MessageType.Response, seq: PEER_CALL_SEQ_BASE + 12345n, serializeType: SerializeType.MsgPack, payload: new Uint8Array([0x01]) });
    raw.send({ messageType: MessageType.Response, seq: frame.seq, serializeType: SerializeType.MsgPack, payload: new Uint8Array([0x01]) }); // late
    const again = await raw.call({ servicePath: 'Test', serviceMethod: 'Hit', serializeType: SerializeType.MsgPack, payload: new Uint8Array([0xc0]) });
    assert.equal(again.messageStatusType, 0);
    // A late answer to a pending call settles it once.
    const p2 = rawConn.call<number>('Calc', 'Double', 1, { timeoutMs: 5_000 });
    await raw.waitFor(raw.messages.length + 1);
    const req2 = raw.messages[raw.messages.length - 1]!;
    raw.send({ messageType: MessageType.Response, seq: req2.seq, serializeType: SerializeType.MsgPack, payload: new Uint8Array([0x07]) });
    raw.send({ messageType: MessageType.Response, seq: req2.seq, serializeType: SerializeType.MsgPack, payload: new Uint8Array([0x08]) });
    assert.equal(await p2, 7);
    raw.close();
  });

  it('bad input: the client drops a reply for an unknown seq (either space) and goes on', async () => {
    const c = await open();
    c.registerFunction('Calc', (n: number) => n, 'Same');
    await c.call('Test', 'Hit', null);
    const conn = lastConn!;
    for (const seq of [PEER_CALL_SEQ_BASE + 99n, 123456n]) {
      conn.send(createMessage({ messageType: MessageType.Response, seq, serializeType: SerializeType.MsgPack, payload: new Uint8Array([0x05]) }));
    }
    assert.equal(await c.call('Test', 'Hit', null), 2);
    assert.equal(await conn.call('Calc', 'Same', 9), 9);
    assert.equal(c.pendingCalls, 0);
    assert.equal(c.isConnected, true);
  });

  it('bad input: the connection closes with calls pending both ways: all settle with CONNECTION/CANCELLED', async () => {
    const c = await open();
    let clientHandlerSignal: AbortSignal | undefined;
    c.registerFunction('Calc', (_n: number, ctx: RequestContext) => {
      clientHandlerSignal = ctx.signal;
      return new Promise(() => {});
    }, 'Hang');
    await c.call('Test', 'Hit', null);
    const conn = lastConn!;
    // Server -> client calls, pending.
    const down = Array.from({ length: 50 }, () => conn.call('Calc', 'Hang', 1, { timeoutMs: 30_000 }));
    // Client -> server calls, pending (KV.Watch blocks).
    const up = Array.from({ length: 50 }, (_, i) => c.call('KV', 'Watch', { Key: `never-${i}`, TimeoutMs: 30_000 }));
    await until(() => clientHandlerSignal !== undefined && kv.waiting >= 50, 5_000, 'calls pending both ways');
    const settled = { down: 0, up: 0 };
    const downP = Promise.allSettled(down.map((p) => p.finally(() => settled.down++)));
    const upP = Promise.allSettled(up.map((p) => p.finally(() => settled.up++)));
    c.socket!.destroy();
    const [d, u] = await within(Promise.all([downP, upP]), 5_000, 'every call settles');
    for (const r of d) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof RpcxError && r.reason.code === ErrorCode.CONNECTION, String(r.reason));
    }
    for (const r of u) {
      assert.equal(r.status, 'rejected');
      assert.ok(r.reason instanceof RpcxError && r.reason.code === ErrorCode.CONNECTION, String(r.reason));
    }
    assert.deepEqual(settled, { down: 50, up: 50 });
    assert.equal(clientHandlerSignal!.aborted, true);
    assert.equal((clientHandlerSignal!.reason as RpcxError).code, ErrorCode.CANCELLED);
    await until(() => kv.waiting === 0, 5_000, 'server watchers released by ctx.signal');
    assert.equal(conn.pendingPeerCalls, 0);
    await expectCode(conn.call('Calc', 'Hang', 1), ErrorCode.CONNECTION, 'call on a closed connection');
  });

  // A blocking Watch is released by another client's Set, or times out, or the caller's deadline ends it.
  it('TT watch_long_poll', async () => {
    const watcher = await open();
    const setter = await open();
    const key = 'k-' + Date.now();
    const w = watcher.call<{ Value: string; Version: number; Changed: boolean }>('KV', 'Watch', { Key: key, Since: 0, TimeoutMs: 10_000 });
    await until(() => kv.waiting === 1, 5_000, 'watch blocked');
    await setter.call('KV', 'Set', { Key: key, Value: 'v1' });
    assert.deepEqual(await within(w, 5_000, 'watch released'), { Value: 'v1', Version: 1, Changed: true });
    // Already past Since: at once.
    assert.deepEqual(await watcher.call('KV', 'Watch', { Key: key, Since: 0 }), { Value: 'v1', Version: 1, Changed: true });
    // Nothing changes: the timeout ends it.
    const t0 = Date.now();
    assert.deepEqual(await watcher.call('KV', 'Watch', { Key: key, Since: 1, TimeoutMs: 150 }), { Value: 'v1', Version: 1, Changed: false });
    assert.ok(Date.now() - t0 >= 140);
    // The caller's deadline (__ServerTimeout) ends the handler too.
    await expectCode(watcher.call('KV', 'Watch', { Key: key, Since: 1, TimeoutMs: 30_000 }, { timeoutMs: 200 }), ErrorCode.TIMEOUT, 'caller deadline');
    await until(() => kv.waiting === 0, 5_000, 'watcher released by the deadline');
  });
});

describe('server_calls_client through an XClient (TT)', { timeout: 60_000 }, () => {
  it('TT server_calls_client: a handler registered once on the XClient answers every server of its pool, on connections made before and after', async () => {
    const servers: RpcxServer[] = [];
    const keys: string[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = createServer({ peerCallTimeoutMs: 5_000 });
        registerBidiServices(s);
        const name = `s${i}`;
        s.registerFunction('Who', () => name, 'Name');
        servers.push(s);
        keys.push(await s.serve('tcp', '127.0.0.1:0'));
      }
      const discovery = new MultipleServersDiscovery([{ key: keys[0]!, value: '' }]);
      const xc = createXClient('Session', { discovery, selectMode: SelectMode.RoundRobin });
      try {
        const seen: string[] = [];
        xc.registerFunction('Calc', (n: number, ctx: RequestContext) => {
          seen.push(ctx.connection.remoteAddress ?? '?');
          return n * 3;
        }, 'Triple');
        // The first server's connection exists before the other servers are known.
        assert.deepEqual(await xc.call('CallMe', { Path: 'Calc', Method: 'Triple', Args: 2 }), { Reply: 6, Error: '', Code: '' });
        discovery.update(keys.map((key) => ({ key, value: '' })));
        const replies = await Promise.all(Array.from({ length: 9 }, (_, i) => xc.call<{ Reply: unknown; Error: string }>('CallMe', { Path: 'Calc', Method: 'Triple', Args: i })));
        assert.deepEqual(replies.map((r) => r.Reply), Array.from({ length: 9 }, (_, i) => i * 3));
        assert.ok(replies.every((r) => r.Error === ''));
        // Every server reached the handler, each over its own connection.
        assert.deepEqual(servers.map((s) => s.connections.size), [1, 1, 1], 'one connection to each server');
        assert.equal(seen.length, 10);
        assert.equal(new Set(seen).size, 3, `the handler ran on the connections to all 3 servers: ${[...new Set(seen)].join(', ')}`);
        // A service nobody registered: the server's call gets Go's error text, it does not hang.
        const r = await xc.call<{ Error: string; Code: string }>('CallMe', { Path: 'Nope', Method: 'X', Args: 1 });
        assert.equal(r.Error, "rpcx: can't find service Nope");
        assert.equal(r.Code, ErrorCode.SERVICE);
      } finally {
        await xc.close();
      }
    } finally {
      for (const s of servers) await s.close();
    }
  });
});
