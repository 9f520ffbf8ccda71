// TG and TT interop cases that look at the wire (directions from ../support/cases.ts): every
// client talks to the server peer (Go for TG, the TS `rpcx serve` for TT) through a recording proxy (../support/frame-proxy.ts) so the tests can see the compress bit, heartbeat
// echo bytes, the absence of a oneway reply, reply order and metadata bytes.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Client } from '../../src/client/client.js';
import { CompressType, MessageType, SerializeType, createMessage, heartbeatRequest, readHeartbeatPayload } from '../../src/protocol/index.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { caseTest, peerName, peerOf, peerReady, startPeerServer, type PeerServer } from '../support/peer.js';
import { startFrameProxy, type FrameProxy } from '../support/frame-proxy.js';
import { sleep, until, type ArithReply, type SleepReply } from '../support/tg.js';

const msgpack = new MsgpackCodec();

for (const dir of ['TG', 'TT'] as const) describe(`${dir} wire-level cases (TS Client -> proxy -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  let srv: PeerServer | undefined;
  let proxy: FrameProxy | undefined;
  const clients: Client[] = [];
  const open = async (options: Parameters<typeof Client.connect>[1] = {}): Promise<Client> => {
    const c = await Client.connect(proxy!.address, options);
    clients.push(c);
    return c;
  };

  before(async () => {
    if (!peerReady(peerOf(dir))) return;
    srv = await startPeerServer(peerOf(dir));
    proxy = await startFrameProxy(srv.address);
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await proxy?.close();
    await srv?.kill();
  });

  caseTest(dir, 'gzip_above_threshold', async () => {
    const c = await open({ compressType: CompressType.Gzip, serializeType: SerializeType.SerializeNone });
    const data = randomBytes(1025);
    const reply = await c.call<Uint8Array>('Echo', 'Bytes', data);
    assert.ok(Buffer.from(reply).equals(data), 'reply intact');
    const req = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Bytes' && f.msg.payload.length === 1025);
    assert.equal(req.length, 1);
    assert.equal(req[0]!.msg.compressType, CompressType.Gzip, '1025-byte request goes compressed');
    assert.equal(req[0]!.bytes[2]! & 0x1c, 0x04, 'compress bits of header byte 2 say gzip');
    const res = proxy!.select('s2c', (f) => f.msg.seq === req[0]!.msg.seq);
    assert.equal(res[0]!.msg.compressType, CompressType.Gzip, '1025-byte reply to a compressed request is compressed');

    // A compressed request whose reply is small: the reply is not compressed.
    const mp = await open({ compressType: CompressType.Gzip });
    await mp.call('Echo', 'Metadata', { Junk: 'x'.repeat(2000) });
    const req2 = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Metadata' && f.msg.payload.length > 1024);
    assert.equal(req2.length, 1);
    assert.equal(req2[0]!.msg.compressType, CompressType.Gzip);
    const res2 = proxy!.select('s2c', (f) => f.conn === req2[0]!.conn && f.msg.seq === req2[0]!.msg.seq);
    assert.equal(res2[0]!.msg.payload.length, 1, 'reply is msgpack {}');
    assert.equal(res2[0]!.msg.compressType, CompressType.None, 'a reply of <= 1024 bytes is not compressed');
  });

  caseTest(dir, 'gzip_at_threshold', async () => {
    const c = await open({ compressType: CompressType.Gzip, serializeType: SerializeType.SerializeNone });
    const data = randomBytes(1024);
    const reply = await c.call<Uint8Array>('Echo', 'Bytes', data);
    assert.ok(Buffer.from(reply).equals(data));
    const req = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Bytes' && f.msg.payload.length === 1024);
    assert.equal(req.length, 1);
    assert.equal(req[0]!.msg.compressType, CompressType.None, '1024-byte request is not compressed');
    assert.equal(req[0]!.bytes.length, 16 + 4 + 4 + 4 + 5 + 4 + 4 + 1024, 'payload on the wire is the raw 1024 bytes');
    const res = proxy!.select('s2c', (f) => f.conn === req[0]!.conn && f.msg.seq === req[0]!.msg.seq);
    assert.equal(res[0]!.msg.compressType, CompressType.None);
  });

  caseTest(dir, 'gzip_reply_needs_compressed_request', async () => {
    // Large payload, but the client does not compress: the large reply must not be compressed.
    const plain = await open({ serializeType: SerializeType.SerializeNone });
    const data = randomBytes(8192);
    assert.ok(Buffer.from(await plain.call<Uint8Array>('Echo', 'Bytes', data)).equals(data));
    const req = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Bytes' && f.msg.payload.length === 8192);
    assert.equal(req.length, 1);
    assert.equal(req[0]!.msg.compressType, CompressType.None);
    const res = proxy!.select('s2c', (f) => f.conn === req[0]!.conn && f.msg.seq === req[0]!.msg.seq);
    assert.equal(res.length, 1);
    assert.equal(res[0]!.msg.payload.length, 8192);
    assert.equal(res[0]!.msg.compressType, CompressType.None, 'an 8 KiB reply to an uncompressed request is not compressed');
    assert.equal(res[0]!.bytes[2]! & 0x1c, 0, 'compress bits clear');
    // A gzip client whose request is small (<= 1024 B, so sent uncompressed) gets a large reply
    // uncompressed too: the reply follows the request's compress type. Echo.Object replies every
    // field of Go's Object, so a ~1000-byte request gets a larger reply.
    const gz = await open({ compressType: CompressType.Gzip });
    const obj = await gz.call<Record<string, unknown>>('Echo', 'Object', { String: 'x'.repeat(1_000) });
    assert.equal(obj['String'], 'x'.repeat(1_000));
    const req2 = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Object' && f.msg.payload.length > 1_000);
    assert.equal(req2.length, 1);
    assert.ok(req2[0]!.msg.payload.length <= 1024);
    assert.equal(req2[0]!.msg.compressType, CompressType.None, 'a small request goes uncompressed');
    const res2 = proxy!.select('s2c', (f) => f.conn === req2[0]!.conn && f.msg.seq === req2[0]!.msg.seq);
    assert.ok(res2[0]!.msg.payload.length > 1024, `the reply is large: ${res2[0]!.msg.payload.length} B`);
    assert.equal(res2[0]!.msg.compressType, CompressType.None, 'not compressed');
  });

  caseTest(dir, 'metadata_non_utf8', async () => {
    const c = await open();
    // Lone surrogates U+DC80..U+DCFF stand for the raw bytes 0x80..0xff (surrogateescape).
    const value = 'a\uDCFFb\uDC80\uDCC3(';
    const key = 'k\uDCFE';
    const { metadata } = await c.callWithMetadata('Echo', 'Metadata', {}, { metadata: { [key]: value } });
    assert.equal(metadata.get(key), value, 'the bytes came back untouched');
    const req = proxy!.select('c2s', (f) => f.msg.metadata.has(key));
    assert.equal(req.length, 1);
    const wireValue = Buffer.from([0x61, 0xff, 0x62, 0x80, 0xc3, 0x28]);
    assert.ok(req[0]!.bytes.includes(wireValue), 'the request carries the raw invalid UTF-8 bytes');
    const res = proxy!.select('s2c', (f) => f.conn === req[0]!.conn && f.msg.seq === req[0]!.msg.seq);
    assert.ok(res[0]!.bytes.includes(wireValue), 'Go echoed the raw bytes');
  });

  caseTest(dir, 'oneway', async () => {
    const c = await open();
    const key = `oneway-${process.pid}-${Date.now()}`;
    await c.oneway('Echo', 'Count', { Key: key });
    await c.oneway('Echo', 'Count', { Key: key });
    // The handler ran: a later call sees it (Go runs each request in its own goroutine, so poll).
    let count = 0;
    const deadline = Date.now() + 3_000;
    while (count < 2 && Date.now() < deadline) {
      count = Number((await c.call<{ Count: number }>('Echo', 'GetCount', { Key: key })).Count);
      if (count < 2) await sleep(20);
    }
    assert.equal(count, 2, 'both oneway handlers ran');
    const sent = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Count' && f.msg.metadata.size === 0 && msgpackKey(f.msg.payload) === key);
    assert.equal(sent.length, 2);
    for (const f of sent) {
      assert.equal(f.msg.oneway, true, 'oneway flag set');
      assert.equal(f.bytes[2]! & 0x20, 0x20);
    }
    await sleep(100);
    const replies = proxy!.select('s2c', (f) => f.conn === sent[0]!.conn && sent.some((s) => s.msg.seq === f.msg.seq));
    assert.equal(replies.length, 0, 'no reply is written for a oneway request');
    assert.equal(c.pendingCalls, 0);
  });

  caseTest(dir, 'seq_beyond_2_53', async () => {
    const c = await open();
    for (const seq of [2n ** 53n + 1n, 2n ** 63n + 7n, 2n ** 64n - 1n]) {
      const msg = createMessage({
        serializeType: SerializeType.MsgPack,
        seq,
        servicePath: 'Arith',
        serviceMethod: 'Mul',
        payload: msgpack.encode({ A: 6, B: 7 }),
      });
      const r = await c.sendRaw(msg, { timeoutMs: 5_000 });
      assert.equal(r.message.seq, seq, 'the reply seq is the request seq, exactly');
      assert.deepEqual(msgpack.decode(r.payload), { C: 42 });
      const wire = proxy!.select('s2c', (f) => f.msg.seq === seq);
      assert.equal(wire.length, 1);
      assert.equal(wire[0]!.bytes.readBigUInt64BE(4), seq, 'seq bytes on the wire');
    }
    // Ordinary calls keep working next to those seqs.
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
  });

  caseTest(dir, 'concurrent_out_of_order', async () => {
    const c = await open();
    const N = 1_000;
    // The first LATE sleeping calls sleep far longer than it takes to send and answer everything else, so
    // their replies must come back last whatever the machine's load; the other even calls sleep on a
    // gradient (earlier = longer) and the odd ones are answered at once.
    const LATE = 10;
    const calls: Promise<void>[] = [];
    for (let i = 0; i < N; i++) {
      if (i % 2 === 0) {
        const ms = i < 2 * LATE ? 1_500 : 20 + Math.floor(((N - i) * 80) / N);
        calls.push(
          c.call<SleepReply>('Echo', 'Sleep', { Ms: ms }, { timeoutMs: 10_000 }).then((r) => {
            assert.ok(Number(r.SleptMs) >= ms - 1, `call ${i}: slept ${r.SleptMs} < ${ms}`);
            assert.ok(Number(r.SleptMs) < ms + 2_000, `call ${i}: slept ${r.SleptMs}`);
          }),
        );
      } else {
        calls.push(
          c.call<ArithReply>('Arith', 'Mul', { A: i, B: i + 1 }, { timeoutMs: 10_000 }).then((r) => {
            assert.equal(r.C, i * (i + 1), `call ${i} got another call's reply`);
          }),
        );
      }
    }
    assert.equal(c.pendingCalls, N, 'all 1,000 calls in flight at once on one connection');
    await Promise.all(calls);
    assert.equal(c.pendingCalls, 0);
    const conn = proxy!.select('c2s', (f) => f.msg.serviceMethod === 'Sleep')[0]!.conn;
    const reqSeqs = proxy!.select('c2s', (f) => f.conn === conn && !f.msg.heartbeat).map((f) => f.msg.seq);
    const resSeqs = proxy!.select('s2c', (f) => f.conn === conn && !f.msg.heartbeat).map((f) => f.msg.seq);
    assert.equal(reqSeqs.length, N);
    assert.equal(resSeqs.length, N);
    assert.equal(new Set(resSeqs).size, N);
    // Requests went out in call order; the replies of the first calls came back last.
    const lateSeqs = reqSeqs.filter((_, i) => i % 2 === 0 && i < 2 * LATE).map(String).sort();
    assert.deepEqual(resSeqs.slice(-LATE).map(String).sort(), lateSeqs, 'the long sleeps answered last');
    assert.notDeepEqual(resSeqs, reqSeqs);
  });

  caseTest(dir, 'heartbeat_echo_exact', async () => {
    const c = await open({ heartbeat: true, heartbeatIntervalMs: 100, maxWaitForHeartbeatMs: 2_000 });
    await c.call('Arith', 'Mul', { A: 1, B: 1 });
    const conn = proxy!.frames.at(-1)!.conn;
    const hb = await proxy!.waitFor('c2s', (f) => f.conn === conn && f.msg.heartbeat, 3_000);
    // Go's heartbeat request: flag 0x40, msgpack, empty path/method/metadata, d3 + int64 ns.
    assert.equal(hb.bytes[2], 0x40);
    assert.equal(hb.bytes[3], 0x30);
    assert.equal(hb.msg.servicePath, '');
    assert.equal(hb.msg.serviceMethod, '');
    assert.equal(hb.msg.metadata.size, 0);
    const ns = readHeartbeatPayload(hb.msg.payload);
    assert.ok(ns !== undefined && ns > 1_600_000_000_000_000_000n, 'payload is msgpack int64 UnixNano');
    const echo = await proxy!.waitFor('s2c', (f) => f.conn === conn && f.msg.seq === hb.msg.seq, 3_000);
    const expected = Buffer.from(hb.bytes);
    expected[2] = expected[2]! | 0x80;
    assert.deepEqual(echo.bytes, expected, 'the reply is the request with the response bit set, byte for byte');
    assert.equal(echo.bytes[2], 0xc0);

    // A oneway heartbeat is answered too, with the oneway bit echoed (40|20 -> c0|20).
    const seq = 2n ** 62n + 5n;
    const req = heartbeatRequest(seq, BigInt(Date.now()) * 1_000_000n);
    req.oneway = true;
    req.metadata.set('x', 'y');
    await c.sendRaw(req);
    const ow = await proxy!.waitFor('c2s', (f) => f.msg.seq === seq, 3_000);
    assert.equal(ow.bytes[2], 0x60);
    const owEcho = await proxy!.waitFor('s2c', (f) => f.msg.seq === seq, 3_000);
    const owExpected = Buffer.from(ow.bytes);
    owExpected[2] = 0xe0;
    assert.deepEqual(owEcho.bytes, owExpected);
    assert.equal(owEcho.msg.messageType, MessageType.Response);
    // The client dropped that reply (unknown seq) and the connection is fine.
    await until(() => c.pendingCalls === 0, 1_000, 'no pending calls');
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 2 }), { C: 4 });
  });
});

function msgpackKey(payload: Uint8Array): string | undefined {
  try {
    return (msgpack.decode(payload) as { Key?: string }).Key;
  } catch {
    return undefined;
  }
}
