// Cases 71 `http_connect` and 72 `websocket` in every direction: TG (TS Client -> Go server
// peer), GT (Go rpcx client peer -> TS server), TT; `wss` with a test CA made by openssl (as case
// 54's tls tests do). Also the bytes Go answers on these networks (CONNECT reply, 404/405, the
// bare 403 for a WebSocket without Origin) and the WebSocket byte stream (frames split across and
// packed into messages, heartbeats).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { encode as msgpackEncode } from '@msgpack/msgpack';
import { WebSocket } from 'ws';
import { Client } from '../../src/client/index.js';
import { createServer, type RpcxServer, type ServeNetwork, type ServerOptions } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { createMessage, encodeMessage, FrameDecoder, type Message } from '../../src/protocol/index.js';
import { defaultCompressors } from '../../src/node/gzip.js';
import { requireGo, runGoCases } from '../support/go.js';
import { goReady } from '../support/tg.js';
import { startGoServer, type GoServer } from '../support/go-server.js';
import { hostPort } from './support.js';

const tsServers: RpcxServer[] = [];
const goServers: GoServer[] = [];
let certDir: string | undefined;
let tlsFiles: { ca: Buffer; cert: Buffer; key: Buffer; caPath: string; certPath: string; keyPath: string } | undefined;

before(() => {
  if (spawnSync('openssl', ['version']).status !== 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'rpcx-ws-tls-'));
  certDir = dir;
  const run = (...a: string[]): void => {
    const r = spawnSync('openssl', a, { cwd: dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  };
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=rpcx test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'srv.key', '-out', 'srv.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run('x509', '-req', '-in', 'srv.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'srv.pem', '-days', '1', '-extfile', 'ext.cnf');
  tlsFiles = {
    ca: readFileSync(join(dir, 'ca.pem')),
    cert: readFileSync(join(dir, 'srv.pem')),
    key: readFileSync(join(dir, 'srv.key')),
    caPath: join(dir, 'ca.pem'),
    certPath: join(dir, 'srv.pem'),
    keyPath: join(dir, 'srv.key'),
  };
});

after(async () => {
  await Promise.all(goServers.map((g) => g.kill()));
  await Promise.all(tsServers.map((s) => s.close()));
  if (certDir !== undefined) rmSync(certDir, { recursive: true, force: true });
});

async function tsServer(network: ServeNetwork, options: ServerOptions = {}): Promise<string> {
  const s = createServer({ codecs: demoCodecs(), ...options });
  registerDemoServices(s);
  tsServers.push(s);
  return s.serve(network, '127.0.0.1:0');
}

async function goServer(args: string[]): Promise<string> {
  const g = await startGoServer(args);
  goServers.push(g);
  return g.address;
}

function needTls(t: TestContext): boolean {
  if (tlsFiles !== undefined) return true;
  t.skip('openssl not found: no test CA');
  return false;
}

/** Calls, metadata, `__ServerAddress`, pushes and heartbeats with the TS Client at `key`. */
async function clientChecks(key: string, expectServerAddress: string, tlsCa?: Buffer): Promise<void> {
  const client = new Client(key, { heartbeat: true, heartbeatIntervalMs: 50, ...(tlsCa === undefined ? {} : { tls: { ca: tlsCa } }) });
  try {
    assert.deepEqual(await client.call('Arith', 'Mul', { A: 6, B: 7 }), { C: 42 });
    const big = Buffer.alloc(300_000, 7); // many WebSocket messages' worth
    const echoed = await client.call<Uint8Array>('Echo', 'Bytes', big, { serializeType: 0 });
    assert.equal(Buffer.from(echoed).equals(big), true);
    const r = await client.callWithMetadata('Echo', 'Metadata', {}, { metadata: { k: 'v é' } });
    assert.equal(r.metadata.get('k'), 'v é');
    assert.equal(r.metadata.get('__ServerAddress'), expectServerAddress);
    const got: Message[] = [];
    const reading = (async () => {
      for await (const m of client.messages()) {
        got.push(m);
        if (got.length === 3) break;
      }
    })();
    const reply = await client.call<{ Sent: number }>('Push', 'Start', { Path: 'P', Method: 'M', Payload: Buffer.from('x'), Count: 3, IntervalMs: 60 });
    assert.equal(reply.Sent, 0);
    await reading;
    assert.deepEqual(got.map((m) => m.payload[m.payload.length - 1]), [0, 1, 2]);
    // Heartbeats went both ways meanwhile (every 50 ms over > 120 ms of pushes): still connected.
    assert.deepEqual(await client.call('Arith', 'Add', { A: 1, B: 2 }), { C: 3 });
  } finally {
    await client.close();
  }
}

async function runGoClient(key: string, cases: string[], extra: string[] = []): Promise<void> {
  const lines = await runGoCases('client', ['-addr', key, ...extra, '-case', cases.join(',')]);
  assert.deepEqual(lines.map((r) => r.case).sort(), [...cases].sort());
  assert.deepEqual(lines.filter((r) => !r.ok || r.skipped !== undefined).map((r) => `${r.case}: ${r.error ?? r.skipped}`), []);
}

const GT_CASES = ['arith_msgpack', 'arith_json', 'push_basic', 'large_payload'];

/** Writes `text` on a new TCP connection; everything read until close or `ms`. */
function raw(key: string, text: string, ms = 1500): Promise<string> {
  const { host, port } = hostPort(key);
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => s.write(text));
    let d = Buffer.alloc(0);
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(d.toString('latin1'));
    };
    const timer = setTimeout(done, ms);
    s.on('data', (c: Buffer) => (d = Buffer.concat([d, c])));
    s.on('close', done);
    s.on('error', () => {});
  });
}

/** The parts of an HTTP answer that do not vary: status line, headers but Date/Connection, body. */
function stable(answer: string): string {
  return answer
    .split('\r\n')
    .filter((l) => !/^(Date|Connection):/i.test(l))
    .join('\r\n');
}

describe('case 71 http_connect', () => {
  test('TG http_connect: TS Client http@ -> Go server -network http', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const key = await goServer(['-network', 'http']);
    await clientChecks(key, key.slice('http@'.length));
  });
  test('TT http_connect', async () => {
    const key = await tsServer('http');
    await clientChecks(key, key.slice('http@'.length));
  });
  test('GT http_connect: Go rpcx client http@ -> TS server', async (t) => {
    if (!requireGo(t, ['client'])) return;
    await runGoClient(await tsServer('http'), [...GT_CASES, 'heartbeat_echo_exact']);
  });
  test('TT, TG and GT http_connect over TLS (Go gives the http network a TLS listener too)', async (t) => {
    if (!needTls(t)) return;
    const ts = await tsServer('http', { tls: { cert: tlsFiles!.cert, key: tlsFiles!.key } });
    await clientChecks(ts, ts.slice('http@'.length), tlsFiles!.ca);
    if (!requireGo(t, ['server', 'client'])) return;
    await runGoClient(ts, ['arith_msgpack', 'push_basic'], ['-tls-ca', tlsFiles!.caPath]);
    const go = await goServer(['-network', 'http', '-tls-cert', tlsFiles!.certPath, '-tls-key', tlsFiles!.keyPath]);
    await clientChecks(go, go.slice('http@'.length), tlsFiles!.ca);
  });
  test('the http network answers as Go: CONNECT reply bytes, 405 must CONNECT, 404 page not found', async (t) => {
    const ts = await tsServer('http');
    const asks = ['CONNECT /_rpcx_ HTTP/1.0\n\n', 'CONNECT /_rpcx_ HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /_rpcx_ HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /other HTTP/1.1\r\nHost: x\r\n\r\n'];
    const mine = await Promise.all(asks.map((a) => raw(ts, a)));
    assert.equal(mine[0], 'HTTP/1.0 200 Connected to rpcx\n\n');
    assert.equal(mine[1], 'HTTP/1.0 200 Connected to rpcx\n\n');
    if (!requireGo(t, ['server']) || !goReady()) return;
    const go = await goServer(['-network', 'http']);
    const theirs = await Promise.all(asks.map((a) => raw(go, a)));
    assert.deepEqual(mine.map(stable), theirs.map(stable));
  });
});

/** A raw ws client: sends `chunks` as separate binary messages, collects decoded frames until `n`. */
async function wsExchange(key: string, chunks: Buffer[], n: number, ca?: Buffer): Promise<Message[]> {
  const secure = key.startsWith('wss@');
  const addr = key.slice(key.indexOf('@') + 1);
  const ws = new WebSocket(`${secure ? 'wss' : 'ws'}://${addr}/_rpcx_`, { origin: `http://${addr}`, ...(ca === undefined ? {} : { ca }) });
  const decoder = new FrameDecoder({ compressors: defaultCompressors, maxMessageLength: 0 });
  const out: Message[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${n} frames`)), 10_000);
      ws.on('message', (data: Buffer) => {
        decoder.write(data);
        for (let m = decoder.read(); m !== undefined; m = decoder.read()) out.push(m);
        if (out.length >= n) {
          clearTimeout(timer);
          resolve();
        }
      });
      ws.on('error', reject);
      ws.on('open', () => {
        for (const c of chunks) ws.send(c, { binary: true });
      });
    });
  } finally {
    ws.terminate();
  }
  return out;
}

function frame(seq: number, init: Parameters<typeof createMessage>[0]): Buffer {
  return Buffer.from(encodeMessage(createMessage({ seq, ...init })));
}

describe('case 72 websocket', () => {
  test('TG websocket: TS Client ws@ -> Go server -network ws', async (t) => {
    if (!requireGo(t, ['server'])) return;
    const key = await goServer(['-network', 'ws']);
    await clientChecks(key, `ws://${key.slice(3)}/_rpcx_`);
  });
  test('TT websocket', async () => {
    const key = await tsServer('ws');
    await clientChecks(key, `ws://${key.slice(3)}/_rpcx_`);
  });
  test('GT websocket: Go rpcx client ws@ -> TS server', async (t) => {
    if (!requireGo(t, ['client'])) return;
    await runGoClient(await tsServer('ws'), GT_CASES);
  });
  test('TG websocket over wss with a test CA', async (t) => {
    if (!requireGo(t, ['server']) || !needTls(t)) return;
    const key = await goServer(['-network', 'wss', '-tls-cert', tlsFiles!.certPath, '-tls-key', tlsFiles!.keyPath]);
    await clientChecks(key, `wss://${key.slice(4)}/_rpcx_`, tlsFiles!.ca);
  });
  test('TT websocket over wss', async (t) => {
    if (!needTls(t)) return;
    const key = await tsServer('wss', { tls: { cert: tlsFiles!.cert, key: tlsFiles!.key } });
    await clientChecks(key, `wss://${key.slice(4)}/_rpcx_`, tlsFiles!.ca);
  });
  test('GT websocket over wss', async (t) => {
    if (!requireGo(t, ['client']) || !needTls(t)) return;
    const key = await tsServer('wss', { tls: { cert: tlsFiles!.cert, key: tlsFiles!.key } });
    await runGoClient(key, ['arith_msgpack', 'push_basic'], ['-tls-ca', tlsFiles!.caPath]);
  });

  test('a WebSocket is a byte stream: a frame split over messages, frames packed in one, a heartbeat (TS and Go alike)', async (t) => {
    const mul = frame(1, { servicePath: 'Arith', serviceMethod: 'Mul', serializeType: 3, payload: msgpackEncode({ A: 3, B: 5 }) });
    const add = frame(2, { servicePath: 'Arith', serviceMethod: 'Add', serializeType: 3, payload: msgpackEncode({ A: 3, B: 5 }) });
    const hb = frame(3, { heartbeat: true, serializeType: 3 });
    const chunks = [mul.subarray(0, 5), mul.subarray(5, 20), Buffer.concat([mul.subarray(20), add]), hb];
    const keys = [await tsServer('ws')];
    if (goReady()) keys.push(await goServer(['-network', 'ws']));
    else requireGo(t, ['server']);
    const answers: string[][] = [];
    for (const key of keys) {
      const got = await wsExchange(key, chunks, 3);
      const bySeq = new Map(got.map((m) => [Number(m.seq), m]));
      assert.deepEqual([...bySeq.keys()].sort(), [1, 2, 3]);
      assert.equal(bySeq.get(3)!.heartbeat, true);
      answers.push(got.map((m) => Buffer.from(encodeMessage(m)).toString('hex')).sort());
    }
    if (answers.length === 2) assert.deepEqual(answers[0], answers[1]);
  });

  test('a handshake without Origin (or Origin: null) gets exactly HTTP/1.1 403 Forbidden, from TS as from Go', async (t) => {
    const handshake = (origin: string) =>
      `GET /_rpcx_ HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${origin}\r\n`;
    const keys = [await tsServer('ws')];
    if (goReady()) keys.push(await goServer(['-network', 'ws']));
    else requireGo(t, ['server']);
    for (const key of keys) {
      assert.equal(await raw(key, handshake('')), 'HTTP/1.1 403 Forbidden\r\n\r\n', key);
      assert.equal(await raw(key, handshake('Origin: null\r\n')), 'HTTP/1.1 403 Forbidden\r\n\r\n', key);
      assert.match(await raw(key, handshake('Origin: http://127.0.0.1\r\n')), /^HTTP\/1\.1 101 Switching Protocols\r\n/, key);
    }
  });

  test('a client dialing ws without a server there gets RpcxError CONNECTION', async () => {
    const key = await tsServer('tcp');
    const c = new Client(`ws@${key.slice(4)}`, { connectTimeoutMs: 2000 });
    try {
      await assert.rejects(c.call('Arith', 'Mul', { A: 1, B: 1 }), (e: unknown) => (e as { code?: string }).code === 'CONNECTION');
    } finally {
      await c.close();
    }
  });
});
