// TG and TT interop cases: TS Client -> Go rpcx v1.9.4 server peer (interop/go/cmd/server) and
// -> the TS `rpcx serve`, each case in the directions of ../support/cases.ts. Payloads and codecs: empty/raw/large payloads, msgpack, JSON, protobuf, thrift, int64 extremes,
// unicode, time, nested/nil values. See ../../../shared/interop-cases.md (the case table).
import { after, before, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '../../src/client/client.js';
import { SerializeType } from '../../src/protocol/index.js';
import { defaultCodecRegistry } from '../../src/codec/defaults.js';
import { MsgpackCodec } from '../../src/codec/msgpack.js';
import { JsonCodec } from '../../src/codec/json.js';
import { ProtobufCodec, loadProtoSchemas } from '../../src/codec/protobuf.js';
import { ThriftCodec, type ThriftStruct } from '../../src/codec/thrift.js';
import { Timestamp } from '../../src/codec/timestamp.js';
import { Float32 } from '../../src/codec/gotypes.js';
import { repoRoot } from '../support/go.js';
import { caseTest, peerName, peerOf, peerReady, startPeerServer, type PeerServer } from '../support/peer.js';
import { type ArithReply } from '../support/tg.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const P53 = 2n ** 53n + 1n;

/** A full Go `services.Object` with every field set (Float32 exact in float32). */
function sampleObject(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    Int: -7,
    Int8: -128,
    Int16: 32767,
    Int32: -2147483648,
    Int64: 1234567890123,
    Uint: 7,
    Uint8: 255,
    Uint16: 65535,
    Uint32: 4294967295,
    Uint64: 42,
    Float32: new Float32(1.5),
    Float64: 3.141592653589793,
    Bool: true,
    String: 'hello',
    Bytes: new Uint8Array([0, 1, 2, 255]),
    Time: new Timestamp(1_700_000_000n, 123_456_789),
    Nested: { Name: 'nested', Value: 5 },
    Ptr: { Name: 'ptr', Value: 6 },
    NilPtr: null,
    Ints: [1, 2, 3],
    Strings: ['a', 'b'],
    Items: [{ Name: 'i0', Value: 0 }],
    MapSS: { k: 'v' },
    MapSI: { one: 1 },
    ...over,
  };
}

for (const dir of ['TG', 'TT'] as const) describe(`${dir} codecs and payloads (TS Client -> ${peerName(peerOf(dir))} server)`, { timeout: 60_000 }, () => {
  let srv: PeerServer | undefined;
  let client: Client;
  let json: Client;
  const clients: Client[] = [];

  before(async () => {
    if (!peerReady(peerOf(dir))) return;
    srv = await startPeerServer(peerOf(dir));
    client = await Client.connect(srv.address);
    json = await Client.connect(srv.address, { serializeType: SerializeType.JSON });
    clients.push(client, json);
  });

  after(async () => {
    for (const c of clients) await c.close({ graceful: false });
    await srv?.kill();
  });

  caseTest(dir, 'empty_payload', async () => {
    // A 0-byte SerializeNone request to Echo.Bytes gets a 0-byte reply.
    const reply = await client.call<Uint8Array>('Echo', 'Bytes', new Uint8Array(0), { serializeType: SerializeType.SerializeNone });
    assert.ok(reply instanceof Uint8Array);
    assert.equal(reply.length, 0);
    const raw = await client.callWithMetadata<Uint8Array>('Echo', 'Bytes', new Uint8Array(0), { serializeType: SerializeType.SerializeNone });
    assert.equal(raw.reply.length, 0);
  });

  caseTest(dir, 'arith_msgpack', async () => {
    assert.deepEqual(await client.call<ArithReply>('Arith', 'Mul', { A: 7, B: 6 }), { C: 42 });
    assert.deepEqual(await client.call<ArithReply>('Arith', 'Add', { A: -3, B: 10 }), { C: 7 });
    assert.deepEqual(await client.call<ArithReply>('RawArith', 'Mul', { A: 3, B: 5 }), { C: 15 });
  });

  caseTest(dir, 'arith_json', async () => {
    assert.deepEqual(await json.call<ArithReply>('Arith', 'Mul', { A: 7, B: 6 }), { C: 42 });
    // Per-call serialize type on the msgpack client too.
    assert.deepEqual(await client.call<ArithReply>('Arith', 'Add', { A: 40, B: 2 }, { serializeType: SerializeType.JSON }), { C: 42 });
  });

  caseTest(dir, 'arith_protobuf', async () => {
    const root = await loadProtoSchemas(join(repoRoot, 'interop', 'proto', 'arith.proto'));
    const ArithArgs = root.lookupType('rpcx.interop.ArithArgs');
    const ArithReply = root.lookupType('rpcx.interop.ArithReply');
    const codecs = defaultCodecRegistry().register(new ProtobufCodec());
    const pb = await Client.connect(srv!.address, { serializeType: SerializeType.ProtoBuffer, codecs });
    clients.push(pb);
    const opts = { argsCodec: { type: ArithArgs }, replyCodec: { type: ArithReply } };
    assert.deepEqual(await pb.call('ArithPB', 'Mul', { A: 7n, B: 6n }, opts), { C: 42n });
    assert.deepEqual(await pb.call('ArithPB', 'Mul', { A: 2n ** 40n, B: 2n ** 20n }, opts), { C: 2n ** 60n });
    // proto3 zero: C = 0 is absent on the wire, so the reply is empty.
    assert.deepEqual(await pb.call('ArithPB', 'Mul', { A: 0n, B: 6n }, opts), {});
  });

  caseTest(dir, 'arith_thrift', async () => {
    const ArithArgs: ThriftStruct = { name: 'ArithArgs', fields: [{ id: 1, name: 'A', type: 'i64' }, { id: 2, name: 'B', type: 'i64' }] };
    const ArithReply: ThriftStruct = { name: 'ArithReply', fields: [{ id: 1, name: 'C', type: 'i64' }] };
    const codecs = defaultCodecRegistry().register(new ThriftCodec());
    const th = await Client.connect(srv!.address, { serializeType: SerializeType.Thrift, codecs });
    clients.push(th);
    const opts = { argsCodec: { type: ArithArgs }, replyCodec: { type: ArithReply } };
    assert.deepEqual(await th.call('ArithThrift', 'Mul', { A: 7n, B: 6n }, opts), { C: 42n });
    assert.deepEqual(await th.call('ArithThrift', 'Add', { A: -(2n ** 62n), B: 1n }, opts), { C: -(2n ** 62n) + 1n });
  });

  caseTest(dir, 'raw_all_bytes', async () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const reply = await client.call<Uint8Array>('Echo', 'Bytes', all, { serializeType: SerializeType.SerializeNone });
    assert.deepEqual(Buffer.from(reply), Buffer.from(all));
    // Every byte value also as a msgpack bin and as JSON base64.
    assert.deepEqual(Buffer.from(await client.call<Uint8Array>('Echo', 'Bytes', all)), Buffer.from(all));
    const viaJson = await json.call<string>('Echo', 'Bytes', all);
    assert.equal(viaJson, Buffer.from(all).toString('base64'));
  });

  caseTest(dir, 'large_payload', async () => {
    const big = randomBytes(4 * 1024 * 1024);
    const reply = await client.call<Uint8Array>('Echo', 'Bytes', big, { serializeType: SerializeType.SerializeNone, timeoutMs: 20_000 });
    assert.equal(reply.length, big.length);
    assert.equal(createHash('sha256').update(reply).digest('hex'), createHash('sha256').update(big).digest('hex'));
    // Also as msgpack bin, two at once on the same connection.
    const [a, b] = await Promise.all([
      client.call<Uint8Array>('Echo', 'Bytes', big, { timeoutMs: 20_000 }),
      client.call<Uint8Array>('Echo', 'Bytes', big.subarray(1), { timeoutMs: 20_000 }),
    ]);
    assert.ok(Buffer.from(a).equals(big));
    assert.ok(Buffer.from(b).equals(big.subarray(1)));
  });

  caseTest(dir, 'int64_extremes', async () => {
    const obj = sampleObject({ Int: INT64_MAX, Int64: INT64_MIN, Uint64: UINT64_MAX, Uint: P53, Ints: [INT64_MIN, INT64_MAX, P53, -P53] });
    for (const [name, c] of [['msgpack', client], ['json', json]] as const) {
      const r = await c.call<Record<string, unknown>>('Echo', 'Object', obj);
      assert.equal(r['Int'], INT64_MAX, `${name} Int`);
      assert.equal(r['Int64'], INT64_MIN, `${name} Int64`);
      assert.equal(r['Uint64'], UINT64_MAX, `${name} Uint64`);
      assert.equal(r['Uint'], P53, `${name} Uint`);
      assert.deepEqual(r['Ints'], [INT64_MIN, INT64_MAX, P53, -P53], `${name} Ints`);
    }
    // 2^53+1 as Arith arguments: Go computes with exact int64s.
    assert.deepEqual(await client.call('Arith', 'Add', { A: P53, B: 1 }), { C: P53 + 1n });
    assert.deepEqual(await json.call('Arith', 'Add', { A: P53, B: 1 }), { C: P53 + 1n });
    assert.deepEqual(await client.call('Arith', 'Add', { A: INT64_MAX, B: 0 }), { C: INT64_MAX });
    assert.deepEqual(await json.call('Arith', 'Mul', { A: INT64_MIN, B: 1 }), { C: INT64_MIN });
  });

  caseTest(dir, 'unicode_strings', async () => {
    const text = 'e\u0301 \u{1F600} \u{1D11E} 漢字 \u200d \uFEFF';
    for (const [name, c] of [['msgpack', client], ['json', json]] as const) {
      const r = await c.call<Record<string, unknown>>('Echo', 'Object', sampleObject({ String: text, Strings: [text, ''], MapSS: { [text]: text } }));
      assert.equal(r['String'], text, name);
      assert.deepEqual(r['Strings'], [text, ''], name);
      assert.deepEqual(r['MapSS'], { [text]: text }, name);
    }
    const { metadata } = await client.callWithMetadata('Echo', 'Metadata', {}, { metadata: { [text]: text, k: '\u{10FFFF}' } });
    assert.equal(metadata.get(text), text);
    assert.equal(metadata.get('k'), '\u{10FFFF}');
    // Service path/method with non-ASCII text reach Go byte for byte (echoed in its error text).
    await assert.rejects(client.call('Échо', 'Mul', {}), { message: `rpcx: can't find service Échо` });
  });

  caseTest(dir, 'time_values', async () => {
    // msgpack: ext -1 with nanoseconds, decoded losslessly with { time: 'timestamp' }.
    const codecs = defaultCodecRegistry().register(new MsgpackCodec({ time: 'timestamp' })).register(new JsonCodec());
    const ts = await Client.connect(srv!.address, { codecs });
    clients.push(ts);
    const cases = [
      new Timestamp(1_700_000_000n, 123_456_789),
      new Timestamp(0n, 0), // the Unix epoch (4-byte ext)
      new Timestamp(-62_135_596_800n, 0), // Go's zero time.Time (12-byte ext)
      new Timestamp(17_179_869_184n, 1), // past 2^34 seconds (12-byte ext)
      new Timestamp(-1n, 999_999_999),
    ];
    for (const when of cases) {
      const r = await ts.call<Record<string, unknown>>('Echo', 'Object', sampleObject({ Time: when }));
      assert.ok(r['Time'] instanceof Timestamp, 'msgpack Time decodes to a Timestamp');
      assert.ok((r['Time'] as Timestamp).equals(when), `msgpack ${when.toString()} came back as ${String(r['Time'])}`);
    }
    // A Date (milliseconds) with the default codec.
    const d = new Date('2024-02-29T12:34:56.789Z');
    const rd = await client.call<Record<string, unknown>>('Echo', 'Object', sampleObject({ Time: d }));
    assert.ok(rd['Time'] instanceof Date);
    assert.equal((rd['Time'] as Date).getTime(), d.getTime());
    // JSON: RFC 3339 text, nanoseconds and zone offset kept by Go.
    for (const text of ['2024-02-29T12:34:56.123456789Z', '2024-02-29T12:34:56+05:30', '0001-01-01T00:00:00Z', '1969-12-31T23:59:59.999999999-08:00']) {
      const r = await json.call<Record<string, unknown>>('Echo', 'Object', sampleObject({ Time: Timestamp.parse(text) }));
      assert.equal(r['Time'], text, 'JSON time.Time is RFC 3339 text, echoed as Go formats it');
    }
  });

  caseTest(dir, 'nested_and_nil', async () => {
    const obj = sampleObject({
      Nested: { Name: 'n', Value: -1 },
      Ptr: { Name: 'p', Value: 2 },
      NilPtr: null,
      Ints: null, // nil slice
      Strings: [], // empty slice
      Items: [{ Name: 'a', Value: 1 }, { Name: 'b', Value: 2 }],
      MapSS: null, // nil map
      MapSI: {}, // empty map
    });
    for (const [name, c] of [['msgpack', client], ['json', json]] as const) {
      const r = await c.call<Record<string, unknown>>('Echo', 'Object', obj);
      assert.deepEqual(r['Nested'], { Name: 'n', Value: -1 }, name);
      assert.deepEqual(r['Ptr'], { Name: 'p', Value: 2 }, name);
      assert.equal(r['NilPtr'], null, `${name}: nil pointer stays nil`);
      assert.equal(r['Ints'], null, `${name}: nil slice stays nil`);
      assert.deepEqual(r['Strings'], [], `${name}: empty slice stays empty`);
      assert.deepEqual(r['Items'], [{ Name: 'a', Value: 1 }, { Name: 'b', Value: 2 }], name);
      assert.equal(r['MapSS'], null, `${name}: nil map stays nil`);
      assert.deepEqual(r['MapSI'], {}, `${name}: empty map stays empty`);
    }
    // Fields left out are Go zero values in the reply.
    const r = await client.call<Record<string, unknown>>('Echo', 'Object', { Int: 1 });
    assert.equal(r['String'], '');
    assert.equal(r['Ptr'], null);
    assert.deepEqual(r['Nested'], { Name: '', Value: 0 });
  });
});
