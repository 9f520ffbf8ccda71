// TG and TT interop cases that need server flags (Go peer for TG, TS `rpcx serve` for TT;
// directions from ../support/cases.ts): auth, the frame size limit and the idle read timeout
// against heartbeats; and garbage bytes, which close only their own connection.
import { after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type ClientStatus } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { connect, type Socket } from 'node:net';
import { SerializeType, encodeMessage, heartbeatRequest } from '../../src/protocol/index.js';
import { TestClients } from '../support/clients.js';
import { TestPeers, caseTest, peerName, peerOf } from '../support/peer.js';
import { startFrameProxy, type FrameProxy } from '../support/frame-proxy.js';
import { rejectsWith, sleep, until, within } from '../support/tg.js';

for (const dir of ['TG', 'TT'] as const) describe(`${dir} auth, limits and idle timeout (TS Client -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  const servers = new TestPeers(peerOf(dir));
  const start = servers.start;
  const clients = new TestClients();
  const open = clients.open;
  const proxies: FrameProxy[] = [];

  after(async () => {
    await clients.closeAll();
    for (const p of proxies) await p.close();
    await servers.killAll();
  });

  caseTest(dir, 'auth_ok', async () => {
    const srv = await start({ auth: 'séc ret\t1' });
    const c = await open(srv.address, { auth: 'séc ret\t1', heartbeat: true, heartbeatIntervalMs: 100 });
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { x: '1' } });
    assert.equal(metadata.get('__AUTH'), 'séc ret\t1', '__AUTH travels on every call');
    assert.equal(metadata.get('x'), '1');
    await c.oneway('Echo', 'Count', { Key: 'auth' });
    await sleep(250); // heartbeats skip auth on the server and are answered
    assert.equal(c.isConnected, true);
    assert.deepEqual(await c.call('Arith', 'Add', { A: 1, B: 1 }), { C: 2 });
  });

  caseTest(dir, 'auth_rejected_closes', async () => {
    const srv = await start({ auth: 'right' });
    for (const auth of ['wrong', undefined]) {
      const c = await open(srv.address, auth === undefined ? {} : { auth });
      const statuses: ClientStatus[] = [];
      c.onStatus((s) => statuses.push(s));
      const err = await rejectsWith(c.call('Arith', 'Mul', { A: 1, B: 2 }), 'SERVICE', `auth ${auth}`);
      assert.ok(err instanceof ServiceError);
      assert.equal(err.message, 'invalid token', "the server's text");
      // ...then Go closes the connection.
      await until(() => !c.isConnected, 2_000, 'connection closed after the rejection');
      assert.ok(statuses.some((s) => s.type === 'disconnected'), 'the client saw the close');
      // The next call reconnects and is rejected again.
      assert.equal((await rejectsWith(c.call('Arith', 'Mul', { A: 1, B: 2 }), 'SERVICE')).message, 'invalid token');
    }
    // With the server's rejection text declared, the same failure carries code UNAUTHENTICATED.
    const typed = await open(srv.address, { auth: 'wrong', isAuthError: (text) => text === 'invalid token' });
    const denied = await rejectsWith(typed.call('Arith', 'Mul', { A: 1, B: 2 }), 'UNAUTHENTICATED');
    assert.ok(denied instanceof ServiceError && denied.message === 'invalid token');
    // A client with the right token on the same server is unaffected.
    const ok = await open(srv.address, { auth: 'right' });
    assert.deepEqual(await ok.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
  });

  caseTest(dir, 'max_message_length', async () => {
    const limit = 4096;
    const srv = await start({ maxMessageLength: limit });
    const proxy = await startFrameProxy(srv.address);
    proxies.push(proxy);
    const big = await open(proxy.address, { serializeType: SerializeType.SerializeNone });
    const other = await open(srv.address, { serializeType: SerializeType.SerializeNone });
    const otherSocket = other.socket;
    // totalLen = 4+4 (Echo) +4+5 (Bytes) +4 (metadata) +4 + payload = 25 + payload.
    const atLimit = new Uint8Array(limit - 25).fill(1);
    const reply = await big.call<Uint8Array>('Echo', 'Bytes', atLimit);
    assert.equal(reply.length, atLimit.length, 'a frame of exactly the limit passes');
    const firstSocket = big.socket;
    const err = await rejectsWith(within(big.call('Echo', 'Bytes', new Uint8Array(limit - 24)), 5_000, 'oversize call'), 'CONNECTION');
    assert.ok(!(err instanceof ServiceError), 'no reply: the connection was closed');
    const over = proxy.select('c2s', (f) => f.msg.payload.length === limit - 24);
    assert.equal(over.length, 1);
    assert.equal(over[0]!.bytes.readUInt32BE(12), limit + 1);
    assert.equal(proxy.select('s2c', (f) => f.conn === over[0]!.conn && f.msg.seq === over[0]!.msg.seq).length, 0, 'no reply frame');
    // The other connection is unaffected: same socket, calls still work.
    assert.deepEqual(Buffer.from(await other.call<Uint8Array>('Echo', 'Bytes', new Uint8Array([1, 2, 3]))), Buffer.from([1, 2, 3]));
    assert.equal(other.socket, otherSocket);
    assert.equal(other.isConnected, true);
    // The closed client reconnects on its next call.
    assert.equal((await big.call<Uint8Array>('Echo', 'Bytes', new Uint8Array(10))).length, 10);
    assert.notEqual(big.socket, firstSocket);
  });

  caseTest(dir, 'heartbeat_keeps_idle_alive', async () => {
    const srv = await start({ readTimeoutMs: 1_000 });
    const beating = await open(srv.address, { heartbeat: true, heartbeatIntervalMs: 250, maxWaitForHeartbeatMs: 1_000 });
    const silent = await open(srv.address);
    const beatingStatus: ClientStatus['type'][] = [];
    const silentStatus: ClientStatus['type'][] = [];
    beating.onStatus((s) => beatingStatus.push(s.type));
    silent.onStatus((s) => silentStatus.push(s.type));
    const socket = beating.socket;
    await beating.call('Arith', 'Mul', { A: 1, B: 1 });
    await silent.call('Arith', 'Mul', { A: 1, B: 1 });
    await sleep(2_500); // 2.5x the server's read timeout, no calls
    assert.ok(silentStatus.includes('disconnected'), 'control: without heartbeats the server closes the idle connection');
    assert.deepEqual(beatingStatus, [], 'with heartbeats the connection was never closed');
    assert.equal(beating.isConnected, true);
    assert.equal(beating.socket, socket, 'the same connection');
    assert.deepEqual(await beating.call('Arith', 'Mul', { A: 5, B: 5 }), { C: 25 });
  });

  caseTest(dir, 'garbage_bytes', async () => {
    const srv = await start();
    const other = await open(srv.address);
    assert.deepEqual(await other.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
    const otherSocket = other.socket;
    // Seeded bytes (xorshift32), as the Go client's rand.NewSource(7): the same garbage every run.
    let x = 7;
    const rand = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x & 0xff;
    };
    for (let round = 0; round < 3; round++) {
      const raw = await rawDial(srv.address);
      const garbage = Buffer.from(Array.from({ length: 4096 }, rand));
      garbage[0] = 0xff; // never the 0x08 magic (nor an HTTP method)
      garbage.write('\r\n\r\n', 100);
      raw.socket.write(garbage);
      await within(raw.closed, 5_000, `round ${round}: connection closed after garbage`);
      assert.ok(raw.received.length === 0 || raw.received[0] !== 0x08, `round ${round}: the server answered garbage with an rpcx frame`);
    }
    // A wrong magic byte on a connection that already exchanged a valid frame closes it too.
    const raw = await rawDial(srv.address);
    const good = Buffer.from(encodeMessage(heartbeatRequest(9n, 1n)));
    raw.socket.write(good);
    await until(() => raw.received.length >= good.length, 5_000, 'heartbeat answered');
    const answered = raw.received.length;
    raw.socket.write(Buffer.concat([Buffer.from([0x09]), good.subarray(1)]));
    await within(raw.closed, 5_000, 'connection closed after a wrong magic byte');
    assert.equal(raw.received.length, answered, 'no answer to a wrong magic byte');
    // The server keeps serving: the other connection untouched, new ones accepted.
    assert.deepEqual(await other.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
    assert.equal(other.socket, otherSocket, 'the other connection is the same');
    assert.deepEqual(await (await open(srv.address)).call('Arith', 'Mul', { A: 4, B: 4 }), { C: 16 });
    assert.equal(srv.proc.exitCode, null);
  });
});

interface RawConn {
  socket: Socket;
  /** Every byte received so far. */
  received: Buffer;
  /** Resolves when the socket has closed. */
  closed: Promise<void>;
}

/** A bare TCP connection to `tcp@host:port` that records what it receives. */
async function rawDial(address: string): Promise<RawConn> {
  const target = address.slice(address.indexOf('@') + 1);
  const i = target.lastIndexOf(':');
  const socket = connect({ host: target.slice(0, i), port: Number(target.slice(i + 1)) });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const conn: RawConn = { socket, received: Buffer.alloc(0), closed: new Promise((resolve) => socket.once('close', () => resolve())) };
  socket.on('error', () => {}); // a reset after garbage is a close too
  socket.on('data', (d: Buffer) => {
    conn.received = Buffer.concat([conn.received, d]);
  });
  return conn;
}
