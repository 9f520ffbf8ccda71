// Bad input on the HTTP entry points (issue 12): silence, half a request, a 1 MiB header, bytes
// that are not UTF-8 in headers, a WebSocket text frame, a bad upgrade. Each connection gets an
// answer or is closed, within a bound; the server and its other connections carry on.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { WebSocket } from 'ws';
import { Client } from '../../src/client/index.js';
import { createServer, type RpcxServer } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { createMessage, encodeMessage, FrameDecoder } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { goReady } from '../support/tg.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { hostPort } from './support.js';

let server: RpcxServer;
let tcp = '';
let ws = '';
const goServers: GoServer[] = [];
const extra: RpcxServer[] = [];

before(async () => {
  server = createServer({ codecs: demoCodecs(), sniffTimeoutMs: 300 });
  registerDemoServices(server);
  tcp = await server.serve('tcp', '127.0.0.1:0');
  const w = createServer({ codecs: demoCodecs() });
  registerDemoServices(w);
  extra.push(w);
  ws = await w.serve('ws', '127.0.0.1:0');
});
after(async () => {
  await Promise.all(goServers.map((g) => g.kill()));
  await server.close();
  await Promise.all(extra.map((s) => s.close()));
});

/** Sends `bytes` (maybe nothing), reads until the peer closes; fails after `ms`. */
function untilClosed(key: string, bytes: Buffer | string | undefined, ms: number): Promise<{ data: string; elapsed: number }> {
  const { host, port } = hostPort(key);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => {
      if (bytes !== undefined) s.write(bytes);
    });
    let d = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`still open after ${ms} ms; read ${JSON.stringify(d.toString('latin1').slice(0, 200))}`));
    }, ms);
    s.on('data', (c: Buffer) => (d = Buffer.concat([d, c])));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ data: d.toString('latin1'), elapsed: performance.now() - started });
    });
  });
}

async function stillServes(): Promise<void> {
  const c = new Client(tcp);
  try {
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 21 }), { C: 42 });
  } finally {
    await c.close();
  }
}

describe('bad input on the tcp port', () => {
  test('a connection that sends nothing is closed after sniffTimeoutMs (Go waits forever)', async () => {
    const r = await untilClosed(tcp, undefined, 5000);
    assert.equal(r.data, '');
    assert.ok(r.elapsed >= 250, `closed after ${r.elapsed} ms`);
    await stillServes();
  });
  test('a keep-alive connection idle for 5 s after its answer is closed (no Keep-Alive header; Go keeps it open)', async () => {
    const body = '{"A":6,"B":7}';
    const { host, port } = hostPort(tcp);
    const s = connect({ host, port }, () => {
      s.write(`POST /Arith HTTP/1.1\r\nHost: x\r\nX-RPCX-ServiceMethod: Mul\r\nX-RPCX-SerializeType: 1\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    });
    let data = '';
    let answeredAt = 0;
    s.on('data', (c: Buffer) => {
      data += c.toString('latin1');
      if (answeredAt === 0 && data.endsWith('{"C":42}')) answeredAt = performance.now();
    });
    s.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`still open after 10 s; read ${JSON.stringify(data)}`));
      }, 10_000);
      s.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    assert.match(data, /^HTTP\/1\.1 200 OK\r\n/);
    assert.ok(answeredAt > 0, data);
    assert.ok(!/\r\nKeep-Alive:/i.test(data), data);
    const idle = performance.now() - answeredAt;
    assert.ok(idle >= 4900 && idle < 8000, `closed ${idle} ms after the answer`);
  });
  test('half an HTTP request head, then silence: closed without an answer', async () => {
    const r = await untilClosed(tcp, 'POST /Arith HTTP/1.1\r\nHost: x\r\nX-RPCX-Servi', 5000);
    assert.equal(r.data, '');
    await stillServes();
  });
  test('a 1 MiB header: 431, closed', async () => {
    const r = await untilClosed(tcp, `POST /Arith HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1 << 20)}\r\n\r\n`, 10_000);
    assert.match(r.data, /^HTTP\/1\.1 431 /);
    await stillServes();
  });
  test('bytes that are not UTF-8 in headers go through as bytes, as in Go', async (t) => {
    const req = Buffer.concat([
      Buffer.from('POST /Arith HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nX-RPCX-SerializeType: 1\r\nX-RPCX-ServiceMethod: M\xff\xfe\r\nConnection: close\r\n\r\n{}', 'latin1'),
    ]);
    const mine = await untilClosed(tcp, req, 5000);
    assert.match(mine.data, /^HTTP\/1\.1 500 /);
    assert.ok(mine.data.includes("X-Rpcx-Errormessage: rpcx: can't find method M\xff\xfe\r\n"), mine.data);
    if (!goReady()) return t.diagnostic('Go server peer not built: not compared');
    const g = await startGoServer([]);
    goServers.push(g);
    const theirs = await untilClosed(g.address, req, 5000);
    const pick = (s: string) => s.split('\r\n').filter((l) => /^(HTTP|X-Rpcx)/i.test(l)).sort();
    assert.deepEqual(pick(mine.data), pick(theirs.data));
  });
  test('a JSON-RPC batch is refused as Go does (-32700), and the port goes on', async () => {
    const body = '[{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":1,"B":2},"id":1}]';
    const r = await untilClosed(tcp, `POST / HTTP/1.1\r\nHost: x\r\nX-JSONRPC-2.0: true\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 5000);
    assert.ok(r.data.endsWith('{"jsonrpc":"2.0","error":{"code":-32700,"message":"json: cannot unmarshal array into Go value of type server.jsonrpcRequest","data":null}}'), r.data);
    await stillServes();
  });
});

describe('bad input on the ws network', () => {
  test('a text message carrying rpcx bytes is read as bytes (Go x/net clients send text frames)', async () => {
    const addr = ws.slice(3);
    const sock = new WebSocket(`ws://${addr}/_rpcx_`, { origin: `http://${addr}` });
    const frame = Buffer.from(encodeMessage(createMessage({ seq: 9, servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: msgpackEncode({ A: 4, B: 4 }) })));
    const decoder = new FrameDecoder({ compressors: defaultCompressors });
    const reply = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply')), 5000);
      sock.on('open', () => sock.send(frame, { binary: false })); // a text frame with the raw bytes, as x/net sends them
      sock.on('message', (d: Buffer, isBinary: boolean) => {
        assert.equal(isBinary, true, 'answers are binary messages');
        decoder.write(d);
        const m = decoder.read();
        if (m !== undefined) {
          clearTimeout(timer);
          resolve(Number(m.seq));
        }
      });
      sock.on('error', reject);
    });
    sock.terminate();
    assert.equal(reply, 9);
  });
  test('a bad upgrade (wrong version) and a plain GET are answered and closed; the server goes on', async () => {
    const bad = await untilClosed(ws, 'GET /_rpcx_ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 7\r\nOrigin: http://x\r\n\r\n', 5000);
    assert.match(bad.data, /^HTTP\/1\.1 400 /);
    const get = await untilClosed(ws, 'GET /_rpcx_ HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    assert.equal(get.data, 'HTTP/1.1 400 Bad Request\r\n\r\n');
    const other = await untilClosed(ws, 'GET /x HTTP/1.1\r\nHost: x\r\n\r\n', 5000);
    assert.match(other.data, /^HTTP\/1\.1 404 Not Found\r\n[\s\S]*404 page not found\n$/);
    const c = new Client(ws);
    try {
      assert.deepEqual(await c.call('Arith', 'Add', { A: 1, B: 1 }), { C: 2 });
    } finally {
      await c.close();
    }
  });
});
