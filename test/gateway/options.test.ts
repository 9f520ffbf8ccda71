// The gateway options (Go: Server.DisableHTTPGateway, DisableJSONRPC, SetCORS) on the TS server.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Client } from '../../src/client/index.js';
import { allowAllCorsOptions, createServer, type RpcxServer, type ServerOptions } from '../../src/server/index.js';
import { demoCodecs, registerDemoServices } from '../../src/server/demo/services.js';
import { connect } from 'node:net';
import { ask, hostPort, rawExchange } from './support.js';

const servers: RpcxServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function start(options: ServerOptions): Promise<string> {
  const s = createServer({ codecs: demoCodecs(), ...options });
  registerDemoServices(s);
  servers.push(s);
  return s.serve('tcp', '127.0.0.1:0');
}

const gatewayAsk = { path: '/Arith', headers: { 'X-RPCX-ServiceMethod': 'Mul', 'X-RPCX-SerializeType': '1' }, body: '{"A":2,"B":3}' };
const rpcAsk = { path: '/', headers: { 'X-JSONRPC-2.0': 'true' }, body: '{"jsonrpc":"2.0","method":"Arith.Mul","params":{"A":2,"B":3},"id":1}' };

async function rpcxWorks(key: string): Promise<void> {
  const c = new Client(key);
  try {
    assert.deepEqual(await c.call('Arith', 'Mul', { A: 2, B: 3 }), { C: 6 });
  } finally {
    await c.close();
  }
}

describe('gateway options', () => {
  test('disableJSONRPC: an X-JSONRPC-2.0 request goes to the gateway (cmux order), rpcx unaffected', async () => {
    const key = await start({ disableJSONRPC: true });
    const a = await ask(key, rpcAsk);
    assert.equal(a.headers.get('x-rpcx-errormessage'), 'empty servicepath');
    assert.equal((await ask(key, gatewayAsk)).body.toString(), '{"C":6}');
    await rpcxWorks(key);
  });
  test('disableHTTPGateway: JSON-RPC still answers, other HTTP is closed without an answer', async () => {
    const key = await start({ disableHTTPGateway: true });
    assert.equal((await ask(key, rpcAsk)).body.toString(), '{"jsonrpc":"2.0","result":{"C":6},"id":1}');
    const r = await rawExchange(key, 'POST /Arith HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    assert.deepEqual(r, { data: Buffer.alloc(0), closed: true });
    await rpcxWorks(key);
  });
  test('both disabled: the port is rpcx only; HTTP is closed', async () => {
    const key = await start({ disableHTTPGateway: true, disableJSONRPC: true });
    const r = await rawExchange(key, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.deepEqual(r, { data: Buffer.alloc(0), closed: true });
    await rpcxWorks(key);
  });
  test('cors: preflight answered 204 with the allow headers; actual requests get Access-Control-Allow-Origin', async () => {
    const key = await start({ cors: { ...allowAllCorsOptions(), exposedHeaders: ['X-Rpcx-Meta'] } });
    const pre = await ask(key, { method: 'OPTIONS', path: '/Arith', headers: { Origin: 'http://app.example', 'Access-Control-Request-Method': 'post', 'Access-Control-Request-Headers': 'X-RPCX-ServiceMethod' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.equal(pre.headers.get('access-control-allow-methods'), 'POST');
    assert.equal(pre.headers.get('access-control-allow-headers'), 'x-rpcx-servicemethod');
    const a = await ask(key, { ...gatewayAsk, headers: { ...gatewayAsk.headers, Origin: 'http://app.example' } });
    assert.equal(a.body.toString(), '{"C":6}');
    assert.equal(a.headers.get('access-control-allow-origin'), '*');
    assert.equal(a.headers.get('access-control-expose-headers'), 'X-Rpcx-Meta');
    const j = await ask(key, { ...rpcAsk, headers: { ...rpcAsk.headers, Origin: 'http://app.example' } });
    assert.equal(j.headers.get('access-control-allow-origin'), '*');
  });
  test('cors with listed origins: another origin gets no allow header', async () => {
    const key = await start({ cors: { allowedOrigins: ['https://*.example.com'], allowedMethods: ['POST'] } });
    const ok = await ask(key, { ...gatewayAsk, headers: { ...gatewayAsk.headers, Origin: 'https://a.example.com' } });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://a.example.com');
    const no = await ask(key, { ...gatewayAsk, headers: { ...gatewayAsk.headers, Origin: 'https://evil.test' } });
    assert.equal(no.headers.has('access-control-allow-origin'), false);
    assert.equal(no.body.toString(), '{"C":6}', 'CORS does not block the request itself (the browser does)');
  });
});

describe('onePort (beyond Go): CONNECT and WebSocket on the tcp port', () => {
  test('TS clients over http@ and ws@ reach the tcp port; gateway, JSON-RPC and rpcx still work', async () => {
    const key = await start({ onePort: true });
    const hp = key.slice('tcp@'.length);
    for (const addr of [`http@${hp}`, `ws@${hp}`, key]) {
      const c = new Client(addr);
      try {
        assert.deepEqual(await c.call('Arith', 'Mul', { A: 4, B: 5 }), { C: 20 }, addr);
      } finally {
        await c.close();
      }
    }
    assert.equal((await ask(key, gatewayAsk)).body.toString(), '{"C":6}');
    assert.equal((await ask(key, rpcAsk)).body.toString(), '{"jsonrpc":"2.0","result":{"C":6},"id":1}');
    const r = await rawExchange(key, 'GET /_rpcx_ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.equal(r.data.toString('latin1'), 'HTTP/1.1 403 Forbidden\r\n\r\n', 'no Origin: the bare 403 of the ws network');
  });
  test('off (the default): CONNECT gets the gateway 405, as from Go', async () => {
    const key = await start({});
    const r = await rawExchange(key, 'CONNECT /_rpcx_ HTTP/1.0\r\n\r\n', 2000);
    assert.match(r.data.toString('latin1'), /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
  });
});

describe('graceful shutdown with gateway requests in flight', () => {
  test('shutdown lets an in-flight gateway call answer (Go: http.Server.Shutdown), then the port is closed', async () => {
    const s = createServer({ codecs: demoCodecs() });
    let entered!: () => void;
    const inside = new Promise<void>((r) => (entered = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    s.registerFunction('Slow', async function wait() {
      entered();
      await released;
      return { Done: true };
    });
    const key = await s.serve('tcp', '127.0.0.1:0');
    const inFlight = ask(key, { path: '/Slow', headers: { 'X-RPCX-ServiceMethod': 'wait', 'X-RPCX-SerializeType': '1' }, body: '{}' });
    await inside;
    const shutdown = s.shutdown({ timeoutMs: 5000 });
    // Release the handler only once the port refuses new connections: the gateway is closing.
    const { host, port } = hostPort(key);
    let refused = false;
    for (let i = 0; i < 400 && !refused; i++) {
      refused = await new Promise<boolean>((resolve) => {
        const c = connect({ host, port });
        c.on('connect', () => {
          c.destroy();
          setTimeout(() => resolve(false), 5);
        });
        c.on('error', () => resolve(true));
      });
    }
    assert.ok(refused, 'the listener did not close');
    release();
    const a = await inFlight;
    assert.equal(a.status, 200);
    assert.equal(a.body.toString(), '{"Done":true}');
    await shutdown;
    await assert.rejects(ask(key, gatewayAsk));
  });
});
