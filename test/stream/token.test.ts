// Case 64 stream_token_rejected (TT), the side listener's limits, and the wire shape of the
// stream/file args and replies per codec (deployment doc §1 and trap 5).
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../src/client/index.js';
import { MsgpackCodec, JsonCodec } from '../../src/codec/index.js';
import { RpcxError } from '../../src/errors.js';
import { SerializeType } from '../../src/protocol/index.js';
import { dialTarget } from '../../src/stream/index.js';
import { readTokenReply, streamArgsValue, tokenReplyValue, transferArgsValue, readTransferArgs, downloadArgsValue } from '../../src/stream/wire.js';
import { readAll, startTsStreamServer, writeAllAndEnd, type TsStreamServer } from './support.js';

const mp = new MsgpackCodec();
const json = new JsonCodec();
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Dials the side listener and resolves when the server closed the connection: the bytes it sent. */
function rawSide(addr: string, send: Uint8Array | undefined, halfClose = false): { socket: Socket; closed: Promise<Buffer> } {
  const { host, port } = dialTarget(addr);
  const socket = connect({ host, port, allowHalfOpen: true });
  if (send !== undefined) socket.write(send);
  if (halfClose) socket.end();
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  socket.on('end', () => socket.destroy()); // half-open capable: the server's FIN alone does not close
  const closed = new Promise<Buffer>((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  return { socket, closed };
}

async function getToken(c: Client): Promise<{ token: Uint8Array; addr: string }> {
  return readTokenReply(await c.call('_streamservice', 'Stream', streamArgsValue(new Map([['case', 'token']]), SerializeType.MsgPack)), SerializeType.MsgPack);
}

describe('TT stream_token_rejected', () => {
  let ts: TsStreamServer;
  let c: Client;
  before(async () => {
    ts = await startTsStreamServer({ tokenTtlMs: 200, tokenReadTimeoutMs: 300 });
    c = new Client(ts.key);
  });
  after(async () => {
    await c.close();
    await ts.server.close();
  });

  test('TT stream_token_rejected', async () => {
    const good = await c.stream({ case: 'good' });
    const silent = rawSide(ts.stream.address, undefined);
    const first = await getToken(c);
    const used = rawSide(first.addr, first.token);
    const rejectedBefore = ts.stream.rejected;
    const wrong = rawSide(first.addr, new Uint8Array(32).fill(7));
    const reused = rawSide(first.addr, first.token);
    const short = rawSide(first.addr, Buffer.from('short'), true);
    assert.equal((await wrong.closed).length, 0, 'wrong token: closed without a byte');
    assert.equal((await short.closed).length, 0, 'short token: closed without a byte');
    // One of the two connections with the same token got it, the other was closed without a byte.
    const firstClosed = await Promise.race([used.closed.then(() => used), reused.closed.then(() => reused)]);
    assert.equal((await firstClosed.closed).length, 0, 'the second user of a token: closed without a byte');
    const survivor = firstClosed === used ? reused : used;
    // The survivor is a live stream: echo through it.
    survivor.socket.end(Buffer.from('ok'));
    const echoed = await survivor.closed;
    assert.equal(echoed.subarray(0, 2).toString(), 'ok');
    // A stream opened next to the silent connection works at once (Go's accept loop would block).
    const beside = await c.stream();
    const [, got] = await Promise.all([writeAllAndEnd(beside, Buffer.from('beside')), readAll(beside)]);
    assert.equal(got.subarray(0, 6).toString(), 'beside');
    // The silent connection is closed by the token-read deadline.
    assert.equal((await silent.closed).length, 0);
    // A token used after its TTL is refused.
    const late = await getToken(c);
    await new Promise((r) => setTimeout(r, 350)); // the TTL under test is 200 ms: waiting past it is the point
    assert.equal((await rawSide(late.addr, late.token).closed).length, 0, 'late token: closed without a byte');
    assert.equal(ts.stream.rejected - rejectedBefore, 5, 'wrong, short, reused, silent, late');
    // The first stream was never disturbed.
    const [, g2] = await Promise.all([writeAllAndEnd(good, Buffer.from('still here')), readAll(good)]);
    assert.equal(g2.subarray(0, 10).toString(), 'still here');
    assert.equal(g2.readBigUInt64BE(10), 10n);
  });

  test('an acceptor refusal answers Go\'s "server refused the connection"', async () => {
    const { createServer } = await import('../../src/server/index.js');
    const s = createServer();
    await s.enableStreamService(() => undefined, { acceptor: (args) => args.meta.get('let-me') === 'in' });
    const key = await s.serve('tcp', '127.0.0.1:0');
    const cl = new Client(key);
    try {
      await assert.rejects(cl.stream({ 'let-me': 'out' }), (e: RpcxError) => e.code === 'SERVICE' && e.message === 'server refused the connection');
      const ok = await cl.stream({ 'let-me': 'in' });
      ok.destroy();
      assert.equal(s.listenerCount('close') > 0, true);
    } finally {
      await cl.close();
      await s.close();
    }
  });

  test('a stream aborted by its signal is destroyed with CANCELLED', async () => {
    const ac = new AbortController();
    const s = await c.stream(undefined, { signal: ac.signal });
    const err = new Promise<Error>((resolve) => s.once('error', resolve));
    ac.abort();
    assert.equal(((await err) as RpcxError).code, 'CANCELLED');
    await assert.rejects(c.stream(undefined, { signal: ac.signal }), (e: RpcxError) => e.code === 'CANCELLED');
  });
});

describe('side listener limits and lifecycle', () => {
  test('past maxPendingTokens the oldest token is dropped (Go: the LRU of waitNum)', async () => {
    const { createServer } = await import('../../src/server/index.js');
    const s = createServer();
    const svc = await s.enableStreamService((d) => {
      d.end('hi');
    }, { maxPendingTokens: 2 });
    const cl = new Client(await s.serve('tcp', '127.0.0.1:0'));
    try {
      const t1 = await getToken(cl);
      const t2 = await getToken(cl);
      const t3 = await getToken(cl);
      assert.equal(svc.pendingTokens, 2);
      assert.equal((await rawSide(t1.addr, t1.token).closed).length, 0, 'the oldest was dropped');
      assert.equal((await rawSide(t2.addr, t2.token).closed).toString(), 'hi');
      assert.equal((await rawSide(t3.addr, t3.token).closed).toString(), 'hi');
      assert.equal(svc.pendingTokens, 0);
    } finally {
      await cl.close();
      await s.close();
    }
  });

  test('the handler gets the socket itself; bytes sent with the token in one write reach it intact', async () => {
    // The raw-bytes path adds nothing between the socket and the handler (BENCHMARKS.md, streams):
    // no wrapper, no copy; whatever followed the token in the same segment is read first.
    const { createServer } = await import('../../src/server/index.js');
    const { Socket: NetSocket } = await import('node:net');
    const s = createServer();
    let gotSocket!: (isSocket: boolean) => void;
    const handed = new Promise<boolean>((r) => (gotSocket = r));
    await s.enableStreamService((d) => {
      gotSocket(d instanceof NetSocket);
      d.pipe(d);
    });
    const cl = new Client(await s.serve('tcp', '127.0.0.1:0'));
    try {
      const t = await getToken(cl);
      const payload = Buffer.alloc(200_000);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 7) & 0xff;
      const side = rawSide(t.addr, Buffer.concat([t.token, payload]), true);
      assert.equal(await handed, true, 'the handler got the net.Socket');
      assert.deepEqual(await side.closed, payload);
    } finally {
      await cl.close();
      await s.close();
    }
  });

  test('server.close() ends open side connections and stops the side listener', async () => {
    const { createServer } = await import('../../src/server/index.js');
    const s = createServer();
    let handlerSawClose!: () => void;
    const sawClose = new Promise<void>((r) => (handlerSawClose = r));
    let handlerRan!: () => void;
    const running = new Promise<void>((r) => (handlerRan = r));
    const svc = await s.enableStreamService((d) => {
      d.on('close', () => handlerSawClose());
      handlerRan();
    });
    const cl = new Client(await s.serve('tcp', '127.0.0.1:0'));
    const d = await cl.stream();
    d.on('error', () => undefined);
    d.on('end', () => d.end()); // half-open capable: the server's FIN alone does not close it
    d.resume();
    const ended = new Promise<void>((r) => d.on('close', () => r()));
    await running; // the token was read and the handler has the connection
    await cl.close();
    await s.close();
    await Promise.all([sawClose, ended]);
    const { host, port } = dialTarget(svc.address);
    const { connect: c2 } = await import('node:net');
    await new Promise<void>((resolve) => {
      const sock = c2({ host, port });
      sock.on('error', (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, 'ECONNREFUSED');
        resolve();
      });
      sock.on('connect', () => assert.fail('side listener still accepting'));
    });
  });
});

describe('stream wire shapes (Go share/share.go)', () => {
  test('MsgPack args use Go field names, every field present, Meta nil as c0, FileSize as d3', () => {
    assert.equal(hex(mp.encode(streamArgsValue(undefined, SerializeType.MsgPack))), '81a44d657461c0');
    assert.equal(
      hex(mp.encode(transferArgsValue('a', 5, undefined, SerializeType.MsgPack))),
      '83a846696c654e616d65a161a846696c6553697a65d30000000000000005a44d657461c0',
    );
    assert.equal(hex(mp.encode(downloadArgsValue('a', new Map([['k', 'v']]), SerializeType.MsgPack))), '82a846696c654e616d65a161a44d65746181a16ba176');
  });

  test('JSON args use the tag names with omitempty', () => {
    assert.equal(Buffer.from(json.encode(streamArgsValue(undefined, SerializeType.JSON))).toString(), '{}');
    assert.equal(Buffer.from(json.encode(transferArgsValue('a.bin', 3, new Map([['k', 'v']]), SerializeType.JSON))).toString(), '{"file_name":"a.bin","file_size":3,"meta":{"k":"v"}}');
    assert.equal(Buffer.from(json.encode(transferArgsValue('', 0, undefined, SerializeType.JSON))).toString(), '{}');
  });

  test('replies: MsgPack Token as bin (c4 20), JSON token in base64; both read back', () => {
    const token = new Uint8Array(32).map((_, i) => i);
    const m = mp.encode(tokenReplyValue({ token, addr: ':9' }, SerializeType.MsgPack));
    assert.equal(hex(m), `82a5546f6b656ec420${hex(token)}a441646472a23a39`);
    assert.deepEqual(readTokenReply(mp.decode(m), SerializeType.MsgPack), { token, addr: ':9' });
    const j = json.encode(tokenReplyValue({ token, addr: ':9' }, SerializeType.JSON));
    assert.equal(Buffer.from(j).toString(), `{"token":"${Buffer.from(token).toString('base64')}","addr":":9"}`);
    // Go matches JSON keys case-insensitively.
    assert.deepEqual(readTokenReply({ TOKEN: Buffer.from(token).toString('base64'), Addr: ':9' }, SerializeType.JSON), { token, addr: ':9' });
  });

  test('bad replies and args are RpcxErrors, never crashes', () => {
    const bad: [unknown, number][] = [
      [{ Token: new Uint8Array(31), Addr: ':1' }, SerializeType.MsgPack],
      [{ Token: new Uint8Array(32) }, SerializeType.MsgPack],
      [{ token: '!!!', addr: ':1' }, SerializeType.JSON],
      [null, SerializeType.MsgPack],
      [42, SerializeType.MsgPack],
    ];
    for (const [v, st] of bad) assert.throws(() => readTokenReply(v, st), RpcxError);
    assert.throws(() => readTransferArgs({ FileName: 'x', FileSize: -1n, Meta: null }, SerializeType.MsgPack), (e: RpcxError) => e.code === 'LIMIT');
    assert.throws(() => readTransferArgs({ FileName: 'x', FileSize: 1, Meta: [1] }, SerializeType.MsgPack), RpcxError);
    assert.throws(() => readTransferArgs({ FileName: 1 }, SerializeType.MsgPack), RpcxError);
    const meta = readTransferArgs(JSON.parse('{"meta":{"__proto__":"x"}}'), SerializeType.JSON).meta;
    assert.equal(meta.get('__proto__'), 'x');
  });

  test('dial addresses: :port and unspecified hosts mean the local host (Go net.Dial)', () => {
    assert.deepEqual(dialTarget(':8972'), { host: '127.0.0.1', port: 8972 });
    assert.deepEqual(dialTarget('0.0.0.0:1'), { host: '127.0.0.1', port: 1 });
    assert.deepEqual(dialTarget('[::1]:2'), { host: '::1', port: 2 });
    assert.deepEqual(dialTarget('example.test:3'), { host: 'example.test', port: 3 });
    for (const a of ['nope', ':0', ':x', 'h:70000', '']) assert.throws(() => dialTarget(a), (e: RpcxError) => e.code === 'PROTOCOL');
  });
});
