// TG interop cases that need server flags: auth (-auth), the frame size limit
// (-max-message-length) and the idle read timeout (-read-timeout) against heartbeats.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client, type ClientStatus } from '../../src/client/client.js';
import { ServiceError } from '../../src/errors.js';
import { SerializeType } from '../../src/protocol/index.js';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { startFrameProxy, type FrameProxy } from '../support/frame-proxy.js';
import { rejectsWith, sleep, until, within } from '../support/tg.js';

describe('TG auth, limits and idle timeout (TS Client -> Go server)', { timeout: 60_000 }, () => {
  const servers: GoServer[] = [];
  const clients: Client[] = [];
  const proxies: FrameProxy[] = [];
  const start = async (args: string[]): Promise<GoServer> => {
    const s = await startGoServer(args);
    servers.push(s);
    return s;
  };
  const open = async (address: string, options: Parameters<typeof Client.connect>[1] = {}): Promise<Client> => {
    const c = await Client.connect(address, options);
    clients.push(c);
    return c;
  };

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    for (const p of proxies) await p.close();
    await Promise.all(servers.map((s) => s.kill()));
  });

  it('TG auth_ok', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const go = await start(['-auth', 'séc ret\t1']);
    const c = await open(go.address, { auth: 'séc ret\t1', heartbeat: true, heartbeatIntervalMs: 100 });
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { x: '1' } });
    assert.equal(metadata.get('__AUTH'), 'séc ret\t1', '__AUTH travels on every call');
    assert.equal(metadata.get('x'), '1');
    await c.oneway('Echo', 'Count', { Key: 'auth' });
    await sleep(250); // heartbeats skip auth on the server and are answered
    assert.equal(c.isConnected, true);
    assert.deepEqual(await c.call('Arith', 'Add', { A: 1, B: 1 }), { C: 2 });
  });

  it('TG auth_rejected_closes', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const go = await start(['-auth', 'right']);
    for (const auth of ['wrong', undefined]) {
      const c = await open(go.address, auth === undefined ? {} : { auth });
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
    // A client with the right token on the same server is unaffected.
    const ok = await open(go.address, { auth: 'right' });
    assert.deepEqual(await ok.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
  });

  it('TG max_message_length', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const limit = 4096;
    const go = await start(['-max-message-length', String(limit)]);
    const proxy = await startFrameProxy(go.address);
    proxies.push(proxy);
    const big = await open(proxy.address, { serializeType: SerializeType.SerializeNone });
    const other = await open(go.address, { serializeType: SerializeType.SerializeNone });
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

  it('TG heartbeat_keeps_idle_alive', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const go = await start(['-read-timeout', '1s']);
    const beating = await open(go.address, { heartbeat: true, heartbeatIntervalMs: 250, maxWaitForHeartbeatMs: 1_000 });
    const silent = await open(go.address);
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
});
