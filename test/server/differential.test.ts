// Differential test: the same request frames (malformed ones included) go to the Go rpcx server
// peer (interop/go/bin/server) and to this Node server with the demo services; the reply frames
// must be equal byte for byte (compared decoded where gzip output or metadata order may differ).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createMessage, encodeMessage, heartbeatRequest, type MessageInit } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { requireGo } from '../support/go.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { RawClient } from './support.js';

const hx = (s: string): Uint8Array => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const req = (init: MessageInit): Uint8Array => encodeMessage(createMessage({ seq: 7n, ...init }), { compressors: defaultCompressors });

/** Thrift TBinaryProtocol struct {1: i64 A, 2: i64 B}. */
function thriftArith(a: bigint, b: bigint): Uint8Array {
  const buf = Buffer.alloc(3 + 8 + 3 + 8 + 1);
  buf.writeUInt8(10, 0);
  buf.writeInt16BE(1, 1);
  buf.writeBigInt64BE(a, 3);
  buf.writeUInt8(10, 11);
  buf.writeInt16BE(2, 12);
  buf.writeBigInt64BE(b, 14);
  return buf;
}

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const big = Buffer.alloc(3000, 'rpcx ');

/** Requests sent to both servers, one connection each. `known` marks a documented deviation. */
const CASES: { name: string; bytes: Uint8Array; known?: string }[] = [
  { name: 'arith msgpack', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 0a a1 42 14') }) },
  { name: 'arith json, request metadata', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 1, metadata: { a: 'b' }, payload: Buffer.from('{"A":10,"B":20}') }) },
  { name: 'arith add negative', bytes: req({ servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: hx('82 a1 41 d0 9c a1 42 05') }) },
  { name: 'div by zero: error with payload', bytes: req({ servicePath: 'Arith', serviceMethod: 'Div', serializeType: 3, payload: hx('82 a1 41 01 a1 42 00') }) },
  { name: 'raw handler div by zero: no payload', bytes: req({ servicePath: 'RawArith', serviceMethod: 'Div', serializeType: 3, payload: hx('82 a1 41 01 a1 42 00') }) },
  { name: 'raw handler mul', bytes: req({ servicePath: 'RawArith', serviceMethod: 'Mul', serializeType: 1, payload: Buffer.from('{"A":3,"B":4}') }) },
  { name: 'handler shadows method', bytes: req({ servicePath: 'Echo', serviceMethod: 'Via', serializeType: 3, payload: hx('80') }) },
  { name: 'unknown service', bytes: req({ servicePath: 'Nope', serviceMethod: 'Mul', serializeType: 3, payload: hx('80') }) },
  { name: 'unknown method', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul2', serializeType: 3, payload: hx('80') }) },
  { name: 'unknown codec', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 9, payload: hx('80') }) },
  { name: 'unknown service wins over unknown codec', bytes: req({ servicePath: 'Nope', serviceMethod: 'Mul', serializeType: 9 }) },
  { name: 'empty path and method, no heartbeat flag', bytes: req({ serializeType: 3 }) },
  { name: 'empty msgpack payload: EOF', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3 }) },
  { name: 'empty JSON payload: EOF', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 1 }) },
  { name: 'string for int (msgpack)', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 a1 78 a1 42 01') }) },
  { name: 'msgpack args not a map: Go struct decode text', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('c1') }) },
  { name: 'msgpack args a string: Go struct decode text', bytes: req({ servicePath: 'Echo', serviceMethod: 'Object', serializeType: 3, payload: hx('a1 41') }) },
  { name: 'raw handler args not a map', bytes: req({ servicePath: 'RawArith', serviceMethod: 'Add', serializeType: 3, payload: hx('05') }) },
  { name: 'string for int (JSON)', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 1, payload: Buffer.from('{"A":"x","B":1}') }) },
  { name: 'error text verbatim', bytes: req({ servicePath: 'Echo', serviceMethod: 'Error', serializeType: 3, payload: Buffer.concat([hx('81 a4'), Buffer.from('Text'), hx('b3'), Buffer.from('tab\there\r\n\u00e9\u{1F600}!')]) }) },
  { name: 'error text, JSON', bytes: req({ servicePath: 'Echo', serviceMethod: 'Error', serializeType: 1, payload: Buffer.from('{"Text":"boom"}') }) },
  { name: 'raw bytes, all 256 values', bytes: req({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: 0, payload: allBytes }) },
  { name: 'gzip request above threshold', bytes: req({ servicePath: 'Echo', serviceMethod: 'Bytes', serializeType: 0, compressType: 1, payload: big }) },
  { name: 'gzip request, small reply', bytes: req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, compressType: 1, payload: hx('82 a1 41 0a a1 42 14') }) },
  { name: 'one metadata entry reflected', bytes: req({ servicePath: 'Echo', serviceMethod: 'Metadata', serializeType: 3, metadata: { k: 'v\u00ff' }, payload: hx('80') }) },
  { name: 'counter', bytes: req({ servicePath: 'Echo', serviceMethod: 'GetCount', serializeType: 3, payload: hx('81 a3 4b 65 79 a4 6e 6f 6e 65') }) },
  { name: 'seq 2^64-1', bytes: req({ seq: (1n << 64n) - 1n, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }) },
  { name: 'response-typed frame is dispatched', bytes: req({ messageType: 1, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }) },
  { name: 'version byte echoed', bytes: req({ version: 7, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }) },
  { name: 'status bits echoed', bytes: req({ messageStatusType: 3, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }) },
  { name: 'protobuf ArithPB.Mul', bytes: req({ servicePath: 'ArithPB', serviceMethod: 'Mul', serializeType: 2, payload: hx('08 0a 10 14') }) },
  { name: 'protobuf ArithPB.Div by zero', bytes: req({ servicePath: 'ArithPB', serviceMethod: 'Div', serializeType: 2, payload: hx('08 0a') }) },
  { name: 'thrift ArithThrift.Mul', bytes: req({ servicePath: 'ArithThrift', serviceMethod: 'Mul', serializeType: 4, payload: thriftArith(6n, -7n) }) },
  { name: 'heartbeat', bytes: encodeMessage({ ...heartbeatRequest(3n, 1700000000123456789n), metadata: new Map([['h', '1']]) }) },
  { name: 'oneway heartbeat', bytes: encodeMessage({ ...heartbeatRequest(4n, 1n), oneway: true }) },
  { name: 'oneway call: no reply', bytes: req({ oneway: true, servicePath: 'Echo', serviceMethod: 'Count', serializeType: 3, payload: hx('81 a3 4b 65 79 a2 6f 77') }) },
  { name: 'oneway unknown service: no reply', bytes: req({ oneway: true, servicePath: 'Nope', serviceMethod: 'X', serializeType: 3 }) },
  // On tcp Go's cmux picks the protocol from the first bytes: a stream not starting with 0x08 is
  // held for its HTTP matchers, so bad magic is tested after one good frame.
  { name: 'good frame, then wrong magic', bytes: Buffer.concat([req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }), hx('09000010 0000000000000001 00000010 00000000 00000000 00000000 00000000')]) },
  { name: 'good frame, then garbage', bytes: Buffer.concat([req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('82 a1 41 02 a1 42 03') }), hx('de ad be ef 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff')]) },
  { name: 'garbage first', bytes: hx('de ad be ef 00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff'), known: "Go's cmux holds a stream not starting with 0x08 for its HTTP matchers; this server closes it at once" },
  { name: 'gzip flag with empty payload', bytes: (() => { const b = Buffer.from(req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3 })); b[2] = 0x04; return b; })() },
  { name: 'unknown compress type', bytes: (() => { const b = Buffer.from(req({ servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: hx('80') })); b[2] = 0x08; return b; })() },
  { name: 'metadata block cut short', bytes: hx('08000030 0000000000000001 00000014 00000000 00000000 00000008 00000005 6b6b 00000000') },
  {
    name: 'inner length past the frame end',
    bytes: hx('08000030 0000000000000001 00000010 00000fff 00000000 00000000 00000000'),
    known: 'Go recovers the slice panic and dispatches a half-parsed frame (rpcx-protocol.md §9.13); the protocol core refuses it, so this server closes',
  },
];

interface Outcome {
  frames: Buffer[];
  closed: boolean;
}

async function exchange(address: string, bytes: Uint8Array): Promise<Outcome> {
  const c = await RawClient.connect(address);
  c.write(bytes);
  // Generous: under a loaded CI machine a reply can take far longer than usual; cases with no
  // reply (oneway, a close) wait the whole time, but all cases run at once.
  await c.waitFor(1, 3000);
  // a moment more for a close after a reply, or a second frame
  await new Promise((r) => setTimeout(r, 150));
  const out = { frames: c.messages.length === 0 && c.raw.length > 0 && c.raw[0] !== 0x08 ? [c.raw] : [...c.frames], closed: c.isClosed };
  c.close();
  return out;
}

/** A reply frame with a gzip payload decompressed (gzip bytes differ between Go and Node). */
function normalise(frame: Buffer): string {
  const compress = (frame[2]! >> 2) & 7;
  if (frame[0] !== 0x08) return `raw:${frame.toString('latin1').split('\r\n')[0]}`;
  if (compress !== 1) return frame.toString('hex');
  const m = RawClient.decode(frame);
  return `gzip:${frame.subarray(0, 12).toString('hex')}:${m.servicePath}:${m.serviceMethod}:${JSON.stringify([...m.metadata].sort())}:${Buffer.from(m.payload).toString('hex')}`;
}

describe('differential: Node server vs Go server, same request frames', () => {
  let go: GoServer | undefined;
  let node: RpcxServer;
  let nodeAddress: string;
  before(async () => {
    node = createServer({ codecs: demoCodecs() });
    registerDemoServices(node);
    nodeAddress = await node.serve('tcp', '127.0.0.1:0');
  });
  after(async () => {
    await node.close();
    await go?.kill();
  });

  test('reply frames are equal', async (t) => {
    if (!requireGo(t, ['server'])) return;
    go = await startGoServer();
    const results = await Promise.all(
      CASES.map(async (c) => {
        const [g, n] = await Promise.all([exchange(go!.address, c.bytes), exchange(nodeAddress, c.bytes)]);
        return { c, g, n };
      }),
    );
    const diffs: string[] = [];
    for (const { c, g, n } of results) {
      const gs = g.frames.map(normalise);
      const ns = n.frames.map(normalise);
      const same = JSON.stringify(gs) === JSON.stringify(ns) && g.closed === n.closed;
      if (c.known !== undefined) {
        t.diagnostic(`${c.name}: ${same ? 'same' : 'differs'} (known: ${c.known})`);
        continue;
      }
      if (!same) diffs.push(`${c.name}:\n  go   closed=${g.closed} ${gs.join(' | ')}\n  node closed=${n.closed} ${ns.join(' | ')}`);
    }
    assert.deepEqual(diffs, []);
  });
});
