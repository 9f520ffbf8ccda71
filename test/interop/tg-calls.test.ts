// TG and TT interop cases: call semantics against the Go server peer (TG) and the TS `rpcx serve`
// (TT) — metadata, error texts, unknown service/method/codec, bad args, handler throws, deadlines,
// cancellation and timeouts. Each case runs in the directions of ../support/cases.ts.
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '../../src/client/client.js';
import { RpcxError, ServiceError } from '../../src/errors.js';
import { MessageStatusType, SerializeType, createMessage } from '../../src/protocol/index.js';
import { defaultCodecRegistry } from '../../src/codec/defaults.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import type { Codec } from '../../src/codec/types.js';
import { caseTest, peerName, peerOf, peerReady, startPeerServer, type PeerServer } from '../support/peer.js';
import { rejectsWith, sleep, type ArithReply, type SleepReply } from '../support/tg.js';

const msgpack = new MsgpackCodec();

for (const dir of ['TG', 'TT'] as const) describe(`${dir} call semantics (TS Client -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  let srv: PeerServer | undefined;
  let client: Client;
  const clients: Client[] = [];

  before(async () => {
    if (!peerReady(peerOf(dir))) return;
    srv = await startPeerServer(peerOf(dir));
    client = await Client.connect(srv.address);
    clients.push(client);
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await srv?.kill();
  });

  caseTest(dir, 'metadata_round_trip', async () => {
    const { reply, metadata } = await client.callWithMetadata('Echo', 'Metadata', {}, { metadata: { a: '1', b: 'two', 'Mixed-Case': 'V' } });
    assert.deepEqual(reply, {});
    assert.equal(metadata.get('a'), '1');
    assert.equal(metadata.get('b'), 'two');
    assert.equal(metadata.get('Mixed-Case'), 'V');
    // Go's client.Client.call adds __ServerAddress (the server's RemoteAddr) to the caller's map.
    assert.equal(metadata.get('__ServerAddress'), srv!.address.slice(srv!.address.indexOf('@') + 1));
    assert.equal(metadata.size, 4, 'nothing but the request metadata comes back, and __ServerAddress');
    // A Map works as well as an object, and reserved keys travel like any other.
    const r2 = await client.callWithMetadata('Echo', 'Metadata', {}, { metadata: new Map([['x', 'y']]), timeoutMs: 5_000 });
    assert.equal(r2.metadata.get('x'), 'y');
    assert.ok(r2.metadata.has('__ServerTimeout'));
    // A call without metadata gets none back.
    const r3 = await client.callWithMetadata('Arith', 'Mul', { A: 2, B: 2 });
    assert.equal(r3.metadata.size, 0);
  });

  caseTest(dir, 'metadata_many_entries', async () => {
    const md = new Map<string, string>();
    md.set('', 'empty key');
    md.set('empty-value', '');
    md.set('__proto__', 'not a prototype');
    md.set('constructor', 'c');
    for (let i = 0; md.size < 100; i++) md.set(`key-${i}`, `value-${i}-${'v'.repeat(i)}`);
    const { metadata } = await client.callWithMetadata('Echo', 'Metadata', {}, { metadata: md });
    assert.equal(metadata.size, 101, 'the 100 entries and __ServerAddress');
    for (const [k, v] of md) assert.equal(metadata.get(k), v, `entry ${JSON.stringify(k)}`);
    assert.equal(Object.getPrototypeOf({}), Object.prototype, 'no prototype pollution');
  });

  caseTest(dir, 'service_error_text', async () => {
    const texts = [
      'plain',
      'tab\there\tand\tthere',
      'cr\rlf\ncrlf\r\nend',
      'unicode é \u{1F600} 漢字 e\u0301',
      ' leading and trailing spaces ',
      'quote " backslash \\ percent %s %d',
      '',
    ];
    for (const text of texts) {
      const err = await rejectsWith(client.call('Echo', 'Error', { Text: text }), 'SERVICE', JSON.stringify(text));
      assert.ok(err instanceof ServiceError);
      assert.equal(err.message, text, 'Go text verbatim');
      assert.equal(err.metadata.get('__rpcx_error__'), text);
    }
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 }, 'connection still usable');
  });

  caseTest(dir, 'error_with_payload', async () => {
    for (const c of [client, await connect(srv!, { serializeType: SerializeType.JSON })]) {
      const err = await rejectsWith(c.call('Arith', 'Div', { A: 1, B: 0 }), 'SERVICE');
      assert.ok(err instanceof ServiceError);
      assert.equal(err.message, 'divide by zero');
      assert.deepEqual(err.reply, { C: -1 }, 'Go sends the encoded reply with the error; it is decoded');
    }
    // A raw handler's error reply has no payload.
    const err = await rejectsWith(client.call('RawArith', 'Div', { A: 1, B: 0 }), 'SERVICE');
    assert.equal(err.message, 'divide by zero');
    assert.equal((err as ServiceError).reply, undefined);
    assert.deepEqual(await client.call('Arith', 'Div', { A: 9, B: 3 }), { C: 3 });
  });

  caseTest(dir, 'unknown_service', async () => {
    const err = await rejectsWith(client.call('NoSuchService', 'Mul', { A: 1, B: 1 }), 'SERVICE');
    assert.equal(err.message, "rpcx: can't find service NoSuchService");
    const err2 = await rejectsWith(client.call('', 'Mul', { A: 1, B: 1 }), 'SERVICE');
    assert.equal(err2.message, "rpcx: can't find service ");
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 1, B: 1 }), { C: 1 });
  });

  caseTest(dir, 'unknown_method', async () => {
    const err = await rejectsWith(client.call('Arith', 'Pow', { A: 1, B: 1 }), 'SERVICE');
    assert.equal(err.message, "rpcx: can't find method Pow");
    const err2 = await rejectsWith(client.call('Arith', 'mul', { A: 1, B: 1 }), 'SERVICE');
    assert.equal(err2.message, "rpcx: can't find method mul", 'method names are case-sensitive');
  });

  caseTest(dir, 'unknown_codec', async () => {
    // A user codec under serialize type 9, which the Go server does not know.
    const nine: Codec = { serializeType: 9, name: 'nine', encode: (v) => msgpack.encode(v), decode: (d) => msgpack.decode(d) };
    const c = await connect(srv!, { codecs: defaultCodecRegistry().register(nine) });
    const err = await rejectsWith(c.call('Arith', 'Mul', { A: 1, B: 2 }, { serializeType: 9 }), 'SERVICE');
    assert.equal(err.message, 'can not find codec for 9');
    // Without a registered codec the client refuses locally, with the same text.
    const local = await rejectsWith(client.call('Arith', 'Mul', { A: 1, B: 2 }, { serializeType: 9 }), 'CODEC');
    assert.equal(local.message, 'can not find codec for 9');
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 1, B: 2 }), { C: 2 }, 'connection still usable');
  });

  caseTest(dir, 'bad_args', async () => {
    const c = await connect(srv!);
    const socket = c.socket;
    // Malformed msgpack (0xc1 is never used) through sendRaw, and through a codec that lies.
    const r = await c.sendRaw(
      createMessage({ serializeType: SerializeType.MsgPack, seq: 1n << 40n, servicePath: 'Arith', serviceMethod: 'Mul', payload: new Uint8Array([0xc1]) }),
      { timeoutMs: 5_000 },
    );
    assert.equal(r.message.messageStatusType, MessageStatusType.Error);
    const text = r.metadata.get('__rpcx_error__') ?? '';
    assert.equal(text, 'msgpack: unexpected code=c1 decoding map length', "vmihailenco/msgpack's error text");
    const liar: Codec = { serializeType: SerializeType.MsgPack, name: 'liar', encode: () => new Uint8Array([0x82, 0xa1, 0x41]), decode: (d) => msgpack.decode(d) };
    const bad = await connect(srv!, { codecs: defaultCodecRegistry().register(liar) });
    const err = await rejectsWith(bad.call('Arith', 'Mul', { A: 1, B: 2 }), 'SERVICE');
    assert.match(err.message, /EOF/);
    // JSON too.
    const jerr = await rejectsWith(
      c.sendRaw(createMessage({ serializeType: SerializeType.JSON, seq: (1n << 40n) + 1n, servicePath: 'Arith', serviceMethod: 'Mul', payload: Buffer.from('{"A":') })).then((x) => {
        if (x.message.messageStatusType === MessageStatusType.Error) throw new ServiceError(x.metadata.get('__rpcx_error__') ?? '', x.metadata);
      }),
      'SERVICE',
    );
    assert.equal(jerr.message, 'unexpected EOF');
    // The connection stays usable: same socket, more calls.
    assert.deepEqual(await c.call<ArithReply>('Arith', 'Mul', { A: 4, B: 5 }), { C: 20 });
    assert.equal(c.socket, socket, 'still the same connection');
    assert.deepEqual(await bad.call('Arith', 'Mul', { A: 4, B: 5 }, { serializeType: SerializeType.JSON }), { C: 20 });
  });

  caseTest(dir, 'deadline_propagation', async () => {
    const r = await client.call<SleepReply>('Echo', 'Sleep', { Ms: 10 }, { timeoutMs: 3_000 });
    assert.equal(r.HasDeadline, true, 'the Go handler sees a ctx deadline');
    assert.ok(Number(r.RemainingMs) > 2_500 && Number(r.RemainingMs) <= 3_000, `remaining ${r.RemainingMs} ms`);
    assert.equal(r.Cancelled, false);
    const { metadata } = await client.callWithMetadata('Echo', 'Metadata', {}, { timeoutMs: 1_234 });
    assert.equal(metadata.get('__ServerTimeout'), '1234', 'the timeout travels as __ServerTimeout in ms');
    // Without timeoutMs there is no deadline.
    const none = await client.call<SleepReply>('Echo', 'Sleep', { Ms: 1 });
    assert.equal(none.HasDeadline, false);
    // The server ends the handler at its deadline: given only as __ServerTimeout (a client
    // timeoutMs would override it, as Go's setServerTimeout does), the reply is Go's ctx error
    // with the reply payload.
    const err = await rejectsWith(client.call('Echo', 'Sleep', { Ms: 5_000 }, { metadata: { __ServerTimeout: '200' } }), 'SERVICE');
    assert.equal(err.message, 'context deadline exceeded');
    const reply = (err as ServiceError).reply as SleepReply;
    assert.equal(reply.Cancelled, true);
    assert.ok(Number(reply.SleptMs) >= 150 && Number(reply.SleptMs) < 2_000, `slept ${reply.SleptMs}`);
  });

  caseTest(dir, 'cancel_before_reply', async () => {
    const c = await connect(srv!);
    const socket = c.socket;
    const ac = new AbortController();
    const started = Date.now();
    const p = c.call('Echo', 'Sleep', { Ms: 300 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const err = await rejectsWith(p, 'CANCELLED');
    assert.ok(Date.now() - started < 250, 'rejected at the abort, not at the reply');
    assert.equal(c.pendingCalls, 0, 'the pending entry is gone');
    // A typed reason is passed through.
    const ac2 = new AbortController();
    const p2 = c.call('Echo', 'Sleep', { Ms: 300 }, { signal: ac2.signal });
    ac2.abort(new RpcxError('CANCELLED', 'user gave up'));
    assert.equal((await rejectsWith(p2, 'CANCELLED')).message, 'user gave up');
    // An already aborted signal never sends.
    await rejectsWith(c.call('Echo', 'Sleep', { Ms: 1 }, { signal: AbortSignal.abort() }), 'CANCELLED');
    assert.ok(err instanceof RpcxError);
    // Wait for the late replies: dropped, no crash, the connection stays usable.
    await sleep(400);
    assert.equal(c.socket, socket);
    assert.equal(c.isConnected, true);
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
  });

  caseTest(dir, 'timeout_on_sleeping_server', async () => {
    for (const timeoutMs of [400, 1_000]) {
      const started = Date.now();
      const err = await rejectsWith(client.call('Echo', 'Sleep', { Ms: 10_000 }, { timeoutMs }), 'TIMEOUT');
      const took = Date.now() - started;
      assert.ok(took >= timeoutMs - 5 && took < timeoutMs * 1.5, `timed out after ${took} ms for ${timeoutMs}`);
      assert.match(err.message, /timed out/);
    }
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 1, B: 9 }), { C: 9 }, 'connection still usable');
    assert.equal(client.pendingCalls, 0);
  });

  caseTest(dir, 'handler_throws', async () => {
    // Echo.Throw (TS demo only; a Go handler cannot throw): `Text` selects what is thrown.
    const err = await rejectsWith(client.call('Echo', 'Throw', { Text: 'thrown\tverbatim' }), 'SERVICE', 'Error');
    assert.ok(err instanceof ServiceError);
    assert.equal(err.message, 'thrown\tverbatim', "an Error's message verbatim");
    assert.equal(err.metadata.get('__rpcx_error__'), 'thrown\tverbatim');
    // Non-Error values: their String() is the text.
    for (const [kind, text] of [['string', 'thrown string'], ['object', '[object Object]'], ['null', 'null'], ['reject', 'rejected']]) {
      const e = await rejectsWith(client.call('Echo', 'Throw', { Text: kind }), 'SERVICE', kind);
      assert.equal(e.message, text, kind);
    }
    // The server stays up, on the same connection and for new ones.
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 2, B: 21 }), { C: 42 });
    assert.deepEqual(await (await connect(srv!)).call('Arith', 'Mul', { A: 3, B: 3 }), { C: 9 });
    assert.equal(srv!.proc.exitCode, null, 'the server process is alive');
  });

  async function connect(g: PeerServer, options: Parameters<typeof Client.connect>[1] = {}): Promise<Client> {
    const c = await Client.connect(g.address, options);
    clients.push(c);
    return c;
  }
});
