// Unit tests of the Client against tiny in-test servers on loopback that speak raw frames, for
// what a real Go server never does: garbage, oversize frames, unknown seqs, odd status bits,
// half frames, silence. The Go-server behaviour is covered by test/interop/tg-*.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Client, type ClientStatus } from '../../src/client/client.js';
import { RpcxError, ServiceError } from '../../src/errors.js';
import {
  FrameDecoder,
  createMessage,
  MessageStatusType,
  MessageType,
  SerializeType,
  encodeMessage,
  heartbeatReply,
  pushMessage,
  responseFor,
  type Message,
} from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { TestClients } from '../support/clients.js';
import { rejectsWith, sleep, until, within } from '../support/tg.js';

const msgpack = new MsgpackCodec();

interface RawServer {
  address: string;
  server: Server;
  sockets: Set<Socket>;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

/** A server that decodes requests and hands each to `onRequest` with its socket. */
async function rawServer(onRequest: (msg: Message, socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const state = { accepted: 0 };
  const server = createServer((socket) => {
    state.accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const decoder = new FrameDecoder({ compressors: defaultCompressors });
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const m of decoder.push(chunk)) onRequest(m, socket);
      } catch {
        socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    address: `tcp@127.0.0.1:${port}`,
    server,
    sockets,
    get accepted() {
      return state.accepted;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A msgpack reply to `req` carrying `value`. */
function reply(req: Message, value: unknown, init: Partial<Message> = {}): Uint8Array {
  return encodeMessage({ ...responseFor(req), payload: msgpack.encode(value), ...init });
}

describe('Client against raw test servers', { timeout: 30_000 }, () => {
  const servers: RawServer[] = [];
  const clients = new TestClients();
  const open = clients.open;
  const serve = async (onRequest: (msg: Message, socket: Socket) => void): Promise<RawServer> => {
    const s = await rawServer(onRequest);
    servers.push(s);
    return s;
  };

  after(async () => {
    await clients.closeAll();
    for (const s of servers) await s.close();
  });

  it('garbage from the server rejects pending calls with PROTOCOL and keeps the process up', async () => {
    let n = 0;
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      if (n++ < 2) {
        // Both calls are in: answer with noise.
        if (n === 2) socket.write(Buffer.concat([Buffer.from([0x07]), randomBytes(100)]));
      } else {
        socket.write(reply(req, { C: 1 }));
      }
    });
    const c = await open(srv.address);
    const statuses: ClientStatus[] = [];
    c.onStatus((s) => statuses.push(s));
    const [a, b] = await Promise.all([
      rejectsWith(c.call('S', 'M', {}), 'PROTOCOL'),
      rejectsWith(c.call('S', 'M', {}), 'PROTOCOL'),
    ]);
    assert.match(a.message, /wrong magic number: 7/);
    assert.equal(b, a);
    const disc = statuses.find((s) => s.type === 'disconnected');
    assert.ok(disc?.type === 'disconnected' && disc.error?.code === 'PROTOCOL');
    // The client reconnects on the next call.
    assert.deepEqual(await c.call('S', 'M', {}), { C: 1 });
  });

  it('random frames never escape as anything but RpcxError', async () => {
    for (let round = 0; round < 20; round++) {
      const bytes = randomBytes(16 + (round * 37) % 300);
      bytes[0] = 0x08; // a plausible magic byte, garbage after it
      const srv = await serve((req, socket) => {
        if (!req.heartbeat) socket.end(bytes);
      });
      const c = await open(srv.address, { maxMessageLength: 1024 });
      try {
        await within(c.call('S', 'M', {}, { timeoutMs: 2_000 }), 3_000, `round ${round}`);
      } catch (err) {
        assert.ok(err instanceof RpcxError, `round ${round}: ${String(err)}`);
        assert.ok(['PROTOCOL', 'LIMIT', 'CONNECTION', 'CODEC', 'SERVICE'].includes(err.code), `${err.code}: ${err.message}`);
      }
      await c.close({ graceful: false });
    }
  });

  it('an oversize frame rejects pending calls with LIMIT before its body arrives', async () => {
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      const prefix = Buffer.alloc(16);
      prefix[0] = 0x08;
      prefix[2] = 0x80;
      prefix.writeUInt32BE(1_000_000, 12); // announces 1 MB; the client allows 64 KiB
      socket.write(prefix); // ...and never sends the body
    });
    const c = await open(srv.address, { maxMessageLength: 64 * 1024 });
    const started = Date.now();
    const err = await rejectsWith(c.call('S', 'M', {}), 'LIMIT');
    assert.match(err.message, /message is too long/);
    assert.ok(Date.now() - started < 1_000);
    assert.equal(c.isConnected, false);
  });

  it('a reply for an unknown seq is ignored; the right one is matched', async () => {
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      socket.write(reply({ ...req, seq: req.seq + 1000n }, { C: 'wrong' }));
      socket.write(reply({ ...req, seq: 2n ** 64n - 1n }, { C: 'wrong' }));
      setTimeout(() => socket.write(reply(req, { C: 'right' })), 10);
    });
    const c = await open(srv.address);
    assert.deepEqual(await c.call('S', 'M', {}), { C: 'right' });
    assert.equal(c.isConnected, true);
    assert.equal(c.pendingCalls, 0);
  });

  it('replies in any order match their calls while one call stays pending for thousands of seqs', async () => {
    // the pending table is a ring indexed by seq: a call that outlives a ring's worth of later
    // calls makes it grow, and must still get its own reply
    let held: { req: Message; socket: Socket } | undefined;
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      const v = msgpack.decode(req.payload) as { I: number };
      if (v.I === -1) held = { req, socket };
      else setTimeout(() => socket.write(reply(req, { I: v.I })), (v.I * 7) % 5);
    });
    const c = await open(srv.address);
    const first = c.call<{ I: number }>('S', 'M', { I: -1 });
    for (let round = 0; round < 10; round++) {
      const got = await Promise.all(Array.from({ length: 300 }, (_, i) => c.call<{ I: number }>('S', 'M', { I: round * 300 + i })));
      got.forEach((r, i) => assert.equal(r.I, round * 300 + i));
    }
    assert.equal(c.pendingCalls, 1);
    held!.socket.write(reply(held!.req, { I: -1 }));
    assert.deepEqual(await first, { I: -1 });
    assert.equal(c.pendingCalls, 0);
  });

  it('sendRaw refuses a seq a pending call holds; calls skip a seq sendRaw holds', async () => {
    const waiting: Array<{ req: Message; socket: Socket }> = [];
    const srv = await serve((req, socket) => {
      if (!req.heartbeat) waiting.push({ req, socket });
    });
    const c = await open(srv.address, { serializeType: SerializeType.SerializeNone });
    const raw = (seq: bigint) => createMessage({ seq, servicePath: 'S', serviceMethod: 'Raw', serializeType: SerializeType.SerializeNone });
    const a = c.call<Uint8Array>('S', 'M', new Uint8Array([1])); // seq 0
    await until(() => waiting.length === 1, 2_000, 'first request');
    await rejectsWith(c.sendRaw(raw(waiting[0]!.req.seq)), 'INVALID_ARGUMENT', 'sendRaw on a pending seq');
    const r = c.sendRaw(raw(1n)); // takes seq 1 ahead of the next call
    await until(() => waiting.length === 2, 2_000, 'raw request');
    const b = c.call<Uint8Array>('S', 'M', new Uint8Array([2]));
    await until(() => waiting.length === 3, 2_000, 'third request');
    assert.deepEqual(waiting.map((w) => w.req.seq), [0n, 1n, 2n], 'the call skipped seq 1');
    for (const w of waiting.reverse()) w.socket.write(encodeMessage({ ...responseFor(w.req), payload: new Uint8Array([Number(w.req.seq) + 10]) }));
    assert.deepEqual([...(await a)], [10]);
    assert.deepEqual([...(await r).payload], [11]);
    assert.deepEqual([...(await b)], [12]);
  });

  it('replies split byte by byte and coalesced are all matched', async () => {
    const srv = await serve(() => {});
    const c = await open(srv.address);
    const socket = [...srv.sockets][0]!;
    const reqs: Message[] = [];
    socket.removeAllListeners('data');
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => reqs.push(...decoder.push(chunk)));
    const calls = Array.from({ length: 20 }, (_, i) => c.call<{ I: number }>('S', 'M', { I: i }));
    await until(() => reqs.length === 20, 2_000, 'requests');
    const frames = Buffer.concat(reqs.reverse().map((r) => Buffer.from(reply(r, msgpack.decode(r.payload)))));
    const half = frames.length >> 1;
    for (let i = 0; i < half; i++) socket.write(frames.subarray(i, i + 1)); // byte by byte
    socket.write(frames.subarray(half)); // the rest coalesced
    const got = await Promise.all(calls);
    got.forEach((r, i) => assert.equal(r.I, i));
  });

  it('status Error with empty metadata is a success (Go quirk); with metadata a ServiceError', async () => {
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      if (req.serviceMethod === 'Quirk') socket.write(reply(req, { ok: true }, { messageStatusType: MessageStatusType.Error }));
      else socket.write(reply(req, { partial: 1 }, { messageStatusType: MessageStatusType.Error, metadata: new Map([['other', 'x']]) }));
    });
    const c = await open(srv.address);
    assert.deepEqual(await c.call('S', 'Quirk', {}), { ok: true });
    const err = await rejectsWith(c.call('S', 'Err', {}), 'SERVICE');
    assert.ok(err instanceof ServiceError);
    assert.equal(err.message, '', 'no __rpcx_error__: empty text, as Go');
    assert.deepEqual(err.reply, { partial: 1 });
  });

  it('a connection closed in the middle of a frame rejects with CONNECTION', async () => {
    const srv = await serve((req, socket) => {
      if (!req.heartbeat) socket.end(reply(req, { C: 1 }).subarray(0, 20));
    });
    const c = await open(srv.address);
    const err = await rejectsWith(c.call('S', 'M', {}), 'CONNECTION');
    assert.match(err.message, /middle of a frame/);
  });

  it('maxPendingCalls bounds calls in flight with LIMIT', async () => {
    const held: Array<() => void> = [];
    let release = false;
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      const answer = (): void => void socket.write(reply(req, { ok: 1 }));
      if (release) answer();
      else held.push(answer);
    });
    const c = await open(srv.address, { maxPendingCalls: 3 });
    const calls = [c.call('S', 'M', 1), c.call('S', 'M', 2), c.call('S', 'M', 3)];
    const err = await rejectsWith(c.call('S', 'M', 4), 'LIMIT');
    assert.match(err.message, /more than 3 calls pending/);
    await until(() => held.length === 3, 2_000, 'three requests');
    assert.equal(held.length, 3, 'the refused call was never sent');
    release = true;
    for (const h of held) h();
    await Promise.all(calls);
    assert.deepEqual(await c.call('S', 'M', 5), { ok: 1 }, 'room again once replies came');
  });

  it('a throwing onMessage or onStatus callback does not break the connection', async () => {
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      socket.write(encodeMessage(pushMessage(1n, 'P', 'M', new Map(), new Uint8Array([1]))));
      socket.write(reply(req, { C: 2 }));
    });
    const c = await open(srv.address);
    let pushes = 0;
    c.onMessage(() => {
      pushes++;
      throw new Error('user bug in onMessage');
    });
    c.onStatus(() => {
      throw new Error('user bug in onStatus');
    });
    assert.deepEqual(await c.call('S', 'M', {}), { C: 2 });
    assert.deepEqual(await c.call('S', 'M', {}), { C: 2 });
    assert.equal(pushes, 2);
    assert.equal(c.isConnected, true);
  });

  it('timeoutMs covers a dial that hangs', async () => {
    // A plain TCP server that never answers the TLS handshake: the dial hangs.
    const silent = createServer((s) => s.on('error', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const c = new Client(`tcp@127.0.0.1:${port}`, { tls: {}, connectTimeoutMs: 10_000 });
      clients.add(c);
      const started = Date.now();
      await rejectsWith(c.call('S', 'M', {}, { timeoutMs: 200 }), 'TIMEOUT');
      const took = Date.now() - started;
      assert.ok(took < 300, `rejected after ${took} ms`);
      await c.close({ graceful: false });
    } finally {
      silent.close();
    }
  });

  it('a failed Client.connect leaves nothing running (no background reconnects)', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await rejectsWith(Client.connect(`127.0.0.1:${port}`, { reconnect: { initialDelayMs: 20, maxDelayMs: 20, jitter: 0 } }), 'CONNECTION');
    // Something listens there now: a leaked reconnect loop would connect to it.
    let accepted = 0;
    const later = createServer((s) => {
      accepted++;
      s.destroy();
    });
    await new Promise<void>((resolve) => later.listen(port, '127.0.0.1', resolve));
    try {
      await sleep(200);
      assert.equal(accepted, 0);
    } finally {
      later.close();
    }
  });

  it('heartbeat replies keep the connection; no reply within maxWaitForHeartbeat closes it', async () => {
    let answer = true;
    const srv = await serve((req, socket) => {
      if (req.heartbeat) {
        if (answer) socket.write(encodeMessage(heartbeatReply(req)));
      } else {
        socket.write(reply(req, { ok: 1 }));
      }
    });
    const c = await open(srv.address, { heartbeat: true, heartbeatIntervalMs: 50, maxWaitForHeartbeatMs: 600 });
    await sleep(300);
    assert.equal(c.isConnected, true);
    const statuses: ClientStatus['type'][] = [];
    c.onStatus((st) => statuses.push(st.type));
    answer = false;
    const hanging = c.call('S', 'M', {}).then(() => 'answered');
    // isConnected turns false at destroy(); the status event follows with the socket's close.
    await until(() => statuses.includes('disconnected'), 3_000, 'closed after unanswered heartbeats');
    assert.equal(c.isConnected, false);
    assert.equal(await hanging, 'answered', 'the call answered before the close is unaffected');
  });

  it('close(): graceful lets calls in flight finish, immediate rejects them', async () => {
    const srv = await serve((req, socket) => {
      if (!req.heartbeat) setTimeout(() => socket.write(reply(req, { done: true })), 100);
    });
    const g = await open(srv.address);
    const inFlight = g.call('S', 'M', {});
    await sleep(10);
    const closing = g.close({ graceful: true, timeoutMs: 2_000 });
    await rejectsWith(g.call('S', 'M', {}), 'CONNECTION', 'a new call after close');
    assert.deepEqual(await inFlight, { done: true });
    await closing;
    const i = await open(srv.address);
    const p = i.call('S', 'M', {});
    await sleep(10);
    await i.close({ graceful: false });
    await rejectsWith(p, 'CONNECTION');
  });

  it('server pushes and the synthetic disconnect message reach the iterable', async () => {
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      socket.write(encodeMessage(pushMessage(7n, 'Path', 'Method', new Map([['k', 'v']]), new Uint8Array([1, 2]))));
      socket.write(reply(req, { ok: 1 }));
      setTimeout(() => socket.destroy(), 20);
    });
    const c = await open(srv.address);
    const it = c.messages()[Symbol.asyncIterator](); // attach before the call that makes the server push
    await c.call('S', 'M', {});
    const first = await within(it.next(), 1_000, 'push');
    assert.equal(first.done, false);
    assert.equal(first.value.servicePath, 'Path');
    assert.equal(first.value.seq, 7n);
    const second = await within(it.next(), 1_000, 'synthetic');
    assert.equal(second.value.messageType, MessageType.Request);
    assert.equal(second.value.messageStatusType, MessageStatusType.Error);
    assert.equal(second.value.metadata.get('server'), srv.address.slice(4));
    await c.close();
    const end = await within(it.next(), 1_000, 'end');
    assert.equal(end.done, true, 'close() ends the push stream');
  });

  it('maxMessageLength limits incoming frames only, as Go\'s decoder limit does', async () => {
    const sizes: number[] = [];
    const srv = await serve((req, socket) => {
      if (req.heartbeat) return;
      sizes.push(req.payload.length);
      socket.write(encodeMessage({ ...responseFor(req), payload: new Uint8Array(10) }));
    });
    const c = await open(srv.address, { serializeType: SerializeType.SerializeNone, maxMessageLength: 1024 });
    const r = await c.call<Uint8Array>('S', 'M', new Uint8Array(4096));
    assert.equal(r.length, 10);
    assert.deepEqual(sizes, [4096]);
  });
});
